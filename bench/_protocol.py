"""The little line protocol between bench/benchmark.py and its worker processes.

A worker builds its model, prints ``READY <json info>`` and then answers, one line
each, the commands it reads on stdin:

* ``run N [S]``: N training steps, each timed alone with time.perf_counter, stopping
               early (after at least one step) once S seconds have passed; answers ``TIMES <json {"ms": [...], "loss": last loss}>``
* ``rate N`` : (optional) the best of N large fp32 matmuls, answers ``RATE <GFLOP/s>``
* ``quit``   : exits.

Only one worker computes at any time: the others block on stdin, so the sides
never compete with each other for the two cores, and the orchestrator alternates
them round by round so the machine's own noise falls on all of them alike.
"""
import argparse
import json
import sys
import time


def serve(step, info, rate=None):
    """step(i) -> loss (a Python float, which also syncs the step). rate(n) -> GFLOP/s."""
    out = sys.stdout
    out.write('READY ' + json.dumps(info) + '\n')
    out.flush()
    i = 0
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd, arg = parts[0], int(parts[1]) if len(parts) > 1 else 0
        if cmd == 'run':
            budget = float(parts[2]) if len(parts) > 2 else float('inf')
            ms = []
            loss = None
            started = time.perf_counter()
            for _ in range(arg):
                t0 = time.perf_counter()
                loss = step(i)
                ms.append((time.perf_counter() - t0) * 1e3)
                i += 1
                if t0 - started + ms[-1] / 1e3 > budget:
                    break
            out.write('TIMES ' + json.dumps({'ms': ms, 'loss': float(loss)}) + '\n')
        elif cmd == 'rate' and rate is not None:
            out.write('RATE ' + json.dumps(rate(arg)) + '\n')
        elif cmd == 'quit':
            break
        else:
            out.write('ERROR unknown command ' + json.dumps(line.strip()) + '\n')
        out.flush()


def load_batches(path):
    """The batches the orchestrator prepared: x [n, B, 28, 28] float32, y [n, B, 10] one-hot."""
    import numpy as np
    with np.load(path) as d:
        return d['x'], d['y']


def matmul_gflops(matmul, n, size=2048):
    """Best rate of ``n`` calls of matmul() on size x size fp32 (each does 2*size^3 FLOPs)."""
    best = float('inf')
    for _ in range(max(1, n)):
        t0 = time.perf_counter()
        matmul()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size ** 3 / best / 1e9


def worker_parser():
    """The flags every worker takes (benchmark.py passes them alike to each side)."""
    p = argparse.ArgumentParser()
    p.add_argument('--batches', required=True)
    p.add_argument('--lr', type=float, default=0.001)
    p.add_argument('--hidden-units', type=int, default=128)
    p.add_argument('--seed', type=int, default=0)
    return p

"""How fast is the project's training step, against Keras 3, PyTorch and the FLOP floor?

    python bench/benchmark.py                 # about 2-4 minutes on 2 cores
    python bench/benchmark.py --quick         # a smoke run, well under a minute
    python bench/benchmark.py --skip-runs     # only the per-step table
    python bench/benchmark.py --runs 3        # time each script's whole run 3 times

One training step at batch 128, 28 steps x 28 inputs, 128 hidden units, 10 classes,
Adam lr 0.001, measured for each side in its own long-lived worker process:

* project      : bench/tf1_step.py imports mnist_lstm_classifier and calls its
                 build_graph (legacy tf-keras, graph mode), times sess.run([train_op, cost])
* project-static: the same with build_graph(static_unroll=True), the script's opt-in
                 --static-unroll (tf.nn.static_rnn instead of dynamic_rnn's while loop)
* project-fast : the same with build_graph(fast=True) and the script's --fast session
                 config (fast_lstm/: fused ops, hand-written backward)
* keras3       : bench/keras3_step.py, plain Keras 3 (no TF_USE_LEGACY_KERAS), compiled
                 model.train_on_batch with Keras' defaults: jit_compile='auto', which
                 resolves to no XLA here (LSTM's use_cudnn='auto' opts the model out)
* keras3-xla   : the same with LSTM(use_cudnn=False) and jit_compile=True (XLA)
* torch        : bench/torch_step.py, when torch is importable (skipped otherwise;
                 the project does not need torch)
* floor        : the step's FLOPs counted analytically / the machine's best large
                 fp32 matmul rate (numpy, and TensorFlow / torch when their workers run)

The workers start together, warm up, then run ``--rounds`` rounds; in each round every
side runs ``--steps-per-round`` steps in turn (the order rotates every round) while
the others wait, so the machine's noise falls on all sides alike. Each step is timed
alone; the table gives the median, the interquartile range and the minimum over all
timed steps. All sides train on the same real MNIST batches (data/; random ones if
the files are missing).

Then, unless --skip-runs, each script's whole run is timed from start to exit, in
temporary folders: `python mnist_lstm_classifier.py` (defaults, 782 steps), the same
with --fast, and `python sin_cos_lstm_regressor.py --plot file`.

The machine is shared and noisy: read the ratios (measured interleaved) rather than
the absolute numbers, and look at the load average printed with them.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The step being measured (the tutorial's defaults).
BATCH, N_STEPS, N_INPUTS, HIDDEN, CLASSES, LR = 128, 28, 28, 128, 10, 0.001

SIDES = {
    'project': ['tf1_step.py'],
    'project-static': ['tf1_step.py', '--static-unroll'],
    'project-fast': ['tf1_step.py', '--fast'],
    'keras3': ['keras3_step.py', '--jit', 'auto'],
    'keras3-xla': ['keras3_step.py', '--jit', 'xla'],
    'torch': ['torch_step.py'],
}


DEFAULT_SIDES = ['project', 'project-static', 'project-fast', 'keras3', 'keras3-xla', 'torch']


def step_flops(b=BATCH, t=N_STEPS, i=N_INPUTS, h=HIDDEN, c=CLASSES):
    """Multiply-add FLOPs (2 per MAC) of one training step; backward ~ 2x forward."""
    parts = {
        'input layer': 2 * b * t * i * h,
        'LSTM cell (all steps)': t * 2 * b * (h + h) * 4 * h,
        'output layer': 2 * b * h * c,
    }
    forward = sum(parts.values())
    return parts, forward, 3 * forward


def fast_step_flops(b=BATCH, t=N_STEPS, i=N_INPUTS, h=HIDDEN, c=CLASSES):
    """The FLOPs --fast's graph really does (fast_lstm/graph.py): the pixels, not the 128
    hidden inputs, meet the gate weights (plus a ones column for the bias), no h @ Wh at
    step 0; backward: dh per step, dWh and the gate weights' gradient as one matmul each."""
    gates_x = 2 * b * t * (i + 1) * 4 * h
    recurrent = (t - 1) * 2 * b * h * 4 * h
    output = 2 * b * h * c
    forward = gates_x + recurrent + output
    backward = recurrent + 2 * b * t * h * 4 * h + gates_x + 2 * output
    return forward + backward


def percentile(sorted_values, q):
    """Linear-interpolation percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float('nan')
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(ms):
    s = sorted(ms)
    return {'median': statistics.median(s), 'p25': percentile(s, 25), 'p75': percentile(s, 75),
            'min': s[0], 'max': s[-1], 'n': len(s)}


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    versions = {}
    for dist in ('tensorflow', 'tf-keras', 'keras', 'torch', 'numpy'):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {'cpu': cpu, 'cores': os.cpu_count(), 'usable_cores': usable,
            'python': platform.python_version(), 'platform': platform.platform(),
            'versions': versions}


def loadavg():
    try:
        return os.getloadavg()
    except OSError:
        return None


def prepare_batches(path, n=16, seed=0):
    """n batches from the real MNIST training split (the project's reader), else random."""
    import numpy as np
    source = 'MNIST data/ (train split, seeded shuffle)'
    try:
        sys.path.insert(0, ROOT)
        from tf1_compat import input_data  # numpy only: does not import TensorFlow
        mnist = input_data.read_data_sets(os.path.join(ROOT, 'data'), one_hot=True, seed=seed)
        batches = [mnist.train.next_batch(BATCH) for _ in range(n)]
        x = np.stack([b[0].reshape(BATCH, N_STEPS, N_INPUTS) for b in batches]).astype(np.float32)
        y = np.stack([b[1] for b in batches]).astype(np.float32)
    except Exception as e:  # no data/: random pixels and labels
        source = f'random (MNIST unavailable: {e})'
        rng = np.random.RandomState(seed)
        x = rng.rand(n, BATCH, N_STEPS, N_INPUTS).astype(np.float32)
        y = np.eye(CLASSES, dtype=np.float32)[rng.randint(0, CLASSES, size=(n, BATCH))]
    np.savez(path, x=x, y=y)
    return source


class Worker:
    """One side's process, spoken to with bench/_protocol.py's line protocol."""

    def __init__(self, name, python, batches, tmpdir):
        self.name = name
        env = dict(os.environ)
        env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
        if name.startswith('keras3'):
            env.pop('TF_USE_LEGACY_KERAS', None)  # plain Keras 3 in this one
        self.stderr_path = os.path.join(tmpdir, f'{name}.stderr')
        self._stderr = open(self.stderr_path, 'w')
        cmd = [python, os.path.join(HERE, SIDES[name][0])] + SIDES[name][1:] + [
            '--batches', batches, '--lr', str(LR), '--hidden-units', str(HIDDEN)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     bufsize=1)
        self.info = None
        self.ms = []
        self.losses = []

    def _read(self, expect):
        while True:  # skip anything a library printed to stdout
            line = self.proc.stdout.readline()
            if line.startswith(expect + ' '):
                return json.loads(line[len(expect) + 1:])
            if not line or line.startswith('ERROR'):
                if not line:
                    try:
                        self.proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        pass
                raise RuntimeError(self.failure(line))

    def failure(self, line=''):
        self._stderr.flush()
        with open(self.stderr_path) as f:
            tail = ''.join(f.readlines()[-15:])
        return (f'{self.name} worker failed (exit {self.proc.poll()}, got {line.strip()!r}):\n'
                f'{tail}')

    def ready(self):
        self.info = self._read('READY')
        return self.info

    def _send(self, command):
        try:
            self.proc.stdin.write(command + '\n')
            self.proc.stdin.flush()
        except OSError:  # the worker is gone
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            raise RuntimeError(self.failure()) from None

    def run(self, steps, budget, keep=True):
        self._send(f'run {steps} {budget}')
        reply = self._read('TIMES')
        if keep:
            self.ms.extend(reply['ms'])
            self.losses.append(reply['loss'])
        return reply

    def rate(self, count):
        self._send(f'rate {count}')
        return self._read('RATE')

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('quit\n')
                self.proc.stdin.flush()
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


def numpy_gflops(count, size=2048):
    import numpy as np
    rng = np.random.RandomState(0)
    a = rng.rand(size, size).astype(np.float32)
    b = rng.rand(size, size).astype(np.float32)
    best = float('inf')
    for _ in range(count):
        t0 = time.perf_counter()
        np.matmul(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size ** 3 / best / 1e9


def measure_steps(args, tmpdir, notes):
    batches = os.path.join(tmpdir, 'batches.npz')
    source = prepare_batches(batches)
    notes.append(f'input batches: {source}')
    workers = []
    for name in args.sides:
        workers.append(Worker(name, args.python, batches, tmpdir))
    live = []
    for w in workers:  # they start (import TensorFlow / torch) in parallel
        try:
            w.ready()
            live.append(w)
        except RuntimeError as e:
            if w.name == 'torch' and w.proc.poll() == 3:
                notes.append('torch: skipped, torch is not importable in this Python '
                             '(optional: the project does not need it)')
            else:
                notes.append(f'{w.name}: skipped, worker failed: ' + str(e).strip().replace('\n', ' | ')[-600:])
            w.close()
    print(f'workers ready: {", ".join(w.name for w in live)}; warming up', file=sys.stderr)
    ready = list(live)

    def drop(w, when, e):  # a side that dies keeps what it measured
        notes.append(f'{w.name}: worker died {when}: ' + str(e).strip().replace('\n', ' | ')[-600:])
        live.remove(w)
        w.died = True
        w.close()

    for w in list(live):
        try:
            w.run(args.warmup, args.max_seconds, keep=False)
        except RuntimeError as e:
            drop(w, 'in the warm-up', e)
    rates = {'numpy': []}
    for w in live:
        if w.name in ('keras3', 'keras3-xla', 'torch'):
            rates.setdefault('tensorflow' if w.name.startswith('keras3') else 'torch', [])
    rate_worker = {'tensorflow': next((w for w in live if w.name.startswith('keras3')), None),
                   'torch': next((w for w in live if w.name == 'torch'), None)}
    for r in range(args.rounds):
        if not live:
            break
        k = r % len(live)
        for w in live[k:] + live[:k]:
            try:
                w.run(args.steps_per_round, args.max_seconds)
            except RuntimeError as e:
                drop(w, f'in round {r + 1}', e)
                rate_worker = {lib: (None if x is w else x) for lib, x in rate_worker.items()}
        # the matmul rate, interleaved too (best of all rounds is the floor's rate)
        rates['numpy'].append(numpy_gflops(1 if args.quick else 2))
        for lib in ('tensorflow', 'torch'):
            if lib in rates and rate_worker[lib] is not None:
                try:
                    rates[lib].append(rate_worker[lib].rate(1 if args.quick else 2))
                except RuntimeError as e:
                    drop(rate_worker[lib], f'in round {r + 1}', e)
                    rate_worker[lib] = None
        print(f'round {r + 1}/{args.rounds} done', file=sys.stderr)
    for w in live:
        w.close()
    return [w for w in ready if w.ms], rates


def whole_runs(args, tmpdir):
    """Each script's whole run, start to exit, in fresh temporary folders."""
    results = {'classifier': [], 'classifier-fast': [], 'regressor': []}
    env = dict(os.environ)
    for i in range(args.runs):
        for which in ('classifier', 'classifier-fast', 'regressor'):
            d = tempfile.mkdtemp(dir=tmpdir, prefix=f'{which}{i}-')
            metrics = os.path.join(d, 'metrics.json')
            if which.startswith('classifier'):
                cmd = [args.python, 'mnist_lstm_classifier.py', '--ckpt-dir', os.path.join(d, 'ckpt'),
                       '--logdir', os.path.join(d, 'logs'), '--metrics-json', metrics]
                if which == 'classifier-fast':
                    cmd.append('--fast')
            else:
                cmd = [args.python, 'sin_cos_lstm_regressor.py', '--plot', 'file',
                       '--logdir', os.path.join(d, 'logs'), '--metrics-json', metrics]
            print(f'whole run {i + 1}/{args.runs}: {which} ...',
                  file=sys.stderr)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            wall = time.perf_counter() - t0
            entry = {'wall_s': wall, 'exit': proc.returncode}
            if proc.returncode != 0:
                entry['error'] = proc.stdout[-800:]
            try:
                with open(metrics) as f:
                    m = json.load(f)
                entry['loop_s'] = m.get('train_seconds', m.get('seconds'))
                if 'test_accuracy' in m:
                    entry['test_accuracy'] = m['test_accuracy']
                if 'final_cost' in m:
                    entry['final_cost'] = m['final_cost']
            except (OSError, ValueError):
                pass
            results[which].append(entry)
            shutil.rmtree(d, ignore_errors=True)
    return results


def fmt(v, digits=1):
    return f'{v:.{digits}f}'


def report(args, machine, live, rates, runs, notes, load_before, load_after):
    out = []
    parts, forward, total = step_flops()
    best_rates = {lib: max(v) for lib, v in rates.items() if v}
    rate_lib, rate = max(best_rates.items(), key=lambda kv: kv[1]) if best_rates else (None, None)
    stats = {w.name: summarize(w.ms) for w in live}
    base = stats.get('project', {}).get('median')

    out.append(f'## Training step, batch {BATCH}, {N_STEPS} steps x {N_INPUTS} inputs, '
               f'{HIDDEN} hidden, {CLASSES} classes, Adam {LR}')
    out.append('')
    out.append(f'{args.rounds} interleaved rounds x {args.steps_per_round} steps per side '
               f'(after {args.warmup} warm-up steps); each step timed alone.')
    out.append('')
    out.append('| side | median ms/step | IQR (p25-p75) ms | min ms | steps | ratio to project |')
    out.append('|---|---:|---:|---:|---:|---:|')
    for w in live:
        s = stats[w.name]
        ratio = fmt(s['median'] / base, 2) if base else 'n/a'
        out.append(f'| {w.name} | {fmt(s["median"])} | {fmt(s["p25"])}-{fmt(s["p75"])} | '
                   f'{fmt(s["min"])} | {s["n"]} | {ratio} |')
    if rate:
        floor = total / (rate * 1e9) * 1e3
        ratio = fmt(floor / base, 2) if base else 'n/a'
        out.append(f'| FLOP floor ({total / 1e9:.2f} GFLOP at {rate:.0f} GFLOP/s, {rate_lib}) | '
                   f'{fmt(floor)} | - | - | - | {ratio} |')
    out.append('')
    for w in live:
        out.append(f'- {w.name}: {w.info.get("what")}; last loss {w.losses[-1]:.3f}'
                   + (f'; torch threads {w.info["threads"]}' if 'threads' in w.info else ''))
    out.append(f'- FLOPs per step: forward {forward / 1e9:.3f} GFLOP ('
               + ', '.join(f'{k} {v / 1e6:.1f} M' for k, v in parts.items())
               + f'), backward ~2x forward, total {total / 1e9:.3f} GFLOP')
    out.append('- best 2048x2048 fp32 matmul rate: '
               + ', '.join(f'{lib} {r:.0f} GFLOP/s' for lib, r in best_rates.items()))
    for w in live:
        if len(w.ms) < args.rounds * args.steps_per_round and not getattr(w, 'died', False):
            out.append(f'- {w.name}: some rounds were cut short by --max-seconds {args.max_seconds:g} '
                       f'({len(w.ms)} of {args.rounds * args.steps_per_round} steps timed)')
    fast = stats.get('project-fast', {}).get('median')
    if fast:
        vs = [f'{fmt(fast / stats[o]["median"], 2)}x {o}' for o in ('keras3', 'keras3-xla', 'torch')
              if o in stats]
        if vs:
            out.append('- project-fast median: ' + ', '.join(vs) + ' (median / median)')
        if rate:
            real = fast_step_flops()
            out.append(f'- project-fast against the FLOP floor: floor / median = '
                       f'{fmt(floor / fast, 2)}; --fast really does {real / 1e9:.2f} GFLOP a step '
                       f'(the folded input layer and no h @ Wh at step 0), whose floor at that rate '
                       f'is {fmt(real / (rate * 1e9) * 1e3)} ms ({fmt(real / (rate * 1e9) * 1e3 / fast, 2)} '
                       f'of its median)')
    if 'torch' in stats:
        out.append('- torch runs 2 OpenMP threads that wait at a barrier after every small op: when '
                   'other work competes for the 2 cores it slows down far more than TensorFlow '
                   '(seen here: ~20 ms/step on a quiet machine, 100s of ms to seconds under load); '
                   'its min is the fairer figure then')
    for n in notes:
        out.append(f'- {n}')

    if runs is not None:
        out.append('')
        out.append('## Whole runs, start to exit')
        out.append('')
        out.append('| run | wall s | in-script loop s | rest s | result |')
        out.append('|---|---:|---:|---:|---|')
        labels = {'classifier': 'python mnist_lstm_classifier.py (782 steps)',
                  'classifier-fast': 'python mnist_lstm_classifier.py --fast (782 steps)',
                  'regressor': 'python sin_cos_lstm_regressor.py --plot file (200 iterations)'}
        for which, entries in runs.items():
            for e in entries:
                loop = e.get('loop_s')
                if e['exit'] != 0:
                    result = f'FAILED (exit {e["exit"]}): ' + e.get('error', '').strip().splitlines()[-1:][0] \
                        if e.get('error', '').strip() else f'FAILED (exit {e["exit"]})'
                elif 'test_accuracy' in e:
                    result = f'test accuracy {e["test_accuracy"]:.4f}'
                else:
                    result = f'final cost {e["final_cost"]:.4f}' if e.get('final_cost') is not None else 'ok'
                out.append(f'| {labels[which]} | {fmt(e["wall_s"])} | '
                           f'{fmt(loop) if loop is not None else "?"} | '
                           f'{fmt(e["wall_s"] - loop) if loop is not None else "?"} | {result} |')
        walls = {k: statistics.median(e['wall_s'] for e in v) for k, v in runs.items()
                 if v and all(e['exit'] == 0 for e in v)}
        if 'classifier' in walls and 'classifier-fast' in walls:
            out.append('')
            out.append(f'--fast whole run: {walls["classifier"] / walls["classifier-fast"]:.2f}x '
                       f'faster than the default one (wall, start to exit)')
        out.append('')
        out.append('"in-script loop": the training loop as the script measures it (--metrics-json); '
                   '"rest": TensorFlow import, data, graph, test evaluation, writing outputs, exit.')

    out.append('')
    out.append('## Machine')
    out.append('')
    v = machine['versions']
    out.append(f'- CPU: {machine["cpu"]}, {machine["cores"]} cores '
               f'({machine["usable_cores"]} usable), {machine["platform"]}')
    out.append(f'- Python {machine["python"]}; tensorflow {v["tensorflow"]}, tf-keras {v["tf-keras"]}, '
               f'keras {v["keras"]}, torch {v["torch"] or "not installed"}, numpy {v["numpy"]}')
    fl = (lambda la: ' / '.join(f'{x:.2f}' for x in la) if la else '?')
    out.append(f'- load average (1/5/15 min) before: {fl(load_before)}, after: {fl(load_after)}'
               f' (above ~0 with nothing else running = other work was competing: noisy numbers)')
    return '\n'.join(out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--rounds', type=int, default=None, help='interleaved rounds (default 10; --quick 3)')
    p.add_argument('--steps-per-round', type=int, default=None,
                   help='timed steps per side per round (default 20; --quick 8)')
    p.add_argument('--warmup', type=int, default=None,
                   help='untimed steps per side before the rounds (default 15; --quick 5)')
    p.add_argument('--max-seconds', type=float, default=5.0,
                   help='stop a side\'s round (or warm-up) early after this many seconds, so a side '
                        'that competing load slows down a lot cannot blow the time budget (default 5)')
    p.add_argument('--runs', type=int, default=None,
                   help='how many times to time each script\'s whole run (default 1; --quick 0)')
    p.add_argument('--skip-runs', action='store_true', help='skip the whole-run timings (= --runs 0)')
    p.add_argument('--quick', action='store_true',
                   help='a smoke run: 3 rounds of 8 steps, no whole runs unless --runs is given')
    p.add_argument('--sides', default=','.join(DEFAULT_SIDES),
                   help='comma-separated, from: %s (default: %s)'
                        % (', '.join(SIDES), ','.join(DEFAULT_SIDES)))
    p.add_argument('--python', default=sys.executable,
                   help='interpreter for the workers and the scripts (default: this one)')
    p.add_argument('--json', metavar='PATH', help='also write every number as JSON')
    args = p.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds if args.rounds is not None else (3 if q else 10)
    args.steps_per_round = args.steps_per_round if args.steps_per_round is not None else (8 if q else 20)
    args.warmup = args.warmup if args.warmup is not None else (5 if q else 15)
    args.runs = args.runs if args.runs is not None else (0 if q else 1)
    if args.skip_runs:
        args.runs = 0
    args.sides = [s.strip() for s in args.sides.split(',') if s.strip()]
    bad = [s for s in args.sides if s not in SIDES]
    if bad or not args.sides:
        p.error(f'unknown side(s) {bad}; choose from {", ".join(SIDES)}')
    if min(args.rounds, args.steps_per_round) < 1 or args.warmup < 0 or args.runs < 0:
        p.error('--rounds and --steps-per-round must be >= 1, --warmup and --runs >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    machine = machine_info()
    load_before = loadavg()
    notes = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='lstm-bench-') as tmpdir:
        live, rates = measure_steps(args, tmpdir, notes)
        if not live:
            sys.exit('error: no side could be measured:\n' + '\n'.join(notes))
        runs = whole_runs(args, tmpdir) if args.runs else None
    load_after = loadavg()
    text = report(args, machine, live, rates, runs, notes, load_before, load_after)
    print(text)
    print(f'\n(benchmark took {time.perf_counter() - started:.0f} s)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'machine': machine, 'args': vars(args),
                       'steps': {w.name: {'info': w.info, 'ms': w.ms, 'losses': w.losses,
                                          **summarize(w.ms)} for w in live},
                       'flops': step_flops()[2], 'fast_flops': fast_step_flops(), 'matmul_gflops': rates, 'runs': runs,
                       'notes': notes, 'loadavg': [load_before, load_after]}, f, indent=1)


if __name__ == '__main__':
    main()

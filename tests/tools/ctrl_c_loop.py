"""Ctrl-C right after a save, N times: every try must be a clean exit.

Each try starts the classifier (small model, long run) in a fresh checkpoint folder,
waits for a stdout line ending in "saved", waits a random 0..--max-delay seconds
(0 on every third try: the signal lands while the next step runs, or the next save)
and sends SIGINT. A try is clean when:

* the exit status is 130;
* stderr holds exactly one line, the "interrupted at step N (Ctrl-C); best
  checkpoint kept: <path>" line, with no traceback;
* the folder's `checkpoint` index names a checkpoint whose files are all there and
  which TensorFlow reads back (tf.train.list_variables), and it is the one the line
  names;
* no temporary file (`*tmp*`, `*tempstate*`, `*_temp*`) is left.

    python tests/tools/ctrl_c_loop.py              # 100 tries (about 15 minutes on 2 cores)
    python tests/tools/ctrl_c_loop.py --tries 10 --json out.json

The summary line gives the clean count, the statuses seen and the time per try;
the exit status is 0 only if every try was clean.
"""
import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
SCRIPT = os.path.join(ROOT, 'mnist_lstm_classifier.py')
TEMP = re.compile(r'tmp|tempstate|_temp')


def one_try(folder, seed, delay, hidden_units):
    ckpt = os.path.join(folder, 'ckpt')
    proc = subprocess.Popen(
        [sys.executable, '-X', 'faulthandler', SCRIPT, '--hidden-units', str(hidden_units), '--seed', str(seed),
         '--training-iters', '10000000', '--data-dir', os.path.join(ROOT, 'data'),
         '--ckpt-dir', ckpt, '--logdir', os.path.join(folder, 'logs')],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Ctrl-C as a terminal delivers it: a loop started with `&` from a script has
        # SIGINT ignored, which its children inherit and rightly keep ignoring.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        sent = False
        for line in proc.stdout:
            if line.rstrip().endswith('saved'):
                if delay:
                    time.sleep(delay)
                proc.send_signal(signal.SIGINT)
                sent = True
                break
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            # A hang after the signal is a finding: SIGABRT makes faulthandler print
            # every thread's Python stack on stderr, kept in the report.
            proc.send_signal(signal.SIGABRT)
            out, err = proc.communicate(timeout=60)
            return 'hung', [f'no exit 120 s after the signal (delay {delay:.3f}s); '
                            f'stacks: {err[-3000:]}']
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    problems = []
    if not sent:
        problems.append('no "saved" line')
    if proc.returncode != 130:
        problems.append(f'exit {proc.returncode}')
    lines = [l for l in err.splitlines() if l.strip()]
    if 'Traceback' in err or len(lines) != 1 or not lines[0].startswith('interrupted at step'):
        problems.append('stderr: ' + ' | '.join(lines[-5:]))
    left = [n for n in os.listdir(ckpt) if TEMP.search(n)] if os.path.isdir(ckpt) else []
    if left:
        problems.append(f'temporary files left: {left}')
    problems += check_folder(ckpt, lines[0] if lines else '')
    return proc.returncode, problems


def check_folder(ckpt, line):
    """The index names a complete checkpoint that TensorFlow reads, the one the line names."""
    from run_safety import checkpoints
    from tf1_compat.v1 import tf
    current, listed = checkpoints.read_index(ckpt)
    if not current:
        return ['the index names no complete checkpoint']
    path = os.path.join(ckpt, current)
    try:
        names = dict(tf.train.list_variables(path))
    except Exception as e:  # noqa: BLE001 (any failure is the finding)
        return [f'{path} unreadable: {type(e).__name__}']
    if 'rnn/basic_lstm_cell/kernel' not in names:
        return [f'{path} lacks the LSTM kernel']
    if not line.endswith(path):
        return [f'the line names another checkpoint than {path}: {line}']
    return []


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tries', type=int, default=100)
    p.add_argument('--max-delay', type=float, default=0.05,
                   help='largest wait between the "saved" line and the signal (s)')
    p.add_argument('--hidden-units', type=int, default=8)
    p.add_argument('--seed', type=int, default=0, help='seed of the delays and runs')
    p.add_argument('--json', help='write the summary as JSON')
    args = p.parse_args()
    rng = random.Random(args.seed)
    statuses = collections.Counter()
    failures = []
    started = time.time()
    for i in range(args.tries):
        delay = 0.0 if i % 3 == 0 else rng.uniform(0, args.max_delay)
        folder = tempfile.mkdtemp(prefix='ctrl_c_loop.')
        try:
            status, problems = one_try(folder, seed=i, delay=delay,
                                       hidden_units=args.hidden_units)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        statuses[status] += 1
        if problems:
            failures.append({'try': i, 'delay': round(delay, 4), 'problems': problems})
            print(f'try {i}: NOT CLEAN (delay {delay:.3f}s): {"; ".join(problems)}', flush=True)
        elif (i + 1) % 10 == 0:
            print(f'{i + 1} tries, {i + 1 - len(failures)} clean', flush=True)
    seconds = time.time() - started
    clean = args.tries - len(failures)
    summary = {'tries': args.tries, 'clean': clean, 'statuses': dict(statuses),
               'seconds': round(seconds, 1), 'seconds_per_try': round(seconds / args.tries, 2),
               'failures': failures}
    print(f'{clean}/{args.tries} clean exits; exit statuses {dict(statuses)}; '
          f'{seconds:.0f} s ({seconds / args.tries:.1f} s per try)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summary, f, indent=2)
    sys.exit(0 if clean == args.tries else 1)


if __name__ == '__main__':
    main()

"""Where does the classifier's default run spend its time? One instrumented run.

    python bench/phases.py                  # the default run (782 steps), about 40 s
    python bench/phases.py --training-iters 12800   # any flag of the script passes through

Runs ``mnist_lstm_classifier.main()`` in this process, with temporary --ckpt-dir and
--logdir unless given, and wraps (without changing what they do) the calls it makes:
the TensorFlow import, input_data.read_data_sets, build_graph, every Session.run
(sorted by what it fetches: the training step, the every-20-steps accuracy/summary
pass, the test-set evaluation, the saver's own runs), Saver.save/restore, next_batch,
the FileWriter. The exit (Python tearing TensorFlow down) is timed by a parent
process: this script re-runs itself as a child and watches it end.
"""
import os
import sys
import time

T_START = time.time()
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parent(argv):
    import subprocess
    t0 = time.time()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), '--child'] + argv,
                          stdout=subprocess.PIPE, text=True)
    t_end = time.time()
    out = proc.stdout
    print(''.join(line for line in out.splitlines(keepends=True)
                  if not line.startswith('LAST_LINE_AT ')), end='')
    marker = [line for line in out.splitlines() if line.startswith('LAST_LINE_AT ')]
    if proc.returncode != 0 or not marker:
        sys.exit(proc.returncode or 1)
    child_start, last = (float(x) for x in marker[0].split()[1:3])
    print(f'| interpreter start (parent -> child\'s first line) | {child_start - t0:.2f} | |')
    print(f'| exit (child\'s last line -> parent sees it end) | {t_end - last:.2f} | '
          f'Python tearing TensorFlow\'s objects down |')
    print(f'| **whole process, start to exit** | **{t_end - t0:.2f}** | |')


def child(argv):
    import collections
    import contextlib
    import io
    import tempfile

    sys.path.insert(0, ROOT)
    acc = collections.defaultdict(float)
    cnt = collections.Counter()

    t = time.perf_counter()
    import mnist_lstm_classifier as m
    tf = m.load_tensorflow()  # imports TensorFlow through tf1_compat.v1
    acc['import mnist_lstm_classifier (TensorFlow, tf-keras)'] = time.perf_counter() - t
    cnt['import mnist_lstm_classifier (TensorFlow, tf-keras)'] = 1
    from tf1_compat import input_data

    def wrap(owner, name, label):
        orig = getattr(owner, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                acc[label] += time.perf_counter() - t0
                cnt[label] += 1
        setattr(owner, name, timed)

    graph = {}
    orig_build = m.build_graph

    def build_graph(*a, **k):
        t0 = time.perf_counter()
        g = orig_build(*a, **k)
        acc['build_graph'] += time.perf_counter() - t0
        cnt['build_graph'] += 1
        graph['g'] = g
        return g
    m.build_graph = build_graph

    orig_run = tf.Session.run
    nested = [0]

    def run(self, fetches, *a, **k):
        g = graph.get('g')
        flat = fetches if isinstance(fetches, (list, tuple)) else [fetches]
        if nested[0]:
            label = None
        elif g is not None and any(f is g.train_op for f in flat):
            label = 'sess.run: training step (train_op, cost)'
        elif g is not None and any(f is g.merged for f in flat):
            label = 'sess.run: every-20-steps accuracy/summary pass'
        elif g is not None and any(f is g.correct_pred for f in flat):
            label = 'sess.run: evaluation batches (correct_pred)'
        elif g is not None and any(f is g.init for f in flat):
            label = 'sess.run: variable initialisation'
        else:
            label = 'sess.run: other'
        t0 = time.perf_counter()
        try:
            return orig_run(self, fetches, *a, **k)
        finally:
            if label:
                acc[label] += time.perf_counter() - t0
                cnt[label] += 1
    tf.Session.run = run

    def wrap_nested(owner, name, label):
        """Time a call as a whole; Session.run calls inside it are not counted again."""
        orig = getattr(owner, name)

        def timed(*a, **k):
            nested[0] += 1
            t0 = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                nested[0] -= 1
                acc[label] += time.perf_counter() - t0
                cnt[label] += 1
        setattr(owner, name, timed)

    wrap(input_data, 'read_data_sets', 'read_data_sets (MNIST load + checksum)')
    wrap(input_data.DataSet, 'next_batch', 'next_batch')
    wrap_nested(tf.train.Saver, 'save', 'Saver.save (checkpoint + .meta graph)')
    wrap_nested(tf.train.Saver, 'restore', 'Saver.restore')
    wrap(tf.train.Saver, '__init__', 'Saver()')
    wrap(tf.summary.FileWriter, '__init__', 'FileWriter(graph)')
    wrap(tf.summary.FileWriter, 'add_summary', 'FileWriter.add_summary')
    wrap(tf.summary.FileWriter, 'close', 'FileWriter.close')

    tmp = tempfile.mkdtemp(prefix='lstm-phases-')
    if '--ckpt-dir' not in argv:
        argv = argv + ['--ckpt-dir', os.path.join(tmp, 'ckpt')]
    if '--logdir' not in argv:
        argv = argv + ['--logdir', os.path.join(tmp, 'logs')]
    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        result = m.main(argv)
    t_main = time.perf_counter() - t0

    total = sum(acc.values())
    print(f'classifier: {" ".join(argv)}')
    print(f'last lines: {" / ".join(out.getvalue().strip().splitlines()[-2:])}')
    print()
    print('| phase | seconds | calls, ms per call |')
    print('|---|---:|---|')
    for label, sec in sorted(acc.items(), key=lambda kv: -kv[1]):
        n = cnt[label]
        print(f'| {label} | {sec:.2f} | {n} x {1000 * sec / n:.1f} ms |')
    unaccounted = t_main - (total - acc['import mnist_lstm_classifier (TensorFlow, tf-keras)'])
    print(f'| rest of main() (Python loop, prints, ...) | {unaccounted:.2f} | |')
    print(f'| main() in all (train_seconds {result.get("train_seconds")}) | {t_main:.2f} | |')
    sys.stdout.flush()
    print(f'LAST_LINE_AT {T_START} {time.time()}', flush=True)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--child']:
        child(sys.argv[2:])
    else:
        parent(sys.argv[1:])

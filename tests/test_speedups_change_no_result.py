"""The speed-ups change no result: each tuned path against the untuned one (bench/ has the
timings). The reader's index-based shuffle is pinned by test_fidelity.py's batch checks."""
import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import DATA_DIR, ROOT
import mnist_lstm_classifier as clf

tf = clf.load_tensorflow()
ARGS = ['--training-iters', str(128 * 21), '--seed', '5', '--data-dir', DATA_DIR]


def run(argv):
    with contextlib.redirect_stdout(io.StringIO()):
        return clf.main(argv)


def test_gc_tuning_changes_no_result(tmp_path):
    """tf1_compat/v1.py turns the garbage collector off during TensorFlow's import and
    freezes it after; a run without that (gc.disable/freeze made no-ops) gives the
    same numbers."""
    tuned = run(ARGS + ['--ckpt-dir', str(tmp_path / 'a'), '--logdir', str(tmp_path / 'la')])
    argv = ['mnist_lstm_classifier.py', *ARGS, '--ckpt-dir', str(tmp_path / 'b'),
            '--logdir', str(tmp_path / 'lb'), '--metrics-json', str(tmp_path / 'b.json')]
    code = ('import gc, runpy, sys; gc.disable = gc.freeze = lambda: None; '
            f'sys.argv = {argv!r}; runpy.run_path(sys.argv[0], run_name="__main__")')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    untuned = json.loads((tmp_path / 'b.json').read_text())
    for key in ('steps', 'best_step', 'best_batch_accuracy', 'test_accuracy'):
        assert untuned[key] == tuned[key], key


def build(static_unroll):
    graph = tf.Graph()
    with graph.as_default():
        g = clf.build_graph(static_unroll=static_unroll)
        g.variables = tf.global_variables()
        trainable = tf.trainable_variables()
        g.grads = tf.gradients(g.cost, trainable)
    return graph, g


def test_static_unroll_is_the_same_math():
    """--static-unroll: same variables (names and shapes), and from the same weights the
    gradients, and costs and weights over 5 Adam steps as dynamic_rnn, to float32
    tolerance. (Adam divides by sqrt(v): where a gradient is near zero, rounding
    differences can move a weight by a fraction of one step, lr = 0.001.)"""
    (g_dyn_graph, dyn), (g_sta_graph, sta) = build(False), build(True)
    assert [(v.name, v.shape.as_list()) for v in dyn.variables] == \
        [(v.name, v.shape.as_list()) for v in sta.variables]
    rng = np.random.RandomState(0)
    batches = [(rng.rand(128, 28, 28).astype(np.float32),
                np.eye(10)[rng.randint(0, 10, 128)]) for _ in range(5)]
    with tf.Session(graph=g_dyn_graph) as s_dyn, tf.Session(graph=g_sta_graph) as s_sta:
        s_dyn.run(dyn.init)
        s_sta.run(sta.init)
        for v_dyn, v_sta in zip(dyn.variables, sta.variables):
            v_sta.load(s_dyn.run(v_dyn), s_sta)
        xs, ys = batches[0]
        for g_dyn, g_sta in zip(s_dyn.run(dyn.grads, {dyn.x: xs, dyn.y: ys}),
                                s_sta.run(sta.grads, {sta.x: xs, sta.y: ys})):
            np.testing.assert_allclose(g_sta, g_dyn, rtol=1e-4, atol=1e-6)
        for xs, ys in batches:
            _, c_dyn = s_dyn.run([dyn.train_op, dyn.cost], {dyn.x: xs, dyn.y: ys})
            _, c_sta = s_sta.run([sta.train_op, sta.cost], {sta.x: xs, sta.y: ys})
            assert c_sta == pytest.approx(c_dyn, rel=1e-5)
        for v_dyn, v_sta in zip(dyn.variables, sta.variables):
            np.testing.assert_allclose(s_sta.run(v_sta), s_dyn.run(v_dyn), rtol=1e-4,
                                       atol=0.1 * clf.lr)


def test_static_unroll_checkpoint_evaluates_the_same_in_the_tutorial_graph(tmp_path):
    unrolled = run(ARGS + ['--static-unroll', '--ckpt-dir', str(tmp_path / 'ckpt'),
                           '--logdir', str(tmp_path / 'logs')])
    dynamic = run(['--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(tmp_path / 'ckpt')])
    assert dynamic['checkpoint'] == unrolled['checkpoint']
    # same weights, two graph forms: at most a few borderline images may flip
    assert abs(dynamic['test_accuracy'] - unrolled['test_accuracy']) <= 5 / 10000

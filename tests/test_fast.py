"""mnist_lstm_classifier.py --fast (fast_lstm/): the faithful graph's variables and math.

The reference is the default graph (BasicLSTMCell in dynamic_rnn, itself checked against
TF 1.15 in test_tf115.py). Speed is not tested here: bench/benchmark.py measures it.
"""
import contextlib
import io
import os
import shutil

import numpy as np
import pytest

from conftest import DATA_DIR
import mnist_lstm_classifier as clf
import np_reference as ref

tf = clf.load_tensorflow()
ARGS = ['--training-iters', str(128 * 21), '--seed', '5', '--data-dir', DATA_DIR]
# Measured (float32, the weights and MNIST batches below): at most 6.6e-7 of the tensor's
# largest magnitude for the logits, the cost and all six gradients (9e-7 on random pixels);
# the 5 Adam steps' costs within 2.1e-7 relative. Asserted with 10x room or more.
TOLERANCE = 1e-5


def run(argv):
    with contextlib.redirect_stdout(io.StringIO()):
        return clf.main(argv)


def build(fast, seed=None, **kwargs):
    graph = tf.Graph()
    with graph.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        g = clf.build_graph(fast=fast, **kwargs)
        g.variables = tf.global_variables()
        g.grads = tf.gradients(g.cost, tf.trainable_variables())
    return graph, g


def ancestors(tensors):
    """Every op the tensors (or ops) are computed from."""
    seen, todo = set(), [getattr(t, "op", t) for t in tensors]
    while todo:
        op = todo.pop()
        if op not in seen:
            seen.add(op)
            todo.extend(t.op for t in op.inputs)
            todo.extend(op.control_inputs)
    return seen


def uses_fast_forward(tensor):
    ops = ancestors([tensor])
    return (any(op.name.startswith('fast_lstm/') for op in ops)
            and not any(op.name.startswith('rnn/while') or op.type == 'Enter' for op in ops))


@pytest.mark.parametrize('seed, kwargs', [(1, {}), (7, dict(batch_size=32, n_hidden_units=64))])
def test_same_variables_and_seeded_initial_weights_as_the_default_graph(seed, kwargs):
    """Names, shapes and (Adam slots included) the set a checkpoint holds; under
    tf.set_random_seed the very same initial weights, so --seed N --fast starts where
    --seed N does."""
    (dgraph, d), (fgraph, f) = build(False, seed, **kwargs), build(True, seed, **kwargs)
    assert [(v.name, v.shape.as_list()) for v in d.variables] == \
        [(v.name, v.shape.as_list()) for v in f.variables]
    with tf.Session(graph=dgraph) as ds, tf.Session(graph=fgraph) as fs:
        ds.run(d.init)
        fs.run(f.init)
        for dv, fv in zip(d.variables, f.variables):
            np.testing.assert_array_equal(fs.run(fv), ds.run(dv), err_msg=dv.name)


def trained_like_weights(rng):
    """Weights in the range a trained model has: unsaturated gates, non-zero LSTM bias."""
    limit = np.sqrt(6 / (256 + 512))
    return [rng.randn(28, 128) * 0.3, rng.randn(128, 10), np.full(128, 0.1), np.full(10, 0.1),
            rng.uniform(-limit, limit, (256, 512)), rng.uniform(-0.5, 0.5, 512)]


def mnist_batches(rng, n):
    _, images = ref.read_idx(os.path.join(DATA_DIR, 'train-images-idx3-ubyte.gz'))
    _, labels = ref.read_idx(os.path.join(DATA_DIR, 'train-labels-idx1-ubyte.gz'))
    pick = rng.choice(len(images), n * 128, replace=False)
    xs = ref.scale(images[pick]).reshape(n, 128, 28, 28)
    ys = ref.one_hot(labels[pick]).astype(np.float32).reshape(n, 128, 10)
    return list(zip(xs, ys))


@pytest.mark.parametrize('weights', ['seeded initial', 'trained-like'])
def test_logits_cost_and_every_gradient_match_the_faithful_graph(weights):
    """Same weights, same real MNIST batch: logits, cost and the gradient of each of the
    six variables within TOLERANCE of the tensor's largest magnitude; then 5 Adam steps
    keep the costs together."""
    (dgraph, d), (fgraph, f) = build(False, seed=1), build(True, seed=1)
    rng = np.random.RandomState(3)
    batches = mnist_batches(rng, 5)
    with tf.Session(graph=dgraph) as ds, tf.Session(graph=fgraph) as fs:
        ds.run(d.init)
        fs.run(f.init)
        trainable = d.variables[:6]
        if weights == 'trained-like':
            for v, value in zip(trainable, trained_like_weights(rng)):
                v.load(value.astype(np.float32), ds)
        for dv, fv in zip(d.variables, f.variables):
            fv.load(ds.run(dv), fs)
        xs, ys = batches[0]
        want = ds.run([d.pred, d.cost] + d.grads, {d.x: xs, d.y: ys})
        got = fs.run([f.pred, f.cost] + f.grads, {f.x: xs, f.y: ys})
        names = ['logits', 'cost'] + [v.op.name for v in trainable]
        for name, w, g in zip(names, want, got):
            assert np.max(np.abs(g - w)) <= TOLERANCE * np.max(np.abs(w)), name
            assert np.max(np.abs(w)) > 0, name  # a gradient that is all zeros proves nothing
        for xs, ys in batches:
            _, want = ds.run([d.train_op, d.cost], {d.x: xs, d.y: ys})
            _, got = fs.run([f.train_op, f.cost], {f.x: xs, f.y: ys})
            assert got == pytest.approx(want, rel=1e-5)


def test_fast_graph_is_unrolled_with_the_fused_backward():
    """What --fast builds (FIDELITY.md): no while loop, the 28 steps' elementwise backward
    as TensorFlow's LSTMBlockCellGrad, one recurrent h @ Wh matmul per step but the first
    (the x-part is one matmul before the recurrence), and nothing of BasicLSTMCell."""
    graph, g = build(True)
    ops = graph.get_operations()
    assert not [op for op in ops if op.type in ('Enter', 'Exit', 'LoopCond')]
    training = ancestors([g.train_op])
    assert len([op for op in training if op.type == 'LSTMBlockCellGrad']) == 28
    assert not [op for op in ops if 'basic_lstm_cell/' in op.name and op.type == 'MatMul']
    forward = ancestors([g.pred])
    recurrent = [op for op in forward if op.type == 'MatMul'
                 and op.inputs[0].shape.as_list() == [None, 128]
                 and op.inputs[1].shape.as_list() == [128, 512]]
    assert len(recurrent) == 27
    assert uses_fast_forward(g.pred)
    assert not uses_fast_forward(build(False)[1].pred)  # the check can tell them apart


def test_every_accuracy_pass_uses_the_fast_forward(monkeypatch, tmp_path):
    """With --fast, the every-20 batch accuracy (g.accuracy), the
    --select-on validation pass and the test set (evaluate(): g.correct_pred), in training
    and in --eval, run on the fast graph, in the fast session config."""
    graphs, configs = [], []
    build_graph, session = clf.build_graph, tf.Session

    def spy_build(*args, **kwargs):
        g = build_graph(*args, **kwargs)
        graphs.append(g)
        return g

    def spy_session(*args, **kwargs):
        configs.append(kwargs.get('config'))
        return session(*args, **kwargs)

    evaluated = []
    evaluate = clf.evaluate
    monkeypatch.setattr(clf, 'build_graph', spy_build)
    monkeypatch.setattr(clf.tf, 'Session', spy_session)
    monkeypatch.setattr(clf, 'evaluate', lambda sess, g, ds: evaluated.append(g) or evaluate(sess, g, ds))
    run(['--fast', '--training-iters', str(128 * 21), '--seed', '2', '--data-dir', DATA_DIR,
         '--select-on', 'validation', '--ckpt-dir', str(tmp_path / 'ckpt'),
         '--logdir', str(tmp_path / 'logs')])
    run(['--fast', '--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(tmp_path / 'ckpt')])
    assert len(graphs) == 2 and len(evaluated) == 4  # 2 validation passes, 2 test sets
    assert all(g in graphs for g in evaluated)
    for g in graphs:
        assert uses_fast_forward(g.accuracy) and uses_fast_forward(g.correct_pred)
    assert len(configs) == 2
    assert all(c is not None and c.inter_op_parallelism_threads == 1 for c in configs)


def test_fast_checkpoint_evaluates_the_same_in_the_default_graph(tmp_path):
    fast = run(ARGS + ['--fast', '--ckpt-dir', str(tmp_path / 'ckpt'),
                       '--logdir', str(tmp_path / 'logs')])
    default = run(['--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(tmp_path / 'ckpt')])
    assert default['checkpoint'] == fast['checkpoint']
    assert default['test_accuracy'] == fast['test_accuracy']


def test_default_checkpoint_evaluates_the_same_with_fast(tmp_path):
    default = run(ARGS + ['--ckpt-dir', str(tmp_path / 'ckpt'), '--logdir', str(tmp_path / 'logs')])
    fast = run(['--fast', '--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(tmp_path / 'ckpt')])
    assert fast['checkpoint'] == default['checkpoint']
    assert fast['test_accuracy'] == default['test_accuracy']


def test_fast_and_static_unroll_together_is_one_line_error(capsys):
    with pytest.raises(SystemExit) as e:
        clf.parse_args(['--fast', '--static-unroll'])
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith('error: --fast and --static-unroll')


# ----------------------------------------------------------- TF 1.15 (skips without it)

def test_fast_checkpoint_restores_in_tf115(tf115, tmp_path):
    fast = run(ARGS + ['--fast', '--ckpt-dir', str(tmp_path / 'ckpt'),
                       '--logdir', str(tmp_path / 'logs')])
    tf115.run('tf1_classifier.py', 'eval', '--ckpt', fast['checkpoint'],
              '--data-dir', DATA_DIR, '--out', str(tmp_path / 'eval.json'), out_dir=tmp_path)
    import json
    assert json.loads((tmp_path / 'eval.json').read_text())['test_accuracy'] == fast['test_accuracy']


def test_tf115_checkpoint_restores_in_fast_eval(tf115, tmp_path):
    import json
    folder = tf115.cached('tf1_classifier.py', 'train', '--seed', '5', '--training-iters',
                          str(128 * 21), '--data-dir', '{data}', '--ckpt-dir', '{out}/ckpt',
                          '--out', '{out}/run.json', inputs={'data': DATA_DIR})
    theirs = json.loads(open(os.path.join(folder, 'run.json')).read())
    shutil.copytree(os.path.join(folder, 'ckpt'), tmp_path / 'ckpt')
    fast = run(['--fast', '--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(tmp_path / 'ckpt')])
    assert os.path.basename(fast['checkpoint']) == theirs['checkpoint']
    assert fast['test_accuracy'] == theirs['test_accuracy']


# ----------------------------------------------------------- long: the whole default run

# python mnist_lstm_classifier.py --seed 1 (the default graph): test accuracy 0.9481,
# TF 1.15's own number (tests/test_tf115.py checks the two are equal; docs/testing.md).
DEFAULT_SEED_1_TEST_ACCURACY = 0.9481


def test_fast_782_step_seed_1_run_is_within_half_a_point_of_the_default(tmp_path):
    """Long (about a minute on 2 cores; the CI matrix deselects it by 'fast_782').
    Float rounding makes the two runs' later steps drift apart, so the checkpoint the
    batch accuracy picks may differ: the test accuracy must stay within 0.5 points."""
    fast = run(['--fast', '--seed', '1', '--data-dir', DATA_DIR,
                '--ckpt-dir', str(tmp_path / 'ckpt'), '--logdir', str(tmp_path / 'logs')])
    assert fast['steps'] == 782
    assert abs(fast['test_accuracy'] - DEFAULT_SEED_1_TEST_ACCURACY) <= 0.005

"""Fidelity: the rebuild computes what TF 1.x computed (docs/tf1-semantics.md).

Every reference here is tests/np_reference.py, NumPy written from the TF 1.x semantics,
sharing no code with the scripts or tf1_compat. Runs are tiny and seeded; graphs are built
in their own tf.Graph so tests do not depend on each other's default graph.
"""
import glob
import math
import os
import re
import types

import numpy as np
import pytest

from conftest import DATA_DIR, main_and_stdout
import np_reference as ref
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg
from tf1_compat import input_data, legacy_seq2seq

tf = clf.load_tensorflow()
pytestmark = pytest.mark.smoke  # all of it is in the quick tier (pytest -m smoke)


@pytest.fixture(autouse=True)
def tensorflow_loaded():
    """Each test loads what it uses: the scripts' module-level tf, plt, legacy_seq2seq
    (another file's test may have reloaded a script's module, leaving them None)."""
    clf.load_tensorflow()
    reg.load_tensorflow()

SEED = 7            # shuffle/graph seed of the seeded runs
N_TRAIN = 55000     # 60,000 training images minus the 5,000 validation ones
TOL = dict(rtol=1e-5, atol=1e-5)  # float32 graph vs float64 NumPy


@pytest.fixture(scope='module')
def raw():
    """The MNIST files parsed here with gzip + NumPy (not with tf1_compat.input_data)."""
    files = {}
    for key, name, magic in (('train_images', 'train-images-idx3-ubyte.gz', ref.IMAGES_MAGIC),
                             ('train_labels', 'train-labels-idx1-ubyte.gz', ref.LABELS_MAGIC),
                             ('test_images', 't10k-images-idx3-ubyte.gz', ref.IMAGES_MAGIC),
                             ('test_labels', 't10k-labels-idx1-ubyte.gz', ref.LABELS_MAGIC)):
        found, files[key] = ref.read_idx(os.path.join(DATA_DIR, name))
        assert found == magic
    return types.SimpleNamespace(**files)


# ------------------------------------------------------------------ classifier graph

@pytest.fixture(scope='module')
def clf_run(tmp_path_factory):
    """A short seeded training run of the real script (21 steps), checkpoint in tmp."""
    folder = tmp_path_factory.mktemp('fidelity_classifier')
    result, _ = main_and_stdout(clf.main, ['--training-iters', str(128 * 21), '--seed', str(SEED),
                                 '--data-dir', DATA_DIR, '--ckpt-dir', str(folder / 'ckpt'),
                                 '--logdir', str(folder / 'logs')])
    return result


@pytest.fixture(scope='module')
def clf_session(clf_run):
    """build_graph() in its own graph with the checkpoint's weights restored."""
    graph = tf.Graph()
    with graph.as_default():
        g = clf.build_graph()
        saver = tf.train.Saver()
    sess = tf.Session(graph=graph)
    saver.restore(sess, clf_run['checkpoint'])
    yield types.SimpleNamespace(graph=graph, g=g, sess=sess)
    sess.close()


def clf_weights(s):
    g = s.g
    return s.sess.run(dict(w_in=g.weights['in'], b_in=g.biases['in'],
                           w_out=g.weights['out'], b_out=g.biases['out'],
                           kernel=s.graph.get_tensor_by_name('rnn/basic_lstm_cell/kernel:0'),
                           bias=s.graph.get_tensor_by_name('rnn/basic_lstm_cell/bias:0')))


def test_classifier_logits_match_numpy_lstm(clf_session, raw):
    """pred, cost and accuracy on 128 real test images == the NumPy forward pass (input
    layer, BasicLSTMCell i,j,f,o with forget_bias 1.0 at run time, output layer)."""
    s, g = clf_session, clf_session.g
    images = ref.scale(raw.test_images[:128])
    labels = ref.one_hot(raw.test_labels[:128])
    pred, cost, acc = s.sess.run([g.pred, g.cost, g.accuracy], feed_dict={
        g.x: images.reshape(128, 28, 28), g.y: labels})
    w = clf_weights(s)
    assert np.abs(w['bias']).max() > 0  # trained: the LSTM bias takes part in the check
    logits, _, _ = ref.classifier_forward(images, **w)
    np.testing.assert_allclose(pred, logits, **TOL)
    np.testing.assert_allclose(cost, ref.softmax_xent(labels, logits).mean(), **TOL)
    assert acc == np.mean(logits.argmax(1) == raw.test_labels[:128])
    # the comparison is sharp enough to see a forget bias stored in the bias instead of
    # added at run time (i.e. 0 or 2 at run time)
    for wrong in (0.0, 2.0):
        units = w['bias'].shape[0] // 4
        shifted = dict(w, bias=w['bias'] + np.r_[np.zeros(2 * units), np.full(units, wrong - 1.0),
                                                 np.zeros(units)])
        assert not np.allclose(pred, ref.classifier_forward(images, **shifted)[0], **TOL)


def test_classifier_two_output_methods_agree(clf_session, raw):
    """法一 final_state[1] @ W_out + b and 法二 outputs[-1] @ W_out + b: both built in the
    graph, identical results, and equal to NumPy's last (c, h)."""
    s, g = clf_session, clf_session.g
    w_out_read = g.weights['out'].value().name
    heads = [op for op in s.graph.get_operations()
             if op.type == 'MatMul' and not op.name.startswith('gradients/')
             and op.inputs[1].name == w_out_read]
    assert len(heads) == 2  # both methods are in the graph
    by_source = {op.inputs[0].op.type: op for op in heads}
    assert set(by_source) == {'Exit', 'Unpack'}  # dynamic_rnn's final state; unstack(outputs)
    method1_mm = by_source['Exit']
    method1 = [c for c in method1_mm.outputs[0].consumers() if c.type in ('Add', 'AddV2')]
    assert len(method1) == 1 and method1[0].inputs[1].name == g.biases['out'].value().name
    assert g.pred.op.inputs[0].op is by_source['Unpack']  # pred is method 2
    final_h = method1_mm.inputs[0]
    assert final_h.op.name.startswith('rnn/while/')
    # final_state = (c, h): c is the loop's other [batch, units] exit
    exits = [op.outputs[0] for op in s.graph.get_operations()
             if op.type == 'Exit' and op.name.startswith('rnn/while/')
             and op.outputs[0].shape.as_list() == [128, 128]]
    final_c, = [t for t in exits if t.name != final_h.name]
    last_output = by_source['Unpack'].inputs[0]  # outputs[-1]: the last of unstack's 28
    assert last_output.value_index == len(last_output.op.outputs) - 1 == 27

    images = ref.scale(raw.test_images[128:256])
    r1, r2, h, c, out_last = s.sess.run(
        [method1[0].outputs[0], g.pred, final_h, final_c, last_output],
        feed_dict={g.x: images.reshape(128, 28, 28)})
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(h, out_last)
    logits, _, (c_ref, h_ref) = ref.classifier_forward(images, **clf_weights(s))
    np.testing.assert_allclose(h, h_ref, **TOL)
    np.testing.assert_allclose(c, c_ref, **TOL)
    np.testing.assert_allclose(r1, logits, **TOL)
    assert not np.allclose(c, h, **TOL)  # (c, h) order: h = tanh(c) * sigmoid(o) != c


def test_classifier_checkpoint_variables_are_tf1s(clf_run):
    """Names and shapes a TF 1.x checkpoint of the tutorial had, Adam's slots included."""
    model = {'Variable': [28, 128], 'Variable_1': [128, 10], 'Variable_2': [128],
             'Variable_3': [10], 'rnn/basic_lstm_cell/kernel': [256, 512],
             'rnn/basic_lstm_cell/bias': [512]}
    expected = dict(model, beta1_power=[], beta2_power=[])
    for name, shape in model.items():
        expected[name + '/Adam'] = shape
        expected[name + '/Adam_1'] = shape
    assert dict(tf.train.list_variables(clf_run['checkpoint'])) == expected
    # Adam's beta powers: beta^(updates + 1); the checkpoint at step s follows s + 1 updates
    reader = tf.train.load_checkpoint(clf_run['checkpoint'])
    k = clf_run['best_step'] + 2
    np.testing.assert_allclose(reader.get_tensor('beta1_power'), 0.9 ** k, rtol=1e-5)
    np.testing.assert_allclose(reader.get_tensor('beta2_power'), 0.999 ** k, rtol=1e-5)


def adam_constants(graph, sess):
    """(lr, beta1, beta2, epsilon) fed to every ApplyAdam op, and the variables updated."""
    ops = [op for op in graph.get_operations() if op.type in ('ApplyAdam', 'ResourceApplyAdam')]
    values = {tuple(float(v) for v in sess.run(list(op.inputs[5:9]))) for op in ops}
    return values, {op.inputs[0].op.name for op in ops}


def test_adam_hyperparameters_are_tf1_defaults(clf_session, regressor):
    s = clf_session
    values, updated = adam_constants(s.graph, s.sess)
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    assert values == {(f32(0.001), f32(0.9), f32(0.999), f32(1e-8))}
    assert updated == {v.op.name for v in s.graph.get_collection('trainable_variables')}

    r = regressor(train_steps=0)
    values, updated = adam_constants(r.graph, r.sess)
    assert values == {(f32(0.006), f32(0.9), f32(0.999), f32(1e-8))}
    assert len(updated) == 6


def test_initializers_are_the_tutorials(regressor):
    """Fresh, seeded graphs: random_normal(0, 1) weights, 0.1 biases, glorot-uniform LSTM
    kernel (no initializer in the enclosing scope), zero LSTM bias (forget_bias not stored)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(SEED)
        g = clf.build_graph()
    with tf.Session(graph=graph) as sess:
        sess.run(g.init)
        w = clf_weights(types.SimpleNamespace(g=g, sess=sess, graph=graph))
    for name in ('w_in', 'w_out'):
        assert abs(w[name].mean()) < 0.1 and abs(w[name].std() - 1) < 0.08
    assert (w['b_in'] == np.float32(0.1)).all() and (w['b_out'] == np.float32(0.1)).all()
    limit = math.sqrt(6 / (256 + 512))
    assert np.abs(w['kernel']).max() <= limit
    assert abs(w['kernel'].std() - limit / math.sqrt(3)) < 0.02 * limit
    assert (w['bias'] == 0).all()

    r = regressor(train_steps=0)
    values = r.sess.run({v.op.name: v for v in r.graph.get_collection('variables')})
    assert (values['in_hidden/biases'] == np.float32(0.1)).all()
    assert (values['out_hidden/biases'] == np.float32(0.1)).all()
    assert (values['LSTM_cell/rnn/basic_lstm_cell/bias'] == 0).all()
    limit = math.sqrt(6 / (20 + 40))
    assert np.abs(values['LSTM_cell/rnn/basic_lstm_cell/kernel']).max() <= limit
    for scope in ('in_hidden', 'out_hidden'):
        init = scope + '/weights/Initializer/random_normal/'
        assert r.graph.get_operation_by_name(init + 'RandomStandardNormal').type == 'RandomStandardNormal'
        assert r.sess.run(init + 'mean:0') == 0 and r.sess.run(init + 'stddev:0') == 1


# ------------------------------------------------------------------ regressor graph

@pytest.fixture
def regressor():
    """A builder of LSTMRNN graphs; their sessions are closed after the test."""
    sessions = []

    def build(**kwargs):
        r = build_regressor(**kwargs)
        sessions.append(r.sess)
        return r

    yield build
    for sess in sessions:
        sess.close()


def build_regressor(n_steps=20, train_steps=3, joined=False):
    """LSTMRNN in its own seeded graph; a few training steps with the carried state (so the
    biases are no longer their initial values). joined=True adds a 40-step copy."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(SEED)
        model = reg.LSTMRNN(n_steps, 1, 1, 10, 50)
        long = None
        if joined:
            with tf.variable_scope('joined'):
                long = reg.LSTMRNN(2 * n_steps, 1, 1, 10, 50)
        merged = tf.summary.merge_all()
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph)
    sess.run(init)
    start = 1000  # points [1000, ...): away from the batches the tests look at
    state = None
    for _ in range(train_steps):
        xs = np.arange(start, start + n_steps * 50).reshape(50, n_steps) / (10 * np.pi)
        start += n_steps
        feed = {model.xs: np.sin(xs)[..., None], model.ys: np.cos(xs)[..., None]}
        if state is not None:
            feed[model.cell_init_state] = state
        _, state = sess.run([model.train_op, model.cell_final_state], feed)
    return types.SimpleNamespace(graph=graph, model=model, long=long, sess=sess,
                                 merged=merged, state=state)


def reg_weights(r):
    names = dict(w_in='in_hidden/weights', b_in='in_hidden/biases',
                 kernel='LSTM_cell/rnn/basic_lstm_cell/kernel',
                 bias='LSTM_cell/rnn/basic_lstm_cell/bias',
                 w_out='out_hidden/weights', b_out='out_hidden/biases')
    return r.sess.run({k: r.graph.get_tensor_by_name(v + ':0') for k, v in names.items()})


def test_regressor_step_matches_numpy(regressor, monkeypatch):
    """One batch from a carried (non-zero) state: pred, cell_final_state and the cost
    (sum of squared errors / batch_size = 20 x MSE) == NumPy."""
    r = regressor()
    m = r.model
    monkeypatch.setattr(reg, 'BATCH_START', 0)
    seq, res, _ = reg.get_batch()
    c0, h0 = r.state
    assert np.abs(h0).max() > 0.01
    pred, (c, h), cost = r.sess.run([m.pred, m.cell_final_state, m.cost], feed_dict={
        m.xs: seq, m.ys: res, m.cell_init_state: r.state})
    w = reg_weights(r)
    assert np.abs(w['bias']).max() > 0
    pred_ref, (c_ref, h_ref) = ref.regressor_forward(seq, c0=c0, h0=h0, **w)
    np.testing.assert_allclose(pred, pred_ref, **TOL)
    np.testing.assert_allclose(c, c_ref, **TOL)
    np.testing.assert_allclose(h, h_ref, **TOL)
    sq = (pred_ref.reshape(-1) - res.reshape(-1)) ** 2
    np.testing.assert_allclose(cost, sq.sum() / 50, **TOL)
    np.testing.assert_allclose(cost, 20 * sq.mean(), **TOL)


def test_carried_state_is_a_true_continuation(regressor, monkeypatch):
    """Two consecutive get_batch() batches, the first run's final state fed as the second's
    cell_init_state == the joined 40-step sequences run in one go (same weights)."""
    r = regressor(joined=True)
    short, long = r.model, r.long
    r.sess.run([_copy(r, v) for v in r.graph.get_collection('trainable_variables')
                if not v.op.name.startswith('joined/')])
    monkeypatch.setattr(reg, 'BATCH_START', 0)
    seq1, _, xs1 = reg.get_batch()
    seq2, _, xs2 = reg.get_batch()
    xs = np.concatenate([xs1, xs2], axis=1)
    # row r of the second batch continues row r of the first
    np.testing.assert_allclose(xs * 10 * np.pi, np.arange(40) + 20 * np.arange(50)[:, None])

    p1, s1 = r.sess.run([short.pred, short.cell_final_state], {short.xs: seq1})
    p2, s2 = r.sess.run([short.pred, short.cell_final_state],
                        {short.xs: seq2, short.cell_init_state: s1})
    assert np.abs(s1.h).max() > 0.01
    p40, s40 = r.sess.run([long.pred, long.cell_final_state],
                          {long.xs: np.concatenate([seq1, seq2], axis=1)})
    np.testing.assert_allclose(p40.reshape(50, 40),
                               np.concatenate([p1.reshape(50, 20), p2.reshape(50, 20)], 1), **TOL)
    np.testing.assert_allclose(s40.c, s2.c, **TOL)
    np.testing.assert_allclose(s40.h, s2.h, **TOL)
    # the carried state matters: the zero state on the second batch gives other numbers
    p2_zero = r.sess.run(short.pred, {short.xs: seq2})
    assert not np.allclose(p2_zero, p2, **TOL)


def _copy(r, v):
    """An op assigning variable v's value to its 'joined/' twin."""
    with r.graph.as_default():
        twin, = [t for t in r.graph.get_collection('variables') if t.op.name == 'joined/' + v.op.name]
        return tf.assign(twin, v)


def test_regressor_graph_names_are_tf1s(regressor):
    r = regressor(train_steps=0)
    g, m = r.graph, r.model
    model = {'in_hidden/weights': [1, 10], 'in_hidden/biases': [10],
             'LSTM_cell/rnn/basic_lstm_cell/kernel': [20, 40],
             'LSTM_cell/rnn/basic_lstm_cell/bias': [40],
             'out_hidden/weights': [10, 1], 'out_hidden/biases': [1]}
    # beta powers sit in the 'train' name scope minimize() was called in (TF 1.x's
    # optimizer code, shared by tf.compat.v1)
    expected = dict(model, **{'train/beta1_power': [], 'train/beta2_power': []})
    for name, shape in model.items():
        expected[name + '/Adam'] = shape
        expected[name + '/Adam_1'] = shape
    assert {v.op.name: v.shape.as_list() for v in g.get_collection('variables')} == expected
    assert {v.op.name for v in g.get_collection('trainable_variables')} == set(model)

    assert (m.xs.name, m.ys.name) == ('inputs/xs:0', 'inputs/ys:0')
    assert m.xs.op.type == m.ys.op.type == 'Placeholder'
    for name in ('in_hidden/2_2D', 'in_hidden/2_3D', 'out_hidden/2_2D',
                 'cost/reshape_pred', 'cost/reshape_target'):
        assert g.get_operation_by_name(name).type == 'Reshape'
    assert m.l_in_y.name == 'in_hidden/2_3D:0'
    assert all(t.name.startswith('LSTM_cell/initial_state/') for t in m.cell_init_state)
    assert m.cost.name == 'cost/average_cost/average_cost:0'
    assert g.get_operation_by_name('cost/average_cost/losses_sum').type == 'Sum'
    assert any(op.name.startswith('cost/losses/') for op in g.get_operations())
    assert m.train_op.name == 'train/Adam'

    seq, res = np.zeros((50, 20, 1)), np.ones((50, 20, 1))
    summary, cost = r.sess.run([r.merged, m.cost], {m.xs: seq, m.ys: res})
    value, = tf.Summary.FromString(summary).value
    assert value.tag == 'cost/average_cost/cost'
    assert value.simple_value == pytest.approx(float(cost))


# ------------------------------------------------------------------ sequence_loss_by_example

def seq_loss_inputs(rng, t=3, batch=5, classes=4):
    logits = [rng.randn(batch, classes).astype(np.float32) * 2 for _ in range(t)]
    targets = [rng.randint(0, classes, size=batch).astype(np.int32) for _ in range(t)]
    return logits, targets


WEIGHTS = {
    'ones': lambda rng: [np.ones(5, np.float32) for _ in range(3)],
    'random': lambda rng: [rng.uniform(0.1, 2, 5).astype(np.float32) for _ in range(3)],
    'some_zero': lambda rng: [np.array([0, 1, 0.5, 0, 2], np.float32), np.zeros(5, np.float32),
                              np.array([1, 0, 3, 0, 0.25], np.float32)],
    'all_zero': lambda rng: [np.zeros(5, np.float32) for _ in range(3)],
    # weights near TF 1.x's 1e-12 guard: the guard's size shows in the average
    'tiny': lambda rng: [rng.uniform(1e-7, 1e-6, 5).astype(np.float32) for _ in range(3)],
}


def run_loss(build):
    graph = tf.Graph()
    with graph.as_default():
        before = {op.name for op in graph.get_operations()}
        out = build()
        new_ops = [op.name for op in graph.get_operations() if op.name not in before]
        with tf.Session() as sess:
            return sess.run(out), out, new_ops


@pytest.mark.parametrize('average', [True, False])
@pytest.mark.parametrize('weights', sorted(WEIGHTS))
def test_sequence_loss_default_softmax(weights, average):
    rng = np.random.RandomState(len(weights) + 10 * average)
    logits, targets = seq_loss_inputs(rng)
    w = WEIGHTS[weights](rng)

    def build():
        # targets as [batch, 1]: TF 1.x reshapes them to [-1] for the default loss
        return legacy_seq2seq.sequence_loss_by_example(
            [tf.constant(l) for l in logits], [tf.constant(t.reshape(-1, 1)) for t in targets],
            [tf.constant(x) for x in w], average_across_timesteps=average)

    got, out, new_ops = run_loss(build)
    expected = ref.sequence_loss_by_example(logits, targets, w, average)
    assert got.shape == (5,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # the default name scope holds every op the function made
    assert out.name.startswith('sequence_loss_by_example/')
    assert all(n.startswith('sequence_loss_by_example/') for n in new_ops if not n.startswith('Const'))


@pytest.mark.parametrize('average', [True, False])
def test_sequence_loss_custom_loss_called_with_keywords(average):
    rng = np.random.RandomState(3 + average)
    t = 3
    preds = [rng.randn(6).astype(np.float32) for _ in range(t)]
    targets = [rng.randn(6).astype(np.float32) for _ in range(t)]
    w = [rng.uniform(0.1, 2, 6).astype(np.float32) for _ in range(t)]
    calls = []

    def squared(*args, **kwargs):
        calls.append((args, kwargs))
        return tf.square(tf.subtract(kwargs['labels'], kwargs['logits']))

    def build():
        with tf.name_scope('cost'):
            logit_t = [tf.constant(p) for p in preds]
            target_t = [tf.constant(x) for x in targets]
            build.tensors = logit_t, target_t
            return legacy_seq2seq.sequence_loss_by_example(
                logit_t, target_t, [tf.constant(x) for x in w],
                average_across_timesteps=average, softmax_loss_function=squared, name='losses')

    got, out, new_ops = run_loss(build)
    assert [args for args, _ in calls] == [()] * t  # keywords only
    logit_t, target_t = build.tensors
    for (_, kwargs), logit, target in zip(calls, logit_t, target_t):
        assert set(kwargs) == {'labels', 'logits'}
        assert kwargs['labels'] is target and kwargs['logits'] is logit  # not reshaped
    expected = ref.sequence_loss_by_example(preds, targets, w, average,
                                            loss=lambda y, p: (np.float64(y) - p) ** 2)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert out.name.startswith('cost/losses/')
    assert [n for n in new_ops if not n.startswith('cost/losses/')] == \
        [n for n in new_ops if n.startswith('cost/Const')]


def test_sequence_loss_unequal_lengths_raise():
    with tf.Graph().as_default():
        a = [tf.zeros([2, 3])] * 2
        t = [tf.zeros([2], tf.int32)] * 2
        w = [tf.ones([2])] * 2
        for args in ((a, t[:1], w), (a, t, w[:1]), (a[:1], t, w)):
            with pytest.raises(ValueError, match='Lengths of logits, weights, and targets'):
                legacy_seq2seq.sequence_loss_by_example(*args)


# ------------------------------------------------------------------ MNIST reader

@pytest.fixture
def reader():
    """A fresh seeded read of the real data (each test gets its own, unshuffled)."""
    return input_data.read_data_sets(DATA_DIR, one_hot=True, seed=SEED)


def test_reader_split_scaling_and_labels(reader, raw):
    """validation = the first 5,000 training images; float32 x (1/255) as a multiply;
    one-hot float64 labels. Checked before any next_batch (validation/test never shuffle)."""
    v, test = reader.validation, reader.test
    assert (reader.train.num_examples, v.num_examples, test.num_examples) == (N_TRAIN, 5000, 10000)
    assert v.images.dtype == np.float32 and v.images.shape == (5000, 784)
    np.testing.assert_array_equal(v.images, ref.scale(raw.train_images[:5000]))
    np.testing.assert_array_equal(test.images, ref.scale(raw.test_images))
    assert v.labels.dtype == np.float64 and v.labels.shape == (5000, 10)
    np.testing.assert_array_equal(v.labels, ref.one_hot(raw.train_labels[:5000]))
    np.testing.assert_array_equal(reader.train.labels, ref.one_hot(raw.train_labels[5000:]))
    np.testing.assert_array_equal(test.labels, ref.one_hot(raw.test_labels))


def expected_batches(raw, seed, calls):
    images, labels = raw.train_images[5000:], raw.train_labels[5000:]
    for idx in ref.tf1_batch_indices(seed, N_TRAIN, 128, calls):
        yield ref.scale(images[idx]), ref.one_hot(labels[idx])


def test_next_batch_order_and_epoch_boundary_at_call_430(reader, raw):
    """TF 1.x's order: seeded global-RNG shuffle on the first call, the 430th call of 128
    is 88 old + 40 of a fresh shuffle; NumPy computes every expected batch."""
    epochs, kept = [], {}
    for call, (exp_images, exp_labels) in enumerate(expected_batches(raw, SEED, 431), 1):
        images, labels = reader.train.next_batch(128)
        np.testing.assert_array_equal(images, exp_images, err_msg=f'call {call}')
        np.testing.assert_array_equal(labels, exp_labels, err_msg=f'call {call}')
        epochs.append(reader.train.epochs_completed)
        if call in (1, 430):
            kept[call] = images
    assert epochs.index(1) == 429 and set(epochs[:429]) == {0} and set(epochs[429:]) == {1}
    # the boundary batch ends with a fresh shuffle: not epoch 0's first 40 again
    assert not np.array_equal(kept[430][88:], kept[1][:40])


def test_same_seed_same_batches():
    a = input_data.read_data_sets(DATA_DIR, one_hot=True, seed=SEED + 1)
    b = input_data.read_data_sets(DATA_DIR, one_hot=True, seed=SEED + 1)
    for _ in range(432):  # across the epoch boundary
        xa, ya = a.train.next_batch(128)
        xb, yb = b.train.next_batch(128)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert a.train.epochs_completed == b.train.epochs_completed == 1
    del b
    c = input_data.read_data_sets(DATA_DIR, one_hot=True, seed=SEED + 2)
    assert not np.array_equal(c.train.next_batch(128)[1], a.train.next_batch(128)[1])


# ------------------------------------------------------------------ default loop counts

def test_classifier_default_loop_782_steps_40_prints_boundary_at_430(tmp_path, monkeypatch, raw):
    """The defaults (--training-iters 100000, --batch-size 128): steps 0..781, prints at
    0, 20, ..., 780, one epoch boundary at the 430th batch, batches in TF 1.x's seeded
    order. --hidden-units 2 only makes the steps cheap."""
    seen = types.SimpleNamespace(calls=0, epochs=[], kept={})
    real_read = input_data.read_data_sets

    def recording_read(*args, **kwargs):
        data = real_read(*args, **kwargs)
        real_next = data.train.next_batch

        def next_batch(batch_size, *a, **k):
            images, labels = real_next(batch_size, *a, **k)
            seen.calls += 1
            seen.epochs.append(data.train.epochs_completed)
            if seen.calls in (1, 430, 782):
                seen.kept[seen.calls] = (images.copy(), labels.copy())
            return images, labels

        data.train.next_batch = next_batch
        return data

    monkeypatch.setattr(input_data, 'read_data_sets', recording_read)
    result, stdout = main_and_stdout(clf.main, ['--hidden-units', '2', '--seed', str(SEED),
                                      '--data-dir', DATA_DIR, '--ckpt-dir', str(tmp_path / 'ckpt'),
                                      '--logdir', str(tmp_path / 'logs')])
    lines = [l for l in stdout.splitlines() if l.startswith('step')]
    steps = [re.match(r'step +(\d+)/(\d+) ', l).groups() for l in lines]
    assert [int(s) for s, _ in steps] == list(range(0, 781, 20)) and len(steps) == 40
    assert {total for _, total in steps} == {'782'}
    assert result['steps'] == 782 and seen.calls == 782
    assert seen.epochs.index(1) == 429 and set(seen.epochs[429:]) == {1}
    indices = ref.tf1_batch_indices(SEED, N_TRAIN, 128, 782)
    for call in (1, 430, 782):
        idx = indices[call - 1]
        np.testing.assert_array_equal(seen.kept[call][0], ref.scale(raw.train_images[5000:][idx]))
        np.testing.assert_array_equal(seen.kept[call][1], ref.one_hot(raw.train_labels[5000:][idx]))


def test_regressor_default_loop_200_iterations_10_costs(tmp_path, monkeypatch):
    """200 iterations (one get_batch each), each batch fed the previous batch's final state
    (the first the zero state), 'cost: ' printed at i = 0, 20, ..., 180 and written to
    TensorBoard under the tag cost/average_cost/cost."""
    monkeypatch.setattr(reg, 'BATCH_START', reg.BATCH_START)  # restored afterwards
    calls = []
    real_get_batch = reg.get_batch

    def counting_get_batch(*args, **kwargs):
        calls.append(reg.BATCH_START)
        return real_get_batch(*args, **kwargs)

    train_runs = []

    class RecordingSession(tf.Session):
        def run(self, fetches, feed_dict=None, *args, **kwargs):
            out = super().run(fetches, feed_dict, *args, **kwargs)
            if isinstance(fetches, list) and getattr(fetches[0], 'name', '') == 'train/Adam':
                train_runs.append((dict(feed_dict), out))
            return out

    monkeypatch.setattr(reg, 'get_batch', counting_get_batch)
    monkeypatch.setattr(tf, 'Session', RecordingSession)
    logdir = tmp_path / 'logs'
    result, stdout = main_and_stdout(reg.main, ['--plot', 'none', '--seed', '0', '--logdir', str(logdir)])
    monkeypatch.undo()
    assert calls == list(range(0, 4000, 20))  # 200 batches, each 20 points further
    assert len(train_runs) == 200
    assert sorted(k.name for k in train_runs[0][0]) == ['inputs/xs:0', 'inputs/ys:0']
    for (feed, _), (_, previous) in zip(train_runs[1:], train_runs):
        state, = [k for k in feed if isinstance(k, tuple)]
        assert len(feed) == 3 and all(t.op.name.startswith('LSTM_cell/initial_state/') for t in state)
        fetched_state = previous[2]  # [train_op, cost, cell_final_state, pred]
        np.testing.assert_array_equal(feed[state].c, fetched_state.c)
        np.testing.assert_array_equal(feed[state].h, fetched_state.h)
    costs = [float(m.group(1)) for m in
             (re.match(r'^cost:  (\S+)$', l) for l in stdout.splitlines()) if m]
    assert len(costs) == 10 and costs == result['costs']
    assert result['cost_iterations'] == list(range(0, 200, 20))
    events = glob.glob(str(logdir / 'events.out.tfevents.*'))
    assert len(events) == 1
    tagged = [(e.step, v.tag) for e in tf.train.summary_iterator(events[0])
              for v in e.summary.value]
    assert tagged == [(i, 'cost/average_cost/cost') for i in range(0, 200, 20)]

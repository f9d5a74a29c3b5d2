"""The fidelity the TF 1.15 oracle checks, checked on every machine.

tests/test_tf115.py compares the project with the real TensorFlow 1.15, but only where
Python 3.7 can be installed. Here the same properties are compared with a recorded
reference, tests/reference/tf115_seed1.json, written by the real TF 1.15 (how it was made,
and the command that remakes it: tests/reference/make_tf115_reference.py):

* the regressor's graph outside its gradients, op for op: the loss's structure (the
  per-example average of sequence_loss_by_example, then sum / batch_size), names, inputs;
* the variables' names and shapes, the summary tag, the cost and train op;
* the op seeds tf.set_random_seed(1) gives, and the initial weights, bit for bit;
* the printed numbers of short --seed 1 runs of both scripts (41 steps, 41 iterations),
  and the names, shapes and dtypes in the checkpoint TF 1.15 wrote.
"""
import hashlib
import json
import os

import numpy as np
import pytest

from conftest import DATA_DIR, ROOT, main_and_stdout
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg

pytestmark = pytest.mark.smoke

with open(os.path.join(ROOT, 'tests', 'reference', 'tf115_seed1.json')) as f:
    REF = json.load(f)
SEED = REF['seed']


@pytest.fixture
def tf():
    reg.load_tensorflow()
    return clf.load_tensorflow()


def random_op_seeds(graph):
    return [[op.name, op.get_attr('seed'), op.get_attr('seed2')]
            for op in graph.get_operations() if op.type.startswith('Random')]


def seeded_regressor(tf):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(SEED)
        model = reg.LSTMRNN(20, 1, 1, 10, 50)
        merged = tf.summary.merge_all()
        init = tf.global_variables_initializer()
    return graph, model, merged, init


def test_regressor_graph_and_loss_structure_are_tf115s(tf):
    """Outside train/gradients/: TF 1.15's ops, in its order, names, types (Add is AddV2
    in TF 2), inputs and control inputs. A loss summed instead of averaged across
    timesteps, a mean instead of sum / batch_size, other names: all show here."""
    expected = REF['regressor_graph']
    graph, model, merged, init = seeded_regressor(tf)
    ops = [[op.name, op.type, [t.name for t in op.inputs], sorted(c.name for c in op.control_inputs)]
           for op in graph.get_operations() if not op.name.startswith('train/gradients/')]
    as_tf2 = {'Add': 'AddV2'}
    assert ops == [[n, as_tf2.get(t, t), i, c] for n, t, i, c in expected['ops']]
    assert [[v.op.name, v.shape.as_list()] for v in graph.get_collection('variables')] == \
        expected['variables']
    assert [v.op.name for v in graph.get_collection('trainable_variables')] == expected['trainable']
    assert (model.train_op.name, model.cost.name) == (expected['train_op'], expected['cost'])
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        zero = np.zeros((50, 20, 1))
        tags = [v.tag for v in tf.Summary.FromString(
            sess.run(merged, {model.xs: zero, model.ys: zero})).value]
    assert tags == expected['summary_tags']


def test_regressor_seed_1_op_seeds_and_initial_weights_are_tf115s_bit_for_bit(tf):
    expected = REF['regressor_run']
    graph, _, _, init = seeded_regressor(tf)
    assert random_op_seeds(graph) == expected['random_op_seeds'] == \
        REF['regressor_graph']['random_op_seeds']
    names = dict(w_in='in_hidden/weights', b_in='in_hidden/biases',
                 kernel='LSTM_cell/rnn/basic_lstm_cell/kernel',
                 bias='LSTM_cell/rnn/basic_lstm_cell/bias',
                 w_out='out_hidden/weights', b_out='out_hidden/biases')
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        got = sess.run({k: graph.get_tensor_by_name(v + ':0') for k, v in names.items()})
    assert sorted(got) == sorted(expected['initial_weights'])
    for name, values in expected['initial_weights'].items():
        np.testing.assert_array_equal(got[name], np.asarray(values, np.float32), err_msg=name)


def digest(a):
    a = np.ascontiguousarray(a, dtype='<f4')
    return {'shape': list(a.shape), 'sha256': hashlib.sha256(a.tobytes()).hexdigest()}


def test_classifier_seed_1_op_seeds_and_initial_weights_are_tf115s_bit_for_bit(tf):
    expected = REF['classifier_init']
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(SEED)
        g = clf.build_graph()
    assert random_op_seeds(graph) == expected['random_op_seeds']
    by_name = {v.op.name: v for v in graph.get_collection('variables')}
    names = dict(w_in='Variable', w_out='Variable_1', b_in='Variable_2', b_out='Variable_3',
                 kernel='rnn/basic_lstm_cell/kernel', bias='rnn/basic_lstm_cell/bias')
    with tf.Session(graph=graph) as sess:
        sess.run(g.init)
        got = sess.run({k: by_name[v] for k, v in names.items()})
    assert {k: digest(v) for k, v in got.items()} == expected['initial_weights']


def test_seed_1_regressor_prints_tf115s_costs(prints_tf115s_numbers, tf, tmp_path):
    """python sin_cos_lstm_regressor.py --seed 1 --iterations 41: TF 1.15's printed
    cost lines, text for text; the last cost within float noise."""
    expected = REF['regressor_run']
    result, stdout = main_and_stdout(reg.main, ['--seed', str(SEED), '--iterations', str(expected['iterations']),
                                      '--plot', 'none', '--logdir', str(tmp_path / 'logs')])
    assert [l for l in stdout.splitlines() if l.startswith('cost:')] == expected['printed']
    assert len(expected['printed']) == 3
    assert result['final_cost'] == pytest.approx(expected['final_cost'], rel=5e-4)


def test_seed_1_classifier_prints_tf115s_accuracies_and_checkpoint(prints_tf115s_numbers, tf,
                                                                   tmp_path):
    """python mnist_lstm_classifier.py --seed 1 --training-iters 5248 (41 steps): TF 1.15's
    printed batch accuracies, saves, best checkpoint and its test accuracy; the checkpoint
    holds TF 1.15's variable names, shapes and dtypes (Adam slots included)."""
    expected = REF['classifier_run']
    result, stdout = main_and_stdout(clf.main, [
        '--seed', str(SEED), '--training-iters', str(expected['training_iters']),
        '--data-dir', DATA_DIR, '--ckpt-dir', str(tmp_path / 'ckpt'),
        '--logdir', str(tmp_path / 'logs')])
    lines = [l.split() for l in stdout.splitlines() if l.startswith('step')]
    assert [float(l[4]) for l in lines] == expected['accuracies']
    assert [int(l[1].split('/')[0]) for l in lines if l[-1] == 'saved'] == expected['saved_steps']
    assert result['best_step'] == expected['best_step']
    assert os.path.basename(result['checkpoint']) == expected['checkpoint']
    assert result['test_accuracy'] == expected['test_accuracy']
    reader = tf.train.load_checkpoint(result['checkpoint'])
    dtypes = reader.get_variable_to_dtype_map()
    assert sorted([n, s, dtypes[n].name] for n, s in tf.train.list_variables(result['checkpoint'])) \
        == expected['checkpoint_variables']


def test_every_tensorflow_of_the_range_repeats_tf115s_numbers():
    """The measured table (FIDELITY.md, Across TensorFlow versions): each TensorFlow of
    the tested range has its full --seed 1 numbers recorded, and they are TF 1.15's: the 40
    batch accuracies, the steps saved and the test accuracy of the 782-step classifier, the
    regressor's 10 printed costs."""
    from conftest import seed1_numbers
    from run_safety.requirements import TESTED
    measured = seed1_numbers()
    tf115 = measured['1.15']
    assert len(tf115['classifier']['accuracies']) == 40 and len(tf115['regressor']['costs']) == 10
    for minor in range(TESTED[0][1], TESTED[1][1] + 1):
        version = measured[f'2.{minor}']
        assert version['tensorflow'].startswith(f'2.{minor}.')
        assert (version['classifier'], version['regressor']) == \
            (tf115['classifier'], tf115['regressor']), version['tensorflow']


def test_the_tests_that_compare_printed_numbers_run_in_the_range_and_skip_outside(monkeypatch):
    """prints_tf115s_numbers: every TensorFlow of the range is compared with TF 1.15's
    numbers; one never measured, or one whose record differs, is skipped with the reason."""
    import json
    import conftest
    for minor in range(16, 22):
        assert conftest.why_not_tf115s_numbers(f'2.{minor}.0') is None
    assert 'never measured' in conftest.why_not_tf115s_numbers('2.22.0')
    assert 'never measured' in conftest.why_not_tf115s_numbers('2.15.1')
    record = conftest.seed1_numbers()
    record['2.19']['classifier'] = dict(record['2.19']['classifier'], test_accuracy=0.9482)
    monkeypatch.setattr(conftest, 'seed1_numbers', lambda: json.loads(json.dumps(record)))
    assert 'prints other --seed 1 numbers' in conftest.why_not_tf115s_numbers('2.19.1')

"""The defaults are the tutorial's, and main() builds the graph from the parsed flags.

parse_args([]) is compared with the tutorial's constants (docs/tf1-semantics.md), written
out here, not read from the scripts; then main() runs in an empty working directory and the
graph it builds is inspected (Adam's learning rate, variable and placeholder shapes), and
the default folders are where files land. A second run with other values shows every flag
reaches the graph (not the module's constant that happens to equal the default).
"""
import os
import types

import numpy as np
import pytest

from conftest import DATA_DIR, quiet
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg

tf = clf.load_tensorflow()
reg.load_tensorflow()

# The tutorial's values (upstream's tensorflowTUT/tf20_RNN2/full_code.py and
# tensorflowTUT/tf20_RNN2.2/full_code.py in MorvanZhou/tutorials, as the post quotes them)
CLASSIFIER = dict(lr=0.001, training_iters=100000, batch_size=128, hidden_units=128,
                  ckpt_dir='ckptRNN', logdir=os.path.join('logs', 'mnist_lstm_classifier'),
                  # None: data/ in the working directory, else the one beside the script
                  # (tests/test_any_directory.py)
                  data_dir=None, seed=None, eval=False, select_on='batch',
                  static_unroll=False, fast=False, metrics_json=None)
REGRESSOR = dict(lr=0.006, iterations=200, batch_size=50, time_steps=20, cell_size=10,
                 logdir='logs', plot_dir='logs', seed=None, plot='auto', pause=0.3,
                 reset_state=False, metrics_json=None)


def test_classifier_parse_args_defaults_are_the_tutorials():
    assert vars(clf.parse_args([])) == CLASSIFIER


def test_regressor_parse_args_defaults_are_the_tutorials():
    assert vars(reg.parse_args([])) == REGRESSOR


def adam_learning_rates(graph):
    ops = [op for op in graph.get_operations() if op.type in ('ApplyAdam', 'ResourceApplyAdam')]
    assert ops
    with tf.Session(graph=graph) as sess:
        return {float(sess.run(op.inputs[5])) for op in ops}


@pytest.fixture
def empty_cwd(tmp_path, monkeypatch):
    """An empty working directory with data/ (the default --data-dir) linked in."""
    monkeypatch.chdir(tmp_path)
    os.symlink(DATA_DIR, tmp_path / 'data')
    return tmp_path


def record_calls(monkeypatch, module, name):
    """Wrap module.<name>; return the list of (args, kwargs, graph, result) of its calls."""
    calls = []
    real = getattr(module, name)

    def recording(*args, **kwargs):
        built = real(*args, **kwargs)
        calls.append(types.SimpleNamespace(args=args, kwargs=kwargs, built=built,
                                           graph=tf.get_default_graph()))
        return built

    monkeypatch.setattr(module, name, recording)
    return calls


@pytest.mark.parametrize('argv, lr, batch, hidden', [
    ([], 0.001, 128, 128),  # the defaults (one training step, so the test stays fast)
    # (seeded: the one step's accuracy must be above 0 for a checkpoint to be saved)
    (['--lr', '0.02', '--batch-size', '20', '--hidden-units', '3', '--seed', '1'], 0.02, 20, 3),
])
def test_classifier_main_builds_the_graph_from_the_flags(argv, lr, batch, hidden, empty_cwd,
                                                         monkeypatch):
    calls = record_calls(monkeypatch, clf, 'build_graph')
    result = quiet(clf.main, ['--training-iters', str(batch)] + argv)
    call, = calls
    g, graph = call.built, call.graph
    assert adam_learning_rates(graph) == {float(np.float32(lr))}  # fed as float32
    assert g.x.shape.as_list() == [None, 28, 28]
    assert g.weights['in'].shape.as_list() == [28, hidden]
    assert g.weights['out'].shape.as_list() == [hidden, 10]
    assert g.pred.shape.as_list() == [batch, 10]  # the zero state's static batch
    kernel = graph.get_tensor_by_name('rnn/basic_lstm_cell/kernel:0')
    assert kernel.shape.as_list() == [2 * hidden, 4 * hidden]
    assert result['steps'] == 1
    # the default folders, relative to the working directory
    assert result['checkpoint'] == os.path.join('ckptRNN', 'mnistRNNLSTM.ckpt-0')
    assert os.path.exists(os.path.join('ckptRNN', 'mnistRNNLSTM.ckpt-0.index'))
    # save_relative_paths: the index names the checkpoint relative to its folder
    assert 'model_checkpoint_path: "mnistRNNLSTM.ckpt-0"' in \
        (empty_cwd / 'ckptRNN' / 'checkpoint').read_text().splitlines()
    events = os.listdir(os.path.join('logs', 'mnist_lstm_classifier'))
    assert [n for n in events if n.startswith('events.out.tfevents.')]
    assert sorted(os.listdir(empty_cwd)) == ['ckptRNN', 'data', 'logs']


@pytest.mark.parametrize('argv, lr, batch, steps, cell', [
    ([], 0.006, 50, 20, 10),  # the defaults (one iteration, so the test stays fast)
    (['--lr', '0.02', '--batch-size', '7', '--time-steps', '4', '--cell-size', '3'],
     0.02, 7, 4, 3),
])
def test_regressor_main_builds_the_graph_from_the_flags(argv, lr, batch, steps, cell,
                                                        empty_cwd, monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    monkeypatch.setattr(reg, 'BATCH_START', 0)
    calls = record_calls(monkeypatch, reg, 'LSTMRNN')
    batches = record_calls(monkeypatch, reg, 'get_batch')
    result = quiet(reg.main, ['--iterations', '1', '--plot', 'none'] + argv)
    call, = calls
    model, graph = call.built, call.graph
    assert adam_learning_rates(graph) == {float(np.float32(lr))}  # fed as float32
    assert model.xs.shape.as_list() == [None, steps, 1]
    assert [t.shape.as_list() for t in model.cell_init_state] == [[batch, cell]] * 2
    assert graph.get_tensor_by_name('in_hidden/weights:0').shape.as_list() == [1, cell]
    assert graph.get_tensor_by_name('LSTM_cell/rnn/basic_lstm_cell/kernel:0').shape.as_list() \
        == [2 * cell, 4 * cell]  # [input layer out + units, 4 gates]
    batch_call, = batches
    seq, res, xs = batch_call.built
    assert seq.shape == res.shape == (batch, steps, 1)
    np.testing.assert_allclose(xs * 10 * np.pi, np.arange(batch * steps).reshape(batch, steps))
    assert result['iterations'] == 1
    # the default logdir holds the events and (the default plot dir) the cost history
    names = os.listdir(empty_cwd / 'logs')
    assert 'cost_history.csv' in names and [n for n in names if n.startswith('events.out.tfevents.')]
    assert sorted(os.listdir(empty_cwd)) == ['data', 'logs']

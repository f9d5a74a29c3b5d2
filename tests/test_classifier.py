"""mnist_lstm_classifier.py: a short seeded run on the real data, then --eval."""
import contextlib
import io
import json
import os
import re
import types

import numpy as np
import pytest

from conftest import DATA_DIR, ROOT, main_and_stdout
import mnist_lstm_classifier as clf

tf = clf.load_tensorflow()
STEPS = 61  # prints at steps 0, 20, 40, 60
LINE = re.compile(r'^step +(\d+)/(\d+)  batch accuracy (\S+) .*?([\d.]+)s( +saved)?$')


def run(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = clf.main(argv)
    return result, out.getvalue()


def train_argv(folder, seed=3, steps=STEPS):
    return ['--training-iters', str(128 * steps), '--seed', str(seed), '--data-dir', DATA_DIR,
            '--ckpt-dir', str(folder / 'ckpt'), '--logdir', str(folder / 'logs'),
            '--metrics-json', str(folder / 'metrics.json')]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp('classifier')
    result, stdout = run(train_argv(folder))
    return types.SimpleNamespace(folder=folder, result=result, stdout=stdout)


def checkpoint_files(ckpt_dir):
    """The folder's files but the hidden lock files (.lock, .lock.pid, .save.lock)."""
    return sorted(n for n in os.listdir(ckpt_dir) if not n.startswith('.'))


def test_prints_every_20_steps_of_the_total(trained):
    """(Keep-the-best, with runs whose best print is not the last: test_keep_the_best.py.)"""
    lines = [LINE.match(l) for l in trained.stdout.splitlines() if l.startswith('step')]
    assert all(lines)
    assert [int(m.group(1)) for m in lines] == [0, 20, 40, 60]
    assert {m.group(2) for m in lines} == {str(STEPS)}
    assert trained.result['steps'] == STEPS


def test_exactly_one_checkpoint_the_best(trained):
    step = trained.result['best_step']
    prefix = f'mnistRNNLSTM.ckpt-{step}'
    assert checkpoint_files(trained.folder / 'ckpt') == [
        'checkpoint', f'{prefix}.data-00000-of-00001', f'{prefix}.index', f'{prefix}.meta']
    assert trained.result['checkpoint'] == str(trained.folder / 'ckpt' / prefix)


def test_checkpoint_has_tf1_names_and_shapes(trained):
    variables = dict(tf.train.list_variables(trained.result['checkpoint']))
    model = {k: v for k, v in variables.items() if 'Adam' not in k and 'power' not in k}
    assert model == {
        'Variable': [28, 128],    # weights['in']
        'Variable_1': [128, 10],  # weights['out']
        'Variable_2': [128],      # biases['in']
        'Variable_3': [10],       # biases['out']
        'rnn/basic_lstm_cell/kernel': [128 + 128, 512],  # [inputs + units, 4 * units]
        'rnn/basic_lstm_cell/bias': [512],
    }


def test_eval_reproduces_the_test_accuracy_the_training_run_wrote(trained, tmp_path):
    """--eval, a separate run, measures on the kept checkpoint the test accuracy that the
    training run printed and wrote to its metrics JSON; its own JSON says the same."""
    metrics = json.loads((trained.folder / 'metrics.json').read_text())
    printed = re.search(r'^test accuracy: (\S+) on 10000 test images$', trained.stdout, re.M)
    assert float(printed.group(1)) == round(metrics['test_accuracy'], 4)
    assert 0.0 < metrics['test_accuracy'] <= 1.0
    _, stdout = run(['--eval', '--data-dir', DATA_DIR,
                     '--ckpt-dir', str(trained.folder / 'ckpt'),
                     '--metrics-json', str(tmp_path / 'eval.json')])
    evaluated = json.loads((tmp_path / 'eval.json').read_text())
    assert evaluated['test_accuracy'] == metrics['test_accuracy']
    assert evaluated['checkpoint'] == metrics['checkpoint']
    assert f"test accuracy: {metrics['test_accuracy']:.4f} on 10000 test images" in stdout
    # --eval trains nothing: the checkpoint folder is unchanged
    assert checkpoint_files(trained.folder / 'ckpt')[1].startswith(
        f"mnistRNNLSTM.ckpt-{trained.result['best_step']}")


def test_seeded_runs_repeat_and_a_rerun_replaces_the_old_checkpoint(trained, tmp_path):
    """Same seed, same numbers; the second run into the same folder leaves one checkpoint."""
    again = tmp_path / 'again'
    first, _ = run(train_argv(again, seed=3))
    for key in ('best_step', 'best_batch_accuracy', 'test_accuracy'):
        assert first[key] == trained.result[key]
    second, _ = run(train_argv(again, seed=4, steps=21))
    files = checkpoint_files(again / 'ckpt')
    step = second['best_step']
    assert files == ['checkpoint', f'mnistRNNLSTM.ckpt-{step}.data-00000-of-00001',
                     f'mnistRNNLSTM.ckpt-{step}.index', f'mnistRNNLSTM.ckpt-{step}.meta']


# ------------------------------------------------------------------ --seed 0

def classifier_seeded(tf, folder, seed):
    """A 3-step run (one print, at step 0, saved): its printed accuracy and checkpoint."""
    result, stdout = main_and_stdout(clf.main, [
        '--seed', str(seed), '--training-iters', '192', '--batch-size', '64',
        '--hidden-units', '16', '--data-dir', DATA_DIR, '--ckpt-dir', str(folder / 'ckpt'),
        '--logdir', str(folder / 'logs')])
    reader = tf.train.load_checkpoint(result['checkpoint'])
    weights = {n: reader.get_tensor(n) for n, _ in tf.train.list_variables(result['checkpoint'])}
    printed = [l.split()[4] for l in stdout.splitlines() if l.startswith('step')]
    return printed, result['test_accuracy'], weights


def test_classifier_seed_0_repeats_itself_and_differs_from_seed_1(tf, tmp_path):
    first = classifier_seeded(tf, tmp_path / 'a', 0)
    again = classifier_seeded(tf, tmp_path / 'b', 0)
    other = classifier_seeded(tf, tmp_path / 'c', 1)
    assert first[:2] == again[:2]
    for name, value in first[2].items():
        np.testing.assert_array_equal(value, again[2][name], err_msg=name)
    assert not np.array_equal(first[2]['Variable'], other[2]['Variable'])

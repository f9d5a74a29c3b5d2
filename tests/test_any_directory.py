"""The scripts run from any working directory: the shipped data/ is found beside
the script, and outputs stay relative to the working directory, as in the tutorial."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg
from tf1_compat import input_data


def make_data(folder, names=(input_data.TRAIN_IMAGES,)):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b'')
    return folder


@pytest.fixture
def script(tmp_path):
    """A script path in a folder of its own (the repository stand-in), with data/ beside it."""
    repo = tmp_path / 'repo'
    make_data(repo / 'data')
    return str(repo / 'mnist_lstm_classifier.py')


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    folder = tmp_path / 'elsewhere'
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_an_explicit_data_dir_is_used_as_given(script, cwd):
    make_data(cwd / 'data')
    assert input_data.find_data_dir('mine', script) == 'mine'
    assert input_data.find_data_dir('data', script) == 'data'


def test_the_working_directorys_data_wins_when_it_holds_mnist(script, cwd):
    make_data(cwd / 'data', [input_data.TEST_LABELS])
    assert input_data.find_data_dir(None, script) == 'data'


def test_without_data_here_the_folder_beside_the_script_is_used(script, cwd):
    assert input_data.find_data_dir(None, script) == os.path.join(os.path.dirname(script), 'data')


def test_a_data_folder_of_something_else_here_is_passed_over(script, cwd):
    (cwd / 'data').mkdir()
    (cwd / 'data' / 'notes.txt').write_text('not MNIST\n')
    assert input_data.find_data_dir(None, script) == os.path.join(os.path.dirname(script), 'data')


def test_with_no_data_anywhere_it_is_data_here_where_the_reader_downloads(tmp_path, cwd):
    assert input_data.find_data_dir(None, str(tmp_path / 'bare' / 'script.py')) == 'data'


@pytest.mark.parametrize('module, flags', [
    (clf, ['--ckpt-dir', '--logdir']),
    (reg, ['--logdir', '--plot-dir']),
])
def test_help_says_outputs_are_relative_to_the_working_directory(module, flags, capsys):
    with pytest.raises(SystemExit) as e:
        module.parse_args(['--help'])
    assert e.value.code == 0
    # the flags' help, past the usage lines, unwrapped
    text = ' '.join(capsys.readouterr().out.split('options:', 1)[1].split())

    def help_of(flag):
        return text.split(f' {flag} ', 1)[1].split(' --', 1)[0]

    for flag in flags:
        assert 'relative to the working directory' in help_of(flag), flag
    if module is clf:
        assert 'else the data folder beside this script' in help_of('--data-dir')


def test_the_classifier_runs_from_another_directory_with_default_flags(tmp_path):
    """`python path/to/mnist_lstm_classifier.py` from elsewhere: trains on the shipped
    MNIST (all 10,000 test images, nothing downloaded) and writes its outputs here."""
    here = tmp_path / 'elsewhere'
    here.mkdir()
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'mnist_lstm_classifier.py'),
         '--training-iters', '256', '--seed', '1', '--metrics-json', 'metrics.json'],
        cwd=here, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert 'on 10000 test images' in proc.stdout
    metrics = json.loads((here / 'metrics.json').read_text())
    assert metrics['steps'] == 2
    assert 0.0 < metrics['test_accuracy'] <= 1.0
    # the checkpoint path is relative, in this working directory's ckptRNN/
    assert metrics['checkpoint'] == os.path.join('ckptRNN', 'mnistRNNLSTM.ckpt-0')
    assert (here / 'ckptRNN' / 'mnistRNNLSTM.ckpt-0.index').is_file()
    assert any(n.startswith('events.out.tfevents')
               for n in os.listdir(here / 'logs' / 'mnist_lstm_classifier'))
    # the repository's data was read in place: no data/ was made (nor downloaded) here
    assert sorted(os.listdir(here)) == ['ckptRNN', 'logs', 'metrics.json']

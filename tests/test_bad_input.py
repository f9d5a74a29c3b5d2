"""Bad input and interruption: one line naming the file or flag, a non-zero exit,
no traceback, and no file damaged or left half-written (docs/troubleshooting.md)."""
import contextlib
import gzip
import io
import os
import shutil
import signal
import subprocess
import sys
import types
import urllib.error

import pytest

from conftest import (DATA_DIR, ROOT, fails, idx_bytes, posix_signals, snapshot,
                      signals_as_from_a_terminal, write_gz)
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg
from tf1_compat import input_data

NAMES = [input_data.TRAIN_IMAGES, input_data.TRAIN_LABELS,
         input_data.TEST_IMAGES, input_data.TEST_LABELS]



@pytest.fixture
def offline(monkeypatch):
    """No network: every download attempt fails as it does on an offline machine."""
    def refuse(url, timeout=None):
        raise urllib.error.URLError('[Errno -2] Name or service not known')
    monkeypatch.setattr(input_data.urllib.request, 'urlopen', refuse)


@pytest.fixture
def data_copy(tmp_path):
    """A copy of data/ to break."""
    folder = tmp_path / 'data'
    shutil.copytree(DATA_DIR, folder)
    for name in os.listdir(folder):
        os.chmod(folder / name, 0o644)
    return folder


def clf_argv(tmp_path, *extra, data=None):
    return ['--data-dir', str(data or DATA_DIR), '--ckpt-dir', str(tmp_path / 'ckpt'),
            '--logdir', str(tmp_path / 'logs'), *extra]


# --- Data ---------------------------------------------------------------------------

@pytest.mark.parametrize('setup', ['missing', 'empty'])
def test_data_dir_missing_or_empty_offline(tmp_path, capsys, offline, setup):
    data = tmp_path / 'nodata'
    if setup == 'empty':
        data.mkdir()
    err = fails(clf.main, clf_argv(tmp_path, data=data), capsys)
    assert f'{data}/{input_data.TRAIN_IMAGES} is missing and could not be downloaded' in err
    assert f'copy the MNIST .gz files into {data}' in err
    # nothing created: no folder made for a failed download, no partial file
    assert os.path.isdir(data) == (setup == 'empty')
    assert setup == 'missing' or os.listdir(data) == []
    assert not (tmp_path / 'ckpt').exists() or os.listdir(tmp_path / 'ckpt') == []


def test_one_file_missing_offline(data_copy, tmp_path, capsys, offline):
    os.remove(data_copy / input_data.TEST_LABELS)
    before = snapshot(data_copy, locks=True)
    err = fails(clf.main, clf_argv(tmp_path, data=data_copy), capsys)
    assert f'{input_data.TEST_LABELS} is missing and could not be downloaded' in err
    assert snapshot(data_copy, locks=True) == before


def truncate(path):
    content = path.read_bytes()
    path.write_bytes(content[:len(content) // 2])


def not_gzip(path):
    path.write_text('this is not gzip\n')


def wrong_magic(path):
    write_gz(path, idx_bytes(list(range(10)) * 1000, 2051))  # labels with images' magic


def other_content(path):
    with gzip.open(path) as f:
        content = bytearray(f.read())
    content[-1] = (content[-1] + 1) % 10  # one label changed: a valid file, wrong data
    write_gz(path, bytes(content))


def fewer_labels(path):
    write_gz(path, idx_bytes([0] * 9999, 2049))  # 9,999 labels for 10,000 images


def directory(path):
    os.remove(path)
    os.mkdir(path)


@pytest.mark.parametrize('damage, message', [
    (truncate, 'is truncated or corrupt: replace it with the original t10k-labels'),
    (not_gzip, 'is not a gzip file: replace it with the original t10k-labels'),
    (wrong_magic, 'Invalid magic number 2051 in MNIST labels file'),
    (other_content, 'does not hold the MNIST data (checksum mismatch)'),
    (fewer_labels, 'holds 10000 images but'),
    (directory, 'is a directory, not the MNIST file t10k-labels-idx1-ubyte.gz'),
])
def test_damaged_data_file(data_copy, tmp_path, capsys, damage, message):
    path = data_copy / input_data.TEST_LABELS
    damage(path)
    before = snapshot(data_copy, locks=True)
    err = fails(clf.main, clf_argv(tmp_path, data=data_copy), capsys)
    assert message in err and str(data_copy) in err
    # the reader never writes over the user's files
    assert snapshot(data_copy, locks=True) == before
    assert not (tmp_path / 'ckpt').exists() or os.listdir(tmp_path / 'ckpt') == []


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    class Response:
        def __init__(self):
            self.chunks = [b'\x1f\x8b partial bytes']

        def read(self, size):
            if self.chunks:
                return self.chunks.pop()
            raise KeyboardInterrupt  # Ctrl-C in the middle of the download

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(input_data.urllib.request, 'urlopen', lambda url, timeout: Response())
    folder = tmp_path / 'data'
    folder.mkdir()
    with pytest.raises(KeyboardInterrupt):
        input_data.maybe_download(input_data.TEST_LABELS, str(folder))
    assert os.listdir(folder) == []


def test_refused_download_leaves_no_file(tmp_path, monkeypatch, capsys):
    """A download that arrives but fails verification is not kept."""
    class Response(io.BytesIO):
        pass
    monkeypatch.setattr(input_data.urllib.request, 'urlopen',
                        lambda url, timeout: Response(gzip.compress(idx_bytes([1, 2], 2049))))
    folder = tmp_path / 'data'
    folder.mkdir()
    with pytest.raises(input_data.MnistDataError, match='the downloaded copy was refused'):
        input_data.maybe_download(input_data.TEST_LABELS, str(folder))
    assert os.listdir(folder) == []


# --- Flags --------------------------------------------------------------------------

@pytest.mark.parametrize('argv, message', [
    (['--batch-size', '0'], 'argument --batch-size: 0 must be a positive integer'),
    (['--batch-size', '-5'], 'argument --batch-size: -5 must be a positive integer'),
    (['--training-iters', '0'], 'argument --training-iters: 0 must be a positive integer'),
    (['--hidden-units', '0'], 'argument --hidden-units: 0 must be a positive integer'),
    (['--hidden-units', 'many'], "argument --hidden-units: 'many' is not an integer"),
    (['--lr', '0'], 'argument --lr: 0 must be a finite number > 0'),
    (['--lr', '-0.1'], 'argument --lr: -0.1 must be a finite number > 0'),
    (['--lr', 'nan'], 'argument --lr: nan must be a finite number > 0'),
    (['--lr', 'inf'], 'argument --lr: inf must be a finite number > 0'),
    (['--select-on', 'test'], "argument --select-on: invalid choice: 'test'"),
    (['--epochs', '3'], 'unrecognized arguments: --epochs 3'),
])
def test_classifier_bad_flag(argv, message, capsys, tmp_path):
    err = fails(clf.main, clf_argv(tmp_path, *argv), capsys, status=2)
    assert message in err and err.rstrip().endswith('(see --help)')
    assert not (tmp_path / 'ckpt').exists()


def test_batch_larger_than_the_training_set(tmp_path, capsys):
    err = fails(clf.main, clf_argv(tmp_path, '--batch-size', '60000'), capsys)
    assert '--batch-size 60000 is larger than the 55000 training images' in err
    assert not (tmp_path / 'ckpt').exists()  # a run that fails before training makes no folders


@pytest.mark.parametrize('argv, message', [
    (['--iterations', '0'], 'argument --iterations: 0 must be a positive integer'),
    (['--batch-size', '0'], 'argument --batch-size: 0 must be a positive integer'),
    (['--time-steps', '-1'], 'argument --time-steps: -1 must be a positive integer'),
    (['--cell-size', '0'], 'argument --cell-size: 0 must be a positive integer'),
    (['--lr', '0'], 'argument --lr: 0 must be a finite number > 0'),
    (['--lr', 'inf'], 'argument --lr: inf must be a finite number > 0'),
    (['--pause', '-1'], 'argument --pause: -1 must be a finite number >= 0'),
    (['--plot', 'window'], "argument --plot: invalid choice: 'window'"),
    (['--cells', '3'], 'unrecognized arguments: --cells 3'),
])
def test_regressor_bad_flag(argv, message, capsys, tmp_path):
    err = fails(reg.main, ['--logdir', str(tmp_path / 'logs'), *argv], capsys, status=2)
    assert message in err
    assert not (tmp_path / 'logs').exists()


# --- Outputs ------------------------------------------------------------------------

@pytest.mark.parametrize('flag', ['--ckpt-dir', '--logdir'])
def test_classifier_output_dir_is_a_file_or_unwritable(flag, tmp_path, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('keep me\n')
    argv = clf_argv(tmp_path)
    argv[argv.index(flag) + 1] = str(blocker)
    err = fails(clf.main, argv, capsys)
    assert f'{flag} {blocker} is a file, not a directory' in err
    # a folder that cannot be made (its parent is a file): refused before training
    argv[argv.index(flag) + 1] = str(blocker / 'sub')
    err = fails(clf.main, argv, capsys)
    assert f'{flag} {blocker / "sub"} cannot be made: {blocker} is a file' in err
    assert blocker.read_text() == 'keep me\n'
    assert not (tmp_path / 'ckpt').exists() or os.listdir(tmp_path / 'ckpt') == []


@pytest.mark.parametrize('flag', ['--logdir', '--plot-dir'])
def test_regressor_output_dir_is_a_file(flag, tmp_path, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('keep me\n')
    argv = ['--plot', 'file', '--logdir', str(tmp_path / 'logs'), flag, str(blocker)]
    err = fails(reg.main, argv, capsys)
    assert f'{flag} {blocker} is a file, not a directory' in err
    assert blocker.read_text() == 'keep me\n'


def test_metrics_json_is_a_directory(tmp_path, capsys):
    err = fails(clf.main, clf_argv(tmp_path, '--metrics-json', str(tmp_path)), capsys)
    assert f'--metrics-json {tmp_path} is a directory' in err


@pytest.fixture(scope='module')
def small_checkpoint(tmp_path_factory):
    """A real checkpoint of a small model (16 hidden units)."""
    folder = tmp_path_factory.mktemp('small')
    with contextlib.redirect_stdout(io.StringIO()):
        result = clf.main(['--training-iters', str(128 * 21), '--hidden-units', '16',
                           '--seed', '0', '--data-dir', DATA_DIR,
                           '--ckpt-dir', str(folder / 'ckpt'), '--logdir', str(folder / 'logs')])
    return types.SimpleNamespace(dir=folder / 'ckpt', test_accuracy=result['test_accuracy'])


def test_eval_without_checkpoint(tmp_path, capsys):
    (tmp_path / 'ckpt').mkdir()
    for folder in (tmp_path / 'ckpt', tmp_path / 'nothing'):
        err = fails(clf.main, ['--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(folder)], capsys)
        assert f'no checkpoint in {folder}: train first (run without --eval)' in err


def test_eval_with_other_hidden_units(small_checkpoint, capsys):
    err = fails(clf.main, ['--eval', '--data-dir', DATA_DIR,
                           '--ckpt-dir', str(small_checkpoint.dir), '--hidden-units', '32'], capsys)
    assert 'was trained with --hidden-units 16, not 32: pass --hidden-units 16' in err


@pytest.mark.parametrize('part', ['index', 'data-00000-of-00001'])
def test_eval_with_corrupt_checkpoint(small_checkpoint, tmp_path, capsys, part):
    ckpt = tmp_path / 'ckpt'
    shutil.copytree(small_checkpoint.dir, ckpt)
    damaged = [p for p in ckpt.iterdir() if p.name.endswith(part)][0]
    truncate(damaged)
    before = snapshot(ckpt, locks=True)
    err = fails(clf.main, ['--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(ckpt),
                           '--hidden-units', '16'], capsys)
    assert 'checkpoint' in err and str(ckpt) in err
    assert 'corrupt' in err or 'could not be restored' in err
    assert snapshot(ckpt, locks=True) == before


# --- During training ----------------------------------------------------------------

def test_nan_cost_stops_and_keeps_the_good_checkpoint(small_checkpoint, tmp_path, capsys):
    ckpt = tmp_path / 'ckpt'
    shutil.copytree(small_checkpoint.dir, ckpt)
    before = snapshot(ckpt, locks=True)
    err = fails(clf.main, ['--lr', '1e38', '--hidden-units', '16', '--training-iters', '2560',
                           '--data-dir', DATA_DIR, '--ckpt-dir', str(ckpt),
                           '--logdir', str(tmp_path / 'logs')], capsys)
    assert 'the cost became nan' in err and 'step 0' in err and 'try a smaller --lr' in err
    assert snapshot(ckpt, locks=True) == before
    with contextlib.redirect_stdout(io.StringIO()):
        result = clf.main(['--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(ckpt),
                           '--hidden-units', '16'])
    assert result['test_accuracy'] == small_checkpoint.test_accuracy  # the good one, intact


def test_regressor_nan_cost_names_the_iteration(tmp_path, capsys):
    err = fails(reg.main, ['--lr', '1e38', '--seed', '0', '--plot', 'none',
                           '--logdir', str(tmp_path)], capsys)
    assert 'the cost became' in err and 'at iteration 1' in err


def interrupt_after(args, marker, cwd):
    """Start a script, wait for a stdout line containing ``marker``, send SIGINT."""
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=signals_as_from_a_terminal)
    try:
        for line in proc.stdout:
            if marker in line:
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


@posix_signals
def test_ctrl_c_keeps_the_best_checkpoint(tmp_path):
    ckpt = tmp_path / 'ckpt'
    status, err = interrupt_after(
        [os.path.join(ROOT, 'mnist_lstm_classifier.py'), '--hidden-units', '16', '--seed', '0',
         '--data-dir', DATA_DIR, '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')],
        'saved', tmp_path)
    assert status == 130
    assert 'interrupted at step' in err and 'best checkpoint kept' in err
    assert 'Traceback' not in err
    assert not [n for n in os.listdir(ckpt) if 'tmp' in n or n.endswith('.part')]
    with contextlib.redirect_stdout(io.StringIO()):
        result = clf.main(['--eval', '--data-dir', DATA_DIR, '--ckpt-dir', str(ckpt),
                           '--hidden-units', '16'])
    assert 0.0 < result['test_accuracy'] <= 1.0
    assert err.strip().endswith(result['checkpoint'])


@posix_signals
def test_ctrl_c_in_the_regressor_keeps_what_was_drawn(tmp_path):
    status, err = interrupt_after(
        [os.path.join(ROOT, 'sin_cos_lstm_regressor.py'), '--iterations', '100000', '--plot',
         'file', '--seed', '0', '--logdir', str(tmp_path)], 'cost: ', tmp_path)
    assert status == 130
    assert 'interrupted at iteration' in err and 'Traceback' not in err
    assert (tmp_path / 'cost_history.csv').read_text().startswith('iteration,cost\n0,')
    assert (tmp_path / 'sin_cos_fit.png').stat().st_size > 0
    assert any(n.startswith('events.out.tfevents') for n in os.listdir(tmp_path))
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_inline_plot_outside_a_notebook_is_refused(tmp_path, capsys):
    err = fails(reg.main, ['--plot', 'inline', '--logdir', str(tmp_path / 'logs')], capsys)
    assert '--plot inline needs a Jupyter notebook (or Colab)' in err
    assert not (tmp_path / 'logs').exists()

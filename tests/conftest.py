"""Shared test helpers: tiny IDX files, the repository root on sys.path, one-line failures."""
import contextlib
import gzip
import io
import hashlib
import os
import signal
import struct
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DATA_DIR = os.path.join(ROOT, 'data')


def snapshot(folder, locks=False):
    """Every file under ``folder`` with its content hash; the lock files (``.lock``,
    ``.lock.pid``, ``.save.lock``, ``.outputs.lock``) only with ``locks=True``."""
    result = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            if not locks and (name.startswith('.lock') or name in ('.save.lock', '.outputs.lock')):
                continue
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                result[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return result


def quiet(main, argv):
    """A script's main(argv) in this process, its printed lines swallowed: the result."""
    with contextlib.redirect_stdout(io.StringIO()):
        return main(argv)


def main_and_stdout(main, argv):
    """A script's main(argv) in this process: (the result, what it printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = main(argv)
    return result, out.getvalue()


@pytest.fixture
def tf():
    """TensorFlow (tf.compat.v1) as both scripts load it, each script's ``tf`` set."""
    import mnist_lstm_classifier as clf
    import sin_cos_lstm_regressor as reg
    reg.load_tensorflow()
    return clf.load_tensorflow()


SMALL = ['--hidden-units', '8', '--data-dir', DATA_DIR]  # a small, fast classifier


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    """A checkpoint folder holding one finished run's model (8 units, seed 0) and the
    test accuracy that run reported."""
    import types
    import mnist_lstm_classifier as clf
    folder = tmp_path_factory.mktemp('finished')
    result = quiet(clf.main, ['--training-iters', '2560', '--seed', '0', *SMALL,
                              '--ckpt-dir', str(folder / 'ckpt'),
                              '--logdir', str(folder / 'logs')])
    return types.SimpleNamespace(dir=folder / 'ckpt', accuracy=result['test_accuracy'],
                                 name=os.path.basename(result['checkpoint']))


def copy_of(finished, tmp_path):
    """A copy of the ``finished`` fixture's checkpoint folder, for a test to damage."""
    import shutil
    ckpt = tmp_path / 'ckpt'
    shutil.copytree(finished.dir, ckpt)
    return ckpt


@pytest.fixture(scope='session')
def as_nobody():
    """A copy of the scripts that user nobody can read, and the argv prefix that runs
    this test run's Python as nobody: ``.repo``, ``.python``, ``.folder`` (a folder
    nobody can enter, for the test's own files). Skips, with the one-line reason, where
    that cannot be (not root on Linux, no setpriv, a Python or packages nobody cannot
    read: tests/helpers/machine.py checks it as that user)."""
    import types
    from helpers import machine
    folder, python, reason = machine.as_other_user(ROOT)
    if reason:
        pytest.skip(reason)
    yield types.SimpleNamespace(folder=folder, python=python, repo=os.path.join(folder, 'repo'))
    import shutil
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope='module')
def tf115():
    """The TF 1.15 oracle (tests/tf115/oracle.py), or a skip with the reason."""
    from tf115 import oracle
    try:
        oracle.environment()
    except oracle.Unavailable as e:
        pytest.skip(f'TF 1.15 oracle unavailable: {e}')
    return oracle


SEED1_NUMBERS = os.path.join(ROOT, 'tests', 'reference', 'seed1_by_tensorflow.json')


def seed1_numbers():
    """{'1.15': TF 1.15's, '2.16': TF 2.16's, ...}: what `--seed 1` prints with each
    TensorFlow, measured by tests/tools/seed1_numbers.py (FIDELITY.md has the table)."""
    import json
    with open(SEED1_NUMBERS) as f:
        return {k: v for k, v in json.load(f).items() if isinstance(v, dict)}


def why_not_tf115s_numbers(version):
    """None if TensorFlow ``version`` ('2.19.1') was measured to print exactly TF 1.15's
    --seed 1 numbers (every version of the tested range was), else why not, in words."""
    from run_safety import requirements
    key = '%d.%d' % (requirements.major_minor(version) or (0, 0))
    measured = seed1_numbers()
    if key not in measured:
        return (f'TensorFlow {version}: its --seed 1 numbers were never measured (the tested '
                f'{requirements.TESTED_TEXT} were); python tests/tools/seed1_numbers.py --record '
                f'measures them')
    mine = {k: v for k, v in measured[key].items() if k != 'tensorflow'}
    theirs = {k: v for k, v in measured['1.15'].items() if k != 'tensorflow'}
    if mine != theirs:
        return (f'TensorFlow {version} prints other --seed 1 numbers than TF 1.15 '
                f'(tests/reference/seed1_by_tensorflow.json, FIDELITY.md)')
    return None


@pytest.fixture
def prints_tf115s_numbers():
    """For a test that compares printed numbers with TF 1.15's: go on where this
    TensorFlow was measured to print exactly TF 1.15's --seed 1 numbers, else skip with
    the reason: the right reference for each TensorFlow, so none fails just because it
    is another version."""
    from run_safety import requirements
    reason = why_not_tf115s_numbers(requirements.tensorflow_version())
    if reason:
        pytest.skip(reason)


def idx_bytes(array, magic):
    """IDX encoding, written from the format's definition: big-endian uint32 magic,
    big-endian uint32 dimensions, then the uint8 values."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack('>I', magic) + struct.pack('>' + 'I' * array.ndim, *array.shape)
    return header + array.tobytes()


def write_gz(path, content):
    with gzip.open(path, 'wb') as f:
        f.write(content)


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A tiny MNIST in four IDX gzip files, with the reader's checksum table
    pointed at their content. Returns (folder, train_images, train_labels,
    test_images, test_labels) as uint8 arrays."""
    from tf1_compat import input_data
    rng = np.random.RandomState(0)
    train_images = rng.randint(0, 256, size=(30, 28, 28)).astype(np.uint8)
    train_labels = (np.arange(30) % 10).astype(np.uint8)
    test_images = rng.randint(0, 256, size=(7, 28, 28)).astype(np.uint8)
    test_labels = (np.arange(7) * 3 % 10).astype(np.uint8)
    table = {}
    for name, array, magic in ((input_data.TRAIN_IMAGES, train_images, 2051),
                               (input_data.TRAIN_LABELS, train_labels, 2049),
                               (input_data.TEST_IMAGES, test_images, 2051),
                               (input_data.TEST_LABELS, test_labels, 2049)):
        content = idx_bytes(array, magic)
        write_gz(tmp_path / name, content)
        table[name] = hashlib.sha256(content).hexdigest()
    monkeypatch.setattr(input_data, 'SHA256', table)
    return tmp_path, train_images, train_labels, test_images, test_labels


def require(*what):
    """Skip, with the one-line reason, unless the machine has each of ``what`` (names of
    tests/helpers/machine.py's checks: 'strace', 'tmpfs', 'loopback', 'bash', 'other_user')."""
    from helpers import machine
    for name in what:
        reason = getattr(machine, name)()
        if reason:
            pytest.skip(reason)


def pytest_runtest_setup(item):
    """@pytest.mark.needs('strace', ...): checked before the test's fixtures are built,
    so a test that cannot run here costs nothing and says why."""
    for mark in item.iter_markers('needs'):
        require(*mark.args)


# Tests of behaviour that only some systems have: skipped elsewhere, with the reason.
posix_signals = pytest.mark.skipif(
    sys.platform == 'win32',
    reason='sends SIGINT to a child process; on Windows Popen.send_signal takes only '
           'SIGTERM, CTRL_C_EVENT and CTRL_BREAK_EVENT')
display_variables = pytest.mark.skipif(
    sys.platform in ('win32', 'darwin'),
    reason='DISPLAY/WAYLAND_DISPLAY decide whether a plot window can open only on Linux '
           'and other X11/Wayland systems; Windows and macOS always have a window system')


# The signals a test sends as a terminal or a service manager would.
SENT_SIGNALS = [getattr(signal, n) for n in ('SIGINT', 'SIGTERM', 'SIGHUP') if hasattr(signal, n)]


def signals_as_from_a_terminal():
    """preexec_fn for a child that a test will signal. A signal ignored at exec stays
    ignored in the child, and the scripts rightly keep it so (a nohup'd run must
    survive SIGHUP). But the test runner itself may have been started that way
    (`nohup pytest`: SIGHUP; `pytest &` in a script: SIGINT), and the child must then
    still receive what the test sends."""
    for s in SENT_SIGNALS:
        signal.signal(s, signal.SIG_DFL)


@pytest.fixture
def default_signal_handlers():
    """For in-process signal tests: the default handlers for the duration of the test,
    whatever the runner was started with; the runner's own restored afterwards."""
    saved = {s: signal.getsignal(s) for s in SENT_SIGNALS}
    for s in SENT_SIGNALS:
        signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def fails(main, argv, capsys, status=1):
    """Run a script's ``main(argv)`` in-process: it must exit with ``status`` and one
    line ``error: ...`` on stderr, no traceback. Returns that line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        with contextlib.redirect_stdout(io.StringIO()):
            main(argv)
    assert e.value.code == status
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1, err  # one line, no traceback
    return err.rstrip('\n')


def pytest_terminal_summary(terminalreporter, config):
    """The test order's seed, even under -q (whose header is not shown): pytest-randomly
    shuffles the files and the tests in them, so a test that depends on another's
    leftovers fails in some order; this line says how to repeat that order."""
    if config.pluginmanager.hasplugin('randomly'):
        seed = config.getoption('randomly_seed')
        terminalreporter.write_line(f'test order shuffled by pytest-randomly: repeat it with '
                                    f'--randomly-seed={seed} (file order: -p no:randomly)')

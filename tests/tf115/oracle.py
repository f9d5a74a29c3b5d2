"""The TF 1.15 oracle: the tutorial's graphs run by the real TensorFlow 1.15.

TensorFlow 1.15 needs Python 3.7. This module finds one, builds a virtual
environment with tensorflow==1.15.5 once, outside the repository, and runs the
plain TF 1.x code beside it (tf1_classifier.py, tf1_regressor.py) in a subprocess.
The oracle's results are cached, keyed by its code, environment and inputs, so
only the first run pays for TF 1.15's training; the project's side is never cached.

Environment variables:
  TF115_ORACLE=0        do not use the oracle (its tests skip)
  TF115_PYTHON=PATH     the Python 3.7 to use (else: py -3.7 on Windows, python3.7 on
                        PATH if it runs, $PYENV_ROOT or ~/.pyenv/versions/3.7*)
  TF115_ORACLE_CACHE=D  where the environment and results live
                        (default: ~/.cache/tf1-lstm-oracle, or $XDG_CACHE_HOME/...)

Its first use needs the network (pip downloads tensorflow==1.15.5) and 2 GB free
there; without either, or without a Python 3.7, its tests skip with the reason.
"""
import contextlib
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# What pip resolves for tensorflow==1.15.5 on Python 3.7, pinned: TF 1.15 needs
# numpy<1.19 and a protobuf 3.x (4.x breaks its generated code).
REQUIREMENTS = ('tensorflow==1.15.5', 'protobuf==3.20.3', 'numpy==1.18.5')
CODE = ('tf1_classifier.py', 'tf1_regressor.py')
# The environment and pip's downloads while it is built: about 1 GB, with room to spare.
NEEDED_BYTES = 2 << 30


class Unavailable(Exception):
    """No TF 1.15 can be had here; the message is the one-line reason."""


class OracleError(Exception):
    """TF 1.15 ran the oracle's code and it failed."""


def cache_root():
    if os.environ.get('TF115_ORACLE_CACHE'):
        return os.path.abspath(os.environ['TF115_ORACLE_CACHE'])
    base = os.environ.get('XDG_CACHE_HOME') or (
        os.environ.get('LOCALAPPDATA') if os.name == 'nt' else None) or os.path.join(
        os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'tf1-lstm-oracle')


def _python_version(argv):
    """'3.7.16' if argv runs a Python 3.7, else None."""
    try:
        proc = subprocess.run(argv + ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    version = proc.stdout.strip()
    return version if proc.returncode == 0 and version.startswith('3.7.') else None


def find_python37():
    """(argv, version) of a working Python 3.7."""
    override = os.environ.get('TF115_PYTHON')
    if override:
        version = _python_version([override])
        if version is None:
            raise Unavailable(f'TF115_PYTHON={override} is not a working Python 3.7')
        return [override], version
    candidates = [['py', '-3.7']] if os.name == 'nt' else []
    if shutil.which('python3.7'):  # a pyenv shim may be on PATH and not run: tried, not trusted
        candidates.append([shutil.which('python3.7')])
    roots = [os.environ.get('PYENV_ROOT'), os.path.join(os.path.expanduser('~'), '.pyenv')]
    exe = os.path.join('Scripts', 'python.exe') if os.name == 'nt' else os.path.join('bin', 'python')
    for root in filter(None, roots):
        for found in sorted(glob.glob(os.path.join(root, 'versions', '3.7*', exe)), reverse=True):
            candidates.append([found])
    for argv in candidates:
        version = _python_version(argv)
        if version:
            return argv, version
    raise Unavailable('no Python 3.7 found for TensorFlow 1.15 (set TF115_PYTHON)')


@contextlib.contextmanager
def file_lock(path):
    """An exclusive lock on path, held across processes (two test runs never build
    the same environment at once)."""
    with open(path, 'a+b') as f:
        if os.name == 'nt':
            import msvcrt
            f.seek(0)
            while True:
                try:
                    msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s; keep waiting
                    continue
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _venv_python(venv):
    return os.path.join(venv, 'Scripts', 'python.exe') if os.name == 'nt' else \
        os.path.join(venv, 'bin', 'python')


def _clean_env():
    """The environment for Python 3.7, without the test process's Python and TF 2
    settings: TensorFlow 2 sets TF2_BEHAVIOR=1, which would put TF 1.15 in eager mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('TF', 'PYTHON'))}
    env['TF_CPP_MIN_LOG_LEVEL'] = '2'
    return env


def _last_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[-1] if lines else 'no output'


_failed = {}  # one failed build per process is enough: no retry per test


def environment():
    """The cached TF 1.15 environment's python, built on first use."""
    if os.environ.get('TF115_ORACLE', '1') == '0':
        raise Unavailable('TF115_ORACLE=0')
    argv, version = find_python37()
    key = hashlib.sha256(repr((version, REQUIREMENTS)).encode()).hexdigest()[:16]
    if key in _failed:
        raise Unavailable(_failed[key])
    root = cache_root()
    venv = os.path.join(root, 'venv-' + key)
    python = _venv_python(venv)
    if os.path.exists(python):  # only a complete environment is ever renamed into place
        return python
    os.makedirs(root, exist_ok=True)
    free = shutil.disk_usage(root).free
    if free < NEEDED_BYTES:
        raise Unavailable(f'building the TF 1.15 environment needs {NEEDED_BYTES >> 30} GB free '
                          f'in {root}, which has {free / 2**30:.1f} GB (set TF115_ORACLE_CACHE '
                          f'to a folder with room)')
    with file_lock(venv + '.lock'):
        if os.path.exists(python):  # another process built it while we waited
            return python
        # a build killed half-way left its folder; only the lock holder builds
        for stale in glob.glob(os.path.join(root, 'building-venv-*')):
            shutil.rmtree(stale, ignore_errors=True)
        building = tempfile.mkdtemp(prefix='building-venv-', dir=root)
        new_python = _venv_python(building)
        try:
            for what, step in (
                    ('python -m venv', argv + ['-m', 'venv', building]),
                    # offline, pip gives up in seconds, not after 5 retries of a long timeout
                    ('pip install ' + ' '.join(REQUIREMENTS),
                     [new_python, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
                      '--no-input', '--retries', '1', '--timeout', '30', *REQUIREMENTS]),
                    ('import tensorflow', [new_python, '-c', 'import tensorflow'])):
                proc = subprocess.run(step, capture_output=True, text=True, env=_clean_env())
                if proc.returncode != 0:
                    _failed[key] = (f'cannot build the TF 1.15 environment ({what}): '
                                    f'{_last_line(proc.stderr or proc.stdout)}')
                    raise Unavailable(_failed[key])
            # A venv's python finds its packages relative to itself, so the folder
            # can be renamed; nothing here uses the absolute paths in its scripts.
            os.rename(building, venv)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return python


def code_hash():
    h = hashlib.sha256()
    for name in CODE:
        with open(os.path.join(HERE, name), 'rb') as f:
            h.update(name.encode() + b'\0' + f.read())
    return h.hexdigest()


def file_hash(path):
    h = hashlib.sha256()
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            h.update(name.encode() + b'\0' + file_hash(os.path.join(path, name)).encode())
        return h.hexdigest()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def run(script, command, *args, out_dir):
    """Run `script command args` with TF 1.15 in out_dir. Paths in args are passed
    as they are; the oracle writes its results into out_dir. Returns its stdout."""
    python = environment()
    proc = subprocess.run([python, os.path.join(HERE, script), command, *args],
                          cwd=out_dir, capture_output=True, text=True, env=_clean_env())
    if proc.returncode != 0:
        raise OracleError(f'TF 1.15 {script} {command} failed: {_last_line(proc.stderr)}')
    return proc.stdout


def cached(script, command, *args, inputs=None):
    """Like run(), cached: the folder holding the oracle's results for these arguments.

    In args, '{out}' stands for that folder and '{name}' for inputs[name], a file or
    folder the oracle reads. The key covers the oracle's code, the environment's
    requirements, the arguments and the inputs' contents (not their paths). The
    folder is built under a temporary name and renamed, so a cached result is
    always complete. Do not write into it.
    """
    inputs = inputs or {}
    key = hashlib.sha256(json.dumps(
        [code_hash(), REQUIREMENTS, script, command, args,
         sorted((name, file_hash(path)) for name, path in inputs.items())]).encode()
    ).hexdigest()[:24]
    root = os.path.join(cache_root(), 'results')
    folder = os.path.join(root, key)
    if os.path.exists(folder):
        return folder
    environment()  # skip (Unavailable) before anything is created
    os.makedirs(root, exist_ok=True)
    building = tempfile.mkdtemp(prefix='building-', dir=root)
    try:
        stdout = run(script, command, *[a.format(out=building, **inputs) for a in args],
                     out_dir=building)
        with open(os.path.join(building, 'stdout.txt'), 'w') as f:
            f.write(stdout)
        try:
            os.rename(building, folder)
        except OSError:  # another process finished the same run first: keep theirs
            if not os.path.exists(folder):
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder


if __name__ == '__main__':
    # python tests/tf115/oracle.py: build the environment now and say where it is
    try:
        print(environment())
    except Unavailable as e:
        sys.exit(f'TF 1.15 oracle unavailable: {e}')

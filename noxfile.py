"""The Python matrix: the test suite on every supported Python found on this machine.

    nox -db uv                         # every supported Python found, each in a fresh venv
    nox -db uv -s "tests(3.12)"        # one of them
    nox -db uv -- -k any_directory     # arguments after -- go to pytest

Each Python gets a new virtual environment (uv builds it; `nox` alone uses
virtualenv) with the pinned requirements-dev.txt, and runs `python -m pytest -q`.
A supported Python that cannot be found is skipped, and nox says why.

Interpreters are looked for, for each version, in this order: the py launcher on
Windows (`py -3.12`); `python3.12` on PATH, if it really runs (a pyenv shim of a
version that is not selected does not); pyenv's versions ($PYENV_ROOT, else
~/.pyenv; pyenv-win's on Windows); Pythons that uv installed (`uv python find
--managed-python`, no downloads). Set MATRIX_SKIP="3.11 3.12" to leave versions
out (CI leaves out the one its main run already tested).

The TensorFlow range: the quick tier and the tests that check stderr on each TensorFlow
the project supports (run_safety/requirements.py: TESTED, 2.16-2.21), each in a fresh
virtual environment on Python 3.11 (the one Python all of them have wheels for), with
only what a learner would add: `tensorflow==2.N.*`, its `tf-keras~=2.N.0` and
`tensorboard~=2.N.0`, and the newest numpy, matplotlib, pandas, pillow, filelock and
psutil that go with it (not requirements.txt's pins, which are 2.21's), plus the pinned
test tools:

    nox -db uv -s tf_range               # 2.16 to 2.21
    nox -db uv -s "tf_range(2.16)"       # one of them (CI runs 2.16; its main run is 2.21)
"""
import glob
import os
import shutil
import subprocess
import sys

import nox

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_safety.requirements import (  # noqa: E402  (standard library only)
    SETUPTOOLS_WITH_PKG_RESOURCES, TENSORBOARD_WITHOUT_PKG_RESOURCES, TESTED, major_minor)

SUPPORTED = ('3.10', '3.11', '3.12', '3.13')
TF_RANGE = tuple(f'{TESTED[0][0]}.{minor}' for minor in range(TESTED[0][1], TESTED[1][1] + 1))
TF_RANGE_PYTHON = '3.11'
# What a learner adds to TensorFlow (unpinned: the newest that goes with it), and the
# test tools, pinned as in requirements-dev.txt.
LEARNER_PACKAGES = ('numpy', 'matplotlib', 'pandas', 'pillow', 'filelock', 'psutil')
TEST_TOOLS = ('pytest', 'pytest-randomly', 'nbclient', 'nbformat', 'ipykernel')

nox.options.sessions = ['tests']
nox.options.reuse_venv = 'no'  # always a fresh environment
nox.options.download_python = 'never'  # test what is installed; fetch nothing
nox.options.error_on_missing_interpreters = False


def _probe(command):
    """(major.minor, sys.executable) of the interpreter ``command`` starts, or None."""
    try:
        out = subprocess.run(
            [*command, '-c', 'import sys; print("%d.%d" % sys.version_info[:2]); '
                             'print(sys.executable)'],
            capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.split('\n')
    if out.returncode != 0 or len(lines) < 2 or not lines[1]:
        return None
    return lines[0], lines[1]


def _pyenv_pythons(version):
    """pyenv's builds of ``version``, newest patch release first."""
    found = []
    for root in filter(None, [os.environ.get('PYENV_ROOT'),
                              os.path.join(os.path.expanduser('~'), '.pyenv')]):
        if sys.platform == 'win32':  # pyenv-win
            versions, exe = os.path.join(root, 'pyenv-win', 'versions'), 'python.exe'
        else:
            versions, exe = os.path.join(root, 'versions'), os.path.join('bin', 'python')
        for folder in glob.glob(os.path.join(versions, version + '.*')):
            patch = os.path.basename(folder)[len(version) + 1:]
            path = os.path.join(folder, exe)
            if patch.isdigit() and os.path.isfile(path):  # 3.12.1, not 3.12.1t or 3.12-dev
                found.append((int(patch), path))
    return [path for _, path in sorted(set(found), reverse=True)]


def _uv():
    try:
        from uv import find_uv_bin
        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which('uv')


def _candidates(version):
    """(how it was found, command) pairs, most preferred first."""
    if sys.platform == 'win32' and shutil.which('py'):
        yield f'py -{version}', ['py', f'-{version}']
    name = f'python{version}'
    if shutil.which(name):
        yield f'{name} on PATH', [shutil.which(name)]
    for path in _pyenv_pythons(version):
        yield 'pyenv', [path]
    uv = _uv()
    if uv:
        try:
            out = subprocess.run([uv, 'python', 'find', '--managed-python', '--no-python-downloads',
                                  version],
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None and out.returncode == 0 and out.stdout.strip():
            yield 'uv python find', [out.stdout.strip()]


def find_python(version):
    """(path, None) for a working interpreter of ``version``, or (None, why not)."""
    tried = []
    for how, command in _candidates(version):
        probed = _probe(command)
        if probed is None:
            tried.append(f'{how} ({command[0]}) does not run')
        elif probed[0] != version:
            tried.append(f'{how} ({command[0]}) is Python {probed[0]}')
        else:
            return probed[1], None
    tried.append('no py launcher, PATH name, pyenv or uv-managed Python ' + version
                 if not tried else 'nothing else found')
    return None, '; '.join(tried)


def matrix(environ=os.environ):
    """(version, interpreter or None, why it is skipped or None) for each supported version."""
    leave_out = environ.get('MATRIX_SKIP', '').replace(',', ' ').split()
    rows = []
    for version in SUPPORTED:
        if version in leave_out:
            rows.append((version, None, f'left out by MATRIX_SKIP={environ["MATRIX_SKIP"]!r}'))
            continue
        python, why = find_python(version)
        rows.append((version, python, None if python else f'Python {version} not found: {why}'))
    return rows


@nox.session(python=None)
@nox.parametrize('python, version, skip_reason',
                 [nox.param(python or False, version, why, id=version)  # False: no venv
                  for version, python, why in matrix()])
def tests(session, version, skip_reason):
    """The test suite on one supported Python, in a fresh virtual environment."""
    if skip_reason:
        session.skip(skip_reason)
    session.run('python', '-c', 'import sys, platform; '
                'print("Python", sys.version.split()[0], platform.machine(), sys.executable)')
    session.install('-r', 'requirements-dev.txt')
    session.run('python', '-m', 'pytest', '-q', *session.posargs)


def tf_range_packages(version):
    """What `tf_range` installs for TensorFlow ``version`` ('2.16'): TensorFlow, its
    tf-keras and TensorBoard, the learner's packages, the test tools' pins."""
    pins = []
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'requirements-dev.txt')) as f:
        for line in f:
            line = line.split('#')[0].strip()
            name = line.split('==')[0].strip()
            if name in TEST_TOOLS:
                pins.append(line)
    # TensorBoard 2.16-2.20 imports pkg_resources, which setuptools 82 removed: what
    # docs/install.md tells a learner to add (run_safety/requirements.py, the same rule)
    old_board = major_minor(version) < TENSORBOARD_WITHOUT_PKG_RESOURCES
    return [f'tensorflow=={version}.*', f'tf-keras~={version}.0', f'tensorboard~={version}.0',
            *LEARNER_PACKAGES, *([SETUPTOOLS_WITH_PKG_RESOURCES] if old_board else []), *pins]


_TF_PYTHON = find_python(TF_RANGE_PYTHON)  # (path, None) or (None, why not)


@nox.session(python=None)
@nox.parametrize('python, tensorflow', [nox.param(_TF_PYTHON[0] or False, version, id=version)
                                        for version in TF_RANGE])
def tf_range(session, tensorflow):
    """The quick tier and the stderr tests on one TensorFlow of the range, fresh venv."""
    if not _TF_PYTHON[0]:
        session.skip(f'Python {TF_RANGE_PYTHON} not found: {_TF_PYTHON[1]}')
    session.install(*tf_range_packages(tensorflow))
    session.run('python', '-c', 'import sys, importlib.metadata as m; print("Python", '
                'sys.version.split()[0], "tensorflow", m.version("tensorflow"), "tf-keras", '
                'm.version("tf-keras"), "numpy", m.version("numpy"))')
    session.run('python', '-m', 'pytest', '-q', '-m', 'smoke or stderr', *session.posargs)

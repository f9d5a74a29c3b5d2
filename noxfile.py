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
"""
import glob
import os
import shutil
import subprocess
import sys

import nox

SUPPORTED = ('3.10', '3.11', '3.12', '3.13')

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

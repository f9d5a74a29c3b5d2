"""The Python matrix: noxfile.py finds each supported Python the way a learner's machine has it, and
says why it skips one it cannot find (docs/testing.md, the matrix)."""
import os
import sys

import pytest

pytest.importorskip('nox', reason='nox is not installed: pip install -r requirements-dev.txt')
import noxfile  # noqa: E402

CURRENT = '%d.%d' % sys.version_info[:2]
posix_scripts = pytest.mark.skipif(sys.platform == 'win32',
                                   reason='fakes interpreters with shell scripts and symlinks')


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """An empty machine: no py launcher, nothing on PATH, no pyenv, no uv."""
    home, bin_dir = tmp_path / 'home', tmp_path / 'bin'
    home.mkdir()
    bin_dir.mkdir()
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.setenv('USERPROFILE', str(home))
    monkeypatch.setenv('PATH', str(bin_dir))
    monkeypatch.delenv('PYENV_ROOT', raising=False)
    monkeypatch.setattr(noxfile, '_uv', lambda: None)
    return tmp_path


def script(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\n' + body + '\n')
    path.chmod(0o755)
    return path


def pyenv_build(root, name):
    """A pyenv version folder whose bin/python is this test's own interpreter."""
    python = root / 'versions' / name / 'bin' / 'python'
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    return python


@posix_scripts
def test_a_path_name_that_does_not_run_is_passed_over_for_pyenvs_build(machine, monkeypatch):
    # a pyenv shim of a version that is not selected: on PATH, but it fails
    script(machine / 'bin' / f'python{CURRENT}', 'echo "pyenv: command not found" >&2; exit 127')
    monkeypatch.setenv('PYENV_ROOT', str(machine / 'pyenv'))
    python = pyenv_build(machine / 'pyenv', CURRENT + '.99')
    assert noxfile.find_python(CURRENT) == (str(python), None)


@posix_scripts
def test_pyenv_under_the_home_folder_is_found_without_pyenv_root(machine):
    python = pyenv_build(machine / 'home' / '.pyenv', CURRENT + '.5')
    assert noxfile.find_python(CURRENT) == (str(python), None)


def test_pyenv_builds_newest_patch_first_never_free_threaded(machine, monkeypatch):
    root = machine / 'pyenv'
    monkeypatch.setenv('PYENV_ROOT', str(root))
    for name in ['3.12.2', '3.12.10', '3.12.9t', '3.12-dev', '3.13.0', '3.1.4']:
        exe = ('pyenv-win', 'versions', name, 'python.exe') if sys.platform == 'win32' \
            else ('versions', name, 'bin', 'python')
        path = root.joinpath(*exe)
        path.parent.mkdir(parents=True)
        path.write_text('')
    found = noxfile._pyenv_pythons('3.12')
    assert [p.split(os.sep)[-3 if sys.platform != 'win32' else -2] for p in found] \
        == ['3.12.10', '3.12.2']


@posix_scripts
def test_a_python_that_uv_installed_is_found(machine, monkeypatch):
    uv = script(machine / 'uvbin' / 'uv',
                f'[ "$*" = "python find --managed-python --no-python-downloads {CURRENT}" ] || exit 2\n'
                f'echo {sys.executable}')
    monkeypatch.setattr(noxfile, '_uv', lambda: str(uv))
    python, why = noxfile.find_python(CURRENT)
    assert why is None and os.path.samefile(python, sys.executable)


@posix_scripts
def test_a_missing_version_is_skipped_with_what_was_tried(machine):
    shim = script(machine / 'bin' / 'python3.10', 'exit 127')
    assert noxfile.find_python('3.10') == (
        None, f'python3.10 on PATH ({shim}) does not run; nothing else found')
    assert noxfile.find_python('3.13') == (
        None, 'no py launcher, PATH name, pyenv or uv-managed Python 3.13')


@posix_scripts
def test_a_path_name_of_another_version_is_not_taken(machine):
    wanted = '3.10' if CURRENT != '3.10' else '3.11'
    (machine / 'bin' / f'python{wanted}').symlink_to(sys.executable)  # misnamed
    python, why = noxfile.find_python(wanted)
    assert python is None and f'python{wanted} on PATH' in why and f'is Python {CURRENT}' in why


def test_matrix_lists_every_supported_version_and_why_one_is_skipped(monkeypatch):
    monkeypatch.setattr(noxfile, 'find_python', lambda version: (
        (None, 'nothing found') if version == '3.13' else (f'/py/{version}', None)))
    rows = noxfile.matrix({'MATRIX_SKIP': '3.11'})
    assert rows == [
        ('3.10', '/py/3.10', None),
        ('3.11', None, "left out by MATRIX_SKIP='3.11'"),
        ('3.12', '/py/3.12', None),
        ('3.13', None, 'Python 3.13 not found: nothing found'),
    ]


def test_the_tensorflow_range_sessions_install_each_version_with_its_own_tf_keras():
    """nox -s tf_range: one session per TensorFlow of the tested range (2.16-2.21), each
    installing that TensorFlow with the tf-keras and TensorBoard of its own minor version,
    the learner's packages unpinned, and the test tools pinned as in requirements-dev.txt."""
    assert noxfile.TF_RANGE == ('2.16', '2.17', '2.18', '2.19', '2.20', '2.21')
    packages = noxfile.tf_range_packages('2.17')
    assert packages[:3] == ['tensorflow==2.17.*', 'tf-keras~=2.17.0', 'tensorboard~=2.17.0']
    assert {'numpy', 'matplotlib', 'pandas', 'pillow', 'filelock', 'psutil'} <= set(packages)
    pinned = [p for p in packages[3:] if '==' in p]
    assert {p.split('==')[0] for p in pinned} == set(noxfile.TEST_TOOLS)
    assert not any(p.startswith(('tensorflow==2.21', 'numpy==')) for p in packages)
    # TensorBoard 2.16-2.20 needs pkg_resources (setuptools before 82); 2.21 does not
    assert 'setuptools<82' in packages and 'setuptools<82' not in noxfile.tf_range_packages('2.21')

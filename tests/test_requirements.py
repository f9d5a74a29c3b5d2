"""A Python without the requirements gets one line, not a traceback; the
TensorFlow versions outside the tested range (run_safety/requirements.py) get what the
README's Supported table says; the notebooks' set-up installs only what is missing.

The Pythons here are real: a fresh virtual environment with nothing installed, the
test's own Python with one package made unimportable (sys.modules[name] = None, which
is how Python marks a module as not there), and the test's own TensorFlow seen through
package metadata that says another version (a folder first on PYTHONPATH).
"""
import os
import subprocess
import sys
import venv

import pytest

from conftest import ROOT
from helpers.readme_blocks import copy_repository
from run_safety import requirements

smoke = pytest.mark.smoke  # all but the two that train (seconds each): the quick tier

SCRIPTS = ['mnist_lstm_classifier.py', 'sin_cos_lstm_regressor.py']
# What the scripts import (import name, pip name), written out here, not read from the
# module under test: a package left out of its list must fail a test.
PACKAGES = [('tensorflow', 'tensorflow'), ('tf_keras', 'tf-keras'), ('numpy', 'numpy'),
            ('matplotlib', 'matplotlib'), ('pandas', 'pandas'), ('PIL', 'pillow'),
            ('filelock', 'filelock'), ('psutil', 'psutil')]
TF = requirements.tensorflow_version()
TF_MINOR = '%d.%d' % requirements.major_minor(TF)


def script_path(script, root=ROOT):
    return os.path.join(root, script)


# requirements.txt as the message names it: relative from the repository, else its path
REQUIREMENTS = os.path.join(ROOT, 'requirements.txt')


@pytest.fixture(scope='module')
def bare_python(tmp_path_factory):
    """A fresh virtual environment with nothing installed: a learner's Python that lacks
    every requirement (the same as the system's, or one whose venv was not activated)."""
    folder = tmp_path_factory.mktemp('bare') / 'venv'
    venv.EnvBuilder(with_pip=False).create(folder)
    python = folder / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')
    return str(python)


@pytest.fixture(scope='module')
def bare_repo(tmp_path_factory):
    """A clone with no environment inside (no .venv), as a learner's before the quick start's
    venv: the fix named is pip alone. (With a .venv that is not the running Python's, the
    fix starts with activating it: test_the_projects_environment_is_named_when_it_is_not_activated.
    CI's own checkout has one, so the tests below run the scripts from here.)"""
    repo = tmp_path_factory.mktemp('clone') / 'tf1-lstm'
    copy_repository(repo)
    os.remove(repo / '.venv')
    return str(repo)


def run(python, args, cwd=ROOT, env=None, code=None):
    """``python`` run as a learner runs it: the environment without what this test run's
    own imports set (tf1_compat.v1 sets TF_USE_LEGACY_KERAS in this process)."""
    command = [python, *(['-c', code] if code else []), *args]
    base = {k: v for k, v in os.environ.items() if k != 'TF_USE_LEGACY_KERAS'}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(base, COLUMNS='100', **(env or {})))


def one_line(err):
    lines = err.splitlines()
    assert len(lines) == 1 and 'Traceback' not in err, err
    return lines[0]


@smoke
@pytest.mark.parametrize('script', SCRIPTS)
def test_a_python_without_the_requirements_gets_one_line(bare_python, script, bare_repo,
                                                          tmp_path):
    proc = run(bare_python, [script_path(script, bare_repo)], cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ''
    line = one_line(proc.stderr)
    assert line == (f'{script}: tensorflow, tf-keras, numpy, matplotlib, pandas, pillow, filelock '
                    f'and psutil are missing for {bare_python}: run {bare_python} -m pip install '
                    f'-r {os.path.join(bare_repo, "requirements.txt")}')
    assert os.listdir(tmp_path) == []  # nothing made


@smoke
@pytest.mark.parametrize('script', SCRIPTS)
def test_help_works_without_the_requirements_and_is_the_same_help(bare_python, script):
    bare = run(bare_python, [script_path(script), '--help'])
    full = run(sys.executable, [script_path(script), '--help'])
    assert (bare.returncode, bare.stderr) == (0, '')
    assert full.returncode == 0 and full.stdout.startswith('usage: ')
    assert bare.stdout == full.stdout


@smoke
def test_the_projects_environment_is_named_when_it_is_not_activated(bare_python, tmp_path):
    """The most common case: the quick start's .venv exists, and `python` is another one."""
    repo = tmp_path / 'tf1-lstm'
    copy_repository(repo)  # with .venv, the test's environment
    proc = run(bare_python, ['sin_cos_lstm_regressor.py', '--iterations', '3'], cwd=repo)
    assert proc.returncode == 1
    activate = (r'.venv\Scripts\activate' if os.name == 'nt' else 'source .venv/bin/activate')
    assert one_line(proc.stderr).endswith(
        f"are missing for {bare_python}: activate the project's environment ({activate}) "
        f'or run {bare_python} -m pip install -r requirements.txt')


BLOCK = ('import os, runpy, sys\n'
         'for name in sys.argv[1].split(","):\n'
         '    sys.modules[name] = None\n'
         'script = sys.argv[2]\n'
         'sys.path.insert(0, os.path.dirname(script))  # as `python script` does\n'
         'sys.argv = sys.argv[2:]\n'
         'runpy.run_path(script, run_name="__main__")\n')


@smoke
@pytest.mark.parametrize('module, name', PACKAGES)
def test_each_missing_package_is_named_with_the_command_that_adds_it(module, name, bare_repo,
                                                                     tmp_path):
    """Only ``name`` missing: one line naming it. TensorFlow missing: the requirements
    file; otherwise the one package (tf-keras: TensorFlow's own version), the TensorFlow
    installed kept (Colab's)."""
    proc = run(sys.executable, [module, script_path('mnist_lstm_classifier.py', bare_repo),
                                '--ckpt-dir', str(tmp_path / 'c')], code=BLOCK, cwd=bare_repo)
    assert proc.returncode == 1 and proc.stdout == ''
    fix = ('-r requirements.txt' if name == 'tensorflow'  # (run from the repository)
           else f'"tf-keras~={TF_MINOR}.0"' if name == 'tf-keras' else name)
    assert one_line(proc.stderr) == (f'mnist_lstm_classifier.py: {name} is missing for '
                                     f'{sys.executable}: run {sys.executable} -m pip install {fix}')
    assert not (tmp_path / 'c').exists()


@smoke
def test_two_missing_packages_are_named_together(bare_repo, tmp_path):
    proc = run(sys.executable, ['filelock,psutil', script_path('sin_cos_lstm_regressor.py', bare_repo)],
               code=BLOCK, cwd=tmp_path)
    assert proc.returncode == 1
    assert one_line(proc.stderr) == (
        f'sin_cos_lstm_regressor.py: filelock and psutil are missing for {sys.executable}: '
        f'run {sys.executable} -m pip install filelock psutil')


# --------------------------------------------------------------- outside the range

@smoke
@pytest.mark.parametrize('tf_version, keras, refusal, warning', [
    ('2.16.2', '2.16.0', None, None),
    ('2.19.1', '2.19.0', None, None),
    ('2.21.0', '2.21.0', None, None),
    ('2.21.0rc1', '2.21.0', None, None),
    ('2.21.0', '2.19.0', 'tf-keras 2.19.0 does not match TensorFlow 2.21.0', None),
    ('2.16.2', '2.17.0', 'tf-keras 2.17.0 does not match TensorFlow 2.16.2', None),
    ('2.15.1', None, None, 'TensorFlow 2.15.1 is older than the tested 2.16-2.21'),
    ('2.15.1', '2.15.0', None, 'TensorFlow 2.15.1 is older than the tested 2.16-2.21'),
    ('2.22.0', '2.22.0', None, 'TensorFlow 2.22.0 is newer than the tested 2.16-2.21'),
    ('2.22.0', '2.21.0', 'tf-keras 2.21.0 does not match TensorFlow 2.22.0', None),
    ('1.15.5', None, 'TensorFlow 1.15.5 is not TensorFlow 2', None),
    ('3.0.0', '3.0.0', 'TensorFlow 3.0.0 is not TensorFlow 2', None),
])
def test_version_policy(tf_version, keras, refusal, warning):
    got = requirements.tensorflow_problem(tf_version, keras)
    assert [g and g.split(':')[0].split(' (')[0] for g in got] == [refusal, warning]
    if got[0] and 'tf-keras' in got[0]:
        assert got[0].endswith('-m pip install "tf-keras~=%d.%d.0"'
                               % requirements.major_minor(tf_version))
    if got[1]:
        assert got[1].endswith('installs the tested version') and 'running anyway' in got[1]


@smoke
def test_the_tested_range_is_2_16_to_2_21():
    assert requirements.TESTED == ((2, 16), (2, 21)) and requirements.TESTED_TEXT == '2.16-2.21'
    assert requirements.needs_keras('2.16.0') and not requirements.needs_keras('2.15.1')


def fake_versions(folder, **versions):
    """A folder of package metadata that, first on PYTHONPATH, says these versions."""
    for name, version in versions.items():
        info = folder / f'{name.replace("-", "_")}-{version}.dist-info'
        info.mkdir(parents=True)
        (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    return {'PYTHONPATH': str(folder)}


@pytest.mark.stderr  # TensorFlow imported and trained: out of the quick tier
def test_an_untested_tensorflow_runs_after_one_warning_line(tmp_path):
    """A newer TensorFlow than the range (this one, seen as 2.22.0): one line, then the
    run. (An older one, 2.15.1, was run for real: FIDELITY.md, Across TensorFlow versions.)"""
    tf_version, which = '2.22.0', 'newer'
    env = fake_versions(tmp_path / 'meta', **{'tensorflow': tf_version, 'tf-keras': tf_version})
    proc = run(sys.executable, [script_path('sin_cos_lstm_regressor.py'), '--iterations', '3',
                                '--plot', 'none', '--logdir', str(tmp_path / 'logs')], env=env)
    assert proc.returncode == 0, proc.stderr
    assert one_line(proc.stderr) == (
        f'warning: TensorFlow {tf_version} is {which} than the tested 2.16-2.21: running '
        f'anyway; if it fails, {sys.executable} -m pip install -r requirements.txt installs '
        f'the tested version')
    assert proc.stdout.startswith('cost: ')


@smoke
@pytest.mark.parametrize('script', SCRIPTS)
def test_a_tf_keras_of_another_version_is_refused_with_the_one_to_install(script, bare_repo,
                                                                          tmp_path):
    env = fake_versions(tmp_path / 'meta', **{'tf-keras': '2.15.0'})
    proc = run(sys.executable, [script_path(script, bare_repo)], env=env, cwd=tmp_path / 'meta')
    assert proc.returncode == 1 and proc.stdout == ''
    assert one_line(proc.stderr) == (
        f'{script}: tf-keras 2.15.0 does not match TensorFlow {TF} (TensorFlow needs the '
        f'tf-keras of its own version): run {sys.executable} -m pip install '
        f'"tf-keras~={TF_MINOR}.0"')


@smoke
def test_importing_tf1_compat_refuses_a_mismatched_tf_keras(bare_repo, tmp_path):
    """Not only the scripts: a notebook or a test that imports tf1_compat.v1 itself."""
    env = fake_versions(tmp_path / 'meta', **{'tf-keras': '2.15.0'})
    proc = run(sys.executable, [], env=dict(env, PYTHONPATH=f'{tmp_path / "meta"}{os.pathsep}{bare_repo}'),
               code='import tf1_compat.v1')
    assert proc.returncode == 1
    assert proc.stderr.rstrip().splitlines()[-1] == (
        f'ImportError: tf-keras 2.15.0 does not match TensorFlow {TF} (TensorFlow needs the '
        f'tf-keras of its own version): run {sys.executable} -m pip install '
        f'"tf-keras~={TF_MINOR}.0"')


# --------------------------------------------------------------- the notebooks' set-up

@smoke
@pytest.mark.parametrize('tf_version, keras, missing, found, to_install', [
    ('2.19.1', '2.19.0', [], 'TensorFlow 2.19.1 with tf-keras 2.19.0 (tested)', []),
    ('2.19.1', None, [], 'TensorFlow 2.19.1, no tf-keras (tested)', ['tf-keras~=2.19.0']),
    ('2.19.1', '2.21.0', ['psutil'],
     'TensorFlow 2.19.1 with tf-keras 2.21.0 (tested); missing: psutil',
     ['tf-keras~=2.19.0', 'psutil']),
    ('2.22.0', '2.22.0', [],
     'TensorFlow 2.22.0 with tf-keras 2.22.0 (untested: the tested versions are 2.16-2.21)', []),
    ('2.15.1', None, [], 'TensorFlow 2.15.1 (untested: the tested versions are 2.16-2.21)', []),
    (None, None, [], 'no TensorFlow', ['-r', REQUIREMENTS]),
])
def test_the_notebooks_setup_installs_only_what_is_missing(tf_version, keras, missing, found,
                                                           to_install, monkeypatch):
    monkeypatch.setattr(requirements, 'tensorflow_version', lambda: tf_version)
    monkeypatch.setattr(requirements, 'keras_version', lambda: keras)
    monkeypatch.setattr(requirements, 'distribution_version',
                        lambda *names: '2.21.0' if names == ('tensorboard',) else None)
    real = requirements.installed
    monkeypatch.setattr(requirements, 'installed', lambda m: m not in missing and real(m))
    assert requirements.notebook_plan() == (found, to_install)


@smoke
@pytest.mark.parametrize('board, pkg_resources, to_install', [
    ('2.19.0', False, ['setuptools<82']),  # setuptools 82+ (a new venv on Python 3.12+)
    ('2.19.0', True, []),                  # setuptools 81 or older (Colab; venvs on 3.11)
    ('2.21.0', False, []),                 # TensorBoard 2.21 no longer imports it
    (None, False, []),                     # no TensorBoard: %tensorboard is not this cell's
])
def test_the_notebooks_setup_gives_tensorboard_2_16_to_2_20_its_pkg_resources(
        board, pkg_resources, to_install, monkeypatch):
    """TensorBoard 2.16-2.20 imports pkg_resources, which setuptools 82 removed (measured:
    'No module named pkg_resources' in a fresh environment with TensorFlow 2.16)."""
    monkeypatch.setattr(requirements, 'tensorflow_version', lambda: '2.19.1')
    monkeypatch.setattr(requirements, 'keras_version', lambda: '2.19.0')
    monkeypatch.setattr(requirements, 'distribution_version',
                        lambda *names: board if names == ('tensorboard',) else None)
    real = requirements.installed
    monkeypatch.setattr(requirements, 'installed',
                        lambda m: pkg_resources if m == 'pkg_resources' else real(m))
    found, got = requirements.notebook_plan()
    assert got == to_install
    assert ('without pkg_resources' in found) == bool(to_install)


@smoke
def test_the_notebooks_setup_here_finds_everything_and_installs_nothing(capsys, monkeypatch):
    monkeypatch.setattr(subprocess, 'run', lambda *a, **k: pytest.fail(f'ran {a}'))
    requirements.setup_notebook()
    out = capsys.readouterr().out.splitlines()
    keras = requirements.keras_version()
    assert out == [f'Python {sys.version.split()[0]} ({sys.executable}): TensorFlow {TF} '
                   f'with tf-keras {keras} (tested)', 'nothing to install']


@pytest.mark.stderr  # TensorFlow imported: out of the quick tier
@pytest.mark.parametrize('tf_version, legacy', [(None, '1'), ('2.15.1', None)])
def test_tf_use_legacy_keras_is_set_only_where_keras_3_is_inside(tf_version, legacy, tmp_path):
    """TensorFlow 2.16+ (this one) needs TF_USE_LEGACY_KERAS=1 for BasicLSTMCell; 2.15 and
    older have Keras 2 inside, and there the setting would send tf.keras to a tf-keras
    package they do not need ('Keras cannot be imported', measured on 2.15.1)."""
    env = fake_versions(tmp_path / 'meta', tensorflow=tf_version) if tf_version else {}
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [env.get('PYTHONPATH'), ROOT]))
    proc = run(sys.executable, [], env=env, code='import os, tf1_compat.v1; '
               'print(os.environ.get("TF_USE_LEGACY_KERAS"))')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f'{legacy}\n'



@smoke
@pytest.mark.parametrize('status', [0, 1])
def test_the_notebooks_setup_installs_what_it_says_with_this_kernels_pip(status, monkeypatch,
                                                                        capsys):
    """What is missing goes to this Python's own pip, in one call, and the cell says so;
    a failed install shows pip's output and stops the cell with the command that failed."""
    monkeypatch.setattr(requirements, 'notebook_plan',
                        lambda: ('TensorFlow 2.19.1, no tf-keras (tested)', ['tf-keras~=2.19.0']))
    calls = []

    def pip(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, status, stdout='pip says why\n')
    monkeypatch.setattr(subprocess, 'run', pip)
    if status:
        with pytest.raises(SystemExit, match=r'^pip install tf-keras~=2.19.0 failed \(exit 1\)'):
            requirements.setup_notebook()
    else:
        requirements.setup_notebook()
    assert calls == [[sys.executable, '-m', 'pip', 'install', '--quiet', 'tf-keras~=2.19.0']]
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f'Python {sys.version.split()[0]} ({sys.executable}): TensorFlow 2.19.1, '
                       f'no tf-keras (tested)', 'installing: tf-keras~=2.19.0']
    assert out[2:] == (['pip says why'] if status else ['installed'])

"""The project's promises about itself: CI runs what the README tells users to run."""
import ast
import importlib
import os
import re
import subprocess
import sys

import pytest
from packaging.markers import Marker

from conftest import ROOT


def quick_start_blocks():
    """The README's two shell blocks a learner starts with: install and run (the quick
    start's one), install and test (the Tests section's one)."""
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()

    def bash_blocks(heading):
        section = readme.split('\n' + heading + '\n', 1)[1].split('\n## ', 1)[0]
        blocks = re.findall(r'```bash\n(.*?)```', section, re.S)
        return [[line for line in block.splitlines() if line.strip()] for block in blocks]
    [install_and_run] = bash_blocks('## Quick start')
    [install_and_test] = bash_blocks('## Tests')
    return install_and_run, install_and_test


def test_quick_start_runs_both_scripts_and_ci_runs_the_test_command():
    install_and_run, install_and_test = quick_start_blocks()
    # one environment, activated once; then plain python and pip, both scripts
    assert install_and_run[:3] == ['python3 -m venv .venv', 'source .venv/bin/activate',
                                   'pip install -r requirements.txt']
    assert install_and_run[3:] == ['python mnist_lstm_classifier.py',
                                   'python sin_cos_lstm_regressor.py']
    assert install_and_test[0] == 'pip install -r requirements-dev.txt'
    test_command = install_and_test[-1]
    assert test_command.startswith('python -m pytest')
    # the quick tier first, then the whole suite
    assert install_and_test[1:-1] == ['python -m pytest -q -m smoke']
    ci = open(os.path.join(ROOT, '.ci', 'run'), encoding='utf-8').read().splitlines()
    commands = [l for l in ci if l.strip() and not l.lstrip().startswith('#')]
    # CI makes and activates the same environment, installs the dev file (which starts
    # from the runtime one) and runs exactly the README's test command
    assert commands.index('python3 -m venv .venv') < commands.index('source .venv/bin/activate') \
        < commands.index(test_command)
    assert any(re.fullmatch(r'pip install (--quiet )?-r requirements-dev\.txt', l)
               for l in commands)
    # then the matrix on the other Pythons (noxfile.py)
    assert any(' -db uv' in l for l in commands[commands.index(test_command):])


def supported_pythons():
    """noxfile.SUPPORTED, read without importing nox."""
    tree = ast.parse(open(os.path.join(ROOT, 'noxfile.py'), encoding='utf-8').read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == 'SUPPORTED':
            return ast.literal_eval(node.value)


def pins(filename, python):
    """{name: version} that pip installs from ``filename`` on ``python`` (e.g. '3.10'),
    after checking every line is an exact pin, with or without an environment marker."""
    result = {}
    for line in open(os.path.join(ROOT, filename), encoding='utf-8'):
        line = line.strip()
        if not line or line.startswith('#') or line == '-r requirements.txt':
            continue
        requirement, _, marker = line.partition(';')
        name, version = re.fullmatch(r'([A-Za-z0-9_.-]+)==([0-9][0-9a-z.]*)',
                                     requirement.strip()).groups()
        if marker and not Marker(marker).evaluate({'python_version': python}):
            continue
        assert name not in result, f'{name} pinned twice for Python {python}'
        result[name] = version
    return result


def test_supported_pythons_are_3_10_to_3_13():
    assert supported_pythons() == ('3.10', '3.11', '3.12', '3.13')


@pytest.mark.parametrize('python', ['3.10', '3.11', '3.12', '3.13'])
def test_requirements_pin_one_version_of_each_package_for_each_supported_python(python):
    runtime, dev = pins('requirements.txt', python), pins('requirements-dev.txt', python)
    assert runtime['tensorflow'] == runtime['tf-keras'] == runtime['tensorboard'] == '2.21.0'
    assert {'numpy', 'matplotlib', 'pandas', 'pillow', 'filelock'} <= set(runtime)
    # test tools only in the dev file, which starts from the runtime one
    assert 'pytest' not in runtime
    assert {'pytest', 'nbclient', 'nbformat', 'ipykernel', 'nox', 'uv'} <= set(dev)
    assert not set(runtime) & set(dev)
    first = [l for l in open(os.path.join(ROOT, 'requirements-dev.txt'))
             if l.strip() and not l.startswith('#')][0]
    assert first.strip() == '-r requirements.txt'
    # every package the runtime file names is pinned on every supported Python
    assert set(runtime) == set(pins('requirements.txt', '3.13'))


@pytest.mark.parametrize('name', ['mnist_lstm_classifier', 'sin_cos_lstm_regressor'])
def test_importing_a_script_has_no_side_effects(name, tmp_path, monkeypatch, capsys):
    """Importing builds no graph, writes no file, prints nothing and leaves TensorFlow
    unloaded until load_tensorflow() (the benchmark imports; --help must be instant)."""
    module = importlib.import_module(name)
    monkeypatch.chdir(tmp_path)
    tf = module.load_tensorflow()
    tf.reset_default_graph()
    capsys.readouterr()
    importlib.reload(module)
    try:
        assert module.tf is None
        assert tf.get_default_graph().get_operations() == []
        assert os.listdir(tmp_path) == []
        assert capsys.readouterr().out == ''
    finally:
        # the module object is shared with every test file that imported it: give it
        # back with TensorFlow loaded, as it was, or the next test to use it finds tf None
        module.load_tensorflow()


@pytest.mark.parametrize('argv', [['--help'], ['--lr', '0'], ['--epochs', '3']])
@pytest.mark.parametrize('name', ['mnist_lstm_classifier', 'sin_cos_lstm_regressor'])
def test_help_and_bad_flags_answer_before_tensorflow_loads(name, argv):
    """--help and a bad flag answer without importing TensorFlow, matplotlib or pandas
    (seconds of imports): they are checked by the module list, not by a clock."""
    script = os.path.join(ROOT, name + '.py')
    code = ('import runpy, sys\n'
            f'sys.argv = [{script!r}] + {argv!r}\n'
            'try:\n'
            f'    runpy.run_path({script!r}, run_name="__main__")\n'
            'except SystemExit as e:\n'
            '    status = e.code\n'
            'heavy = [m for m in ("tensorflow", "matplotlib", "pandas") if m in sys.modules]\n'
            'print("status", status, "loaded", heavy, file=sys.stderr)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          cwd=ROOT)
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"status {0 if argv == ['--help'] else 2} loaded []", proc.stderr
    if argv == ['--help']:
        assert 'relative to the working directory' in proc.stdout

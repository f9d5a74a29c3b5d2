"""The project's promises about itself: CI runs what the README tells users to run."""
import importlib
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT


def quick_start_commands():
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    section = readme.split('## Quick start', 1)[1]
    block = re.search(r'```bash\n(.*?)```', section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    install_and_run, install_and_test = quick_start_commands()
    assert install_and_run.endswith('mnist_lstm_classifier.py')
    test_command = install_and_test.split(' && ')[-1]
    assert 'pytest' in test_command
    ci = open(os.path.join(ROOT, '.ci', 'run'), encoding='utf-8').read().splitlines()
    commands = [l for l in ci if l.strip() and not l.lstrip().startswith('#')]
    assert commands[-1] == test_command
    # both install the same way, from requirements.txt
    assert install_and_run.split(' && ')[:2] == install_and_test.split(' && ')[:2]
    assert '-r requirements.txt' in install_and_test


def test_requirements_are_pinned_and_name_what_the_scripts_need():
    lines = [l.strip() for l in open(os.path.join(ROOT, 'requirements.txt'))
             if l.strip() and not l.startswith('#')]
    pins = dict(l.split('==') for l in lines)
    assert len(pins) == len(lines)  # every requirement pinned
    assert pins['tensorflow'] == pins['tf-keras'] == pins['tensorboard'] == '2.21.0'
    assert {'numpy', 'matplotlib', 'pandas', 'pytest'} <= set(pins)


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
    assert module.tf is None
    assert tf.get_default_graph().get_operations() == []
    assert os.listdir(tmp_path) == []
    assert capsys.readouterr().out == ''


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

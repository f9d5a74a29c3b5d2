"""Start-up: importing a script does nothing, and --help and bad flags answer before
TensorFlow, matplotlib or pandas load (the benchmark imports; --help must be instant)."""
import importlib
import os
import subprocess
import sys

import pytest

from conftest import ROOT


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

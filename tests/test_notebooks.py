"""The notebooks in notebooks/: generated from the scripts, so they cannot
drift, and run in a real Jupyter kernel as a learner runs them (Colab runs the same
kernel, with its own TensorFlow: nothing may need installing).

The kernel is this environment's own (`python3`, as Colab's is the runtime's), with the
environment on PATH (Colab has `tensorboard` there). Each notebook runs as committed, but
for the hyperparameter values a learner would change: the QUICK flags of
tests/helpers/readme_blocks.py, set in the run cell's variables (the same short runs as the
README's recipe test). The classifier's notebook is opened from a copy of the repository's
notebooks/ folder (Jupyter on a clone: no clone made); the regressor's from an empty
folder, as on Colab, with REPOSITORY pointed at a local git repository of the working
tree, so its clone cell really clones. Any error, SystemExit or stderr output in a cell
fails the test (TensorFlow's start-up lines included).
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from helpers.kernels import end_stray_tensorboards, outputs, tensorboard_runs
from helpers.readme_blocks import QUICK, copy_repository
from run_safety import requirements

sys.path.insert(0, os.path.join(ROOT, 'notebooks'))
import make_notebooks  # noqa: E402

nbformat = pytest.importorskip('nbformat', reason='the notebook tests need nbformat '
                               '(pip install -r requirements-dev.txt)')

SCRIPTS = make_notebooks.SCRIPTS
# The kernel tests check stderr (nox -s tf_range runs them on each TensorFlow of the
# range); the three quick checks of the generated files are also in the quick tier.
pytestmark = pytest.mark.stderr


def read(path):
    with open(path, encoding='utf-8', newline='') as f:
        return f.read()


@pytest.mark.smoke
def test_the_notebooks_and_colab_links_are_as_generated():
    stale = sorted(os.path.relpath(p, ROOT) for p, text in make_notebooks.outputs().items()
                   if not os.path.exists(p) or read(p) != text)
    assert stale == [], 'run python notebooks/make_notebooks.py'


@pytest.mark.smoke
@pytest.mark.parametrize('script, names', [
    ('mnist_lstm_classifier.py', ['lr', 'training_iters', 'batch_size', 'n_hidden_units']),
    ('sin_cos_lstm_regressor.py', ['ITERATIONS', 'LR', 'BATCH_SIZE', 'TIME_STEPS', 'CELL_SIZE',
                                   'PAUSE']),
])
def test_the_hyperparameters_shown_are_the_scripts_constants_and_flag_defaults(script, names):
    import importlib
    module = importlib.import_module(script[:-3])
    rows = make_notebooks.hyperparameters(script)
    assert [name for _, name, _, _ in rows] == names
    defaults = module.parse_args([])
    for flag, name, value, _ in rows:
        assert getattr(module, name) == value
        assert getattr(defaults, flag.lstrip('-').replace('-', '_')) == value, flag
    # the run cell passes each one to its flag, and shows the value
    nb = nbformat.read(make_notebooks.notebook_path(script), as_version=4)
    [run] = [c.source for c in nb.cells if '%run ' in c.source]
    for flag, name, value, _ in rows:
        assert f'\n{name} = {value!r}' in run and f'{flag} {{{name}}}' in run


@pytest.mark.smoke
def test_the_repository_address_is_written_in_one_place():
    url = make_notebooks.repository_url()
    for script in SCRIPTS:
        text = read(make_notebooks.notebook_path(script))
        assert text.count(url) == 1 and make_notebooks.colab_url(script) in text
    assert url == f'https://github.com/{make_notebooks.REPOSITORY}'


def quick_values(nb, script):
    """The run cell with the QUICK flags' values, as a learner edits a hyperparameter."""
    names = {flag: name for flag, name, _, _ in make_notebooks.hyperparameters(script)}
    words = QUICK[script].split()
    [cell] = [c for c in nb.cells if '%run ' in c.source]
    for flag, value in zip(words[::2], words[1::2]):
        cell.source, n = re.subn(rf'^{names[flag]} = \S+', f'{names[flag]} = {value}',
                                 cell.source, flags=re.M)
        assert n == 1, (flag, cell.source)


def git_repository(source, destination):
    """A git repository of the working tree (what a clone of the project gets)."""
    shutil.copytree(source, destination, symlinks=True,
                    ignore=shutil.ignore_patterns('.venv'))
    git = ['git', '-c', 'user.name=test', '-c', 'user.email=test@example.com']
    for command in (['init', '-q'], ['add', '-A'], ['commit', '-q', '-m', 'snapshot']):
        subprocess.run(git + command, cwd=destination, check=True, capture_output=True)


@pytest.fixture(scope='module')
def executed(tmp_path_factory):
    nbclient = pytest.importorskip('nbclient', reason='the notebook tests need nbclient')
    pytest.importorskip('ipykernel', reason='the notebook tests need ipykernel')

    class CountingClient(nbclient.NotebookClient):
        """Counts the kernel's messages by type, to see the inline figure updated."""
        seen = None

        def process_message(self, msg, cell, cell_index):
            self.seen[msg['msg_type']] = self.seen.get(msg['msg_type'], 0) + 1
            return super().process_message(msg, cell, cell_index)

    base = tmp_path_factory.mktemp('notebooks')
    clone = base / 'clone'                       # Jupyter on a clone: opened in notebooks/
    copy_repository(clone)
    name = os.path.basename(make_notebooks.REPOSITORY)
    git_repository(clone, base / 'remote' / name)  # what Colab's clone cell gets
    colab = base / 'content'                     # Colab: an empty folder
    colab.mkdir()
    tmp = base / 'tmp'
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTEST_CURRENT_TEST', 'PYTHONPATH', 'DISPLAY', 'MPLBACKEND')}
    env.update(TMPDIR=str(tmp), PATH=os.path.dirname(sys.executable) + os.pathsep + env['PATH'])
    results = {}
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        for script, where in (('mnist_lstm_classifier.py', clone / 'notebooks'),
                              ('sin_cos_lstm_regressor.py', colab)):
            nb = nbformat.read(make_notebooks.notebook_path(script), as_version=4)
            quick_values(nb, script)
            if where == colab:
                [setup] = [c for c in nb.cells if 'REPOSITORY = ' in c.source]
                setup.source = setup.source.replace(
                    make_notebooks.repository_url(), (base / 'remote' / name).as_uri())
            client = CountingClient(nb, timeout=600, kernel_name='python3', allow_errors=True,
                                    resources={'metadata': {'path': str(where)}})
            client.seen = {}
            with client.setup_kernel():
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == 'code':
                        client.execute_cell(cell, index)
                runs = tensorboard_runs(nb)  # while the kernel (and its TensorBoard) lives
            results[script] = (nb, client.seen, runs)
        # Colab after a runtime restart: the same set-up cell, the clone already there
        [setup] = [c for c in results['sin_cos_lstm_regressor.py'][0].cells
                   if 'REPOSITORY = ' in c.source]
        again = nbformat.v4.new_notebook()
        again.cells = [nbformat.v4.new_code_cell(setup.source)]
        client = CountingClient(again, timeout=600, kernel_name='python3', allow_errors=True,
                                resources={'metadata': {'path': str(colab)}})
        client.seen = {}
        client.execute()
        yield {'clone': clone, 'colab': colab / name, 'results': results, 'rerun': again.cells[0]}
    finally:
        os.environ.clear()
        os.environ.update(saved)
        end_stray_tensorboards(tmp)


def stdout(cell):
    return ''.join(o.text for o in outputs(cell, 'stream') if o.name == 'stdout')


def cell_with(nb, text):
    [cell] = [c for c in nb.cells if c.cell_type == 'code' and text in c.source]
    return cell


@pytest.mark.parametrize('script', SCRIPTS)
def test_every_cell_runs_without_error_or_stderr(executed, script):
    nb, _, _ = executed['results'][script]
    for cell in nb.cells:
        if cell.cell_type != 'code':
            continue
        errors = [f'{o.ename}: {o.evalue}' for o in outputs(cell, 'error')]
        assert errors == [], (cell.source, errors)
        stderr = ''.join(o.text for o in outputs(cell, 'stream') if o.name == 'stderr')
        assert stderr == '', (cell.source, stderr)
        assert 'SystemExit' not in json.dumps(cell.get('outputs', [])), cell.source


@pytest.mark.parametrize('script', SCRIPTS)
def test_the_setup_cell_finds_this_tensorflow_and_installs_nothing(executed, script):
    nb, _, _ = executed['results'][script]
    text = stdout(cell_with(nb, 'setup_notebook()')).splitlines()
    folder = executed['clone'] if script == 'mnist_lstm_classifier.py' else executed['colab']
    assert text[0] == f'repository: {folder}'
    found, to_install = requirements.notebook_plan()
    assert to_install == [] and text[1:] == [
        f'Python {sys.version.split()[0]} ({sys.executable}): {found}', 'nothing to install']
    assert f'TensorFlow {requirements.tensorflow_version()}' in found


def test_the_colab_notebook_cloned_the_repository(executed):
    colab = executed['colab']
    assert (colab / '.git').is_dir() and (colab / 'sin_cos_lstm_regressor.py').is_file()
    assert not (executed['clone'] / '.git').exists()  # opened inside a clone: none made


def test_the_setup_cell_run_again_finds_the_clone_and_does_not_clone_again(executed):
    """After a runtime restart the working folder is the parent again and the clone is
    there: the cell goes into it (a second `git clone` would fail: the folder exists)."""
    cell = executed['rerun']
    assert outputs(cell, 'error') == [], cell.outputs
    assert [o.text for o in outputs(cell, 'stream') if o.name == 'stderr'] == []
    assert stdout(cell).splitlines()[0] == f'repository: {executed["colab"]}'
    assert stdout(cell).splitlines()[-1] == 'nothing to install'


def test_a_clone_that_fails_is_one_line_and_leaves_no_folder(tmp_path):
    """No network, or the address wrong: the set-up cell stops with git's reason in one
    line (IPython shows a SystemExit without its traceback), not a chdir traceback."""
    nbclient = pytest.importorskip('nbclient', reason='the notebook tests need nbclient')
    pytest.importorskip('ipykernel', reason='the notebook tests need ipykernel')
    nowhere = (tmp_path / 'nowhere' / os.path.basename(make_notebooks.REPOSITORY)).as_uri()
    nb = nbformat.read(make_notebooks.notebook_path(SCRIPTS[1]), as_version=4)
    cell = cell_with(nb, 'REPOSITORY = ')
    cell.source = cell.source.replace(make_notebooks.repository_url(), nowhere)
    alone = nbformat.v4.new_notebook()
    alone.cells = [cell]
    (tmp_path / 'content').mkdir()
    nbclient.NotebookClient(alone, timeout=120, kernel_name='python3', allow_errors=True,
                            resources={'metadata': {'path': str(tmp_path / 'content')}}).execute()
    [error] = outputs(cell, 'error')
    assert error.ename == 'SystemExit' and '\n' not in error.evalue
    assert error.evalue.startswith(f'git clone {nowhere}: fatal: ')
    assert error.evalue.endswith('(check the address and the network)')
    assert [t for t in error.traceback if 'Traceback' in t or 'File ' in t] == []
    assert list((tmp_path / 'content').iterdir()) == []


def test_the_classifier_notebook_trains_with_the_values_set_and_tests(executed):
    nb, _, _ = executed['results']['mnist_lstm_classifier.py']
    text = stdout(cell_with(nb, '%run mnist_lstm_classifier.py'))
    steps = [l.split()[1] for l in text.splitlines() if l.startswith('step')]
    assert steps == ['0/21', '20/21']  # --training-iters 2600
    assert re.search(r'^test accuracy: 0\.\d{4} on 10000 test images$', text, re.M), text
    from tf1_compat.v1 import tf
    ckpt = tf.train.latest_checkpoint(str(executed['clone'] / 'ckptRNN'))
    assert dict(tf.train.list_variables(ckpt))['Variable'] == [28, 16]  # --hidden-units 16


def test_the_regressor_notebook_plots_inline_and_prints_its_costs(executed):
    nb, seen, _ = executed['results']['sin_cos_lstm_regressor.py']
    cell = cell_with(nb, '%run sin_cos_lstm_regressor.py')
    images = [o for o in outputs(cell, 'display_data') if 'image/png' in o.data]
    assert len(images) == 1 and base64.b64decode(images[0].data['image/png']).startswith(b'\x89PNG')
    assert seen.get('update_display_data', 0) >= 5  # redrawn at each of the 5 iterations
    text = stdout(cell)
    assert re.match(r'cost:  \d+\.\d+\n', text) and 'wrote logs/sin_cos_fit.png' in text


@pytest.mark.parametrize('script, run', [('mnist_lstm_classifier.py', 'mnist_lstm_classifier'),
                                         ('sin_cos_lstm_regressor.py', '.')])
def test_tensorboard_is_shown_and_serves_the_run(executed, script, run):
    nb, _, runs = executed['results'][script]
    cell = cell_with(nb, '%tensorboard')
    frames = [o for o in outputs(cell, 'display_data') if '<iframe' in o.data.get('text/html', '')]
    assert len(frames) == 1, cell.outputs
    assert runs is not None and run in runs, runs

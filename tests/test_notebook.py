"""The notebook recipe of docs/notebooks.md (the README's Colab cells are the same), run
as printed in a real Jupyter kernel (Colab runs the same kernel).

The kernel is the one that page's local-Jupyter block installs (`python -m ipykernel
install ... --env PATH "$PATH"`, run by bash from the activated environment), and it is
started from a process whose PATH lacks the environment, as a Jupyter started elsewhere
would: `%tensorboard` must still find `tensorboard`. The recipe's cells are its lines,
one cell each, with the QUICK rule of tests/helpers/readme_blocks.py (short flags appended to a
`%run` that trains), after the Colab set-up's check of the runtime (which must install
nothing: the kernel's TensorFlow is in the tested range, with its tf-keras). Any error, SystemExit or stderr output fails the test: a `# comment`
after `%run` (IPython passes it to the script as arguments), a missing inline figure,
TensorFlow's start-up lines leaking into the cell.
"""
import base64
import json
import os
import sys

import pytest

from conftest import require
from helpers.kernels import end_stray_tensorboards, outputs, tensorboard_runs
from helpers.readme_blocks import (COLAB_SETUP_RUN, NOTEBOOKS, READMES, blocks, copy_repository,
                           notebook_recipe, outside_environment, quick, read, run_block, twin)
from run_safety import requirements

nbformat = pytest.importorskip('nbformat', reason='the notebook test needs nbformat '
                               '(pip install -r requirements-dev.txt)')
nbclient = pytest.importorskip('nbclient', reason='the notebook test needs nbclient '
                               '(pip install -r requirements-dev.txt)')
pytest.importorskip('ipykernel', reason='the notebook test needs ipykernel '
                    '(pip install -r requirements-dev.txt)')

# Every cell's stderr is checked: nox -s tf_range runs this on each TensorFlow of the range.
pytestmark = pytest.mark.stderr

if sys.platform == 'win32':
    pytest.skip("the recipe's kernel is installed by docs/notebooks.md's bash block (Linux, macOS)",
                allow_module_level=True)

ITERATIONS = 5  # the regressor's QUICK flags


class CountingClient(nbclient.NotebookClient):
    """Counts the kernel's messages by type, to see the inline figure being updated."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = {}

    def process_message(self, msg, cell, cell_index):
        kind = msg['msg_type']
        self.seen[kind] = self.seen.get(kind, 0) + 1
        return super().process_message(msg, cell, cell_index)


def kernel_block(text):
    [lines] = [lines for _, lang, lines in blocks(text)
               if lang == 'bash' and any('ipykernel install' in l for l in lines)]
    return lines


def colab_block(text):
    [lines] = [lines for _, lang, lines in blocks(text)
               if lang == 'python' and lines[0].startswith('!git clone ')]
    return lines


def test_both_readmes_give_the_same_recipe():
    """The notebooks page, its Chinese twin and both READMEs give the same Colab set-up
    and the same cells; both notebooks pages the same kernel install."""
    page, pages = read(NOTEBOOKS), [read(twin(NOTEBOOKS))] + [read(r) for r in READMES]
    for other in pages:
        assert notebook_recipe(other) == notebook_recipe(page)
        assert colab_block(other) == colab_block(page)
    assert kernel_block(read(twin(NOTEBOOKS))) == kernel_block(page)


@pytest.fixture(scope='module')
def executed(tmp_path_factory):
    require('bash', 'loopback')  # the kernel install; the kernel's and TensorBoard's ports
    base = tmp_path_factory.mktemp('notebook')
    folder = base / 'work'          # where the notebook is: the clone beside it
    folder.mkdir()
    copy_repository(folder / 'tf1-lstm')
    jupyter, tmp = base / 'jupyter', base / 'tmp'
    tmp.mkdir()
    env = outside_environment({'JUPYTER_DATA_DIR': str(jupyter), 'TMPDIR': str(tmp)})
    # the page's kernel install, by bash, from the activated environment
    status, _, output = run_block(kernel_block(read(NOTEBOOKS)), folder / 'tf1-lstm', env,
                                  activate_first=True)
    assert status == 0, output
    assert os.path.isfile(jupyter / 'kernels' / 'tf1-lstm' / 'kernel.json'), output

    nb = nbformat.v4.new_notebook()
    recipe = notebook_recipe(read(NOTEBOOKS))
    # the Colab set-up's check of the runtime (its clone is the copy above), then the recipe
    setup = [line for line in colab_block(read(NOTEBOOKS)) if line in COLAB_SETUP_RUN]
    assert setup == COLAB_SETUP_RUN
    nb.cells = [nbformat.v4.new_code_cell(quick(line)) for line in setup + recipe]
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel starts from a PATH without the environment
    try:
        client = CountingClient(nb, timeout=600, kernel_name='tf1-lstm', allow_errors=True,
                                resources={'metadata': {'path': str(folder)}})
        try:
            with client.setup_kernel():
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                # while the kernel lives: the TensorBoard it started dies with it
                runs = tensorboard_runs(nb)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        yield folder / 'tf1-lstm', nb, client, recipe, runs
    finally:
        end_stray_tensorboards(tmp)


def cell_running(nb, recipe, start):
    [cell] = [c for c in nb.cells if c.source.startswith(start)]
    return cell


def test_every_cell_runs_without_error_or_stderr(executed):
    _, nb, _, recipe, _ = executed
    assert len(nb.cells) == len(recipe) + len(COLAB_SETUP_RUN) and len(recipe) >= 5
    for cell in nb.cells:
        errors = [f"{o.ename}: {o.evalue}" for o in outputs(cell, 'error')]
        assert errors == [], (cell.source, errors)
        stderr = ''.join(o.text for o in outputs(cell, 'stream') if o.name == 'stderr')
        assert stderr == '', (cell.source, stderr)
        text = json.dumps([o for o in cell.outputs])
        assert 'SystemExit' not in text and 'unrecognized arguments' not in text, cell.source


def test_the_setup_line_finds_this_tensorflow_and_installs_nothing(executed):
    """The Colab set-up's %run of run_safety/requirements.py, in a kernel whose
    TensorFlow is in the tested range with its tf-keras (as Colab's 2.19 is): it says what
    it found, and that there is nothing to install."""
    _, nb, _, recipe, _ = executed
    cell = cell_running(nb, recipe, '%run tf1-lstm/run_safety/requirements.py')
    text = ''.join(o.text for o in outputs(cell, 'stream') if o.name == 'stdout')
    found, to_install = requirements.notebook_plan()
    assert to_install == [] and '(tested)' in found
    lines = text.splitlines()
    assert len(lines) == 2 and lines[1] == 'nothing to install', text
    # the kernel's Python is the environment's, by the path of the clone's .venv
    assert lines[0].startswith(f'Python {sys.version.split()[0]} (') and \
        lines[0].endswith(f'): {found}'), text


def test_regressor_plot_is_inline_one_figure_updated_per_frame(executed):
    repo, nb, client, recipe, _ = executed
    cell = cell_running(nb, recipe, '%run sin_cos_lstm_regressor.py')
    images = [o for o in outputs(cell, 'display_data') if 'image/png' in o.data]
    # one figure in the output (not one per frame)...
    assert len(images) == 1, cell.outputs
    png = base64.b64decode(images[0].data['image/png'])
    assert png.startswith(b'\x89PNG')
    # ...shown with a display id and updated in place at every iteration
    assert client.seen.get('update_display_data', 0) >= ITERATIONS
    # the same files as a run outside a notebook
    logs = repo / 'logs'
    assert {'sin_cos_fit.png', 'sin_cos_fit.gif', 'cost_history.csv'} <= set(os.listdir(logs))
    text = ''.join(o.text for o in outputs(cell, 'stream') if o.name == 'stdout')
    assert 'cost: ' in text and 'wrote logs/sin_cos_fit.png' in text


def test_classifier_prints_its_progress_in_the_cell(executed):
    repo, nb, _, recipe, _ = executed
    cell = cell_running(nb, recipe, '%run mnist_lstm_classifier.py')
    text = ''.join(o.text for o in outputs(cell, 'stream') if o.name == 'stdout')
    lines = [l for l in text.splitlines() if l.startswith('step')]
    assert [l.split()[1] for l in lines] == ['0/21', '20/21']
    assert 'test accuracy: ' in text
    assert (repo / 'ckptRNN' / 'checkpoint').is_file()


def test_tensorboard_is_shown_in_the_notebook_and_answers(executed):
    _, nb, _, recipe, runs = executed
    cell = cell_running(nb, recipe, '%tensorboard')
    text = json.dumps([o for o in cell.outputs])
    assert 'Could not find' not in text and 'ERROR' not in text, text
    frames = [o for o in outputs(cell, 'display_data') if '<iframe' in o.data.get('text/html', '')]
    assert len(frames) == 1, cell.outputs
    # both scripts' events: the regressor's in logs/ itself, the classifier's below
    assert runs is not None and {'.', 'mnist_lstm_classifier'} <= set(runs), runs

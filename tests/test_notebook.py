"""The scripts in a Jupyter notebook (Colab runs the same kernel): `%run` trains with
the progress lines in the cell's output, and the regressor's plot is shown inline,
one figure updated frame by frame (README: In a notebook)."""
import base64
import os

import pytest

from conftest import DATA_DIR, ROOT

nbformat = pytest.importorskip('nbformat', reason='the notebook test needs nbformat '
                               '(pip install -r requirements-dev.txt)')
nbclient = pytest.importorskip('nbclient', reason='the notebook test needs nbclient '
                               '(pip install -r requirements-dev.txt)')
pytest.importorskip('ipykernel', reason='the notebook test needs ipykernel '
                    '(pip install -r requirements-dev.txt)')

ITERATIONS = 5


class CountingClient(nbclient.NotebookClient):
    """Counts the kernel's messages by type, to see the inline figure being updated."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = {}

    def process_message(self, msg, cell, cell_index):
        kind = msg['msg_type']
        self.seen[kind] = self.seen.get(kind, 0) + 1
        return super().process_message(msg, cell, cell_index)


@pytest.fixture(scope='module')
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp('notebook')
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            f'%run {os.path.join(ROOT, "sin_cos_lstm_regressor.py")} --iterations {ITERATIONS} '
            f'--pause 0 --seed 1 --logdir logs'),
        nbformat.v4.new_code_cell(
            f'%run {os.path.join(ROOT, "mnist_lstm_classifier.py")} --training-iters 2600 '
            f'--hidden-units 16 --seed 1 --data-dir {DATA_DIR}'),
    ]
    client = CountingClient(nb, timeout=600, kernel_name='python3',
                            resources={'metadata': {'path': str(folder)}})
    client.execute()
    return folder, nb, client


def outputs(cell, kind):
    return [o for o in cell.outputs if o.output_type == kind]


def test_regressor_plot_is_inline_one_figure_updated_per_frame(executed):
    folder, nb, client = executed
    cell = nb.cells[0]
    assert outputs(cell, 'error') == []
    images = [o for o in outputs(cell, 'display_data') if 'image/png' in o.data]
    # one figure in the output (not one per frame)...
    assert len(images) == 1
    png = base64.b64decode(images[0].data['image/png'])
    assert png.startswith(b'\x89PNG')
    # ...shown with a display id and updated in place at every iteration
    assert client.seen.get('update_display_data', 0) >= ITERATIONS
    # the same files as a run outside a notebook
    logs = folder / 'logs'
    assert {'sin_cos_fit.png', 'sin_cos_fit.gif', 'cost_history.csv'} <= set(os.listdir(logs))
    text = ''.join(o.text for o in outputs(cell, 'stream') if o.name == 'stdout')
    assert 'cost: ' in text and 'wrote logs/sin_cos_fit.png' in text


def test_classifier_prints_its_progress_in_the_cell(executed):
    folder, nb, _ = executed
    cell = nb.cells[1]
    assert outputs(cell, 'error') == []
    text = ''.join(o.text for o in outputs(cell, 'stream') if o.name == 'stdout')
    lines = [l for l in text.splitlines() if l.startswith('step')]
    assert [l.split()[1] for l in lines] == ['0/21', '20/21']
    assert 'test accuracy: ' in text
    assert (folder / 'ckptRNN' / 'checkpoint').is_file()


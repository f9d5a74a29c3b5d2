"""sin_cos_lstm_regressor.py: short seeded runs, their events, plots and cost history."""
import contextlib
import glob
import io
import json
import os
import stat
import types

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import display_variables, main_and_stdout
import sin_cos_lstm_regressor as reg
from run_safety import checkpoints

tf = reg.load_tensorflow()
ITERATIONS = 41  # cost lines at iterations 0, 20, 40


def run(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = reg.main(argv)
    return result, out.getvalue()


def printed_costs(stdout):
    return [float(l.split()[1]) for l in stdout.splitlines() if l.startswith('cost: ')]


@pytest.fixture(scope='module')
def file_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp('regressor')
    result, stdout = run(['--iterations', str(ITERATIONS), '--seed', '1', '--plot', 'file',
                          '--logdir', str(folder), '--metrics-json', str(folder / 'm.json')])
    return types.SimpleNamespace(folder=folder, result=result, stdout=stdout)


def test_get_batch_rows_continue_across_batches(monkeypatch):
    monkeypatch.setattr(reg, 'BATCH_START', 0)
    seq1, res1, xs1 = reg.get_batch()
    seq2, res2, xs2 = reg.get_batch()
    assert seq1.shape == res1.shape == (50, 20, 1) and xs1.shape == (50, 20)
    step = 1 / (10 * np.pi)
    # row r of the second batch starts one step after row r of the first ends
    np.testing.assert_allclose(xs2[:, 0], xs1[:, -1] + step)
    np.testing.assert_allclose(seq2[:, :, 0], np.sin(xs2))
    np.testing.assert_allclose(res2[:, :, 0], np.cos(xs2))


def test_every_run_starts_at_the_beginning_of_the_wave(tmp_path, monkeypatch):
    """train() resets BATCH_START: whatever moved it before (an earlier run, get_batch()
    called by hand), a run reads points 0, 20, ... of the wave."""
    monkeypatch.setattr(reg, 'BATCH_START', 1234)
    starts = []
    real_get_batch = reg.get_batch

    def recording_get_batch(*args, **kwargs):
        starts.append(reg.BATCH_START)
        return real_get_batch(*args, **kwargs)

    monkeypatch.setattr(reg, 'get_batch', recording_get_batch)
    run(['--iterations', '3', '--seed', '0', '--plot', 'none', '--logdir', str(tmp_path)])
    assert starts == [0, 20, 40]


def test_events_hold_graph_and_cost_at_every_20th_iteration(file_run):
    events = glob.glob(str(file_run.folder / 'events.out.tfevents.*'))
    assert len(events) == 1
    steps, values, has_graph = [], [], False
    for event in tf.train.summary_iterator(events[0]):
        has_graph |= event.HasField('graph_def')
        for value in event.summary.value:
            assert value.tag == 'cost/average_cost/cost'
            steps.append(event.step)
            values.append(value.simple_value)
    assert has_graph
    assert steps == [0, 20, 40]
    assert all(np.isfinite(values))


def test_prints_cost_every_20_and_writes_csv_png_gif(file_run):
    costs = printed_costs(file_run.stdout)
    assert len(costs) == 3
    assert file_run.result['costs'] == costs
    table = pd.read_csv(file_run.folder / 'cost_history.csv')
    assert list(table.columns) == ['iteration', 'cost']
    assert table['iteration'].tolist() == [0, 20, 40]
    assert table['cost'].tolist() == costs
    with Image.open(file_run.folder / 'sin_cos_fit.png') as png:
        assert png.format == 'PNG' and png.size[0] > 100
    with Image.open(file_run.folder / 'sin_cos_fit.gif') as gif:
        assert gif.format == 'GIF' and gif.n_frames > 2
    metrics = json.loads((file_run.folder / 'm.json').read_text())
    assert metrics['iterations'] == ITERATIONS and metrics['costs'] == costs
    assert np.isfinite(metrics['final_cost']) and metrics['seconds'] > 0
    # no temporary files are left behind
    assert not [n for n in os.listdir(file_run.folder) if n.endswith('.tmp')]


def test_costs_fall_and_carried_state_beats_reset_state(tmp_path):
    carried, out = run(['--iterations', '200', '--seed', '2', '--plot', 'none',
                        '--logdir', str(tmp_path / 'carried')])
    reset, _ = run(['--iterations', '200', '--seed', '2', '--plot', 'none', '--reset-state',
                    '--logdir', str(tmp_path / 'reset')])
    costs = printed_costs(out)
    assert len(costs) == 10
    assert costs[-1] < costs[0] / 10
    assert carried['final_cost'] < reset['final_cost']
    # --plot none draws nothing but still keeps the cost history
    assert sorted(n for n in os.listdir(tmp_path / 'carried')
                  if not n.startswith(('events', '.'))) == ['cost_history.csv']


@display_variables
def test_auto_plot_is_headless_without_display(tmp_path, monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    paused = []
    monkeypatch.setattr(reg.plt, 'pause', lambda seconds: paused.append(seconds))
    result, _ = run(['--iterations', '3', '--seed', '0', '--logdir', str(tmp_path)])
    assert paused == []
    assert (tmp_path / 'sin_cos_fit.png').exists() and (tmp_path / 'sin_cos_fit.gif').exists()


def test_auto_plot_is_headless_when_the_display_cannot_open(tmp_path, monkeypatch):
    """DISPLAY set, but matplotlib has no GUI backend for it (it fell back to Agg)."""
    monkeypatch.setenv('DISPLAY', ':99')
    monkeypatch.setattr(reg.plt, 'get_backend', lambda: 'agg')
    paused = []
    monkeypatch.setattr(reg.plt, 'pause', lambda seconds: paused.append(seconds))
    run(['--iterations', '3', '--seed', '0', '--logdir', str(tmp_path)])
    assert paused == []
    assert (tmp_path / 'sin_cos_fit.png').exists()


@display_variables
def test_live_plot_without_display_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    with pytest.raises(SystemExit) as e:
        reg.main(['--plot', 'live', '--logdir', str(tmp_path / 'logs')])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith('error: --plot live needs a display') and err.count('\n') == 1
    assert not (tmp_path / 'logs').exists()


# ------------------------------------------------------------------ the regressor's plot

@pytest.mark.smoke
def test_regressor_plot_shows_target_cos_and_the_first_rows_prediction(tf, tmp_path, monkeypatch):
    """--plot file: at each iteration a red curve, cos of the first row's points, and a
    blue dashed one, the prediction for that row; the saved PNG is that figure."""
    predictions, seen = [], {}

    class Recording(tf.Session):  # the predictions the training loop fetched
        def run(self, fetches, *args, **kwargs):
            out = super().run(fetches, *args, **kwargs)
            if isinstance(fetches, list) and len(fetches) == 4:
                predictions.append(out[3])
            return out

    def capture(args, fig, frames, cost_history):
        seen['lines'] = [(l.get_xdata(), l.get_ydata(), l.get_color(), l.get_linestyle())
                         for l in fig.axes[0].get_lines()]
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png')
        seen['png'] = buffer
        return save_outputs(args, fig, frames, cost_history)

    save_outputs = reg.save_outputs
    monkeypatch.setattr(tf, 'Session', Recording)
    monkeypatch.setattr(reg, 'save_outputs', capture)
    batch, steps, iterations = 3, 7, 4
    main_and_stdout(reg.main, ['--iterations', str(iterations), '--batch-size', str(batch),
                     '--time-steps', str(steps), '--plot', 'file', '--seed', '2',
                     '--logdir', str(tmp_path)])
    from matplotlib.colors import to_hex
    lines = seen['lines']
    assert len(lines) == 2 * iterations and len(predictions) == iterations
    for i in range(iterations):
        x = (i * steps + np.arange(steps)) / (10 * np.pi)  # the first row of batch i
        (tx, ty, tcolor, tstyle), (px, py, pcolor, pstyle) = lines[2 * i], lines[2 * i + 1]
        np.testing.assert_allclose(tx, x, rtol=1e-12)
        np.testing.assert_allclose(ty, np.cos(x), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(px, x, rtol=1e-12)
        np.testing.assert_array_equal(py, predictions[i].reshape(batch, steps)[0])
        assert (to_hex(tcolor), tstyle, to_hex(pcolor), pstyle) == ('#ff0000', '-', '#0000ff', '--')
    from PIL import Image
    saved = np.asarray(Image.open(tmp_path / 'sin_cos_fit.png'))
    np.testing.assert_array_equal(saved, np.asarray(Image.open(seen['png'])))


# ------------------------------------------------------------------ --seed 0

def regressor_seeded(folder, seed):
    result, stdout = main_and_stdout(reg.main, ['--seed', str(seed), '--iterations', '2', '--plot', 'none',
                                      '--logdir', str(folder)])
    return stdout.splitlines()[0], result['final_cost']


@pytest.mark.smoke
def test_regressor_seed_0_repeats_itself_and_differs_from_seed_1(tf, tmp_path):
    first = regressor_seeded(tmp_path / 'a', 0)
    assert regressor_seeded(tmp_path / 'b', 0) == first
    assert regressor_seeded(tmp_path / 'c', 1)[1] != first[1]


# ------------------------------------------------------------------ the outputs' modes

@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_outputs_modes_follow_the_umask(tf, tmp_path, umask):
    """The regressor's PNG, GIF, CSV and metrics JSON, and a checkpoint index: each gets
    0666 & ~umask, as any file the user writes (0644 under 022, 0600 under 077)."""
    main_and_stdout(reg.main, ['--iterations', '1', '--plot', 'file', '--logdir', str(tmp_path / 'logs'),
                     '--metrics-json', str(tmp_path / 'm.json')])
    checkpoints.write_index(str(tmp_path), 'model.ckpt-1', ['model.ckpt-1'])
    paths = [tmp_path / 'logs' / n for n in ('sin_cos_fit.png', 'sin_cos_fit.gif', 'cost_history.csv')]
    paths += [tmp_path / 'm.json', tmp_path / 'checkpoint']
    modes = {p.name: oct(stat.S_IMODE(os.stat(p).st_mode)) for p in paths}
    assert modes == {p.name: oct(0o666 & ~umask) for p in paths}

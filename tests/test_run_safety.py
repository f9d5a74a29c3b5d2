"""run_safety/checkpoints.py and run_safety/cli.py on their own, in-process and fast
(no TensorFlow): a stub Saver writes the checkpoint files, so each promise of the
checkpoint folder, the signals, the exit statuses and the memory check is checked
exactly, including the ones a short training run never reaches (a second run in the
same folder, a rerun saving the kept model's step, a second Ctrl-C, `| head`)."""
import contextlib
import io
import os
import signal
import subprocess
import sys
import time

import filelock
import pytest

from conftest import ROOT, posix_signals
import mnist_lstm_classifier as clf
from run_safety import checkpoints, cli
from run_safety.cli import (Interrupted, UserError, check_interrupted, check_memory,
                            deferred_signals)

NAME = 'model.ckpt'
PARTS = ('.index', '.data-00000-of-00001', '.meta')


class StubSaver:
    """Writes the three files of checkpoint <prefix>-<step>, each holding ``content``."""

    def __init__(self, content):
        self.content = content

    def save(self, sess, prefix, global_step, write_state=True):
        assert write_state is False  # the index is TrainingRun's, never the Saver's
        for part in PARTS:
            with open(f'{prefix}-{global_step}{part}', 'w') as f:
                f.write(self.content)
        return f'{prefix}-{global_step}'


def finished_model(folder, step, content='old'):
    """A folder holding a finished run's model, as TrainingRun.finish leaves it."""
    StubSaver(content).save(None, os.path.join(folder, NAME), step, write_state=False)
    checkpoints.write_index(folder, f'{NAME}-{step}', [f'{NAME}-{step}'])


def files(folder):
    return sorted(n for n in os.listdir(folder) if not n.startswith('.'))


def index(folder):
    with open(os.path.join(folder, checkpoints.INDEX)) as f:
        return f.read().splitlines()


def content(folder, prefix):
    return {part: open(os.path.join(folder, prefix + part)).read() for part in PARTS}


# ------------------------------------------------------------------ the checkpoint folder

def test_a_second_run_in_the_same_folder_is_refused_at_once(tmp_path):
    folder = str(tmp_path)
    with checkpoints.TrainingRun(folder, NAME):
        started = time.monotonic()
        with pytest.raises(UserError, match=f'{folder} is in use by another run '
                                            f'\\(pid {os.getpid()}\\)'):
            with checkpoints.TrainingRun(folder, NAME):
                pass
        assert time.monotonic() - started < 5  # refused, not queued behind the first
    with checkpoints.TrainingRun(folder, NAME):  # free again once the first has ended
        pass


def test_saves_list_oldest_first_and_only_finish_replaces_the_kept_model(tmp_path):
    folder = str(tmp_path)
    finished_model(folder, 5)
    saver = StubSaver('new')
    with checkpoints.TrainingRun(folder, NAME) as run:
        run.save(saver, None, 7)
        # TF's CheckpointState: the model --eval uses, then every checkpoint oldest first
        assert index(folder) == [f'model_checkpoint_path: "{NAME}-5"',
                                 f'all_model_checkpoint_paths: "{NAME}-5"',
                                 f'all_model_checkpoint_paths: "{NAME}-7"']
        run.save(saver, None, 9)  # the previous best is unlisted and deleted
        assert index(folder) == [f'model_checkpoint_path: "{NAME}-5"',
                                 f'all_model_checkpoint_paths: "{NAME}-5"',
                                 f'all_model_checkpoint_paths: "{NAME}-9"']
        assert files(folder) == sorted(['checkpoint'] + [f'{NAME}-{s}{p}' for s in (5, 9)
                                                         for p in PARTS])
        run.finish()
        assert index(folder) == [f'model_checkpoint_path: "{NAME}-9"',
                                 f'all_model_checkpoint_paths: "{NAME}-9"']
        assert files(folder) == sorted(['checkpoint'] + [f'{NAME}-9{p}' for p in PARTS])


def test_a_new_run_keeps_the_finished_model_and_removes_what_a_killed_run_left(tmp_path):
    folder = str(tmp_path)
    finished_model(folder, 5)
    StubSaver('orphan').save(None, os.path.join(folder, NAME), 7, write_state=False)
    (tmp_path / 'notes.txt').write_text('not ours')
    with contextlib.redirect_stderr(io.StringIO()):
        with checkpoints.TrainingRun(folder, NAME) as run:
            assert run.kept == f'{NAME}-5'
    assert files(folder) == sorted(['checkpoint', 'notes.txt'] + [f'{NAME}-5{p}' for p in PARTS])
    assert content(folder, f'{NAME}-5') == {p: 'old' for p in PARTS}


def test_a_rerun_saving_the_kept_models_step_never_writes_over_it(tmp_path):
    folder = str(tmp_path)
    finished_model(folder, 0, 'old')
    with checkpoints.TrainingRun(folder, NAME) as run:
        run.save(StubSaver('new'), None, 0)
        # the kept model was renamed out of the way, intact, and is still the current one
        kept = f'{NAME}-0{checkpoints.PREVIOUS}'
        assert run.kept == kept
        assert content(folder, kept) == {p: 'old' for p in PARTS}
        assert index(folder)[0] == f'model_checkpoint_path: "{kept}"'
        assert content(folder, f'{NAME}-0') == {p: 'new' for p in PARTS}
        # an interrupted run ends here: --eval still reads the old model
        with checkpoints.reading(folder) as path:
            assert path == os.path.join(folder, kept)
    assert content(folder, kept) == {p: 'old' for p in PARTS}


def test_eval_waits_for_a_save_in_progress(tmp_path):
    folder = str(tmp_path)
    finished_model(folder, 5)
    with filelock.FileLock(os.path.join(folder, checkpoints.SAVE_LOCK)):  # a save under way
        with pytest.raises(UserError, match=f'{folder} stayed busy for 0.2 s'):
            with checkpoints.reading(folder, timeout=0.2):
                pass
    with checkpoints.reading(folder) as path:
        assert path == os.path.join(folder, f'{NAME}-5')


# ------------------------------------------------------------------ signals and exit statuses

@posix_signals
@pytest.mark.usefixtures('default_signal_handlers')
def test_a_signal_waits_for_a_safe_point_and_a_second_one_stops_at_once():
    with deferred_signals():
        signal.raise_signal(signal.SIGINT)  # recorded only: no exception here
        with pytest.raises(Interrupted) as first:
            check_interrupted()  # the safe point
        assert first.value.status == 130 and first.value.name == 'Ctrl-C'
        with pytest.raises(Interrupted) as second:
            signal.raise_signal(signal.SIGTERM)  # a second signal: at once
        assert second.value.signum == signal.SIGINT  # named after the first
    check_interrupted()  # nothing pending once the block has ended


@posix_signals
def test_stdout_closed_early_exits_141_without_a_traceback():
    code = ('from run_safety.cli import command_line\n'
            'with command_line():\n'
            '    for i in range(10**7):\n'
            '        print(i)\n')
    proc = subprocess.Popen([sys.executable, '-c', code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ''


def test_the_memory_check_refuses_only_what_does_not_fit(tmp_path, capsys):
    check_memory(clf.memory_needed(clf.batch_size, clf.n_hidden_units), 'the defaults')
    with pytest.raises(UserError, match='need about .* GiB of memory'):
        check_memory(2**60, 'these sizes')
    with pytest.raises(SystemExit) as e:
        clf.main(['--hidden-units', '1000000', '--ckpt-dir', str(tmp_path / 'c'),
                  '--logdir', str(tmp_path / 'l')])
    assert e.value.code == 1
    assert '--hidden-units 1000000 and --batch-size 128 need about' in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


@pytest.mark.smoke
def test_memory_check_accepts_exactly_the_machines_memory(monkeypatch):
    import psutil
    from types import SimpleNamespace
    monkeypatch.setattr(psutil, 'virtual_memory', lambda: SimpleNamespace(total=1000))
    cli.check_memory(1000, 'these sizes')
    with pytest.raises(cli.UserError, match='need about'):
        cli.check_memory(1001, 'these sizes')

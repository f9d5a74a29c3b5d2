"""Robustness under real faults, for both scripts.

Every fault here is real: concurrent processes, real signals (SIGINT, SIGTERM,
SIGHUP, SIGKILL) sent to real processes, a really full or read-only filesystem (a
small tmpfs, mounted as root; those tests skip elsewhere), a closed pipe, damaged
bytes. Processes are watched through their output (line by line) and their files,
never through fixed sleeps. tests/fault_run.py runs a script with a real signal or a
real kill -9 at an exact point of a save, which no outside timing can hit reliably;
test_kill_9_at_random_moments hits saves from the outside as well.

Run alone: python -m pytest -q tests/test_robustness.py (about 4 minutes on 2 cores).
"""
import contextlib
import glob
import math
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from conftest import (DATA_DIR, ROOT, SMALL, copy_of, fails, quiet, snapshot,
                      signals_as_from_a_terminal)
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg
from run_safety import checkpoints

CLF = os.path.join(ROOT, 'mnist_lstm_classifier.py')
REG = os.path.join(ROOT, 'sin_cos_lstm_regressor.py')
FAULT = os.path.join(ROOT, 'tests', 'fault_run.py')
NAME = clf.CKPT_NAME
TEMP = re.compile(r'tmp|tempstate|_temp')  # every temporary name TF or the project uses
# root on Linux, allowed to mount (a container may not be): tests/machine.py checks it
needs_tmpfs = pytest.mark.needs('tmpfs')
pytestmark = pytest.mark.skipif(os.name != 'posix', reason='POSIX signals (SIGKILL, SIGHUP, '
                                'preexec_fn) and exit statuses 128 + N')


# --- Helpers ------------------------------------------------------------------------

class Run:
    """A script in a real process; stdout is read line by line by a thread, so a test
    can wait for a line (never a fixed sleep) while it watches files."""

    def __init__(self, args, cwd, preexec_fn=None):
        def setup():
            signals_as_from_a_terminal()  # even when pytest runs under nohup or `&`
            if preexec_fn:
                preexec_fn()
        self.proc = subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     preexec_fn=setup)
        self.lines = queue.Queue()
        self.out = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, marker, timeout=180, count=1):
        """The stdout line holding ``marker`` (the count-th one); fails if the
        process ends or the timeout passes first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f'no line with {marker!r} in {timeout} s') from None
            if line is None:
                raise AssertionError(f'the process ended before a line with {marker!r}: '
                                     f'{self.proc.wait()}, {self.proc.stderr.read()}')
            self.out.append(line)
            if marker in line:
                count -= 1
                if count == 0:
                    return line

    def signal(self, signum):
        self.proc.send_signal(signum)

    def finish(self, timeout=180):
        """(exit status, stdout, stderr) once the process ends."""
        try:
            self.proc.wait(timeout=timeout)
            err = self.proc.stderr.read()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        while True:
            line = self.lines.get(timeout=10)
            if line is None:
                break
            self.out.append(line)
        return self.proc.returncode, ''.join(self.out), err


def one_line(err, start='error: '):
    """The single line on stderr (no traceback), which starts with ``start``."""
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and 'Traceback' not in err, err
    assert lines[0].startswith(start), err
    return lines[0]



def evaluate(ckpt):
    """--eval in this process: the test accuracy of the folder's current model."""
    return quiet(clf.main, ['--eval', *SMALL, '--ckpt-dir', str(ckpt)])


def consistent(ckpt):
    """The folder is a consistent transaction state: the index names a checkpoint
    whose files are all there (TF reads its variables), every listed checkpoint is
    complete. Returns the current checkpoint's name."""
    from tf1_compat.v1 import tf
    current, listed = checkpoints.read_index(str(ckpt))
    assert current, os.listdir(ckpt)
    for name in listed:
        files = checkpoints.checkpoint_files(str(ckpt), name)
        assert {name + '.index', name + '.meta'} <= set(files), files
        assert dict(tf.train.list_variables(os.path.join(str(ckpt), name)))
    return current


def no_leftovers(ckpt):
    """After a new run's cleanup: only the listed checkpoints' files, the index and
    the locks; no temporary file, no orphan."""
    current, listed = checkpoints.read_index(str(ckpt))
    own = {'checkpoint', '.lock', '.lock.pid', '.save.lock'}
    for name in listed:
        own.update(checkpoints.checkpoint_files(str(ckpt), name))
    assert set(os.listdir(ckpt)) == own, sorted(set(os.listdir(ckpt)) - own)


def clean_as_a_new_run(ckpt):
    """What a new training run does first: lock the folder and remove leftovers."""
    with checkpoints.TrainingRun(str(ckpt), NAME):
        pass


@contextlib.contextmanager
def tmpfs(path, size):
    """A real filesystem of ``size`` (e.g. '256k') at ``path``, unmounted afterwards."""
    os.makedirs(path, exist_ok=True)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(path)],
                   check=True)
    try:
        yield path
    finally:
        if subprocess.run(['umount', str(path)]).returncode:
            subprocess.run(['umount', '-l', str(path)])


# --- 1. One run per --ckpt-dir ------------------------------------------------------

def test_second_run_stops_at_once_then_sigterm_keeps_the_best(tmp_path):
    """Two real runs into one folder: the second stops before it loads anything, with
    the first's pid; then SIGTERM stops the first like Ctrl-C (exit 143, one line) and
    --eval restores the checkpoint that line names.
    Caught: the lock taken out (TrainingRun.__enter__ and check_not_in_use): the second
    run trained and deleted the first's checkpoints."""
    ckpt = tmp_path / 'ckpt'
    first = Run([CLF, *SMALL, '--training-iters', '10000000', '--ckpt-dir', str(ckpt),
                 '--logdir', str(tmp_path / 'logs1')], tmp_path)
    try:
        first.wait_for('saved')
        second = Run([CLF, *SMALL, '--training-iters', '2560', '--ckpt-dir', str(ckpt),
                      '--logdir', str(tmp_path / 'logs2')], tmp_path)
        status, out, err = second.finish()
        assert status == 1 and out == ''
        assert one_line(err) == (f'error: {ckpt} is in use by another run '
                                 f'(pid {first.proc.pid}): wait for it or pass another --ckpt-dir')
        assert not (tmp_path / 'logs2').exists()  # refused before anything was made
        first.signal(signal.SIGTERM)
        status, out, err = first.finish()
    finally:
        first.proc.kill()
    assert status == 128 + signal.SIGTERM
    line = one_line(err, 'interrupted at step ')
    assert '(SIGTERM); best checkpoint kept: ' in line
    assert line.endswith(evaluate(ckpt)['checkpoint'])
    no_leftovers(ckpt)


def test_eval_during_training_reads_a_consistent_checkpoint(tmp_path):
    """--eval in a loop while a real run saves a new best every few steps (and
    deletes the one before): never 'corrupt', never a missing file.
    Caught: the save lock taken out of checkpoints.reading(), only sometimes (the
    restore must fall between a save's index and its delete)."""
    ckpt = tmp_path / 'ckpt'
    run = Run([CLF, *SMALL, '--batch-size', '16', '--training-iters', '10000000',
               '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')], tmp_path)
    try:
        run.wait_for('saved')
        seen = set()
        for _ in range(6):
            result = evaluate(ckpt)  # raises SystemExit on any failure
            assert 0.0 < result['test_accuracy'] <= 1.0
            seen.add(result['checkpoint'])
        run.signal(signal.SIGINT)
        status, _, err = run.finish()
    finally:
        run.proc.kill()
    assert status == 130, err
    assert len(seen) > 1, seen  # the evaluations did overlap the run's saves


def test_ctrl_c_while_waiting_for_another_process_save(tmp_path):
    """Another process holds the folder's save lock (a --eval suspended with Ctrl-Z
    while it restores): the new run waits for it, and a Ctrl-C ends the wait at once.
    Caught: a plain blocking acquire (the Ctrl-C waited for the lock: timeout)."""
    import filelock
    ckpt = tmp_path / 'ckpt'
    ckpt.mkdir()
    with filelock.FileLock(str(ckpt / checkpoints.SAVE_LOCK)):
        run = Run([CLF, *SMALL, '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')],
                  tmp_path)
        try:
            while not (ckpt / checkpoints.OWNER).exists():  # it holds .lock, waits for ours
                assert run.proc.poll() is None, run.proc.stderr.read()
                time.sleep(0.01)
            run.signal(signal.SIGINT)
            status, _, err = run.finish(timeout=60)
        finally:
            run.proc.kill()
    assert status == 130
    assert one_line(err, 'interrupted (Ctrl-C); nothing was saved')


# --- 2. Paths are paths -------------------------------------------------------------

def test_glob_spaces_and_non_ascii_in_paths_work_like_plain_names(tmp_path, monkeypatch):
    """Both scripts with *, ?, [, ], a backslash, spaces and non-ASCII in --data-dir,
    --logdir, --plot-dir, and spaces and non-ASCII in --ckpt-dir; a folder run1 beside
    'run?' and 'run*' is never read, written or deleted."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'run1').mkdir()
    (tmp_path / 'run1' / 'events.out.tfevents.1.keep').write_text('keep')
    (tmp_path / 'ckpt1').mkdir()
    (tmp_path / 'ckpt1' / f'{NAME}-0.index').write_text('keep')
    before = snapshot(tmp_path)
    data = tmp_path / 'MNIST [1] \\ é'
    shutil.copytree(DATA_DIR, data)
    result = quiet(clf.main, ['--hidden-units', '8', '--training-iters', '2560', '--seed', '0',
                              '--data-dir', str(data), '--ckpt-dir', 'ckpt é 1',
                              '--logdir', 'run?'])
    assert result['checkpoint'] == os.path.join('ckpt é 1', f'{NAME}-0')
    assert os.listdir('run?') and consistent('ckpt é 1') == f'{NAME}-0'
    quiet(reg.main, ['--iterations', '21', '--seed', '0', '--plot', 'file',
                     '--logdir', 'run*', '--plot-dir', 'plots [a] \\ é'])
    plots = 'plots [a] \\ é'  # the three names, links into the set's folder (.sin_cos_outputs*)
    assert sorted(n for n in os.listdir(plots) if not n.startswith('.sin_cos_outputs')) == \
        ['.outputs.lock', 'cost_history.csv', 'sin_cos_fit.gif', 'sin_cos_fit.png']
    assert all(os.path.isfile(os.path.join(plots, n)) for n in reg.output_names(True))
    assert evaluate('ckpt é 1')['test_accuracy'] == result['test_accuracy']
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before  # run1, ckpt1 intact


@pytest.mark.parametrize('name', ['ckpt?', 'ckpt*', 'ckpt[1]', 'ck]pt', 'ck\\pt'])
@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_glob_characters_in_ckpt_dir_are_refused(name, mode, tmp_path, monkeypatch, capsys):
    """TF matches checkpoint names as glob patterns: refused before anything runs,
    and the folder ckpt1 beside it is untouched."""
    monkeypatch.chdir(tmp_path)
    os.mkdir('ckpt1')
    for n in ('checkpoint', f'{NAME}-0.index', f'{NAME}-0.data-00000-of-00001'):
        (tmp_path / 'ckpt1' / n).write_text(n)
    before = snapshot(tmp_path)
    err = fails(clf.main, [*SMALL, '--ckpt-dir', name] + (['--eval'] if mode == 'eval' else []),
                capsys)
    assert err.startswith(f'error: --ckpt-dir {name} contains one of *?[]\\, which '
                          f'TensorFlow reads as a file pattern')
    assert snapshot(tmp_path) == before and sorted(os.listdir()) == ['ckpt1']


# --- 3. Write failures ----------------------------------------------------------------

@needs_tmpfs
def test_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, capsys):
    """A 256 KiB filesystem holds one checkpoint, not two: the second save fails.
    One line naming the checkpoint and 'No space left on device', exit 1, no
    temporary file, the first checkpoint restorable.
    Caught: a failed save leaving TF's <prefix>.meta.tmp<hex> behind (fixed)."""
    with tmpfs(tmp_path / 'disk', '256k') as disk:
        ckpt = disk / 'ckpt'
        err = fails(clf.main, [*SMALL, '--batch-size', '16', '--training-iters', '100000',
                               '--seed', '0', '--ckpt-dir', str(ckpt),
                               '--logdir', str(tmp_path / 'logs')], capsys)
        assert re.fullmatch(rf'error: cannot write {ckpt}/{NAME}-\d+ \(.*No space left on '
                            rf'device\): .*; the best checkpoint so far is kept: '
                            rf'{ckpt}/{NAME}-0', err), err
        assert not [n for n in os.listdir(ckpt) if TEMP.search(n)], os.listdir(ckpt)
        assert consistent(ckpt) == f'{NAME}-0'
        assert evaluate(ckpt)['checkpoint'] == f'{ckpt}/{NAME}-0'
        no_leftovers(ckpt)


@needs_tmpfs
@pytest.mark.parametrize('script', ['classifier', 'regressor'])
def test_full_logdir_is_never_silent(script, tmp_path, capsys):
    """The events file cannot be written (a 64 KiB filesystem): one line naming the
    --logdir and the reason, exit 1."""
    with tmpfs(tmp_path / 'disk', '64k') as disk:
        if script == 'classifier':
            err = fails(clf.main, [*SMALL, '--training-iters', '2560', '--ckpt-dir',
                                   str(tmp_path / 'ckpt'), '--logdir', str(disk / 'logs')],
                        capsys)
        else:
            err = fails(reg.main, ['--iterations', '41', '--plot', 'file', '--seed', '0',
                                   '--logdir', str(disk / 'logs'),
                                   '--plot-dir', str(tmp_path / 'plots')], capsys)
        assert err.startswith(f'error: cannot write {disk}/logs (') and \
            'No space left on device' in err, err
    if script == 'regressor':
        assert not (tmp_path / 'plots').exists() or os.listdir(tmp_path / 'plots') in (
            [], ['.outputs.lock'])


@needs_tmpfs
def test_full_logdir_is_said_when_interrupted(tmp_path):
    """Ctrl-C in the regressor, whose events reach the disk only when the writer
    closes: the interrupted line also says the events could not be written.
    Caught: the failure swallowed by the writer.close() in train()'s finally."""
    with tmpfs(tmp_path / 'disk', '64k') as disk:
        run = Run([REG, '--iterations', '100000', '--plot', 'file', '--logdir', str(disk / 'logs'),
                   '--plot-dir', str(tmp_path / 'plots')], tmp_path)
        try:
            run.wait_for('cost: ', count=2)
            run.signal(signal.SIGINT)
            status, _, err = run.finish()
        finally:
            run.proc.kill()
    assert status == 130
    line = one_line(err, 'interrupted at iteration ')
    assert f'; but cannot write {disk}/logs (' in line and 'No space left on device' in line


@needs_tmpfs
def test_full_plot_dir_keeps_the_previous_set(tmp_path, capsys):
    """The regressor's second run cannot write its GIF: one line, exit 1, and the PNG,
    GIF and CSV are still the first run's, all three; no temporary file."""
    with tmpfs(tmp_path / 'disk', '1m') as disk:
        plots = disk / 'plots'
        quiet(reg.main, ['--iterations', '30', '--plot', 'file', '--seed', '0',
                         '--logdir', str(tmp_path / 'logs'), '--plot-dir', str(plots)])
        before = snapshot(plots)
        assert len(before) == 6  # the three names, and the set's folder they lead into
        free = shutil.disk_usage(disk).free
        (disk / 'filler').write_bytes(b'\0' * (free - 64 * 1024))
        err = fails(reg.main, ['--iterations', '60', '--plot', 'file', '--seed', '1',
                               '--logdir', str(tmp_path / 'logs'), '--plot-dir', str(plots)],
                    capsys)
        assert err.startswith(f'error: cannot write {plots} (No space left on device)'), err
        assert snapshot(plots) == before
        assert not [n for n in os.listdir(plots) if TEMP.search(n)]


@needs_tmpfs
def test_full_disk_for_metrics_json(tmp_path, capsys, finished):
    with tmpfs(tmp_path / 'disk', '4k') as disk:
        (disk / 'filler').write_bytes(b'\0' * shutil.disk_usage(disk).free)
        err = fails(clf.main, ['--eval', *SMALL, '--ckpt-dir', str(finished.dir),
                               '--metrics-json', str(disk / 'm.json')], capsys)
        assert err.startswith(f'error: cannot write {disk}/m.json (No space left on device)')
        assert os.listdir(disk) == ['filler']


@needs_tmpfs
def test_read_only_ckpt_dir(tmp_path, capsys, finished):
    """A read-only folder: training is refused up front; --eval still works."""
    with tmpfs(tmp_path / 'disk', '1m') as disk:
        shutil.copytree(finished.dir, disk / 'ckpt')
        subprocess.run(['mount', '-o', 'remount,ro', str(disk)], check=True)
        err = fails(clf.main, [*SMALL, '--ckpt-dir', str(disk / 'ckpt'),
                               '--logdir', str(tmp_path / 'logs')], capsys)
        assert err == (f'error: --ckpt-dir {disk}/ckpt is not writable (Read-only file '
                       f'system): pass another --ckpt-dir')
        assert evaluate(disk / 'ckpt')['test_accuracy'] == finished.accuracy


# --- 4. Signals -----------------------------------------------------------------------

@pytest.mark.parametrize('signum', [signal.SIGHUP, signal.SIGINT])
def test_signal_during_a_save_lets_it_finish(signum, tmp_path):
    """SIGINT from inside the first save (after TF wrote the files, before the index
    lists them), SIGHUP from outside after a 'saved' line: the save finishes, the line
    names it, exit 128+N.
    Caught: deferred_signals() replaced by Python's own KeyboardInterrupt (the save
    was torn: its files deleted, 'nothing saved'); SIGHUP not deferred (exit -1)."""
    ckpt = tmp_path / 'ckpt'
    fault = 'sigint-in-save'
    args = [FAULT, CLF, fault, *SMALL, '--training-iters', '10000000', '--ckpt-dir', str(ckpt),
            '--logdir', str(tmp_path / 'logs')]
    if signum == signal.SIGHUP:  # the same point, reached from the outside
        run = Run([CLF] + args[3:], tmp_path)
        run.wait_for('saved')
        run.signal(signum)
    else:
        run = Run(args, tmp_path)
    status, out, err = run.finish()
    assert status == 128 + signum, err
    line = one_line(err, 'interrupted at step ')
    assert f'best checkpoint kept: {ckpt}/{NAME}-' in line
    assert line.endswith(evaluate(ckpt)['checkpoint'])
    no_leftovers(ckpt)


def test_second_ctrl_c_during_a_save_stops_at_once_and_leaves_no_half_checkpoint(tmp_path):
    """Two SIGINTs inside the first save: the second raises at once, the unlisted
    save is removed whole, exit 130 with one line, the folder has no checkpoint."""
    ckpt = tmp_path / 'ckpt'
    run = Run([FAULT, CLF, 'two-sigints-in-save', *SMALL, '--training-iters', '10000000',
               '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')], tmp_path)
    status, out, err = run.finish()
    assert status == 130, err
    assert one_line(err, 'interrupted at step 0 (Ctrl-C); no checkpoint saved by this run')
    assert 'saved' not in out
    assert sorted(os.listdir(ckpt)) == ['.lock', '.lock.pid', '.save.lock']


@pytest.mark.parametrize('script', [CLF, REG])
def test_ctrl_c_while_the_modules_load(script, tmp_path):
    """A real SIGINT while the script's own imports run (sent by an import hook as
    numpy starts loading, tests/fault_run.py): one line, exit 130, nothing created.
    Caught: without run_safety/early_exit.py, a KeyboardInterrupt traceback, exit 1."""
    run = Run([FAULT, os.path.basename(script), 'sigint-importing-numpy', '--logdir', 'logs'],
              tmp_path)
    status, out, err = run.finish()
    assert status == 130, err
    assert one_line(err, 'interrupted (Ctrl-C); nothing was saved')
    assert os.listdir(tmp_path) == []


def test_ctrl_c_during_the_test_evaluation(tmp_path, finished):
    """Ctrl-C as the final test evaluation starts (a rerun in a folder with a finished
    model): exit 130, one line; --eval still uses the finished model."""
    ckpt = copy_of(finished, tmp_path)
    run = Run([FAULT, CLF, 'sigint-in-test-eval', *SMALL, '--training-iters', '2560',
               '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')], tmp_path)
    status, out, err = run.finish()
    assert status == 130
    line = one_line(err, 'interrupted during the test evaluation (Ctrl-C); ')
    assert '--eval still uses' in line
    assert evaluate(ckpt)['test_accuracy'] == finished.accuracy


def test_ctrl_c_while_the_plots_are_written(tmp_path):
    """Ctrl-C while the regressor writes its PNG, GIF and CSV: they are finished as a
    set, then exit 130 with one line.
    Caught: the signal was ignored (exit 0) before command_line() checked for it."""
    run = Run([FAULT, REG, 'sigint-in-plots', '--iterations', '21', '--plot', 'file',
               '--seed', '0', '--logdir', str(tmp_path)], tmp_path)
    status, out, err = run.finish()
    assert status == 130, err
    assert one_line(err, 'interrupted (Ctrl-C) as the run ended; all was written')
    assert {'sin_cos_fit.png', 'sin_cos_fit.gif', 'cost_history.csv'} <= set(os.listdir(tmp_path))


def test_nohup_keeps_running_when_the_terminal_closes(tmp_path):
    """Started with SIGHUP ignored (as nohup does): a SIGHUP changes nothing; the run
    stops only at the Ctrl-C that follows.
    Caught: deferred_signals() installed its handler over SIG_IGN (exit 129)."""
    ckpt = tmp_path / 'ckpt'
    run = Run([CLF, *SMALL, '--training-iters', '10000000', '--ckpt-dir', str(ckpt),
               '--logdir', str(tmp_path / 'logs')], tmp_path,
              preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        run.wait_for('saved')
        run.signal(signal.SIGHUP)
        step = run.wait_for('step ')  # still training after the SIGHUP
        run.wait_for('step ')
        run.signal(signal.SIGINT)
        status, _, err = run.finish()
    finally:
        run.proc.kill()
    assert status == 130, err
    assert one_line(err, 'interrupted at step ')
    assert step


def test_ctrl_c_loop_right_after_a_save():
    """tests/tools/ctrl_c_loop.py with a few tries: each a clean exit 130 and a readable
    checkpoint (the full 100-try run and its last result: docs/testing.md)."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'tools', 'ctrl_c_loop.py'),
                           '--tries', '4'], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '4/4 clean exits' in proc.stdout


# --- 5. Crashes lose nothing ----------------------------------------------------------

# The file operations of a rerun (batch 16, 60 steps, saves at steps 0 and 20) in a
# folder holding a finished model named like its first save (fault_run.py count):
# replace#1 (.lock.pid), index#1 (the cleaned index), link#1-3 (the kept model linked
# to <name>-previous), index#2 (naming it), remove#1-3 (its old names), save#1 (TF's
# files of step 0), index#3 (listing them), save#2 (step 20), index#4, remove#4-6
# (step 0), index#5 (finish(): step 20 becomes the model), remove#7-9 (the previous
# model). Each point: (the operation after which kill -9 lands, whether --eval must
# then give the rerun's accuracy rather than the finished run's).
RERUN_SEED = '7'  # with it, this rerun saves at steps 0 and 20 only (checked below)
KILL_POINTS = [('link#2', False), ('index#2', False), ('remove#2', False), ('save#1', False),
               ('save#2', False), ('remove#5', False), ('index#5', True), ('remove#8', True)]


@pytest.fixture(scope='module')
def rerun_reference(finished, tmp_path_factory):
    """The rerun the kill test interrupts, run to the end: its test accuracy."""
    tmp_path = tmp_path_factory.mktemp('rerun')
    ckpt = copy_of(finished, tmp_path)
    run = Run([FAULT, CLF, 'count', *SMALL, '--batch-size', '16', '--training-iters', '960',
               '--seed', RERUN_SEED, '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')],
              tmp_path)
    status, out, err = run.finish()
    assert status == 0, err
    saves = [l.split()[1] for l in out.splitlines() if l.startswith('step') and l.endswith('saved')]
    assert saves == ['0/60', '20/60'], f'the kill points assume saves at steps 0 and 20: {saves}'
    return float(re.search(r'test accuracy: ([\d.]+)', out).group(1))


@pytest.mark.parametrize('point, finished_by_then', KILL_POINTS)
def test_kill_9_at_each_step_of_a_save(point, finished_by_then, tmp_path, finished,
                                       rerun_reference):
    """kill -9 right after one file operation of a rerun: the folder is consistent,
    --eval restores the finished model (or, once finish() listed it, the rerun's),
    and a new run removes every leftover but keeps that model.
    Caught: _clean() taken out (leftovers stay, every point); the kept model saved
    over in place instead of renamed first (save#1: --eval gives the rerun's weights
    under the finished model's name; link#2 never happens)."""
    ckpt = copy_of(finished, tmp_path)
    run = Run([FAULT, CLF, f'kill-after={point}', *SMALL, '--batch-size', '16',
               '--training-iters', '960', '--seed', RERUN_SEED, '--ckpt-dir', str(ckpt),
               '--logdir', str(tmp_path / 'logs')], tmp_path)
    status, _, err = run.finish()
    assert status == -signal.SIGKILL, f'{point} never happened: {err}'
    consistent(ckpt)
    expected = rerun_reference if finished_by_then else finished.accuracy
    assert evaluate(ckpt)['test_accuracy'] == expected
    clean_as_a_new_run(ckpt)
    no_leftovers(ckpt)
    assert evaluate(ckpt)['test_accuracy'] == expected


@pytest.mark.parametrize('point, expected', [('save#2', 0), ('index#2', 20), ('remove#2', 20)])
def test_kill_9_in_a_first_run(point, expected, tmp_path):
    """The same in a fresh folder, where each save replaces the run's previous best:
    after save#2 (TF's files of step 20 written, not listed) the index still names
    step 0; after index#2, step 20, complete; mid-delete of step 0, step 20.
    Caught: the index written before TF's files (index#2: it named step 20 only,
    whose files were not written yet, and step 0 was unlisted: no checkpoint)."""
    ckpt = tmp_path / 'ckpt'
    run = Run([FAULT, CLF, f'kill-after={point}', *SMALL, '--batch-size', '16',
               '--training-iters', '960', '--seed', RERUN_SEED, '--ckpt-dir', str(ckpt),
               '--logdir', str(tmp_path / 'logs')], tmp_path)
    status, _, err = run.finish()
    assert status == -signal.SIGKILL, f'{point} never happened: {err}'
    expected = f'{NAME}-{expected}'
    assert consistent(ckpt) == expected
    assert evaluate(ckpt)['checkpoint'] == f'{ckpt}/{expected}'
    clean_as_a_new_run(ckpt)
    no_leftovers(ckpt)


def test_kill_9_at_random_moments(tmp_path, finished):
    """A real kill -9 from outside at random moments of a rerun that saves often:
    as soon as a temporary file of a save appears (inside TF's save) or at a random
    delay after a 'saved' line. Tries until a kill lands inside a save (at most 8).
    Each time the finished model stays current and restorable, and a new run removes
    every leftover."""
    ckpt = copy_of(finished, tmp_path)
    rng = random.Random(0)
    inside = 0
    for attempt in range(8):
        run = Run([CLF, *SMALL, '--batch-size', '16', '--training-iters', '10000000',
                   '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')], tmp_path)
        try:
            run.wait_for('saved')
            deadline = time.monotonic() + rng.uniform(0, 1.5)
            while time.monotonic() < deadline:  # watch the folder for a save in progress
                if any(TEMP.search(n) for n in os.listdir(ckpt)):
                    inside += 1
                    break
        finally:
            run.proc.kill()  # SIGKILL
            run.finish()
        consistent(ckpt)
        assert evaluate(ckpt)['test_accuracy'] == finished.accuracy
        clean_as_a_new_run(ckpt)
        no_leftovers(ckpt)
        if inside:
            break
    assert inside, 'no kill landed inside a save in 8 tries'


# --- 6. Sizes that cannot fit ---------------------------------------------------------

def test_sizes_larger_than_memory_are_refused(tmp_path, capsys):
    """--hidden-units and --cell-size computed from this machine's RAM (psutil)."""
    total = psutil.virtual_memory().total
    units = math.isqrt(total // 128) + 1  # 8 h^2 weights x 4 copies x 4 bytes > total
    assert clf.memory_needed(128, units) > total
    err = fails(clf.main, [*SMALL[2:], '--hidden-units', str(units), '--ckpt-dir',
                           str(tmp_path / 'ckpt'), '--logdir', str(tmp_path / 'logs')], capsys)
    assert err.startswith(f'error: --hidden-units {units} and --batch-size 128 need about ')
    assert f'this machine has {total / 2**30:.1f} GiB' in err
    cell = math.isqrt(total // 128) + 1
    assert reg.memory_needed(50, 20, cell) > total
    err = fails(reg.main, ['--cell-size', str(cell), '--logdir', str(tmp_path / 'rlogs')], capsys)
    assert err.startswith(f'error: --batch-size 50, --time-steps 20 and --cell-size {cell} need')
    assert os.listdir(tmp_path) == []


# --- 7. Garbage index, closed stdout, CRC ----------------------------------------------

@pytest.mark.parametrize('content', [b'', b'\x00\xff garbage \x80\n', b'not a checkpoint index\n'])
def test_empty_or_garbage_index_is_no_checkpoint(content, tmp_path, capsys, finished):
    """--eval: no checkpoint; training: the model files the index may have listed are
    moved aside into orphaned-<time>/, intact, and the new run's model is the folder's."""
    ckpt = copy_of(finished, tmp_path)
    (ckpt / 'checkpoint').write_bytes(content)
    before = snapshot(ckpt)
    err = fails(clf.main, ['--eval', *SMALL, '--ckpt-dir', str(ckpt)], capsys)
    assert err == (f'error: no checkpoint in {ckpt}: its checkpoint file is empty or not a '
                   f'checkpoint index; train again (run without --eval) or pass another '
                   f'--ckpt-dir')
    capsys.readouterr()
    result = quiet(clf.main, ['--training-iters', '2560', *SMALL, '--ckpt-dir', str(ckpt),
                              '--logdir', str(tmp_path / 'logs')])
    warning = one_line(capsys.readouterr().err, 'warning: ')
    assert f'{ckpt}/checkpoint is empty or not a checkpoint index: treated as no checkpoint' \
        in warning
    assert evaluate(ckpt)['checkpoint'] == result['checkpoint']
    aside, = [n for n in os.listdir(ckpt) if n.startswith('orphaned-')]
    assert snapshot(ckpt / aside) == before  # nothing of the old folder was deleted
    shutil.rmtree(ckpt / aside)
    no_leftovers(ckpt)


@pytest.mark.parametrize('script', ['classifier', 'regressor'])
def test_closed_stdout_ends_quietly(script, tmp_path):
    """`| head -2`: the reader goes; exit 141, nothing on stderr, a consistent folder."""
    ckpt = tmp_path / 'ckpt'
    if script == 'classifier':
        args = [CLF, *SMALL, '--batch-size', '16', '--training-iters', '10000000',
                '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')]
    else:
        args = [REG, '--iterations', '100000', '--plot', 'file', '--logdir', str(tmp_path)]
    proc = subprocess.Popen([sys.executable, *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() and proc.stdout.readline()
        proc.stdout.close()  # like head after its lines: the pipe's only reader is gone
        status = proc.wait(timeout=180)
        err = proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert status == 141 and err == '', err
    if script == 'classifier':
        consistent(ckpt)
        assert not [n for n in os.listdir(ckpt) if TEMP.search(n)]


@pytest.mark.parametrize('part', ['index', 'data-00000-of-00001'])
def test_flipped_byte_says_crc_check_failed(part, tmp_path, capsys, finished):
    ckpt = copy_of(finished, tmp_path)
    path = glob.glob(str(ckpt / f'*.{part}'))[0]
    content = bytearray(open(path, 'rb').read())
    content[len(content) // 2] ^= 0xFF  # one damaged byte, the size unchanged
    open(path, 'wb').write(bytes(content))
    err = fails(clf.main, ['--eval', *SMALL, '--ckpt-dir', str(ckpt)], capsys)
    assert err == (f'error: checkpoint {ckpt}/{finished.name} is corrupt (CRC check failed): '
                   f'retrain it (run without --eval) or pass another --ckpt-dir')

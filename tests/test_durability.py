"""A finished model is never lost, whatever fails: an index that cannot be
read, a failing disk call, a power cut, a kill -9 between the regressor's writes, a
stopped process holding a lock.

Two kinds of test for each promise: fast in-process ones with a stub Saver (the file
operations recorded or failed by monkeypatching os), which run everywhere, and real
ones (strace's fault injection and syscall trace, a non-root user via setpriv, kill
-9 of a real process), which skip with a reason where the tool is missing
(tests/machine.py checks each).

The power-cut simulation records the checkpoint folder at every file operation of a
run and rebuilds it as it would be after power loss at that point: the directory
operations persist in order (as a journalling filesystem commits them), so any
prefix of those since the folder's last fsync may survive, and a file's data is only
what was fsynced (a file never fsynced comes back empty, as with ext4's delayed
allocation). At every cut point and every such prefix, the folder must still hold a
complete model: the finished one, or the new one once its commit was made.
"""
import contextlib
import errno
import glob
import hashlib
import io
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from conftest import (ROOT, SMALL, copy_of, fails, quiet, snapshot,
                      signals_as_from_a_terminal)
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg
from run_safety import checkpoints
from run_safety.cli import UserError

CLF = os.path.join(ROOT, 'mnist_lstm_classifier.py')
REG = os.path.join(ROOT, 'sin_cos_lstm_regressor.py')
FAULT = os.path.join(ROOT, 'tests', 'fault_run.py')
NAME = 'model.ckpt'
PARTS = ('.index', '.data-00000-of-00001', '.meta')
STRACE = shutil.which('strace')
needs_strace = pytest.mark.needs('strace')  # installed, and allowed to trace (tests/machine.py)
posix = pytest.mark.skipif(os.name != 'posix', reason='POSIX signals and folder fsync')


class StubSaver:
    """Writes checkpoint <prefix>-<step>'s three files, each holding ``content`` (by
    default 'step<N>'), as TF's Saver would: no fsync."""

    def __init__(self, content=None):
        self.content = content

    def save(self, sess, prefix, global_step, write_state=True):
        assert write_state is False
        for part in PARTS:
            with open(f'{prefix}-{global_step}{part}', 'w') as f:
                f.write(self.content or f'step{global_step}')
        return f'{prefix}-{global_step}'


def finished_model(folder, step, content='old'):
    StubSaver(content).save(None, os.path.join(folder, NAME), step, write_state=False)
    checkpoints.write_index(folder, f'{NAME}-{step}', [f'{NAME}-{step}'])


def content(folder, prefix):
    return {part: open(os.path.join(folder, prefix + part)).read() for part in PARTS}


def one_line(err, start='error: '):
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith(('I0000', 'W0000'))
             and 'absl::InitializeLog' not in l and 'oneDNN' not in l
             and 'cpu_feature_guard' not in l and 'rebuild TensorFlow' not in l
             and 'cuda' not in l]
    assert len(lines) == 1 and 'Traceback' not in err, err
    assert lines[0].startswith(start), err
    return lines[0]


def evaluate(ckpt):
    return quiet(clf.main, ['--eval', *SMALL, '--ckpt-dir', str(ckpt)])['test_accuracy']


# ------------------------------------------------------------ 1. the index, read as TF reads it

def test_an_index_with_every_field_tf_writes_is_read(tmp_path, finished):
    """tf.train.CheckpointManager also writes all_model_checkpoint_timestamps and
    last_preserved_timestamp: --eval restores the model it names, and a training run
    that then fails (its start, then nothing) keeps it.
    Caught: a parser that knows only the two path fields (the old regular expression)."""
    ckpt = copy_of(finished, tmp_path)
    (ckpt / 'checkpoint').write_text(
        f'model_checkpoint_path: "{finished.name}"\n'
        f'all_model_checkpoint_paths: "{finished.name}"\n'
        f'all_model_checkpoint_timestamps: 1764561600.25\n'
        f'last_preserved_timestamp: 1764561500.5\n')
    from tf1_compat.v1 import tf
    assert tf.train.latest_checkpoint(str(ckpt)) == str(ckpt / finished.name)
    assert evaluate(ckpt) == finished.accuracy
    before = {k: v for k, v in snapshot(ckpt).items() if k != 'checkpoint'}
    with checkpoints.TrainingRun(str(ckpt), clf.CKPT_NAME):  # a run that then fails
        pass
    assert {k: v for k, v in snapshot(ckpt).items() if k != 'checkpoint'} == before
    assert evaluate(ckpt) == finished.accuracy


def eio_on_open(monkeypatch, path):
    """os-level fault: the first open of ``path`` fails with EIO (a disk read error)."""
    import builtins
    real_open = builtins.open
    state = {'done': False}

    def failing_open(file, *args, **kwargs):
        if not state['done'] and os.fspath(file) == os.fspath(path):
            state['done'] = True
            raise OSError(errno.EIO, os.strerror(errno.EIO), os.fspath(file))
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(builtins, 'open', failing_open)


def test_a_read_error_on_the_index_stops_the_run_and_changes_nothing(tmp_path, monkeypatch):
    """In-process twin of the strace test below (runs everywhere, no TensorFlow).
    Caught: a read error treated as "no index" (the old read_index): the run then
    removed the finished model as orphans."""
    folder = str(tmp_path)
    finished_model(folder, 5)
    before = snapshot(folder)
    eio_on_open(monkeypatch, os.path.join(folder, checkpoints.INDEX))
    with pytest.raises(checkpoints.UnreadableIndex) as e:
        with checkpoints.TrainingRun(folder, NAME):
            pass
    assert str(e.value) == (
        f'cannot read {folder}/checkpoint (Input/output error): nothing in {folder} was '
        f'changed; fix the disk or the permissions and run again, or pass another --ckpt-dir')
    assert snapshot(folder) == before
    with checkpoints.reading(folder) as path:  # the fault has passed: all is still there
        assert content(folder, os.path.basename(path)) == {p: 'old' for p in PARTS}


@needs_strace
@posix
def test_a_real_eio_on_the_index_stops_training_and_eval_keeps_the_model(tmp_path, finished):
    """strace injects one EIO into the openat of <ckpt>/checkpoint: training stops with
    one line naming the index, nothing in the folder changes, and --eval afterwards
    gives the finished run's accuracy (not another model's weights, which an unreadable
    index once made it restore)."""
    ckpt = copy_of(finished, tmp_path)
    before = snapshot(ckpt)
    proc = subprocess.run(
        [STRACE, '-f', '-o', os.devnull, '-P', str(ckpt / 'checkpoint'), '-e', 'trace=openat',
         '-e', 'inject=openat:error=EIO:when=1', sys.executable, CLF, *SMALL,
         '--training-iters', '2560', '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'l')],
        capture_output=True, text=True, timeout=300, preexec_fn=signals_as_from_a_terminal)
    line = one_line(proc.stderr)
    assert proc.returncode == 1
    assert line.startswith(f'error: cannot read {ckpt}/checkpoint (Input/output error): '
                           f'nothing in {ckpt} was changed'), line
    assert snapshot(ckpt) == before
    assert evaluate(ckpt) == finished.accuracy


@pytest.mark.other_user
def test_an_index_the_user_cannot_read_stops_training(as_nobody, finished, tmp_path):
    """A folder the user owns, its index root's and mode 600 (run as nobody, from a copy
    of the scripts that user can read): one line, Permission denied, and the model is
    all still there.
    Caught: the old read_index (the run deleted the model, then said it was kept)."""
    import pathlib
    # pytest's own tmp_path is under a root-only 0700 folder: nobody could not reach it
    base = pathlib.Path(as_nobody.folder) / tmp_path.name
    base.mkdir(mode=0o755)
    os.chmod(base, 0o755)
    ckpt = copy_of(finished, base)
    logs = base / 'logs'
    logs.mkdir()
    for path in [ckpt, logs, *ckpt.iterdir()]:
        os.chown(path, 65534, 65534)
    os.chown(ckpt / 'checkpoint', 0, 0)
    os.chmod(ckpt / 'checkpoint', 0o600)
    before = snapshot(ckpt)
    proc = subprocess.run(
        [*as_nobody.python, os.path.join(as_nobody.repo, os.path.basename(CLF)),
         '--hidden-units', '8', '--data-dir', os.path.join(as_nobody.repo, 'data'),
         '--training-iters', '2560', '--ckpt-dir', str(ckpt), '--logdir', str(logs)],
        capture_output=True, text=True, timeout=300, cwd=base, env={**os.environ, 'HOME': str(base)})
    line = one_line(proc.stderr)
    assert proc.returncode == 1
    assert line.startswith(f'error: cannot read {ckpt}/checkpoint (Permission denied)'), line
    assert snapshot(ckpt) == before
    assert evaluate(ckpt) == finished.accuracy


@pytest.mark.parametrize('garbage', [b'', b'\x00\xff garbage \x80\n', b'not a checkpoint index\n'])
def test_a_garbage_index_moves_the_model_aside_never_deletes_it(garbage, tmp_path, capsys):
    """An index that reads fine but is empty or garbage lists nothing: the files it may
    have listed go into orphaned-<time>/ with their content, one warning line.
    Caught: the old clean-up, which deleted them as orphans."""
    folder = str(tmp_path)
    finished_model(folder, 5)
    (tmp_path / 'checkpoint').write_bytes(garbage)
    before = {k: v for k, v in snapshot(folder).items()}
    with checkpoints.TrainingRun(folder, NAME) as run:
        assert run.kept is None
    err = capsys.readouterr().err
    aside = glob.glob(os.path.join(folder, 'orphaned-*'))
    assert len(aside) == 1
    assert one_line(err, 'warning: ') == (
        f'warning: {folder}/checkpoint is empty or not a checkpoint index: treated as no '
        f'checkpoint; it and 3 model file(s) were moved into {aside[0]} (nothing was deleted)')
    name = os.path.basename(aside[0])
    assert snapshot(folder) == {f'{name}/{k}': v for k, v in before.items()}


# ------------------------------------------------------------ 2. durable commits

class Journal:
    """Records the checkpoint folder at every file operation (os.replace, rename, link,
    remove, mkdir, symlink, fsync), ALICE-style, for the power-cut simulation and
    the order of operations. The folder's content at the start counts as on disk."""

    OPS = ('replace', 'rename', 'link', 'remove', 'unlink', 'mkdir', 'symlink', 'fsync')

    def __init__(self, folder, monkeypatch):
        self.folder = os.path.realpath(folder)
        self.events = []  # (op, name) in order; name relative to the folder
        self.names = [self._names()]  # the folder's name -> inode map after each op
        self.durable = {ino: self._read(name) for name, ino in self.names[0].items()}
        self.synced = 0  # index into self.names of the last folder fsync
        self.cuts = []  # (first surviving names index, last, durable data) per op
        for op in self.OPS:
            monkeypatch.setattr(os, op, self._wrap(op, getattr(os, op)))

    def _names(self):
        return {n: os.stat(os.path.join(self.folder, n)).st_ino
                for n in os.listdir(self.folder)
                if os.path.isfile(os.path.join(self.folder, n)) and not n.startswith('.')}

    def _read(self, name):
        with open(os.path.join(self.folder, name), 'rb') as f:
            return f.read()

    def _wrap(self, op, real):
        def wrapper(*args, **kwargs):
            if op == 'fsync':
                fd = args[0]
                st = os.fstat(fd)
                result = real(*args, **kwargs)
                path = os.path.realpath(f'/proc/self/fd/{fd}') if os.path.exists('/proc/self/fd') \
                    else None
                if stat.S_ISDIR(st.st_mode):
                    if path == self.folder:
                        self.names.append(self._names())
                        self.synced = len(self.names) - 1
                        self._event('fsync-folder', '.')
                elif path and os.path.dirname(path) == self.folder:
                    self.durable[st.st_ino] = os.pread(fd, st.st_size + 1, 0)
                    self._event('fsync', os.path.basename(path))
                return result
            result = real(*args, **kwargs)
            paths = [os.path.realpath(os.fspath(a)) for a in args[:2]
                     if isinstance(a, (str, bytes, os.PathLike))]
            if any(os.path.dirname(p) == self.folder for p in paths):
                self.names.append(self._names())
                self._event(op, os.path.basename(paths[-1]))
            return result
        return wrapper

    def _event(self, op, name):
        self.events.append((op, name))
        self.cuts.append((self.synced, len(self.names) - 1, dict(self.durable)))

    def states(self):
        """Every folder state a power cut could leave: {state key: {name: bytes}}."""
        found = {}
        for first, last, durable in self.cuts:
            for j in range(first, last + 1):
                files = {n: durable.get(ino, b'') for n, ino in self.names[j].items()}
                key = tuple(sorted((n, hashlib.sha256(c).hexdigest()) for n, c in files.items()))
                found[key] = files
        return list(found.values())


def build(folder, files):
    os.makedirs(folder)
    for name, data in files.items():
        with open(os.path.join(folder, name), 'wb') as f:
            f.write(data)
    return folder


def stub_run(folder, steps=(0, 20)):
    """A run with the StubSaver: saves at ``steps``, then finish() (by default, over a
    finished model at step 0, a rerun whose step 0 collides with it)."""
    with checkpoints.TrainingRun(folder, NAME) as run:
        for step in steps:
            run.save(StubSaver(), None, step)
        run.finish()


@posix
def test_a_power_cut_at_any_point_of_a_run_leaves_a_complete_model(tmp_path, monkeypatch):
    """A rerun over a finished model (step 0, so the rerun's step 0 collides with it):
    saves at steps 0 and 20, then finish(). At every cut point and every surviving
    prefix of folder operations, the index names a complete model: the finished
    one, or step 20 once finish()'s commit is on the disk; never step 0, never an
    empty file.
    Caught: write_index without the fsyncs of the listed files (the new model's data
    is empty after the cut, and the old one is deleted), and finish() deleting the
    old model before the folder fsync after its index rename."""
    folder = str(tmp_path / 'ckpt')
    os.makedirs(folder)
    finished_model(folder, 0, 'old')
    journal = Journal(folder, monkeypatch)
    with contextlib.redirect_stderr(io.StringIO()):
        stub_run(folder)
    monkeypatch.undo()
    states = journal.states()
    seen = set()
    for n, files in enumerate(states):
        cut = build(str(tmp_path / f'cut{n}'), files)
        current, listed = checkpoints.read_index(cut)
        assert current is not None, (sorted(files), journal.events)
        model = content(cut, current)
        assert len(set(model.values())) == 1, model  # all three parts from one save
        seen.add(model['.index'])
        assert model['.index'] in ('old', 'step20'), (current, model, sorted(files))
    assert seen == {'old', 'step20'}, seen  # the simulation reached both sides of the commit
    assert len(states) > 10


@posix
def test_a_power_cut_during_a_real_rerun_leaves_a_model_eval_restores(tmp_path, monkeypatch,
                                                                      finished):
    """The same simulation around a real classifier rerun (TensorFlow writes its files
    in C++, so the folder is recorded at each of the run's own operations, the finer
    ones of TF's between them fold into the next): at every cut point --eval restores
    a complete model and gives the accuracy the finished run reported, or the rerun's
    once its finish() commit is on the disk."""
    ckpt = copy_of(finished, tmp_path)
    journal = Journal(ckpt, monkeypatch)
    rerun = quiet(clf.main, [*SMALL, '--batch-size', '16', '--training-iters', '960',
                             '--seed', '7', '--ckpt-dir', str(ckpt),
                             '--logdir', str(tmp_path / 'logs')])
    monkeypatch.undo()
    seen = set()
    for n, files in enumerate(journal.states()):
        cut = build(str(tmp_path / f'cut{n}'), files)
        accuracy = evaluate(cut)
        assert accuracy in (finished.accuracy, rerun['test_accuracy']), sorted(files)
        seen.add(accuracy)
    assert seen == {finished.accuracy, rerun['test_accuracy']}


def test_each_file_is_fsynced_before_the_index_rename_and_the_folder_after(tmp_path,
                                                                            monkeypatch):
    """The order of a rerun's operations (in-process twin of the strace test): before
    each rename onto the index, every file of every checkpoint it lists was fsynced
    after it was written, then the folder; after the rename the folder is fsynced
    before any file is removed."""
    folder = str(tmp_path / 'ckpt')
    os.makedirs(folder)
    finished_model(folder, 5, 'old')
    journal = Journal(folder, monkeypatch)
    with contextlib.redirect_stderr(io.StringIO()):
        stub_run(folder, steps=(7, 9))
    monkeypatch.undo()
    ev = journal.events
    commits = [i for i, (op, name) in enumerate(ev) if op == 'replace' and name == 'checkpoint']
    assert len(commits) == 4  # the run's start, two saves, finish
    listed = [[f'{NAME}-5'], [f'{NAME}-5', f'{NAME}-7'], [f'{NAME}-5', f'{NAME}-9'],
              [f'{NAME}-9']]
    previous = 0
    for at, names in zip(commits, listed):
        before = ev[previous:at]
        for prefix in names:
            for part in PARTS:
                assert ('fsync', prefix + part) in before, (prefix + part, before)
        last_file_sync = max(i for i, e in enumerate(before) if e[0] == 'fsync'
                             and e[1].startswith(NAME))
        assert ('fsync-folder', '.') in before[last_file_sync:], before
        after = ev[at + 1:]
        removes = [i for i, e in enumerate(after) if e[0] == 'remove']
        first_remove = removes[0] if removes else len(after)
        assert ('fsync-folder', '.') in after[:first_remove], after
        previous = at + 1
    # the old model is deleted only after finish()'s commit
    old_removes = [i for i, e in enumerate(ev) if e[0] == 'remove' and e[1].startswith(f'{NAME}-5')]
    assert old_removes and min(old_removes) > commits[-1]


@pytest.mark.parametrize('start', ['finished', 'fresh'])
@pytest.mark.parametrize('op', ['fsync', 'replace', 'link', 'remove', 'listdir', 'open'])
def test_a_failing_disk_call_at_any_point_keeps_a_model(op, start, tmp_path, monkeypatch):
    """The n-th call of ``op`` fails with EIO, for every n a run makes, over a finished
    model or in a fresh folder: the run ends with a one-line UserError or completes (a
    failed clean-up is a warning). Then the folder holds a complete model: the finished
    one, or the run's once its finish() committed; and the checkpoint the error line
    says is kept is the one --eval restores. In-process twin of the strace injection."""
    if op == 'link' and start == 'fresh':
        pytest.skip('a run in a fresh folder links nothing (no kept model to rename)')
    import builtins
    module = builtins if op == 'open' else os
    real = getattr(module, op)
    calls = {'n': 0, 'fail_at': None}

    def failing(*args, **kwargs):
        calls['n'] += 1
        if calls['n'] == calls['fail_at']:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(*args, **kwargs)

    def folder_at(name):
        folder = tmp_path / name
        os.makedirs(folder)
        if start == 'finished':
            finished_model(str(folder), 0, 'old')
        return str(folder)
    monkeypatch.setattr(module, op, failing)
    folder = folder_at('count')
    calls['n'] = 0
    with contextlib.redirect_stderr(io.StringIO()):
        stub_run(folder)
    total = calls['n']
    assert total > 0
    outcomes = set()
    for n in range(1, total + 1):
        folder = folder_at(f'at{n}')
        calls['n'], calls['fail_at'] = 0, n
        kept = None
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                stub_run(folder)
            outcomes.add('completed')
        except UserError as e:
            assert '\n' not in str(e)
            outcomes.add('refused')
            kept = re.search(r'the best checkpoint so far is kept: (\S+)$', str(e))
        calls['fail_at'] = None
        with contextlib.redirect_stderr(io.StringIO()):
            with checkpoints.reading(folder) as path:
                if path is None:  # only where no save ever committed
                    assert start == 'fresh' and (kept is None or kept.group(1) == 'none'), n
                    continue
                model = content(folder, os.path.basename(path))
        assert len(set(model.values())) == 1 and model['.index'] in (
            'old', 'step20', 'step0' if start == 'fresh' else 'old'), (n, model)
        if kept and start == 'fresh':
            assert kept.group(1) == path, (n, str(kept.group(0)))
    assert 'refused' in outcomes or op in ('link', 'remove'), outcomes


@needs_strace
@posix
def test_a_real_eio_at_every_fsync_of_a_rerun_keeps_a_model(tmp_path, finished):
    """strace makes the n-th fsync of a real one-save rerun fail with EIO, for every n
    the rerun makes (29; about 3 minutes on 2 busy cores): it exits 1 with one line, never a
    traceback, and --eval then gives the finished run's accuracy or, if the rerun
    committed, the rerun's. (Other calls, at every count: the in-process twin.)"""
    call = 'fsync'
    def rerun(ckpt, inject=None):
        fault = [STRACE, '-f', '-qq', '-o', os.devnull, '-e', f'trace={call}', '-e',
                 f'inject={call}:error=EIO:when={inject}'] if inject else []
        return subprocess.run(
            [*fault, sys.executable, CLF, *SMALL, '--batch-size', '16', '--training-iters',
             '16', '--seed', '7', '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'l')],
            capture_output=True, text=True, timeout=300, preexec_fn=signals_as_from_a_terminal)
    ckpt = copy_of(finished, tmp_path / 'reference')
    log = tmp_path / 'calls.log'
    proc = subprocess.run([STRACE, '-f', '-qq', '-o', str(log), '-e', f'trace={call}',
                           sys.executable, CLF, *SMALL, '--batch-size', '16',
                           '--training-iters', '16', '--seed', '7', '--ckpt-dir', str(ckpt),
                           '--logdir', str(tmp_path / 'l')], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    reference = float(re.search(r'test accuracy: ([\d.]+)', proc.stdout).group(1))
    total = sum(1 for line in log.read_text().splitlines() if f'{call}(' in line)
    assert total > 5
    statuses = set()
    for n in range(1, total + 1):
        ckpt = copy_of(finished, tmp_path / f'at{n}')
        proc = rerun(ckpt, n)
        assert proc.returncode in (0, 1) and 'Traceback' not in proc.stderr, (n, proc.stderr)
        if proc.returncode == 1:
            one_line(proc.stderr)
        statuses.add(proc.returncode)
        assert evaluate(ckpt) in (finished.accuracy, reference), (n, proc.stderr)
    assert 1 in statuses


@needs_strace
@posix
def test_a_real_training_run_fsyncs_in_order_under_strace(tmp_path, finished):
    """The same order, from the system calls of a real classifier rerun (TensorFlow
    writes the files itself, without fsync)."""
    ckpt = copy_of(finished, tmp_path)
    log = tmp_path / 'strace.log'
    proc = subprocess.run(
        [STRACE, '-f', '-y', '-qq', '-o', str(log), '-e',
         'trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat',
         sys.executable, CLF, *SMALL, '--batch-size', '16', '--training-iters', '960',
         '--seed', '7', '--ckpt-dir', str(ckpt), '--logdir', str(tmp_path / 'logs')],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    saved = [int(l.split()[1].split('/')[0]) for l in proc.stdout.splitlines()
             if l.startswith('step') and l.endswith('saved')]
    assert saved
    d = re.escape(str(ckpt))
    events = []
    for line in log.read_text().splitlines():
        m = re.search(r'\b(fsync|fdatasync)\(\d+<([^>]*)>\) = 0', line)
        if m:
            events.append(('fsync', m.group(2)))
            continue
        m = re.search(r'\brename(?:at2?)?\((?:[^,]*, )?"([^"]*)", (?:[^,]*, )?"([^"]*)"'
                      r'(?:, \w+)?\) = 0', line)
        if m:
            events.append(('rename', m.group(2)))
            continue
        m = re.search(r'\bunlink(?:at)?\((?:[^,]*, )?"([^"]*)"', line)
        if m and '= 0' in line:
            events.append(('unlink', m.group(1)))
    index = str(ckpt / 'checkpoint')
    commits = [i for i, e in enumerate(events) if e == ('rename', index)]
    for step in saved:
        paths = [str(ckpt / f'{clf.CKPT_NAME}-{step}{part}') for part in PARTS]
        written = max(i for i, e in enumerate(events) if e[0] == 'rename' and e[1] in paths)
        at = next(i for i in commits if i > written)  # the commit that lists the save
        for path in paths:
            assert ('fsync', path) in events[written:at], f'{path} not fsynced before {index}'
        last = max(i for i in range(written, at) if events[i][0] == 'fsync' and events[i][1] in paths)
        assert ('fsync', str(ckpt)) in events[last:at], 'no folder fsync before the index rename'
    for at in commits:
        rest = events[at + 1:]
        first_unlink = next((i for i, e in enumerate(rest) if e[0] == 'unlink'
                             and re.match(d + '/' + re.escape(clf.CKPT_NAME), e[1])), len(rest))
        assert ('fsync', str(ckpt)) in rest[:first_unlink], 'no folder fsync after the rename'
    # the finished model (renamed out of the way if the rerun saved its step) is
    # deleted only after finish()'s commit
    kept = finished.name + checkpoints.PREVIOUS if finished.name in \
        [f'{clf.CKPT_NAME}-{s}' for s in saved] else finished.name
    old = [i for i, e in enumerate(events) if e[0] == 'unlink'
           and os.path.basename(e[1]).startswith(kept + '.')]
    assert old and min(old) > commits[-1]


# ------------------------------------------------------------ 3. the regressor's outputs as one set

# kill points in a second run's switch, and what it leaves: fsync#1-#3 the files,
# fsync#4 the new folder, symlink#1 the link's temporary name, replace#1 the switch,
# fsync#5 the plot folder, rmtree#1 the first run's folder
REG_POINTS = [('fsync#1', 1), ('fsync#4', 1), ('symlink#1', 2), ('replace#1', 1),
              ('fsync#5', 1), ('rmtree#1', 0)]


def reg_run(tmp_path, plots, seed, fault='count'):
    return subprocess.run([sys.executable, FAULT, REG, fault, '--iterations', '3',
                           '--plot', 'file', '--seed', str(seed), '--logdir',
                           str(tmp_path / 'logs'), '--plot-dir', str(plots)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          preexec_fn=signals_as_from_a_terminal)


def output_set(plots):
    return {n: hashlib.sha256(open(os.path.join(plots, n), 'rb').read()).hexdigest()
            for n in reg.output_names(True)}


@pytest.fixture(scope='module')
def two_sets(tmp_path_factory):
    """The PNG, GIF and CSV of a run with seed 1 and of one with seed 2 (each alone)."""
    sets = {}
    for seed in (1, 2):
        tmp_path = tmp_path_factory.mktemp(f'set{seed}')
        proc = reg_run(tmp_path, tmp_path / 'plots', seed)
        assert proc.returncode == 0, proc.stderr
        sets[seed] = output_set(tmp_path / 'plots')
    assert sets[1] != sets[2]
    return sets


@posix
@pytest.mark.parametrize('point, left', REG_POINTS)
def test_kill_9_between_the_regressors_writes_leaves_one_set(point, left, tmp_path, two_sets):
    """kill -9 right after one file operation of a second run's output switch: the
    PNG, GIF and CSV are all the first run's or all the second's; the next run
    removes what the killed one left, with one note line.
    Caught: one rename per file (a kill between them mixed the two runs)."""
    plots = tmp_path / 'plots'
    assert reg_run(tmp_path, plots, 1).returncode == 0
    proc = reg_run(tmp_path, plots, 2, f'kill-after={point}')
    assert proc.returncode == -signal.SIGKILL, f'{point} never happened: {proc.stderr}'
    assert output_set(plots) in (two_sets[1], two_sets[2])
    proc = reg_run(tmp_path, plots, 2)
    assert proc.returncode == 0, proc.stderr
    notes = [l for l in proc.stderr.splitlines() if l.startswith('note: ')]
    assert notes == ([f'note: removed {left} temporary file(s) or folder(s) that an '
                      f'interrupted run left in {plots}'] if left else []), proc.stderr
    assert output_set(plots) == two_sets[2]
    linked = {os.path.realpath(os.path.join(plots, n)) for n in reg.output_names(True)}
    assert {os.path.dirname(p) for p in linked} == {os.path.realpath(plots / '.sin_cos_outputs')}
    assert sorted(n for n in os.listdir(plots) if n.startswith('.sin_cos_outputs')) == \
        ['.sin_cos_outputs', os.readlink(plots / '.sin_cos_outputs')]


@posix
# ------------------------------------------------------------ 4. one line, never a traceback

def test_a_failed_cleanup_after_the_commit_is_a_warning(tmp_path, capsys, monkeypatch):
    """os.listdir failing (EMFILE) while finish() deletes the previous model: the new
    model stands, one warning line, no exception (the script prints its result).
    Caught: the clean-up's OSError escaping finish() (exit 1 and a traceback)."""
    folder = str(tmp_path)
    finished_model(folder, 5)
    with checkpoints.TrainingRun(folder, NAME) as run:
        run.save(StubSaver(), None, 9)
        real = os.listdir

        def listdir(path='.'):  # out of descriptors once the commit is made
            committed = f'"{NAME}-9"' in open(os.path.join(folder, 'checkpoint')).readline()
            if committed and os.path.realpath(path) == os.path.realpath(folder):
                raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
            return real(path)
        capsys.readouterr()
        monkeypatch.setattr(os, 'listdir', listdir)
        run.finish()
        monkeypatch.undo()
    assert one_line(capsys.readouterr().err, 'warning: ') == (
        f'warning: could not remove the unlisted checkpoint {folder}/{NAME}-5 (Too many '
        f'open files); the next training run in {folder} removes it')
    with checkpoints.reading(folder) as path:
        assert path == os.path.join(folder, f'{NAME}-9')


def test_a_read_error_at_the_final_restore_is_one_line(tmp_path, capsys, monkeypatch):
    """The end of training reads the best checkpoint back: an I/O error there is one
    line that names the checkpoint and what the folder still holds."""
    from tf1_compat.v1 import tf

    def restore(self, sess, path):
        raise tf.errors.DataLossError(None, None, 'Input/output error')
    monkeypatch.setattr(tf.train.Saver, 'restore', restore)
    ckpt = tmp_path / 'ckpt'
    err = fails(clf.main, ['--training-iters', '1280', *SMALL, '--ckpt-dir', str(ckpt),
                           '--logdir', str(tmp_path / 'logs')], capsys)
    assert re.fullmatch(f'error: cannot read back {re.escape(str(ckpt))}/{clf.CKPT_NAME}-'
                        r'\d+ \(Input/output error\): check the disk; best checkpoint kept: '
                        f'{re.escape(str(ckpt))}/{clf.CKPT_NAME}-' r'\d+', err), err


def test_unencodable_output_is_printed_escaped(tmp_path):
    """PYTHONIOENCODING=cp1252 (Windows with stdout to a file) and a non-ASCII
    --logdir: the result line is printed with the name escaped, exit 0."""
    logs = tmp_path / 'logs-日本'
    proc = subprocess.run([sys.executable, REG, '--iterations', '3', '--plot', 'file',
                           '--logdir', str(logs)], capture_output=True, timeout=300,
                          env={**os.environ, 'PYTHONIOENCODING': 'cp1252'})
    assert proc.returncode == 0, proc.stderr.decode('cp1252', 'replace')
    assert b'logs-\\u65e5\\u672c' in proc.stdout and b'Traceback' not in proc.stderr
    assert (logs / 'cost_history.csv').exists()


def test_metrics_json_into_a_new_folder_is_made(tmp_path):
    """--metrics-json results/run1.json, results/ not there yet: made like the other
    output folders (it used to fail after the whole run)."""
    target = tmp_path / 'results' / 'run1.json'
    quiet(reg.main, ['--iterations', '3', '--plot', 'none', '--logdir', str(tmp_path / 'l'),
                     '--metrics-json', str(target)])
    import json
    assert json.loads(target.read_text())['iterations'] == 3


def test_messages_name_the_right_path_and_reason(tmp_path, capsys):
    """A failed write of .lock.pid names .lock.pid; a symbolic link loop as --ckpt-dir
    says so (not 'File exists'); a name the locale cannot encode says that."""
    folder = tmp_path / 'ckpt'
    folder.mkdir()
    (folder / checkpoints.OWNER).mkdir()  # .lock.pid cannot be replaced by a file
    with pytest.raises(UserError, match=re.escape(f'cannot write {folder}/.lock.pid (')):
        with checkpoints.TrainingRun(str(folder), NAME):
            pass
    loop = tmp_path / 'loop'
    os.symlink(loop, loop)
    err = fails(clf.main, [*SMALL, '--ckpt-dir', str(loop), '--logdir', str(tmp_path / 'l')],
                capsys)
    assert err == (f'error: --ckpt-dir {loop} is a symbolic link that leads nowhere (Too many '
                   f'levels of symbolic links): fix or remove the link, or pass another --ckpt-dir')
    err = fails(clf.main, ['--eval', *SMALL, '--ckpt-dir', 'ckpt\udcc3\udca9'], capsys)
    assert err.startswith("error: --ckpt-dir 'ckpt\\udcc3\\udca9' cannot be encoded in this "
                          "locale"), err


# ------------------------------------------------------------ 5. a stopped process holding a lock

@posix
@pytest.mark.parametrize('where', ['save', 'finish'])
def test_sigterm_stops_a_run_waiting_for_a_stopped_eval(where, tmp_path):
    """A --eval stopped with Ctrl-Z while it holds the save lock: a training run that
    must save (or finish) waits, but SIGTERM still stops it within a second.
    Caught: save() and finish() taking the lock with a plain blocking `with`."""
    folder = tmp_path / 'ckpt'
    folder.mkdir()
    script = (
        'import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]\n'
        'from test_durability import StubSaver, NAME\n'
        'from run_safety import checkpoints\n'
        'from run_safety.cli import command_line\n'
        'with command_line():\n'
        '    with checkpoints.TrainingRun(sys.argv[2], NAME) as run:\n'
        '        if sys.argv[3] == "finish": run.save(StubSaver(), None, 1)\n'
        '        print("ready", flush=True); sys.stdin.readline()\n'
        '        print("waiting", flush=True)\n'
        '        run.save(StubSaver(), None, 2) if sys.argv[3] == "save" else run.finish()\n')
    run = subprocess.Popen([sys.executable, '-c', script, ROOT, str(folder), where],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           preexec_fn=signals_as_from_a_terminal)
    holder = None
    try:
        assert run.stdout.readline() == 'ready\n', run.stderr.read()
        holder = subprocess.Popen(
            [sys.executable, '-c', 'import filelock, os, signal, sys\n'
             f'lock = filelock.FileLock({str(folder / checkpoints.SAVE_LOCK)!r}); lock.acquire()\n'
             'print("held", flush=True); os.kill(os.getpid(), signal.SIGSTOP)'],
            stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline() == 'held\n'
        run.stdin.write('\n')
        run.stdin.flush()
        assert run.stdout.readline() == 'waiting\n'
        sent = time.monotonic()
        run.send_signal(signal.SIGTERM)
        status = run.wait(timeout=10)
        took = time.monotonic() - sent
    finally:
        for p in (run, holder):
            if p is not None:
                p.kill()
                p.wait()
    assert status == 128 + signal.SIGTERM, run.stderr.read()
    assert took < 2  # the wait checks for a signal every 0.2 s


@posix
def test_a_name_the_c_locale_cannot_encode_is_said_so(tmp_path, finished):
    """LC_ALL=C without Python's UTF-8 mode and a non-ASCII --ckpt-dir holding a healthy
    checkpoint: --eval says the locale is the problem (it said 'unreadable or corrupt:
    retrain it'); under a UTF-8 locale the same folder restores."""
    ckpt = tmp_path / 'ckpt é'
    shutil.copytree(finished.dir, ckpt)
    env = {**os.environ, 'LC_ALL': 'C', 'PYTHONUTF8': '0', 'PYTHONCOERCECLOCALE': '0'}
    proc = subprocess.run([sys.executable, CLF, '--eval', *SMALL, '--ckpt-dir', 'ckpt é'],
                          capture_output=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 1
    assert one_line(proc.stderr.decode('ascii', 'backslashreplace')) == (
        "error: --ckpt-dir 'ckpt \\udcc3\\udca9' cannot be encoded in this locale (ascii): use "
        "a UTF-8 locale (e.g. LC_ALL=C.UTF-8, or PYTHONUTF8=1) or an ASCII name")
    assert evaluate(ckpt) == finished.accuracy

"""The checkpoint folder (ckptRNN/) kept the way a database keeps its files.

TF 1.x's ``Saver(max_to_keep=1).save`` writes the new checkpoint, rewrites the
``checkpoint`` index and deletes the older checkpoint by glob, one file operation
after another and with no lock: two runs in one folder delete each other's files, a
kill at the wrong moment leaves an index naming half a checkpoint, a rerun saving
step 0 over an old step 0 tears it, and a glob character in the folder's name reaches
other folders. This module does that bookkeeping instead (the Saver still writes the
checkpoint files themselves):

* one training run per folder: an exclusive lock (the filelock package), held for
  the run's life and released by the operating system if the process dies;
* the ``checkpoint`` file is the commit record: a checkpoint is listed in it only
  once all its files are complete, files are deleted only after they are unlisted,
  and the file itself is replaced atomically (temporary name, then rename);
* the model that ``--eval`` uses (``model_checkpoint_path``) changes only when a run
  finishes, or when the folder had none: an interrupted or failed run never replaces
  a finished run's model, and no file of that model is ever overwritten;
* commits are durable, as SQLite and PostgreSQL make theirs: every file of a
  checkpoint and the folder are fsynced before the index that lists them is renamed
  into place, the folder again after; only then is the previous model deleted. TF's
  Saver fsyncs nothing, so without this a power cut could leave an index naming data
  that never reached the disk, and the old model already deleted;
* a new run removes what a killed run left (temporary files, unlisted checkpoints):
  the lock guarantees no live run owns them;
* an index that cannot be read (EIO, EACCES) stops the run and changes nothing; one
  that reads fine but is empty or garbage lists nothing, and the model files it may
  have listed are moved aside into ``orphaned-<time>/``, never deleted.

The ``checkpoint`` file keeps TF's text format (the CheckpointState protocol buffer),
and is read with TF's own parser, so any index TensorFlow writes or reads is accepted
here, and ``tf.train.latest_checkpoint`` and TensorBoard read the folder as before.
"""
import contextlib
import importlib.util
import os
import re
import shutil
import sys
import time

import filelock

from run_safety.cli import (UserError, acquire, atomic_output, fsync_folder, fsync_path,
                            held, reason_of, warn, write_failed)

INDEX = 'checkpoint'
RUN_LOCK = '.lock'  # held by the training run for its whole life
OWNER = '.lock.pid'  # the pid of the run holding RUN_LOCK, for the error message
SAVE_LOCK = '.save.lock'  # held while the folder changes, and by --eval while it restores
PREVIOUS = '-previous'  # a kept model renamed out of the way of this run's save
ORPHANED = 'orphaned-'  # <folder>/orphaned-<time>/: model files a garbage index left unlisted


class UnreadableIndex(UserError):
    """The index exists but reading it failed (EIO, EACCES, ...): the folder's state is
    unknown, so the run stops and nothing in the folder is changed."""


def _checkpoint_state():
    """TensorFlow's CheckpointState message class (checkpoint_state_pb2). It needs only
    protobuf, so when TensorFlow is not imported yet (the fast in-process tests) the
    generated module is loaded from TF's package by its file, under its own name: a later
    `import tensorflow` finds it in sys.modules and uses the same class."""
    name = 'tensorflow.python.training.checkpoint_state_pb2'
    if name not in sys.modules:
        if 'tensorflow' in sys.modules:
            importlib.import_module(name)
        else:
            package = importlib.util.find_spec('tensorflow').submodule_search_locations[0]
            spec = importlib.util.spec_from_file_location(name, os.path.join(
                package, 'python', 'training', 'checkpoint_state_pb2.py'))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module
    return sys.modules[name].CheckpointState


def checkpoint_files(folder, prefix):
    """The names of the files that make up checkpoint ``prefix`` (a basename)."""
    return [n for n in os.listdir(folder)
            if n in (prefix + '.index', prefix + '.meta') or n.startswith(prefix + '.data-')]


def read_index(folder):
    """(current, listed) checkpoint basenames from ``folder``/checkpoint, keeping only
    complete checkpoints; (None, []) if there is no index file.

    An index that reads fine but is empty or not TF's CheckpointState text gives
    (None, None): no checkpoint. One that cannot be read raises UnreadableIndex: a
    read error is not an empty index, and nothing may be deleted on its account."""
    from google.protobuf import text_format
    path = os.path.join(folder, INDEX)
    try:
        with open(path, 'rb') as f:
            text = f.read()
        names = os.listdir(folder)
    except FileNotFoundError:
        return None, []
    except OSError as e:
        raise UnreadableIndex(
            f'cannot read {path} ({reason_of(e)}): nothing in {folder} was changed; '
            f'fix the disk or the permissions and run again, or pass another --ckpt-dir'
        ) from None
    state = _checkpoint_state()()
    try:
        text_format.Parse(text.decode('utf-8'), state)
    except (UnicodeDecodeError, text_format.ParseError):
        return None, None  # garbage: None, not [], so callers can say so

    def complete(prefix):
        return prefix + '.index' in names and any(n.startswith(prefix + '.data-') for n in names)

    # TF writes paths relative to the folder, absolute, or as given by the caller
    # ('./ckptRNN/...'); only checkpoints inside the folder count.
    def base(value):
        return re.split(r'[\\/]', value)[-1]
    if not state.model_checkpoint_path:
        return None, None  # empty (TF too says "invalid checkpoint state")
    current = base(state.model_checkpoint_path)
    listed = []
    for value in state.all_model_checkpoint_paths:
        if base(value) not in listed:
            listed.append(base(value))
    listed = [n for n in listed if complete(n)]
    if not complete(current):
        current = listed[-1] if listed else None
    if current is not None and current not in listed:
        listed.append(current)
    return current, listed


def write_index(folder, current, listed):
    """Replace ``folder``/checkpoint atomically and durably, in TF's CheckpointState
    text format (no checkpoint: no index file, as TF leaves a fresh folder).

    This is the commit: every file of every listed checkpoint, and the folder (their
    names), are fsynced before the rename, so after a power cut the index never names
    data that is not on the disk; the folder is fsynced after the rename, so the
    commit itself survives before anything older is deleted."""
    path = os.path.join(folder, INDEX)
    if current is None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        fsync_folder(folder)
        return
    for prefix in listed:
        for n in checkpoint_files(folder, prefix):
            fsync_path(os.path.join(folder, n))
    fsync_folder(folder)
    lines = [f'model_checkpoint_path: "{current}"']
    lines += [f'all_model_checkpoint_paths: "{n}"' for n in listed]
    with atomic_output(path) as f:  # written, fsynced, renamed, the folder fsynced
        f.write(''.join(line + '\n' for line in lines))


@contextlib.contextmanager
def reading(folder, timeout=120):
    """The current checkpoint's path (or None), held steady while the block restores
    it: a training run in the same folder waits for the block, and the block waits
    for a save in progress. For --eval; it never changes the folder."""
    if not os.path.isdir(folder):
        yield None
        return
    lock = filelock.FileLock(os.path.join(folder, SAVE_LOCK))
    try:
        acquire(lock, timeout)
    except filelock.Timeout:
        raise UserError(f'{folder} stayed busy for {timeout} s (a save that does not '
                        f'finish?): try again, or pass another --ckpt-dir') from None
    except OSError:  # a read-only folder: nobody can be saving into it
        lock = None
    try:
        current, listed = read_index(folder)
        if listed is None:
            raise UserError(f'no checkpoint in {folder}: its checkpoint file is empty or '
                            f'not a checkpoint index; train again (run without --eval) or '
                            f'pass another --ckpt-dir')
        yield None if current is None else os.path.join(folder, current)
    finally:
        if lock is not None:
            lock.release()


def _in_use(folder, flag):
    try:
        with open(os.path.join(folder, OWNER)) as f:
            owner = f'pid {int(f.read())}'
    except (OSError, ValueError):
        owner = 'pid unknown'
    return UserError(f'{folder} is in use by another run ({owner}): wait for it '
                     f'or pass another {flag}')


def check_not_in_use(folder, flag='--ckpt-dir'):
    """Refuse at once a folder another training run holds, before the slow start
    (TensorFlow and MNIST take seconds to load); TrainingRun checks again for real.
    Creates nothing: a folder without a lock file has no run."""
    path = os.path.join(folder, RUN_LOCK)
    if not os.path.isfile(path):
        return
    lock = filelock.FileLock(path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise _in_use(folder, flag) from None
    except OSError:
        return  # not ours to judge here: TrainingRun says why it cannot lock
    lock.release()


class TrainingRun:
    """One training run's hold on its checkpoint folder (see the module's text).

    ``with TrainingRun(folder, name) as run:`` locks the folder and cleans it;
    ``run.save(saver, sess, step)`` replaces this run's previous best by a new one;
    ``run.finish()`` makes this run's best the folder's model and deletes the rest.
    """

    def __init__(self, folder, name, flag='--ckpt-dir'):
        self.folder, self.name, self.flag = folder, name, flag
        self.kept = None  # the model in the folder when the run started, kept until finish()
        self.best = None  # this run's best checkpoint so far (a basename)
        self._lock = filelock.FileLock(os.path.join(folder, RUN_LOCK))
        self._save_lock = filelock.FileLock(os.path.join(folder, SAVE_LOCK))

    def path(self, prefix):
        return None if prefix is None else os.path.join(self.folder, prefix)

    def __enter__(self):
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            raise _in_use(self.folder, self.flag) from None
        except OSError as e:
            raise write_failed(os.path.join(self.folder, RUN_LOCK), e, self.flag) from None
        target = os.path.join(self.folder, OWNER)  # what a failure names
        try:
            with atomic_output(target) as f:
                f.write(str(os.getpid()))
            with held(self._save_lock):
                target = os.path.join(self.folder, INDEX)
                self.kept, listed = read_index(self.folder)  # UnreadableIndex: stop here
                if listed is None:
                    target = self.folder
                    self._set_aside()
                # Only the model --eval uses survives a run that did not finish.
                keep = [self.kept] if self.kept else []
                target = os.path.join(self.folder, INDEX)
                write_index(self.folder, self.kept, keep)
                target = self.folder
                self._clean(keep)
        except OSError as e:
            self._lock.release()
            raise write_failed(target, e, self.flag) from None
        except BaseException:
            self._lock.release()
            raise
        return self

    def _set_aside(self):
        """The index reads fine but is empty or garbage: it lists nothing, so the model
        files here may be a finished model that it no longer names. Move them and the
        index into orphaned-<time>/ (never delete what could not be read as a model)."""
        entries = [n for n in os.listdir(self.folder) if n.startswith(self.name) or n == INDEX]
        stamp = time.strftime('%Y%m%d-%H%M%S')
        for n in range(100):
            aside = os.path.join(self.folder, f'{ORPHANED}{stamp}' + (f'-{n}' if n else ''))
            try:
                os.mkdir(aside)
                break
            except FileExistsError:
                continue
        for entry in entries:
            os.rename(os.path.join(self.folder, entry), os.path.join(aside, entry))
        fsync_folder(aside)
        fsync_folder(self.folder)
        warn(f'{self.path(INDEX)} is empty or not a checkpoint index: treated as no '
             f'checkpoint; it and {len(entries) - 1} model file(s) were moved into '
             f'{aside} (nothing was deleted)')

    def __exit__(self, *exc):
        self._lock.release()

    def _clean(self, keep):
        """Remove what a killed run left: TF's temporary files and folders, temporary
        index files, and checkpoints the index does not list (``keep``). Nothing
        else in the folder is touched."""
        own = set()
        for prefix in keep:
            own.update(checkpoint_files(self.folder, prefix))
        removed = 0
        for entry in os.listdir(self.folder):
            ours = entry.startswith(self.name) or entry.startswith(INDEX + '.tmp') or (
                entry.startswith('.' + INDEX) and entry.endswith('.tmp'))
            if not ours or entry in own:
                continue
            path = os.path.join(self.folder, entry)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
            removed += 1
        if removed:
            print(f'note: removed {removed} file(s) that an interrupted run left in '
                  f'{self.folder}', file=sys.stderr)

    def _delete(self, prefix):
        """Delete the files of an unlisted checkpoint. It runs after a commit, which
        stands whatever happens here: a failure (even os.listdir's, out of file
        descriptors) only leaves an orphan, which the next run removes, and is said
        as one warning line."""
        try:
            for n in checkpoint_files(self.folder, prefix):
                os.remove(os.path.join(self.folder, n))
        except OSError as e:
            warn(f'could not remove the unlisted checkpoint {self.path(prefix)} '
                 f'({reason_of(e)}); the next training run in {self.folder} removes it')

    def _remove_save(self, prefix):
        """Remove everything a (failed) save of ``prefix`` wrote: its files and TF's
        temporary files and folders for it (``<prefix>_temp*``, and every
        ``<prefix>.*``: the data and index files, their ``.tempstate<N>`` temporaries,
        and the ``.meta.tmp<hex>`` that a failed meta graph write leaves)."""
        with contextlib.suppress(OSError):  # what stays is removed by the next run
            for n in os.listdir(self.folder):
                if n.startswith(prefix + '.') or n.startswith(prefix + '_temp'):
                    path = os.path.join(self.folder, n)
                    with contextlib.suppress(OSError):
                        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)

    def save(self, saver, sess, step):
        """``saver.save(sess, <folder>/<name>, global_step=step)`` as a transaction:
        write the new checkpoint, list it, then unlist and delete this run's previous
        best (the Saver's max_to_keep=1). Returns the new checkpoint's path."""
        new = f'{self.name}-{step}'
        with held(self._save_lock):  # a signal still stops a wait on a stopped --eval
            if new == self.kept:
                # The kept model has this very name (a rerun saving the same step):
                # give it another name first, so no file of it is ever overwritten.
                moved = self.kept + PREVIOUS
                try:
                    for n in checkpoint_files(self.folder, self.kept):
                        src = os.path.join(self.folder, n)
                        dst = os.path.join(self.folder, moved + n[len(self.kept):])
                        try:
                            os.link(src, dst)
                        except OSError:
                            shutil.copy2(src, dst)
                    write_index(self.folder, moved, [moved])
                except Exception as e:
                    if self._listed(moved):  # renamed in (see below): it is the kept model
                        self.kept = moved
                    else:
                        self._remove_save(moved)
                    raise self._save_failed(new, e) from None
                self._delete(self.kept)
                self.kept = moved
            try:
                saver.save(sess, os.path.join(self.folder, self.name), global_step=step,
                           write_state=False)
                write_index(self.folder, self.kept or new, [n for n in (self.kept, new) if n])
            except BaseException as e:
                if self._listed(new):
                    # It failed after the index rename (at the folder's fsync): the save
                    # is complete and listed, so it stays (never delete what the index
                    # names); the previous best stays too, unlisted, for the next run.
                    self.best = new
                else:
                    self._remove_save(new)  # nothing of the failed save stays
                if isinstance(e, Exception):
                    raise self._save_failed(new, e) from None
                raise
            if self.best is not None:
                self._delete(self.best)
            self.best = new
        return self.path(new)

    def _listed(self, prefix):
        """Whether the index text names ``prefix`` (True when it cannot be read: then
        nothing is deleted)."""
        try:
            with open(self.path(INDEX), encoding='utf-8', errors='replace') as f:
                return f'"{prefix}"' in f.read()
        except FileNotFoundError:
            return False
        except OSError:
            return True

    def _save_failed(self, prefix, error):
        best = self.path(self.best) or self.path(self.kept) or 'none'
        return write_failed(self.path(prefix), error, self.flag,
                            f'; the best checkpoint so far is kept: {best}')

    def finish(self):
        """The run is complete: its best becomes the folder's model (what --eval uses)
        and, once that commit is on the disk, the model kept from before is deleted."""
        if self.best is None:
            return
        with held(self._save_lock):
            try:
                write_index(self.folder, self.best, [self.best])
            except OSError as e:
                raise write_failed(os.path.join(self.folder, INDEX), e, self.flag) from None
            if self.kept is not None:
                self._delete(self.kept)
            self.kept = None

"""A set of output files (the regressor's PNG, GIF and CSV) replaced as one, in one
rename, as a deployment switches a ``current`` link.

Three renames, one per file, leave a mixed set after a kill -9 or a power cut between
them. Instead each run writes its files into a fresh hidden folder
``.<set>-<time>-<pid>/``, fsyncs them and the folder, and then renames one symbolic
link, ``.<set>``, to point at it: that rename is the switch, all or nothing. The
paths users know stay: ``<folder>/sin_cos_fit.png`` is a link to
``.<set>/sin_cos_fit.png``, made once. The previous run's folder is deleted after
the switch; what a killed run left (its unswitched folder, a link's temporary name,
the temporary files of older versions) is removed by the next run, with one note.

Where symbolic links cannot be made (Windows without developer mode), each file is
replaced on its own (run_safety.cli.atomic_outputs): never half-written, but a kill
between two renames can mix two runs' files there.
"""
import contextlib
import os
import shutil
import sys
import time

import filelock

from run_safety.cli import atomic_outputs, fsync_folder, held, reason_of, warn


def _lock(folder):
    return held(filelock.FileLock(os.path.join(folder, '.outputs.lock')))  # signal-aware


def _links_work(folder):
    return os.name == 'posix' or _try_symlink(folder)


def _try_symlink(folder):
    probe = os.path.join(folder, f'.symlink-probe-{os.getpid()}')
    try:
        os.symlink('x', probe)
    except (OSError, NotImplementedError):
        return False
    os.remove(probe)
    return True


def _switch_link(folder, link, target):
    """Point ``folder``/``link`` at ``target`` with one rename (the link is made under
    a temporary name first), then fsync the folder: the switch is on the disk."""
    tmp = os.path.join(folder, f'.{link.lstrip(".")}.{os.getpid()}.tmp')
    with contextlib.suppress(FileNotFoundError):
        os.remove(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, os.path.join(folder, link))
    fsync_folder(folder)


def clean(folder, name, files):
    """Remove what a killed run left in ``folder`` for the set ``name`` of ``files``:
    folders that ``.<name>`` does not point at, the links' temporary names, and the
    temporary files (``.<file>…tmp``) of the one-file-at-a-time scheme. One note line
    if any. Under the lock, so no live run's folder is taken."""
    if not os.path.isdir(folder):
        return
    with _lock(folder):
        link = os.path.join(folder, '.' + name)
        try:
            current = os.readlink(link) if os.path.islink(link) else None
            entries = os.listdir(folder)
        except OSError as e:  # only leftovers are at stake: say so, and go on
            warn(f'could not look for leftovers in {folder} ({reason_of(e)})')
            return
        removed = 0
        for entry in entries:
            path = os.path.join(folder, entry)
            stale_set = entry.startswith(f'.{name}-') and entry != current
            stale_tmp = entry.endswith('.tmp') and any(
                entry.startswith('.' + n) for n in [name, *files])
            if not (stale_set or stale_tmp):
                continue
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
                removed += 1
        if removed:
            print(f'note: removed {removed} temporary file(s) or folder(s) that an '
                  f'interrupted run left in {folder}', file=sys.stderr)


@contextlib.contextmanager
def output_set(folder, name, files, mode='wb'):
    """Open ``files`` (names) for writing; once the block has written all of them, they
    replace the previous set in ``folder`` at once. On any failure nothing visible
    changes and this run's new folder is removed. Yields the open files."""
    paths = [os.path.join(folder, f) for f in files]
    with _lock(folder):  # two runs sharing the folder switch one after the other
        if not _links_work(folder):
            with atomic_outputs(paths, mode) as opened:
                yield opened
            return
        link = '.' + name
        stamp = f'.{name}-{time.strftime("%Y%m%d-%H%M%S")}-{os.getpid()}'
        for n in range(100):  # a notebook may %run twice in one second, in one process
            fresh = stamp + (f'-{n}' if n else '')
            new = os.path.join(folder, fresh)
            try:
                os.mkdir(new)  # files made in it with open(): modes follow the umask
                break
            except FileExistsError:
                continue
        opened = []
        try:
            for f in files:
                opened.append(open(os.path.join(new, f), mode))
            yield opened
            for f in opened:
                f.flush()
                os.fsync(f.fileno())
                f.close()
            fsync_folder(new)
            old = os.readlink(os.path.join(folder, link)) \
                if os.path.islink(os.path.join(folder, link)) else None
            _switch_link(folder, link, fresh)  # the commit
        except BaseException:
            for f in opened:
                with contextlib.suppress(OSError):
                    f.close()
            shutil.rmtree(new, ignore_errors=True)
            raise
        # After the commit: the user-visible names (made once; a failure here is an
        # error, as the files would not be where they are said to be), then the
        # clean-up, whose failure only leaves what the next run's clean() removes.
        for f, path in zip(files, paths):
            target = os.path.join(link, f)
            if not (os.path.islink(path) and os.readlink(path) == target):
                _switch_link(folder, f, target)
        try:
            for f in os.listdir(folder):  # links to a file this set does not have
                path = os.path.join(folder, f)
                if f not in files and os.path.islink(path) and \
                        os.readlink(path).startswith(link + os.sep) and not os.path.exists(path):
                    os.remove(path)
            if old is not None and old != fresh:
                shutil.rmtree(os.path.join(folder, old))
        except OSError as e:
            warn(f'the new outputs are in place, but the previous ones could not all be '
                 f'removed from {folder} ({reason_of(e)}): the next run removes them')

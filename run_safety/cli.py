"""Command-line plumbing both scripts share: flag types, one-line errors,
writes that never leave half a file, and a Ctrl-C that waits for a save.

None of this is in the tutorial; it keeps the scripts' own code about the model.
"""
import argparse
import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time

import filelock


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 1, no traceback."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (no usage block), exit status 2."""

    def error(self, message):
        self.exit(2, f'error: {message} (see --help)\n')


def _parse(text, convert, kind):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not {kind}') from None


def positive_int(text):
    """argparse type: an integer > 0."""
    value = _parse(text, int, 'an integer')
    if value <= 0:
        raise argparse.ArgumentTypeError(f'{value} must be a positive integer')
    return value


def positive_float(text):
    """argparse type: a finite float > 0 (learning rates)."""
    value = _parse(text, float, 'a number')
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f'{text} must be a finite number > 0')
    return value


def non_negative_float(text):
    """argparse type: a finite float >= 0 (pauses)."""
    value = _parse(text, float, 'a number')
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f'{text} must be a finite number >= 0')
    return value


def check_cost(value, when, lr, then=''):
    """Stop on a NaN or infinite cost (the tutorial trains on regardless)."""
    if not math.isfinite(value):
        raise UserError(f'the cost became {value} {when} (--lr {lr} is too large?): '
                        f'try a smaller --lr{then}')


# TensorFlow's glob also reads a backslash as an escape ('ck\x' matches 'ckx'): on
# POSIX systems, where it is an ordinary character in a name, it is refused too (on
# Windows it is the path separator).
GLOB_CHARACTERS = '*?[]' + ('\\' if os.sep == '/' else '')


def check_encodable(path, flag):
    """A name the locale cannot encode (LC_ALL=C without Python's UTF-8 mode turns a
    non-ASCII argument into surrogate escapes) cannot reach TensorFlow, which would
    call a healthy checkpoint 'unreadable or corrupt': say the real reason."""
    try:
        os.fsencode(path)
        path.encode('utf-8')
    except UnicodeEncodeError:
        raise UserError(f'{flag} {path!a} cannot be encoded in this locale '
                        f'({sys.getfilesystemencoding()}): use a UTF-8 locale (e.g. '
                        f'LC_ALL=C.UTF-8, or PYTHONUTF8=1) or an ASCII name') from None


def check_no_glob(path, flag):
    """TensorFlow's checkpoint code matches file names as glob patterns, so *, ?, [
    and ] in --ckpt-dir would reach other folders' files, and a backslash made a
    healthy checkpoint 'unreadable or corrupt': refuse them up front."""
    check_encodable(path, flag)
    if any(c in path for c in GLOB_CHARACTERS):
        raise UserError(f'{flag} {path} contains one of {GLOB_CHARACTERS}, which TensorFlow '
                        f'reads as a file pattern: pass a folder name without them')


def check_output_dir(path, flag):
    """Refuse an output folder that cannot work, before anything runs and without
    creating it (a run that fails before training leaves no folders behind)."""
    check_encodable(path, flag)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f'{flag} {path} is a file, not a directory: remove it or '
                        f'pass another {flag}')
    check_not_a_broken_link(path, flag)
    existing = os.path.abspath(path)
    while not os.path.exists(existing):  # the nearest folder that exists already
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UserError(f'{flag} {path} cannot be made: {existing} is a file; '
                        f'pass another {flag}')
    if not os.access(existing, os.W_OK | os.X_OK):
        if hasattr(os, 'statvfs') and os.statvfs(existing).f_flag & os.ST_RDONLY:
            raise UserError(f'{flag} {path} is not writable (Read-only file system): '
                            f'pass another {flag}')
        raise UserError(f'{flag} {path} is not writable (Permission denied): fix its '
                        f'permissions or pass another {flag}')


def check_not_a_broken_link(path, flag):
    """A symbolic link that leads nowhere (a loop, or a dangling link) is said as such;
    os.makedirs would say 'File exists'."""
    if os.path.islink(path) and not os.path.exists(path):
        try:
            os.stat(path)
            reason = 'a symbolic link to nothing'
        except OSError as e:
            reason = f'a symbolic link that leads nowhere ({e.strerror or e})'
        raise UserError(f'{flag} {path} is {reason}: fix or remove the link, or pass '
                        f'another {flag}')


def make_output_dir(path, flag):
    """Create an output folder checked by check_output_dir (as late as possible)."""
    check_not_a_broken_link(path, flag)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise UserError(f'{flag} {path} cannot be made ({e.strerror or e}): '
                        f'pass another {flag}') from None


def check_output_file(path, flag):
    """Check early that ``path`` can be written (its folder exists or can be made)."""
    if os.path.isdir(path):
        raise UserError(f'{flag} {path} is a directory: pass a file name')
    check_output_dir(os.path.dirname(path) or '.', flag)


def reason_of(error):
    """The reason an OSError or a TensorFlow error gives, in one line."""
    reason = getattr(error, 'strerror', None) or getattr(error, 'message', None) or str(error)
    return reason.strip().splitlines()[0] if reason.strip() else type(error).__name__


def warn(message):
    """One ``warning: ...`` line on stderr: something went wrong after the run's work was
    safely done (the work stands, the exit status is still 0)."""
    print(f'warning: {message}', file=sys.stderr, flush=True)


def write_failed(path, error, flag, then=''):
    """The one-line UserError for a failed write of ``path`` (an OSError or a
    TensorFlow error): the path, the reason, what to do."""
    reason = reason_of(error)
    return UserError(f'cannot write {path} ({reason}): free some space, fix the '
                     f'permissions or pass another {flag}{then}')


def fsync_path(path):
    """Flush a finished file's data to the disk (TensorFlow writes its checkpoint files
    without fsync). A read-only descriptor is enough on POSIX; Windows needs a writable
    one."""
    fd = os.open(path, os.O_RDONLY if os.name == 'posix' else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder):
    """Flush a folder's entries (names created, renamed, removed) to the disk, as
    SQLite does after a journal rename. Windows cannot open a folder: there, NTFS
    journals the rename itself."""
    if os.name != 'posix':
        return
    fd = os.open(folder or '.', os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_mode():
    """The mode a new file gets from the user's umask, as `open` would give it:
    mkstemp's temporary files are 0600, and outputs must not stay so."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(path, mode='w'):
    """Open a temporary file beside ``path``; rename it to ``path`` only once the
    block has finished, so readers never see a half-written file."""
    with atomic_outputs([path], mode) as (f,):
        yield f


@contextlib.contextmanager
def atomic_outputs(paths, mode='w'):
    """Open a temporary file beside each of ``paths``; once the block has written all
    of them, rename each to its real name. On any failure every temporary file is
    removed and no real file is touched. Each file is fsynced before its rename and the
    folder after, so a power cut leaves the old file or the new one, never an empty one.
    (For a set that must switch in one step, see run_safety.outputs.)"""
    files, temps = [], []
    try:
        for path in paths:
            folder = os.path.dirname(path) or '.'
            fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(path),
                                       suffix='.tmp')
            temps.append(tmp)
            files.append(os.fdopen(fd, mode))
        yield files
        for f in files:
            f.flush()
            os.fsync(f.fileno())
            f.close()
        for tmp, path in zip(temps, paths):
            os.chmod(tmp, file_mode())  # mkstemp's 0600 -> what open() would have given
            os.replace(tmp, path)
        for folder in {os.path.dirname(path) or '.' for path in paths}:
            fsync_folder(folder)
    except BaseException:
        for f in files:
            with contextlib.suppress(OSError):
                f.close()
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        raise


def close_events(writer, logdir):
    """``writer.close()`` of a TensorBoard FileWriter: it flushes every event to disk,
    so its failure (a full --logdir) is said as one line here, not found later as a
    truncated events file. Shared by both scripts, which write events alike."""
    from tensorflow import errors  # loaded already: the writer is TensorFlow's
    try:
        writer.close()
    except (RuntimeError, OSError, errors.OpError) as e:
        raise write_failed(logdir, e, '--logdir') from None


def write_json(path, data, flag='--metrics-json'):
    """Write ``data`` as indented JSON to ``path`` atomically; its folder is made like
    the other output folders (check_output_file checked that it can be)."""
    make_output_dir(os.path.dirname(path) or '.', flag)
    try:
        with atomic_output(path) as f:
            json.dump(data, f, indent=2)
            f.write('\n')
    except OSError as e:
        raise write_failed(path, e, flag) from None


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP, raised at a safe point (see deferred_signals).
    The process exits with 128 + the signal's number, as a shell reports it."""

    def __init__(self, signum, message=None):
        super().__init__(signum)
        self.signum = signum
        self.message = message

    @property
    def status(self):
        return 128 + self.signum

    @property
    def name(self):
        return 'Ctrl-C' if self.signum == signal.SIGINT else signal.Signals(self.signum).name


_received = []  # signals that arrived while deferred_signals was active


@contextlib.contextmanager
def deferred_signals():
    """Ctrl-C, SIGTERM and SIGHUP only set a flag; check_interrupted() raises at the
    points the scripts choose (between training steps, between evaluation batches).

    Python's own Ctrl-C raises KeyboardInterrupt at whatever bytecode runs, which can
    be inside TensorFlow's Python wrappers: in a __del__ or a callback, where Python
    swallows it (the Ctrl-C is ignored), or halfway through a call into TensorFlow's
    C++ core (a segmentation fault). A flag checked at safe points has neither
    problem, and a save in progress always finishes. A second signal raises at
    once, for a run stuck somewhere (e.g. a slow download). The previous handlers
    are restored afterwards (a notebook kernel keeps its own).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signal.SIGINT, signal.SIGTERM] + (
        [signal.SIGHUP] if hasattr(signal, 'SIGHUP') else [])

    def handler(signum, frame):
        _received.append(signum)
        if len(_received) > 1:
            raise Interrupted(_received[0])

    # A signal the parent set to be ignored stays ignored: nohup ignores SIGHUP so
    # the run outlives its terminal, and a script's `cmd &` ignores Ctrl-C.
    wanted = [s for s in wanted if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {s: signal.signal(s, handler) for s in wanted}
    _received.clear()
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _received.clear()


def check_interrupted(message=None):
    """Raise Interrupted if a signal arrived (a safe point)."""
    if _received:
        raise Interrupted(_received[0], message)


def acquire(lock, timeout=None):
    """lock.acquire(timeout) that a signal interrupts while it waits: if another
    process holds the lock (a save, or a --eval suspended with Ctrl-Z while it
    restores), it waits a fraction of a second at a time and checks for a signal
    between, so Ctrl-C is not put off until the lock comes free. An uncontended
    lock is taken at once, with no new place for a signal to stop the run.
    filelock.Timeout after ``timeout`` seconds (None: no limit)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        wait = 0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
        try:
            lock.acquire(timeout=wait)
            return
        except filelock.Timeout:
            if deadline is not None and time.monotonic() >= deadline:
                raise
        check_interrupted()


@contextlib.contextmanager
def held(lock):
    """``with lock:``, waiting as acquire() does."""
    acquire(lock)
    try:
        yield
    finally:
        lock.release()


def check_memory(needed, what):
    """Refuse sizes that cannot fit in this machine's memory, before TensorFlow
    allocates them and the process dies (a segmentation fault or an OOM kill)."""
    import psutil
    total = psutil.virtual_memory().total
    if needed > total:
        raise UserError(f'{what} need about {needed / 2**30:.1f} GiB of memory and this '
                        f'machine has {total / 2**30:.1f} GiB: pass smaller values')


def fail(message, status=1):
    """Print ``error: message`` on stderr and exit with ``status``."""
    print(f'error: {message}', file=sys.stderr)
    sys.exit(status)


@contextlib.contextmanager
def _escaped_output():
    streams = [s for s in (sys.stdout, sys.stderr) if hasattr(s, 'reconfigure')
               and getattr(s, 'errors', None) == 'strict']
    for stream in streams:
        stream.reconfigure(errors='backslashreplace')
    try:
        yield
    finally:
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.reconfigure(errors='strict')


@contextlib.contextmanager
def command_line():
    """The scripts' outer layer: signals deferred (see deferred_signals), and every
    expected failure ends as one line on stderr and a documented exit status:
    1 for bad input or a failed write, 128 + N for signal N (130 for Ctrl-C), 141
    (a shell's code for SIGPIPE) when stdout is closed early, as by `| head`.
    Text the terminal's encoding cannot hold (a non-ASCII folder name printed to a
    cp1252 or ASCII stdout) is printed escaped, never a UnicodeEncodeError."""
    with deferred_signals(), _escaped_output():
        try:
            yield
            if _received:
                # A signal after the last safe point (the final prints, the plots, the
                # metrics JSON): everything is written, and the exit status still says
                # the run was stopped; the signal is never ignored.
                late = Interrupted(_received[0])
                late.message = f'interrupted ({late.name}) as the run ended; all was written'
                raise late
        except UserError as e:
            fail(str(e))
        except Interrupted as e:
            print(e.message or f'interrupted ({e.name}); nothing was saved', file=sys.stderr)
            sys.exit(e.status)
        except BrokenPipeError:
            # stdout's reader has gone: nothing to tell, and Python must not try to
            # flush into the closed pipe again at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except OSError as e:
            if e.filename is not None:  # every file the scripts write is caught nearer
                raise
            fail(f'cannot write to standard output ({e.strerror or e}): '
                 f'redirect it to a file or a terminal that can take it')

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


def ensure_writable_dir(path, flag):
    """Create ``path`` if needed and prove a file can be written in it, so a bad
    --ckpt-dir or --logdir fails before training rather than at the first save."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f'{flag} {path} is a file, not a directory: remove it or '
                        f'pass another {flag}')
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise UserError(f'{flag} {path} is not writable ({e.strerror or e}): fix its '
                        f'permissions or pass another {flag}') from None


def ensure_writable_file(path, flag):
    """Check early that ``path`` can be written (its folder exists or can be made)."""
    if os.path.isdir(path):
        raise UserError(f'{flag} {path} is a directory: pass a file name')
    ensure_writable_dir(os.path.dirname(path) or '.', flag)


@contextlib.contextmanager
def atomic_output(path, mode='w'):
    """Open a temporary file beside ``path``; rename it to ``path`` only once the
    block has finished, so readers never see a half-written file."""
    folder = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_json(path, data):
    """Write ``data`` as indented JSON to ``path`` atomically."""
    with atomic_output(path) as f:
        json.dump(data, f, indent=2)
        f.write('\n')


@contextlib.contextmanager
def sigint_deferred():
    """Hold Ctrl-C until the block is done (a checkpoint save), then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def fail(message, status=1):
    """Print ``error: message`` on stderr and exit with ``status``."""
    print(f'error: {message}', file=sys.stderr)
    sys.exit(status)

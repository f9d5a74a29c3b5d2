"""A signal that arrives before a script's main() has set up its own handling.

Python's default Ctrl-C raises KeyboardInterrupt wherever the interpreter is, so a
Ctrl-C while numpy and the project's modules load (the first half second) printed a
traceback and exited -2 or 1. The scripts call exit_on_signals() first thing when run
as programs: until command_line() takes over (run_safety/cli.py), Ctrl-C, SIGTERM
and SIGHUP print one line and exit 128 + the signal's number. Nothing is written
before then, so there is nothing to finish. This module imports only built-in
modules (_signal rather than signal, which loads enum), so the window it leaves is
the interpreter's own start-up.
"""
import _signal
import os
import sys

NAMES = {_signal.SIGINT: 'Ctrl-C', _signal.SIGTERM: 'SIGTERM'}
if hasattr(_signal, 'SIGHUP'):
    NAMES[_signal.SIGHUP] = 'SIGHUP'


def _handler(signum, frame):
    try:
        sys.stdout.flush()  # what a finished run printed (this handler is back after main)
    except Exception:  # noqa: BLE001 (a closed or re-entered stdout: nothing to save)
        pass
    try:
        os.write(2, f'interrupted ({NAMES[signum]}); nothing was saved\n'.encode())
    except OSError:
        pass
    os._exit(128 + signum)


def exit_on_signals():
    """Install the handler for Ctrl-C, SIGTERM and SIGHUP, except a signal the
    parent set to be ignored (nohup ignores SIGHUP; `cmd &` in a script, SIGINT).
    Not under IPython's `%run` (a terminal IPython would keep this handler after the
    run, and a later Ctrl-C at its prompt would end it; a Jupyter kernel resets its
    handler for each cell anyway)."""
    if 'IPython' in sys.modules:
        return
    for s in NAMES:
        if _signal.getsignal(s) is not _signal.SIG_IGN:
            _signal.signal(s, _handler)

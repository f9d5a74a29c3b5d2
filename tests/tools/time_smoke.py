"""Time the quick tier: `python -m pytest -q -m smoke`, as a learner runs it.

    python tests/tools/time_smoke.py        # prints the wall time and the machine's load

The quick tier (tests marked smoke: both scripts end to end on tiny settings, and the
fidelity checks) is meant to take at most 60 s on 2 idle cores; the README's Tests
section gives the time measured with this script. The load average is printed with it,
because on a busy machine the same tier takes longer. Exit status: pytest's.
"""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT = 60


def main():
    load = os.getloadavg() if hasattr(os, 'getloadavg') else None
    started = time.monotonic()
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-m', 'smoke'], cwd=ROOT,
                          capture_output=True, text=True)
    seconds = time.monotonic() - started
    summary = (proc.stdout.strip().splitlines() or ['no output'])[-1]
    print(f'quick tier (pytest -q -m smoke): {seconds:.0f} s wall, {summary}; '
          f'{os.cpu_count()} cores, load average before {load[0]:.1f}' if load else
          f'quick tier (pytest -q -m smoke): {seconds:.0f} s wall, {summary}')
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:], sep='\n', file=sys.stderr)
    elif seconds > LIMIT:
        print(f'note: more than {LIMIT} s (a busy machine, or the tier has grown)')
    return proc.returncode


if __name__ == '__main__':
    sys.exit(main())

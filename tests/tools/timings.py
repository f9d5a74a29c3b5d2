"""Measure the times the README and docs/ quote, one number per fact.

    python tests/tools/timings.py                       # all of them
    python tests/tools/timings.py --only classifier,regressor

Each fact is one run, start to exit, of exactly the command the pages name, with
this interpreter (run it with the environment activated):

    classifier   python mnist_lstm_classifier.py       (the quick start's; 782 steps)
    regressor    python sin_cos_lstm_regressor.py      (headless: the plot goes to files)
    suite        python -m pytest -q                   (the whole test suite)
    smoke        python -m pytest -q -m smoke          (the quick tier)

The scripts run in a fresh temporary folder (they find data/ beside themselves), the
test runs in the repository. It prints the machine (CPU, cores, load average before
and after: the pages' figures are from an idle machine, a load average near 0) and
one line per fact, e.g. `classifier: 36.9 s`. Nothing is averaged or picked: rerun it
to see the spread. Not part of the test suite.
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FACTS = {
    'classifier': (['mnist_lstm_classifier.py'], 'script'),
    'regressor': (['sin_cos_lstm_regressor.py'], 'script'),
    'suite': (['-m', 'pytest', '-q'], 'tests'),
    'smoke': (['-m', 'pytest', '-q', '-m', 'smoke'], 'tests'),
}


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load():
    try:
        return '%.2f' % os.getloadavg()[0]
    except (AttributeError, OSError):
        return 'unknown'


def measure(name):
    argv, kind = FACTS[name]
    env = {k: v for k, v in os.environ.items()
           if k not in ('DISPLAY', 'WAYLAND_DISPLAY', 'MPLBACKEND')}
    with tempfile.TemporaryDirectory() as folder:
        if kind == 'script':
            command = [sys.executable, os.path.join(ROOT, argv[0])] + argv[1:]
            cwd = folder
        else:
            command = [sys.executable] + argv
            cwd = ROOT
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        seconds = time.perf_counter() - start
    if proc.returncode == 5 and kind == 'tests':  # pytest: no test collected
        sys.exit(f'error: {name}: no test collected by {" ".join(argv)}')
    if proc.returncode != 0:
        sys.exit(f'error: {name} ({" ".join(argv)}) exited with {proc.returncode}:\n'
                 + proc.stdout[-2000:])
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--only', default=','.join(FACTS),
                        help='comma-separated subset of: ' + ', '.join(FACTS))
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(',') if n.strip()]
    unknown = [n for n in names if n not in FACTS]
    if unknown:
        parser.error('unknown: ' + ', '.join(unknown))
    print(f'machine: {cpu_model()}, {os.cpu_count()} cores, Python '
          f'{platform.python_version()}, load average {load()} at the start', flush=True)
    for name in names:
        seconds = measure(name)
        shown = f'{seconds / 60:.1f} min' if seconds >= 120 else f'{seconds:.1f} s'
        print(f'{name}: {shown}', flush=True)
    print(f'load average {load()} at the end')


if __name__ == '__main__':
    main()

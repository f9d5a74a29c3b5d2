"""The numbers `--seed 1` prints with this Python's TensorFlow, against TF 1.15's.

    python tests/tools/seed1_numbers.py              # measure, print the comparison
    python tests/tools/seed1_numbers.py --record     # ... and store them (see below)

Runs, each in a fresh temporary folder, exactly:

    python mnist_lstm_classifier.py --seed 1       (782 steps: 40 printed batch accuracies,
                                                    the steps saved, the test accuracy)
    python sin_cos_lstm_regressor.py --seed 1 --plot none    (the 10 printed costs)

and compares what they print with TF 1.15.5's run of the tutorial with
tf.set_random_seed(1) (tests/reference/seed1_by_tensorflow.json, "1.15"). With --record
the numbers are stored there under this TensorFlow's major.minor version: the tests that
compare printed numbers with TF 1.15's run where a version's record equals TF 1.15's, and
skip with the reason elsewhere (the prints_tf115s_numbers fixture, tests/conftest.py).
FIDELITY.md's table (TF 2.16-2.21) is this tool's output on each. About a minute on 2 idle
cores. Not part of the suite.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
REFERENCE = os.path.join(ROOT, 'tests', 'reference', 'seed1_by_tensorflow.json')
STEP_LINE = re.compile(r'^step +(\d+)/\d+  batch accuracy (\S+) .*?s(  saved)?$')


def run(script, *args):
    with tempfile.TemporaryDirectory() as folder:
        proc = subprocess.run([sys.executable, os.path.join(ROOT, script), '--seed', '1', *args],
                              cwd=folder, capture_output=True, text=True)
        if proc.returncode != 0 or proc.stderr:
            sys.exit(f'{script} failed ({proc.returncode}): {proc.stderr}')
        return proc.stdout


def measure():
    """{'classifier': {accuracies, saved_steps, test_accuracy}, 'regressor': {costs}}."""
    out = run('mnist_lstm_classifier.py')
    steps = [STEP_LINE.match(l) for l in out.splitlines() if l.startswith('step')]
    test = re.search(r'^test accuracy: (\S+) on', out, re.M)
    classifier = {'accuracies': [float(m.group(2)) for m in steps],
                  'saved_steps': [int(m.group(1)) for m in steps if m.group(3)],
                  'test_accuracy': float(test.group(1))}
    costs = [l for l in run('sin_cos_lstm_regressor.py', '--plot', 'none').splitlines()
             if l.startswith('cost:')]
    return {'classifier': classifier, 'regressor': {'costs': costs}}


def compare(got, reference):
    """One line per number group: equal, or what differs."""
    lines = []
    a, b = got['classifier'], reference['classifier']
    same = sum(x == y for x, y in zip(a['accuracies'], b['accuracies']))
    first = next((i for i, (x, y) in enumerate(zip(a['accuracies'], b['accuracies'])) if x != y),
                 None)
    lines.append(f'batch accuracies: {same} of {len(b["accuracies"])} equal'
                 + ('' if first is None else f' (first difference at step {20 * first}: '
                                             f'{a["accuracies"][first]} vs {b["accuracies"][first]})'))
    lines.append(f'saved steps: {"equal" if a["saved_steps"] == b["saved_steps"] else a["saved_steps"]}')
    lines.append(f'test accuracy: {a["test_accuracy"]} vs {b["test_accuracy"]}')
    c, d = got['regressor']['costs'], reference['regressor']['costs']
    lines.append(f'costs: {sum(x == y for x, y in zip(c, d))} of {len(d)} equal'
                 + ''.join(f'; #{i + 1}: {x.split()[1]} vs {y.split()[1]}'
                           for i, (x, y) in enumerate(zip(c, d)) if x != y))
    return lines


def main():
    from run_safety import requirements
    version = requirements.tensorflow_version()
    key = '%d.%d' % requirements.major_minor(version)
    with open(REFERENCE) as f:
        stored = json.load(f)
    got = measure()
    print(f'TensorFlow {version} (tf-keras {requirements.keras_version()}), '
          f'Python {sys.version.split()[0]}, against TF 1.15:')
    for line in compare(got, stored['1.15']):
        print('  ' + line)
    if '--record' in sys.argv[1:]:
        stored[key] = dict(got, tensorflow=version)
        order = sorted((k for k in stored if k != 'how'), key=lambda k: tuple(map(int, k.split('.'))))
        with open(REFERENCE, 'w') as f:
            json.dump({k: stored[k] for k in ['how', *order]}, f, indent=1)
            f.write('\n')
        print(f'stored as "{key}" in {os.path.relpath(REFERENCE, ROOT)}')


if __name__ == '__main__':
    main()

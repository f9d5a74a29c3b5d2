"""Record what the real TensorFlow 1.15 does, for the ordinary (oracle-free) suite.

    .venv/bin/python tests/reference/make_tf115_reference.py     # rewrites tf115_seed1.json

The numbers come from the TF 1.15 oracle (tests/tf115/: the tutorial's graphs in plain
TF 1.x, run by tensorflow==1.15.5 on Python 3.7; tests/tf115/oracle.py builds that
environment and caches its results). Nothing in this file computes a number itself: it
runs the oracle's commands, then copies their output into tests/reference/tf115_seed1.json.
The only work done here with the project's TensorFlow 2 is reading the names, shapes and
dtypes out of the checkpoint TF 1.15 wrote, and hashing TF 1.15's initial weights.

tests/test_tf115_reference.py compares the project with that file on every machine; the
oracle tests (tests/test_tf115.py) stay the stronger check where Python 3.7 can run.
Regenerate only when the oracle's code (tests/tf115/) or the compared settings change.
"""
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
sys.path[:0] = [TESTS, ROOT]

from tf115 import oracle  # noqa: E402

SEED = 1                      # upstream's tf.set_random_seed(1)
CLASSIFIER_STEPS = 41         # --training-iters 128 * 41: prints at steps 0, 20, 40
REGRESSOR_ITERATIONS = 41     # prints at iterations 0, 20, 40
OUT = os.path.join(HERE, 'tf115_seed1.json')


def load_json(path):
    with open(path) as f:
        return json.load(f)


def array_digest(a):
    """sha256 of the array's little-endian float32 bytes, with its shape."""
    a = np.ascontiguousarray(a, dtype='<f4')
    return {'shape': list(a.shape), 'sha256': hashlib.sha256(a.tobytes()).hexdigest()}


def main():
    data = os.path.join(ROOT, 'data')
    ref = {'how': 'tests/reference/make_tf115_reference.py (see its docstring)',
           'seed': SEED}

    # ---- the regressor: graph, initial weights, a short --seed 1 run
    folder = oracle.cached('tf1_regressor.py', 'graph', '--seed', str(SEED),
                           '--out', '{out}/graph.json')
    graph = load_json(os.path.join(folder, 'graph.json'))
    ref['tf_version'] = graph['tf_version']
    ref['regressor_graph'] = {
        # the forward graph and the cost, op for op; TF 2 builds gradients differently
        # (tests/test_tf115.py lists how), so train/gradients/ is left to the oracle
        'ops': [[n, t, i, sorted(c)] for n, t, i, c in graph['ops']
                if not n.startswith('train/gradients/')],
        'variables': graph['variables'], 'trainable': graph['trainable'],
        'train_op': graph['train_op'], 'cost': graph['cost'],
        'summary_tags': graph['summary_tags'], 'random_op_seeds': graph['random_op_seeds']}
    folder = oracle.cached('tf1_regressor.py', 'train', '--seed', str(SEED),
                           '--iterations', str(REGRESSOR_ITERATIONS),
                           '--out', '{out}/run.json', '--dump-init', '{out}/init.npz')
    run = load_json(os.path.join(folder, 'run.json'))
    init = np.load(os.path.join(folder, 'init.npz'))
    with open(os.path.join(folder, 'stdout.txt')) as f:
        printed = [l for l in f.read().splitlines() if l.startswith('cost:')]
    ref['regressor_run'] = {
        'iterations': REGRESSOR_ITERATIONS, 'printed': printed, 'costs': run['costs'],
        'final_cost': run['final_cost'], 'summaries': run['summaries'],
        'random_op_seeds': run['random_op_seeds'],
        # float32 values written as JSON numbers: exact (a float64 holds every float32)
        'initial_weights': {k: init[k].astype(np.float64).tolist() for k in init.files}}

    # ---- the classifier: seeded initial weights, a short --seed 1 run
    folder = oracle.cached('tf1_classifier.py', 'init', '--seed', str(SEED),
                           '--dump-init', '{out}/init.npz', '--out', '{out}/seeds.json')
    init = np.load(os.path.join(folder, 'init.npz'))
    ref['classifier_init'] = {
        'random_op_seeds': load_json(os.path.join(folder, 'seeds.json'))['random_op_seeds'],
        'initial_weights': {k: array_digest(init[k]) for k in init.files}}
    folder = oracle.cached('tf1_classifier.py', 'train', '--seed', str(SEED),
                           '--training-iters', str(128 * CLASSIFIER_STEPS),
                           '--data-dir', '{data}', '--ckpt-dir', '{out}/ckpt',
                           '--out', '{out}/run.json', inputs={'data': data})
    run = load_json(os.path.join(folder, 'run.json'))
    from tf1_compat.v1 import tf
    checkpoint = os.path.join(folder, 'ckpt', run['checkpoint'])
    reader = tf.train.load_checkpoint(checkpoint)
    dtypes = reader.get_variable_to_dtype_map()
    ref['classifier_run'] = {
        'training_iters': 128 * CLASSIFIER_STEPS, 'accuracies': run['accuracies'],
        'saved_steps': run['saved_steps'], 'best_step': run['best_step'],
        'checkpoint': run['checkpoint'], 'test_accuracy': run['test_accuracy'],
        'checkpoint_variables': sorted([n, s, dtypes[n].name]
                                       for n, s in tf.train.list_variables(checkpoint))}

    with open(OUT, 'w') as f:
        json.dump(ref, f, indent=1, sort_keys=True)
        f.write('\n')
    print('wrote', OUT)


if __name__ == '__main__':
    main()

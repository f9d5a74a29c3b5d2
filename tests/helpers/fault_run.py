"""Run a script with a real fault injected at a chosen point (for test_real_faults.py and
test_checkpoint_durability.py).

    python tests/helpers/fault_run.py mnist_lstm_classifier.py FAULT [script flags...]

FAULT is one of:

* ``count``: no fault; at exit, print ``OPS link#1,index#1,...`` on stderr: the file
  operations on the checkpoint folder, each with its number among those of its kind
  (link: os.link, index: os.replace onto the index, replace: any other os.replace,
  remove: os.remove, save: a Saver's save, returned, so TF's files are complete);
* ``kill-after=<kind>#<n>``: kill -9 this process (SIGKILL, a real one: no handler, no
  cleanup) right after that operation, e.g. ``kill-after=save#2``;
* ``sigint-in-save``: send this process a real SIGINT in the middle of the first
  save of a checkpoint (after TF wrote its files, before the index lists them);
* ``two-sigints-in-save``: two real SIGINTs at that point (the second raises at once);
* ``sigint-importing-numpy``: a real SIGINT while the script's imports run;
* ``sigint-in-test-eval``: a real SIGINT as the final test-set evaluation starts;
* ``sigint-in-plots``: (regressor) a real SIGINT as the PNG, GIF and CSV are written;
* ``kill-after=<kind>#<n>`` (regressor): kill -9 after the n-th os.fsync, os.symlink,
  os.replace or shutil.rmtree while the outputs are switched in, e.g. ``symlink#1``.
"""
import os
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

script, fault, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.argv = [script] + argv
name = os.path.splitext(os.path.basename(script))[0]

if fault == 'sigint-importing-numpy':
    # The script runs as __main__ (its start-up code included); the first import of
    # numpy, while the script's own imports run, sends the real SIGINT.
    import importlib.abc
    import runpy

    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname == 'numpy':
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.SIGINT)
            return None

    sys.meta_path.insert(0, Hook())
    runpy.run_path(os.path.join(ROOT, script), run_name='__main__')
elif name == 'mnist_lstm_classifier':
    import mnist_lstm_classifier as module
    from run_safety import checkpoints
    ckpt = os.path.abspath(argv[argv.index('--ckpt-dir') + 1])
    ops = []  # labels of the operations done so far: 'index#2' is the second index write

    def mine(path):
        return os.path.dirname(os.path.abspath(path)) == ckpt

    def op_done(kind):
        ops.append(f'{kind}#{sum(op.startswith(kind + "#") for op in ops) + 1}')
        if fault == 'kill-after=' + ops[-1]:
            os.kill(os.getpid(), signal.SIGKILL)

    def counted(real, path_arg, kind):
        def wrapper(*args, **kwargs):
            result = real(*args, **kwargs)
            path = args[path_arg]
            if mine(path):
                op_done(kind(path) if callable(kind) else kind)
            return result
        return wrapper

    os.link = counted(os.link, 1, 'link')
    os.replace = counted(os.replace, 1, lambda path: 'index' if os.path.basename(path) ==
                         checkpoints.INDEX else 'replace')
    os.remove = counted(os.remove, 0, 'remove')
    real_save = checkpoints.TrainingRun.save

    def save(self, saver, sess, step):
        class Saver:  # the real saver, observed: TF's files are written when save returns
            def save(_, *args, **kwargs):
                result = saver.save(*args, **kwargs)
                if fault in ('sigint-in-save', 'two-sigints-in-save'):
                    os.kill(os.getpid(), signal.SIGINT)
                if fault == 'two-sigints-in-save':
                    os.kill(os.getpid(), signal.SIGINT)  # the second raises here, at once
                op_done('save')
                return result
        return real_save(self, Saver(), sess, step)

    checkpoints.TrainingRun.save = save
    if fault == 'sigint-in-test-eval':
        real_evaluate = module.evaluate

        def evaluate(sess, g, dataset):
            if dataset is module_mnist_test[0]:
                os.kill(os.getpid(), signal.SIGINT)
            return real_evaluate(sess, g, dataset)
        module_mnist_test = [None]
        real_read = module.input_data.read_data_sets

        def read_data_sets(*args, **kwargs):
            data = real_read(*args, **kwargs)
            module_mnist_test[0] = data.test
            return data
        module.input_data.read_data_sets = read_data_sets
        module.evaluate = evaluate
    try:
        module.main()
    finally:
        if fault == 'count':
            print(f'OPS {",".join(ops)}', file=sys.stderr)
else:
    import sin_cos_lstm_regressor as module
    if fault == 'sigint-in-plots':
        real_save_outputs = module.save_outputs

        def save_outputs(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            return real_save_outputs(*args, **kwargs)
        module.save_outputs = save_outputs
    if fault.startswith('kill-after='):
        import shutil
        counts = {}

        def killing(real, kind):
            def wrapper(*args, **kwargs):
                result = real(*args, **kwargs)
                counts[kind] = counts.get(kind, 0) + 1
                if fault == f'kill-after={kind}#{counts[kind]}':
                    os.kill(os.getpid(), signal.SIGKILL)
                return result
            return wrapper
        os.fsync = killing(os.fsync, 'fsync')
        os.symlink = killing(os.symlink, 'symlink')
        os.replace = killing(os.replace, 'replace')
        shutil.rmtree = killing(shutil.rmtree, 'rmtree')
    module.main()

"""Run a script with a real fault injected at a chosen point (tests/test_robustness.py).

    python tests/fault_run.py mnist_lstm_classifier.py FAULT [script flags...]

FAULT is one of:

* ``count``: no fault; at exit, print ``OPS <n>`` on stderr, the number of file
  operations on the checkpoint folder (os.link, os.replace, os.remove, a Saver's save);
* ``kill-after-op=K``: kill -9 this process (SIGKILL, a real one: no handler, no
  cleanup) right after the K-th such operation (0-based);
* ``sigint-in-save``: send this process a real SIGINT in the middle of the first
  save of a checkpoint (after TF wrote its files, before the index lists them);
* ``sigint-in-test-eval``: a real SIGINT as the final test-set evaluation starts;
* ``sigint-in-plots``: (regressor) a real SIGINT as the PNG, GIF and CSV are written.
"""
import os
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

script, fault, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.argv = [script] + argv
name = os.path.splitext(os.path.basename(script))[0]

if name == 'mnist_lstm_classifier':
    import mnist_lstm_classifier as module
    from tf1_compat import checkpoints
    ckpt = os.path.abspath(argv[argv.index('--ckpt-dir') + 1])
    ops = [0]

    def mine(path):
        return os.path.dirname(os.path.abspath(path)) == ckpt

    def op_done():
        if fault.startswith('kill-after-op=') and ops[0] == int(fault.split('=')[1]):
            os.kill(os.getpid(), signal.SIGKILL)
        ops[0] += 1

    def counted(real, path_arg):
        def wrapper(*args, **kwargs):
            result = real(*args, **kwargs)
            if mine(args[path_arg]):
                op_done()
            return result
        return wrapper

    os.link = counted(os.link, 1)
    os.replace = counted(os.replace, 1)
    os.remove = counted(os.remove, 0)
    real_save = checkpoints.TrainingRun.save

    def save(self, saver, sess, step):
        class Saver:  # the real saver, observed: TF's files are written when save returns
            def save(_, *args, **kwargs):
                result = saver.save(*args, **kwargs)
                if fault == 'sigint-in-save':
                    os.kill(os.getpid(), signal.SIGINT)
                op_done()
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
            print(f'OPS {ops[0]}', file=sys.stderr)
else:
    import sin_cos_lstm_regressor as module
    if fault == 'sigint-in-plots':
        real_save_outputs = module.save_outputs

        def save_outputs(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            return real_save_outputs(*args, **kwargs)
        module.save_outputs = save_outputs
    module.main()

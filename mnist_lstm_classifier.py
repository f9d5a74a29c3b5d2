"""MNIST classification with an LSTM: the TF 1.x tutorial (莫烦Python, "RNN LSTM
循环神经网络 (分类例子)"), rebuilt with tf.compat.v1 so it runs on current TensorFlow.

Each image is read as a sequence: 28 time steps, one row of 28 pixels per step.
The graph, hyperparameters, training loop and print cadence are the tutorial's;
the changes are marked "Changed:" or "Added:" in the comments (and in FIDELITY.md).

    python mnist_lstm_classifier.py            # train, keep the best checkpoint, test it
    python mnist_lstm_classifier.py --eval     # the tutorial's is_train=False branch
    python mnist_lstm_classifier.py --help     # every flag
"""
if __name__ == '__main__':
    # Added: a signal while the modules below load is one line and exit 128 + N
    # (run_safety/early_exit.py), not a KeyboardInterrupt traceback.
    from run_safety.early_exit import exit_on_signals
    exit_on_signals()
    # Added: a missing requirement (numpy, TensorFlow, ...) is one line that names it and
    # the command that installs it (run_safety/requirements.py); --help works without.
    from run_safety.requirements import check_installed
    check_installed(__file__)

import contextlib
import math
import os
import time
import types

import numpy as np

# Changed: tensorflow.examples.tutorials.mnist.input_data is gone; same API here.
from tf1_compat import input_data
from run_safety import checkpoints
from run_safety.cli import (ArgumentParser, Interrupted, UserError, check_cost,
                            check_interrupted, check_memory, check_no_glob, check_output_dir,
                            check_output_file, close_events, command_line, make_output_dir,
                            positive_float, positive_int, reason_of, write_failed,
                            write_json)

# Changed: `import tensorflow as tf` -> tensorflow.compat.v1 in TF 1.x mode, with the
# legacy tf-keras that BasicLSTMCell needs on TF 2.16+ (tf1_compat/v1.py sets
# TF_USE_LEGACY_KERAS=1 before TensorFlow is imported). It is imported by
# load_tensorflow() once the flags are parsed, so --help answers at once.
tf = None


def load_tensorflow(fast=False):
    """Import TensorFlow (a few seconds) as this module's ``tf``, and return it."""
    global tf
    if fast:
        # Added (--fast): single-threaded ops (fast_lstm.session_config) for the whole
        # process; TensorFlow sizes that pool at the first session, which tf1_compat.v1 runs.
        os.environ['TF1_COMPAT_INTRA_OP_THREADS'] = '1'
    try:
        from tf1_compat.v1 import tf
    except ImportError as e:
        raise UserError(str(e)) from None
    return tf


# 超参 hyperparameters (the tutorial's values; each has a flag, see parse_args)
lr = 0.001  # 学习率 learning rate
training_iters = 100000  # train step 上限: train while step * batch_size < training_iters
batch_size = 128

n_inputs = 28  # MNIST data input (img shape: 28*28)
n_steps = 28  # time steps 一次输入28个像素(一整行),共28次(共28行)
n_hidden_units = 128  # 隐藏层中的神经元 neurons in hidden layer
n_classes = 10  # MNIST classes (0-9 digits)

CKPT_NAME = 'mnistRNNLSTM.ckpt'  # saved as <ckpt-dir>/mnistRNNLSTM.ckpt-<step>
KEPT = '; the best checkpoint so far is kept'  # said when a NaN cost stops training


# 接着开始定义 RNN 主体结构, 这个 RNN 总共有 3 个组成部分
# ( input_layer, cell, output_layer).
# Changed: batch_size and n_hidden_units are parameters (default: the tutorial's
# values) so the flags reach them; the tutorial read the module constants.
def RNN(X, weights, biases, batch_size=batch_size, n_hidden_units=n_hidden_units):
    # input_layer: X is [batch, 28 steps, 28 inputs]; matmul needs 2-D, so
    # X ==> (128 batches * 28 steps, 28 inputs)
    X = tf.reshape(X, [-1, n_inputs])
    # X_in = W*X + b ==> (128 batches * 28 steps, 128 hidden)
    X_in = tf.matmul(X, weights['in']) + biases['in']
    # X_in ==> (128 batches, 28 steps, 128 hidden), back to 3-D for the RNN
    X_in = tf.reshape(X_in, [-1, n_steps, n_hidden_units])

    # cell
    # Changed: tf.contrib.rnn.BasicLSTMCell -> tf.nn.rnn_cell.BasicLSTMCell (same class).
    # With state_is_tuple=True the LSTM state is the pair (c_state, h_state).
    LSTM_cell = tf.nn.rnn_cell.BasicLSTMCell(n_hidden_units, forget_bias=1.0, state_is_tuple=True)
    # All-zero initial state. Its batch dimension is static, so this graph only
    # takes batches of exactly batch_size images (evaluate() pads for that).
    init_state = LSTM_cell.zero_state(batch_size, dtype=tf.float32)

    # inputs are (batches, steps, inputs) ==> time_major=False
    outputs, final_state = tf.nn.dynamic_rnn(LSTM_cell, X_in, initial_state=init_state,
                                             time_major=False)

    # hidden layer for output as the final results: 有两个方法 (two methods)
    # 法一 method 1: the last h state. Built, as in the tutorial, then overwritten.
    results = tf.matmul(final_state[1], weights['out']) + biases['out']
    # 法二 method 2 (the one used): the last output. outputs is (batch, steps, hidden);
    # transpose to (steps, batch, hidden) and unstack to a list of n_steps tensors.
    # outputs[-1] equals final_state[1]: both methods give the same results.
    outputs = tf.unstack(tf.transpose(outputs, [1, 0, 2]))
    results = tf.matmul(outputs[-1], weights['out']) + biases['out']  # shape = (128, 10)

    return results


def build_graph(lr=lr, batch_size=batch_size, n_hidden_units=n_hidden_units,
                static_unroll=False, fast=False):
    """The tutorial's graph, in the tutorial's order, in the default graph.

    Returns the tensors and ops the training loop uses (and bench/ imports).
    """
    # 为网络输入定义占位符 placeholders
    x = tf.placeholder(tf.float32, [None, n_steps, n_inputs])
    y = tf.placeholder(tf.float32, [None, n_classes])

    # 定义权重 weights 和 biases. Unnamed tf.Variables: TF names them Variable,
    # Variable_1, Variable_2, Variable_3 in this creation order.
    weights = {
        # (28, 128)
        'in': tf.Variable(tf.random_normal([n_inputs, n_hidden_units])),
        # (128, 10)
        'out': tf.Variable(tf.random_normal([n_hidden_units, n_classes])),
    }
    biases = {
        # (128, )
        'in': tf.Variable(tf.constant(0.1, shape=[n_hidden_units, ])),
        # (10, )
        'out': tf.Variable(tf.constant(0.1, shape=[n_classes, ])),
    }

    # Added: RNN() above, unless --static-unroll or --fast picks its variant (pick_rnn, below).
    pred = pick_rnn(static_unroll, fast)(x, weights, biases, batch_size, n_hidden_units)
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y))
    train_op = tf.train.AdamOptimizer(lr).minimize(cost)

    # argmax per row of labels and predictions; equal ==> a correct prediction
    correct_pred = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_pred, tf.float32))

    # Added: TensorBoard scalars, written with every printed accuracy.
    tf.summary.scalar('accuracy', accuracy)
    tf.summary.scalar('cost', cost)
    merged = tf.summary.merge_all()

    init = tf.global_variables_initializer()
    return types.SimpleNamespace(x=x, y=y, weights=weights, biases=biases, pred=pred,
                                 cost=cost, train_op=train_op, correct_pred=correct_pred,
                                 accuracy=accuracy, merged=merged, init=init,
                                 batch_size=batch_size)


def train(args, mnist):
    """The tutorial's training loop, plus the test-set evaluation at its end. What the
    project added around the loop is in Progress (below): the NaN checks, TensorBoard,
    --select-on validation, the printed line, signals."""
    g = build_graph(args.lr, args.batch_size, args.hidden_units, args.static_unroll, args.fast)
    # max_to_keep=1 as in the tutorial keeps only the best; relative paths, so
    # ckptRNN/checkpoint works from any working directory.
    saver = tf.train.Saver(max_to_keep=1, save_relative_paths=True)

    # Added: one run per checkpoint folder (a lock), and saves that never leave half a
    # checkpoint or lose the previous run's model (run_safety/checkpoints.py).
    with checkpoints.TrainingRun(args.ckpt_dir, CKPT_NAME) as run, \
            tf.Session(config=session_config(args.fast)) as sess:
        sess.run(g.init)
        step = 0
        max_acc = 0
        # Added: TensorBoard's writer, the checks, the printed line (Progress, below)
        with Progress(args, g, sess, mnist, run) as progress:
            while step * args.batch_size < args.training_iters:
                batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
                batch_xs = batch_xs.reshape([args.batch_size, n_steps, n_inputs])
                # Changed: also fetch the cost (a scalar it computes anyway), to stop on
                # a NaN/inf cost instead of training on garbage.
                _, step_cost = sess.run([g.train_op, g.cost], feed_dict={
                    g.x: batch_xs,
                    g.y: batch_ys,
                })
                if step % 20 == 0:
                    # Accuracy on the batch just trained on (the tutorial's choice), with
                    # the cost at the new weights and the TensorBoard summary.
                    test_acc, new_cost, summary = sess.run([g.accuracy, g.cost, g.merged],
                                                           feed_dict={
                        g.x: batch_xs,
                        g.y: batch_ys,
                    })
                    # Added: both costs checked, the summary written; the score the best
                    # is picked on: test_acc, or the validation accuracy (--select-on).
                    score = progress.score(step, step_cost, test_acc, new_cost, summary)
                    # 保存准确率最高的一次模型 keep the model with the best accuracy
                    if score > max_acc:
                        max_acc = score
                        # Changed: saver.save(sess, 'ckptRNN/mnistRNNLSTM.ckpt',
                        # global_step=step), made a transaction (see above).
                        run.save(saver, sess, step)
                        progress.saved(step, test_acc)
                    # Changed: print(test_acc) -> the same number with the step, the
                    # elapsed time and whether it was saved.
                    print(progress.line, flush=True)
                step += 1
                # Added: the cost checked; Ctrl-C, SIGTERM or SIGHUP stop here.
                progress.stepped(step, step_cost)
        best_step, best_batch_acc = progress.best_step, progress.best_batch_acc

        if best_step is None:
            raise UserError('no checkpoint was saved (no accuracy above 0): '
                            'train longer with --training-iters')
        # Added: restore the best checkpoint and test it on all 10,000 test images.
        best = run.path(run.best)
        read_back(sess, saver, best, run)
        try:
            test_accuracy = evaluate(sess, g, mnist.test)
            run.finish()  # the run is complete: its best replaces the previous run's model
        except Interrupted as e:
            e.message = f'\ninterrupted during the test evaluation ({e.name}); ' + kept_message(run)
            raise

    # Changed for --select-on validation: name the accuracy that chose the checkpoint.
    chosen = f'validation accuracy {max_acc:.4f}' if args.select_on == 'validation' \
        else f'batch accuracy {best_batch_acc}'
    print(f'best checkpoint: {best} (step {best_step}, {chosen})')
    print(f'test accuracy: {test_accuracy:.4f} on {mnist.test.num_examples} test images')
    result = {'select_on': args.select_on, 'seed': args.seed, 'steps': step,
              'best_batch_accuracy': best_batch_acc, 'best_step': best_step,
              'checkpoint': best, 'test_accuracy': test_accuracy,
              'train_seconds': round(progress.seconds, 3)}
    if args.select_on == 'validation':
        result['best_validation_accuracy'] = max_acc
    return result


# ------------------------------------------------------------------------------------
# Added: everything below is the project's, not the tutorial's: the speed options'
# graphs, what train() does around the tutorial's loop, the test evaluation, --eval,
# the checks, the flags and main().

def pick_rnn(static_unroll=False, fast=False):
    """The function that builds the logits: the tutorial's RNN(), or with a speed flag
    its variant (same variables, names and math; FIDELITY.md)."""
    if fast:
        return RNN_fast
    if static_unroll:
        return RNN_static_unroll
    return RNN


def RNN_static_unroll(X, weights, biases, batch_size=batch_size, n_hidden_units=n_hidden_units):
    """--static-unroll: RNN() with the same cell, variables and math, unrolled into
    n_steps copies (tf.nn.static_rnn) instead of dynamic_rnn's while loop: about 8%
    faster per training step on CPU. Its ops are made in RNN()'s order."""
    X_in = tf.reshape(tf.matmul(tf.reshape(X, [-1, n_inputs]), weights['in']) + biases['in'],
                      [-1, n_steps, n_hidden_units])
    cell = tf.nn.rnn_cell.BasicLSTMCell(num_units=n_hidden_units, forget_bias=1.0, state_is_tuple=True)
    init_state = cell.zero_state(batch_size, dtype=tf.float32)
    # outputs is already the list of n_steps (batch, hidden) tensors method 2 makes
    outputs, final_state = tf.nn.static_rnn(cell, tf.unstack(X_in, axis=1),
                                            initial_state=init_state)
    tf.matmul(final_state[1], weights['out']) + biases['out']  # method 1, built, not used
    return tf.matmul(outputs[-1], weights['out']) + biases['out']


def RNN_fast(X, weights, biases, batch_size=batch_size, n_hidden_units=n_hidden_units):
    """--fast: the same variables and math as RNN(), built as fewer, fused ops with a
    hand-written backward (fast_lstm/graph.py); numerics in FIDELITY.md."""
    import fast_lstm
    return fast_lstm.rnn_logits(X, weights, biases, n_hidden_units, n_steps, n_inputs)


def session_config(fast=False):
    """The Session's config: TensorFlow's default (None), or with --fast the fast graph's
    (Added (--fast): fast_lstm.session_config(), its threading)."""
    if not fast:
        return None
    import fast_lstm
    return fast_lstm.session_config()


class Progress:
    """What train() adds around the tutorial's loop: the TensorBoard writer, the NaN
    checks, --select-on validation's score, the printed line, the best so far, and the
    stop on a signal (one line that says what the checkpoint folder holds)."""

    def __init__(self, args, g, sess, mnist, run):
        self.args, self.g, self.sess, self.mnist, self.run = args, g, sess, mnist, run
        self.total_steps = math.ceil(args.training_iters / args.batch_size)
        self.step = 0
        self.best_step = self.best_batch_acc = None
        self.line = ''
        self.started = time.time()
        self.seconds = None
        # Added: the pid in the events file's name, so two runs started in the same
        # second never write into one file.
        self.writer = tf.summary.FileWriter(args.logdir, sess.graph,
                                            filename_suffix=f'.{os.getpid()}')

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        try:
            if kind is None:
                close_events(self.writer, self.args.logdir)
            elif issubclass(kind, Interrupted):
                error.message = (f'\ninterrupted at step {self.step} ({error.name}); '
                                 + kept_message(self.run))
        finally:
            with contextlib.suppress(Exception):  # after an error: its message stands
                self.writer.close()
        self.seconds = time.time() - self.started
        return False

    def score(self, step, step_cost, test_acc, new_cost, summary):
        """At a print: both costs checked (a non-finite one stops training before these
        weights are saved), the summary written, the line started; returns what the
        best is picked on."""
        self.step = step
        args = self.args
        check_cost(step_cost, f'at step {step}', args.lr, KEPT)
        check_cost(new_cost, f'after step {step}', args.lr, KEPT)
        add_summary(self.writer, summary, step, args.logdir)
        self.line = f'step {step:>{len(str(self.total_steps))}}/{self.total_steps}  ' \
                    f'batch accuracy {test_acc:<9}'
        # Added: --select-on validation picks on 5,000 held-out images.
        score = test_acc
        if args.select_on == 'validation':
            score = evaluate(self.sess, self.g, self.mnist.validation)
            add_summary(self.writer, tf.Summary(value=[tf.Summary.Value(
                tag='validation_accuracy', simple_value=score)]), step, args.logdir)
            self.line += f'  validation accuracy {score:.4f}'
        self.line += f'  {time.time() - self.started:6.1f}s'
        return score

    def saved(self, step, test_acc):
        self.best_step, self.best_batch_acc = step, float(test_acc)
        self.line += '  saved'

    def stepped(self, step, step_cost):
        """After a step (``step`` steps done): a NaN/inf cost stops training; so do
        Ctrl-C, SIGTERM or SIGHUP, between two steps."""
        check_cost(step_cost, f'at step {step - 1}', self.args.lr, KEPT)
        self.step = step
        check_interrupted()


def evaluate(sess, g, dataset):
    """Accuracy on a whole data set (Added: the tutorial never tests).

    The graph takes only full batches (the static zero_state), so the last batch
    is padded with blank images and only the real ones are counted.
    """
    n = dataset.num_examples
    correct = 0
    for start in range(0, n, g.batch_size):
        check_interrupted()  # a signal stops the evaluation between two batches
        images = dataset.images[start:start + g.batch_size]
        labels = dataset.labels[start:start + g.batch_size]
        real = len(images)
        if real < g.batch_size:
            pad = g.batch_size - real
            images = np.concatenate([images, np.zeros((pad,) + images.shape[1:], images.dtype)])
            labels = np.concatenate([labels, np.zeros((pad,) + labels.shape[1:], labels.dtype)])
        hits = sess.run(g.correct_pred, feed_dict={
            g.x: images.reshape([g.batch_size, n_steps, n_inputs]),
            g.y: labels,
        })
        correct += int(np.sum(hits[:real]))
    return correct / n


def memory_needed(batch_size, n_hidden_units):
    """Bytes a training run needs, roughly: the weights four times over (values,
    gradients, Adam's two slots) and, per time step, the LSTM's activations and
    their gradients (gates, c, h, input), all float32."""
    h = n_hidden_units
    params = n_inputs * h + h + 8 * h * h + 4 * h + h * n_classes + n_classes
    activations = batch_size * n_steps * (n_inputs + 8 * h)
    return 4 * (4 * params + 2 * activations)


def corruption(error):
    """What a failed checkpoint read says: TF's checksum errors (a flipped bit in the
    .index or .data file) as 'corrupt (CRC check failed)', like a damaged .gz."""
    if 'checksum' in str(getattr(error, 'message', error)).lower():
        return 'corrupt (CRC check failed)'
    return 'unreadable or corrupt'


def check_checkpoint(path, n_hidden_units):
    """Refuse a checkpoint that cannot restore into this graph, with the reason."""
    try:
        shapes = dict(tf.train.list_variables(path))
    except Exception as e:
        raise UserError(f'checkpoint {path} is {corruption(e)}: retrain it '
                        f'(run without --eval) or pass another --ckpt-dir') from None
    w_in = shapes.get('Variable')
    if w_in is None or 'rnn/basic_lstm_cell/kernel' not in shapes:
        raise UserError(f'checkpoint {path} is not an mnist_lstm_classifier checkpoint: '
                        f'pass the --ckpt-dir of one')
    if list(w_in) != [n_inputs, n_hidden_units]:
        raise UserError(f'checkpoint {path} was trained with --hidden-units {w_in[1]}, '
                        f'not {n_hidden_units}: pass --hidden-units {w_in[1]}')


def restore(sess, saver, path, n_hidden_units):
    check_checkpoint(path, n_hidden_units)
    try:
        saver.restore(sess, path)
    except (tf.errors.OpError, ValueError) as e:
        # TF's message carries the graph's creation traceback; its last line is the reason
        lines = [l.strip() for l in str(getattr(e, 'message', e)).splitlines()]
        reason = next((l for l in reversed(lines) if l and not l.startswith('[[')),
                      type(e).__name__)
        what = corruption(e)
        what = f'is {what}' if 'CRC' in what else f'could not be restored ({reason})'
        raise UserError(f'checkpoint {path} {what}: retrain it '
                        f'(run without --eval) or pass another --ckpt-dir') from None


def add_summary(writer, summary, step, logdir):
    """writer.add_summary, then flush: a full or failing --logdir stops the run with
    its reason at once, instead of a truncated events file found later."""
    try:
        writer.add_summary(summary, step)
        writer.flush()
    except (RuntimeError, OSError, tf.errors.OpError) as e:
        raise write_failed(logdir, e, '--logdir') from None


def read_back(sess, saver, best, run):
    """saver.restore(sess, best) at the end of training; a read error there (a failing
    disk) is one line that says what the folder still holds."""
    try:
        saver.restore(sess, best)
    except (tf.errors.OpError, ValueError) as e:
        raise UserError(f'cannot read back {best} ({reason_of(e)}): check the disk; '
                        + kept_message(run)) from None


def kept_message(run):
    """What an interrupted run leaves in its checkpoint folder, in one line."""
    if run.best is None:
        return f'no checkpoint saved by this run; --eval uses {run.path(run.kept) or "none"}'
    if run.kept is None:
        return f'best checkpoint kept: {run.path(run.best)}'
    return (f'best checkpoint kept: {run.path(run.best)}; --eval still uses '
            f'{run.path(run.kept)}, the last finished run\'s, until a run finishes')


def run_eval(args, mnist):
    """The tutorial's is_train=False branch: restore and test, no training."""
    g = build_graph(args.lr, args.batch_size, args.hidden_units, args.static_unroll, args.fast)
    saver = tf.train.Saver(max_to_keep=1, save_relative_paths=True)
    with tf.Session(config=session_config(args.fast)) as sess:
        # Changed: tf.train.latest_checkpoint, read while no save is changing the folder
        with checkpoints.reading(args.ckpt_dir) as path:
            if path is None:
                raise UserError(f'no checkpoint in {args.ckpt_dir}: train first '
                                f'(run without --eval) or pass --ckpt-dir')
            restore(sess, saver, path, args.hidden_units)
        test_accuracy = evaluate(sess, g, mnist.test)
    print(f'checkpoint: {path}')
    print(f'test accuracy: {test_accuracy:.4f} on {mnist.test.num_examples} test images')
    return {'checkpoint': path, 'test_accuracy': test_accuracy}


def parse_args(argv=None):
    p = ArgumentParser(
        description="The TF 1.x MNIST LSTM tutorial on tf.compat.v1. Defaults are the tutorial's. "
                    "Output folders are relative to the working directory.")
    p.add_argument('--lr', type=positive_float, default=lr, help='learning rate (default: %(default)s)')
    p.add_argument('--training-iters', type=positive_int, default=training_iters,
                   help='train while step * batch_size < this (default: %(default)s, 782 steps)')
    p.add_argument('--batch-size', type=positive_int, default=batch_size,
                   help='images per step; also the graph\'s fixed batch (default: %(default)s)')
    p.add_argument('--hidden-units', type=positive_int, default=n_hidden_units,
                   help='LSTM units (default: %(default)s)')
    p.add_argument('--data-dir', default=None,
                   help='folder with the four MNIST .gz files (default: data in the working '
                        'directory if it holds them, else the data folder beside this script)')
    p.add_argument('--ckpt-dir', default='ckptRNN',
                   help='checkpoint folder, relative to the working directory; one training run '
                        'at a time (default: %(default)s)')
    p.add_argument('--logdir', default=os.path.join('logs', 'mnist_lstm_classifier'),
                   help='TensorBoard folder, relative to the working directory (default: %(default)s)')
    p.add_argument('--seed', type=int, default=None,
                   help='graph and shuffle seed (tf.set_random_seed): repeatable runs that repeat TF 1.15\'s '
                        'run with that seed (default: none, as in the tutorial)')
    p.add_argument('--eval', action='store_true',
                   help='restore the checkpoint that <ckpt-dir>/checkpoint names (the last '
                        'finished run\'s) and test it, no training')
    p.add_argument('--select-on', choices=['batch', 'validation'], default='batch',
                   help='pick the best checkpoint on the training batch (the tutorial) '
                        'or on the 5,000 validation images (default: %(default)s)')
    p.add_argument('--static-unroll', action='store_true',
                   help='unroll the LSTM over the time steps (tf.nn.static_rnn) instead of '
                        'a while loop (tf.nn.dynamic_rnn): same variables and results; '
                        'training steps 8-13%% faster, but about 1 s more to build, so a default '
                        '782-step run roughly breaks even')
    p.add_argument('--fast', action='store_true',
                   help='opt-in speed mode: the same variables and math as fewer, fused ops, '
                        'the batch as two halves run side by side (one per core), with a '
                        'hand-written backward (fast_lstm/); float32 results within rounding of '
                        'the default graph, checkpoints interchangeable both ways; training steps '
                        'about 2.8x faster on 2 idle cores (FIDELITY.md, '
                        'docs/performance.md)')
    p.add_argument('--metrics-json', metavar='PATH',
                   help='write the run\'s numbers as JSON: steps, best_batch_accuracy, best_step, '
                        'checkpoint, test_accuracy, train_seconds, select_on, seed (and '
                        'best_validation_accuracy with --select-on validation; with --eval: '
                        'checkpoint, test_accuracy)')
    args = p.parse_args(argv)
    if args.fast and args.static_unroll:  # Added (--fast): it has its own unrolled graph
        p.error('--fast and --static-unroll: pass one of them (--fast is unrolled already)')
    return args


def main(argv=None):
    args = parse_args(argv)
    # Added: every failure is one line (run_safety/cli.py); signals stop at safe points.
    with command_line():
        # Check every input and output before the slow part starts, creating nothing.
        check_no_glob(args.ckpt_dir, '--ckpt-dir')
        if not args.eval:
            check_output_dir(args.ckpt_dir, '--ckpt-dir')
            check_output_dir(args.logdir, '--logdir')
            checkpoints.check_not_in_use(args.ckpt_dir)
        check_memory(memory_needed(args.batch_size, args.hidden_units),
                     f'--hidden-units {args.hidden_units} and --batch-size {args.batch_size}')
        if args.metrics_json:
            check_output_file(args.metrics_json, '--metrics-json')
        load_tensorflow(args.fast)
        check_interrupted()

        # 数据 data. Changed: 'MNIST_data' -> --data-dir (default data/, shipped in the
        # repository so a fresh clone runs offline); seed=None unless --seed.
        # Added: without --data-dir, the repository's data/ is found from any directory.
        data_dir = input_data.find_data_dir(args.data_dir, __file__)
        mnist = input_data.read_data_sets(data_dir, one_hot=True, seed=args.seed)
        if not args.eval and args.batch_size > mnist.train.num_examples:
            # next_batch could not fill one batch, and the graph takes only full ones
            raise UserError(f'--batch-size {args.batch_size} is larger than the '
                            f'{mnist.train.num_examples} training images: pass a smaller one')
        check_interrupted()

        tf.reset_default_graph()
        if args.seed is not None:
            # Upstream's tf.set_random_seed(1), made a flag (the post dropped it).
            # tf1_compat.v1 derives each op's seed from it as TF 1.x did, so the run
            # repeats TF 1.15's number for number (FIDELITY.md).
            tf.set_random_seed(args.seed)
        if args.eval:
            result = run_eval(args, mnist)
        else:
            make_output_dir(args.ckpt_dir, '--ckpt-dir')
            make_output_dir(args.logdir, '--logdir')
            result = train(args, mnist)
        if args.metrics_json:
            write_json(args.metrics_json, result)
        return result


if __name__ == '__main__':
    main()

"""The tutorial's MNIST LSTM classifier in plain TensorFlow 1.x, for the TF 1.15 oracle.

Runs under Python 3.7 with tensorflow==1.15.5 (tests/tf115/oracle.py builds that
environment). It shares no code with the project: TF 1.15's own input_data reads
the repository's data/ folder, the graph is the tutorial's as upstream wrote it
(tf.contrib.rnn.BasicLSTMCell, tf.set_random_seed before read_data_sets).

    python tf1_classifier.py train --seed 1 --data-dir data --ckpt-dir C --out run.json
    python tf1_classifier.py init --seed 1 --dump-init w.npz --out seeds.json
    python tf1_classifier.py eval --ckpt C/mnistRNNLSTM.ckpt-460 --data-dir data --out e.json
    python tf1_classifier.py step --inp given.npz --out got.npz

Every command writes its results to --out; train also prints the tutorial's lines.
"""
import argparse
import json
import os
import sys

import numpy as np
import tensorflow as tf
from tensorflow.examples.tutorials.mnist import input_data

tf.logging.set_verbosity(tf.logging.ERROR)

lr = 0.001
batch_size = 128
n_inputs = 28
n_steps = 28
n_hidden_units = 128
n_classes = 10
VARIABLES = ('w_in', 'w_out', 'b_in', 'b_out', 'kernel', 'bias')


def build():
    """The tutorial's graph, op for op, in the default graph."""
    x = tf.placeholder(tf.float32, [None, n_steps, n_inputs])
    y = tf.placeholder(tf.float32, [None, n_classes])
    weights = {
        'in': tf.Variable(tf.random_normal([n_inputs, n_hidden_units])),
        'out': tf.Variable(tf.random_normal([n_hidden_units, n_classes])),
    }
    biases = {
        'in': tf.Variable(tf.constant(0.1, shape=[n_hidden_units, ])),
        'out': tf.Variable(tf.constant(0.1, shape=[n_classes, ])),
    }

    X = tf.reshape(x, [-1, n_inputs])
    X_in = tf.matmul(X, weights['in']) + biases['in']
    X_in = tf.reshape(X_in, [-1, n_steps, n_hidden_units])
    cell = tf.contrib.rnn.BasicLSTMCell(n_hidden_units, forget_bias=1.0, state_is_tuple=True)
    init_state = cell.zero_state(batch_size, dtype=tf.float32)
    outputs, final_state = tf.nn.dynamic_rnn(cell, X_in, initial_state=init_state,
                                             time_major=False)
    results = tf.matmul(final_state[1], weights['out']) + biases['out']  # method 1, unused
    outputs = tf.unstack(tf.transpose(outputs, [1, 0, 2]))
    pred = tf.matmul(outputs[-1], weights['out']) + biases['out']  # method 2

    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y))
    train_op = tf.train.AdamOptimizer(lr).minimize(cost)
    correct_pred = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_pred, tf.float32))
    by_name = {v.op.name: v for v in tf.global_variables()}
    variables = dict(w_in=weights['in'], w_out=weights['out'], b_in=biases['in'],
                     b_out=biases['out'], kernel=by_name['rnn/basic_lstm_cell/kernel'],
                     bias=by_name['rnn/basic_lstm_cell/bias'])
    return dict(x=x, y=y, pred=pred, cost=cost, train_op=train_op, correct_pred=correct_pred,
                accuracy=accuracy, variables=variables)


def random_op_seeds():
    """(name, seed, seed2) of every random op: what the graph seed turned into."""
    return [[op.name, op.get_attr('seed'), op.get_attr('seed2')]
            for op in tf.get_default_graph().get_operations()
            if op.type.startswith('Random')]


def evaluate(sess, g, dataset):
    """Accuracy on the whole set, in full batches (the last one padded with blanks)."""
    correct = 0
    for start in range(0, dataset.num_examples, batch_size):
        images = dataset.images[start:start + batch_size]
        labels = dataset.labels[start:start + batch_size]
        real = len(images)
        pad = batch_size - real
        images = np.concatenate([images, np.zeros((pad, images.shape[1]), images.dtype)])
        labels = np.concatenate([labels, np.zeros((pad, labels.shape[1]), labels.dtype)])
        hits = sess.run(g['correct_pred'], {g['x']: images.reshape(batch_size, n_steps, n_inputs),
                                            g['y']: labels})
        correct += int(hits[:real].sum())
    return correct / dataset.num_examples


def train(args):
    # upstream: tf.set_random_seed(1) right after the imports, before the data is read
    tf.set_random_seed(args.seed)
    mnist = input_data.read_data_sets(args.data_dir, one_hot=True)
    g = build()
    init = tf.global_variables_initializer()
    # The tutorial's Saver; relative paths in the checkpoint index only, so the
    # oracle's cached folder can be copied elsewhere and still restore.
    saver = tf.train.Saver(max_to_keep=1, save_relative_paths=True)
    prefix = os.path.join(args.ckpt_dir, 'mnistRNNLSTM.ckpt')
    accuracies, saved = [], []
    with tf.Session() as sess:
        sess.run(init)
        if args.dump_init:
            np.savez(args.dump_init, **sess.run(g['variables']))
        step = 0
        max_acc = 0
        while step * batch_size < args.training_iters:
            batch_xs, batch_ys = mnist.train.next_batch(batch_size)
            batch_xs = batch_xs.reshape([batch_size, n_steps, n_inputs])
            sess.run([g['train_op']], feed_dict={g['x']: batch_xs, g['y']: batch_ys})
            if step % 20 == 0:
                test_acc = sess.run(g['accuracy'], feed_dict={g['x']: batch_xs, g['y']: batch_ys})
                print(test_acc, flush=True)
                accuracies.append(float(test_acc))
                if test_acc > max_acc:
                    max_acc = test_acc
                    saver.save(sess, prefix, global_step=step)
                    saved.append(step)
            step += 1
        final = sess.run(g['variables'])
        best = saver.last_checkpoints[-1]
        saver.restore(sess, best)
        test_accuracy = evaluate(sess, g, mnist.test)
    if args.dump_final:
        np.savez(args.dump_final, **final)
    return dict(tf_version=tf.__version__, accuracies=accuracies, saved_steps=saved,
                best_step=saved[-1], checkpoint=os.path.basename(best), steps=step, test_accuracy=test_accuracy,
                random_op_seeds=random_op_seeds())


def initial(args):
    """The graph built under tf.set_random_seed(seed): its initial weights and op seeds."""
    tf.set_random_seed(args.seed)
    g = build()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.savez(args.dump_init, **sess.run(g['variables']))
    return dict(tf_version=tf.__version__, random_op_seeds=random_op_seeds())


def evaluate_checkpoint(args):
    mnist = input_data.read_data_sets(args.data_dir, one_hot=True)
    g = build()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        saver.restore(sess, args.ckpt)
        return dict(tf_version=tf.__version__, checkpoint=args.ckpt,
                    test_accuracy=evaluate(sess, g, mnist.test))


def step(args):
    """From given weights, for each given batch in turn: logits, cost, gradients, then
    one Adam update. Writes those and the weights and Adam slots at the end."""
    given = np.load(args.inp)
    g = build()
    variables = g['variables']
    names = list(VARIABLES)
    grads = tf.gradients(g['cost'], [variables[n] for n in names])
    init = tf.global_variables_initializer()
    out = {}
    with tf.Session() as sess:
        sess.run(init)
        for n in names:
            variables[n].load(given[n], sess)
        per_step = {k: [] for k in ['logits', 'cost'] + ['grad_' + n for n in names]}
        for k in range(given['xs'].shape[0]):
            feed = {g['x']: given['xs'][k], g['y']: given['ys'][k]}
            logits, cost, *gs = sess.run([g['pred'], g['cost']] + grads, feed)
            per_step['logits'].append(logits)
            per_step['cost'].append(cost)
            for n, v in zip(names, gs):
                per_step['grad_' + n].append(v)
            sess.run(g['train_op'], feed)
        out.update({k: np.stack(v) for k, v in per_step.items()})
        for v in tf.global_variables():
            out['var/' + v.op.name] = sess.run(v)
    np.savez(args.out, **out)
    return None


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='command')
    t = sub.add_parser('train')
    t.add_argument('--seed', type=int, required=True)
    t.add_argument('--data-dir', required=True)
    t.add_argument('--ckpt-dir', required=True)
    t.add_argument('--training-iters', type=int, default=100000)
    t.add_argument('--dump-init')
    t.add_argument('--dump-final')
    t.add_argument('--out', required=True)
    i = sub.add_parser('init')
    i.add_argument('--seed', type=int, required=True)
    i.add_argument('--dump-init', required=True)
    i.add_argument('--out', required=True)
    e = sub.add_parser('eval')
    e.add_argument('--ckpt', required=True)
    e.add_argument('--data-dir', required=True)
    e.add_argument('--out', required=True)
    s = sub.add_parser('step')
    s.add_argument('--inp', required=True)
    s.add_argument('--out', required=True)
    args = p.parse_args()
    result = {'train': train, 'init': initial, 'eval': evaluate_checkpoint,
              'step': step}[args.command](args)
    if result is not None:
        with open(args.out, 'w') as f:
            json.dump(result, f)


if __name__ == '__main__':
    sys.exit(main())

"""The tutorial's sin -> cos LSTMRNN regressor in plain TensorFlow 1.x, for the TF 1.15 oracle.

Runs under Python 3.7 with tensorflow==1.15.5 (tests/tf115/oracle.py builds that
environment). It shares no code with the project: the class is the tutorial's, with
tf.contrib.rnn.BasicLSTMCell and tf.contrib.legacy_seq2seq, tf.set_random_seed(seed)
before the model is built and no plotting.

    python tf1_regressor.py train --seed 1 --out run.json [--dump-init w0.npz --dump-final w.npz]
    python tf1_regressor.py step --inp given.npz --out got.npz
    python tf1_regressor.py graph --seed 1 --out graph.json

Every command writes its results to --out; train also prints the tutorial's lines.
"""
import argparse
import json
import sys

import numpy as np
import tensorflow as tf

tf.logging.set_verbosity(tf.logging.ERROR)

BATCH_START = 0
TIME_STEPS = 20
BATCH_SIZE = 50
INPUT_SIZE = 1
OUTPUT_SIZE = 1
CELL_SIZE = 10
LR = 0.006
VARIABLES = {'w_in': 'in_hidden/weights', 'b_in': 'in_hidden/biases',
             'kernel': 'LSTM_cell/rnn/basic_lstm_cell/kernel',
             'bias': 'LSTM_cell/rnn/basic_lstm_cell/bias',
             'w_out': 'out_hidden/weights', 'b_out': 'out_hidden/biases'}


def get_batch():
    global BATCH_START, TIME_STEPS
    xs = np.arange(BATCH_START, BATCH_START + TIME_STEPS * BATCH_SIZE).reshape(
        (BATCH_SIZE, TIME_STEPS)) / (10 * np.pi)
    seq = np.sin(xs)
    res = np.cos(xs)
    BATCH_START += TIME_STEPS
    return [seq[:, :, np.newaxis], res[:, :, np.newaxis], xs]


class LSTMRNN(object):
    def __init__(self, n_steps, input_size, output_size, cell_size, batch_size):
        self.n_steps = n_steps
        self.input_size = input_size
        self.output_size = output_size
        self.cell_size = cell_size
        self.batch_size = batch_size
        with tf.name_scope('inputs'):
            self.xs = tf.placeholder(tf.float32, [None, n_steps, input_size], name='xs')
            self.ys = tf.placeholder(tf.float32, [None, n_steps, output_size], name='ys')
        with tf.variable_scope('in_hidden'):
            self.add_input_layer()
        with tf.variable_scope('LSTM_cell'):
            self.add_cell()
        with tf.variable_scope('out_hidden'):
            self.add_output_layer()
        with tf.name_scope('cost'):
            self.compute_cost()
        with tf.name_scope('train'):
            self.train_op = tf.train.AdamOptimizer(LR).minimize(self.cost)

    def add_input_layer(self):
        l_in_x = tf.reshape(self.xs, [-1, self.input_size], name='2_2D')
        Ws_in = self._weight_variable([self.input_size, self.cell_size])
        bs_in = self._bias_variable([self.cell_size, ])
        with tf.name_scope('Wx_plus_b'):
            l_in_y = tf.matmul(l_in_x, Ws_in) + bs_in
        self.l_in_y = tf.reshape(l_in_y, [-1, self.n_steps, self.cell_size], name='2_3D')

    def add_cell(self):
        lstm_cell = tf.contrib.rnn.BasicLSTMCell(self.cell_size, forget_bias=1.0,
                                                 state_is_tuple=True)
        with tf.name_scope('initial_state'):
            self.cell_init_state = lstm_cell.zero_state(self.batch_size, dtype=tf.float32)
        self.cell_outputs, self.cell_final_state = tf.nn.dynamic_rnn(
            lstm_cell, self.l_in_y, initial_state=self.cell_init_state, time_major=False)

    def add_output_layer(self):
        l_out_x = tf.reshape(self.cell_outputs, [-1, self.cell_size], name='2_2D')
        Ws_out = self._weight_variable([self.cell_size, self.output_size])
        bs_out = self._bias_variable([self.output_size, ])
        with tf.name_scope('Wx_plus_b'):
            self.pred = tf.matmul(l_out_x, Ws_out) + bs_out

    def compute_cost(self):
        losses = tf.contrib.legacy_seq2seq.sequence_loss_by_example(
            [tf.reshape(self.pred, [-1], name='reshape_pred')],
            [tf.reshape(self.ys, [-1], name='reshape_target')],
            [tf.ones([self.batch_size * self.n_steps], dtype=tf.float32)],
            average_across_timesteps=True,
            softmax_loss_function=self.ms_error,
            name='losses'
        )
        with tf.name_scope('average_cost'):
            self.cost = tf.div(
                tf.reduce_sum(losses, name='losses_sum'),
                self.batch_size,
                name='average_cost')
            correct_pred = tf.equal(tf.argmax([tf.reshape(self.pred, [-1])], 1),  # noqa: F841
                                    tf.argmax([tf.reshape(self.ys, [-1])], 1))
            tf.summary.scalar('cost', self.cost)

    @staticmethod
    def ms_error(labels, logits):
        return tf.square(tf.subtract(labels, logits))

    def _weight_variable(self, shape, name='weights'):
        initializer = tf.random_normal_initializer(mean=0., stddev=1.,)
        return tf.get_variable(shape=shape, initializer=initializer, name=name)

    def _bias_variable(self, shape, name='biases'):
        initializer = tf.constant_initializer(0.1)
        return tf.get_variable(name=name, shape=shape, initializer=initializer)


def variables():
    by_name = {v.op.name: v for v in tf.global_variables()}
    return {k: by_name[v] for k, v in VARIABLES.items()}


def random_op_seeds():
    return [[op.name, op.get_attr('seed'), op.get_attr('seed2')]
            for op in tf.get_default_graph().get_operations() if op.type.startswith('Random')]


def train(args):
    tf.set_random_seed(args.seed)
    model = LSTMRNN(TIME_STEPS, INPUT_SIZE, OUTPUT_SIZE, CELL_SIZE, BATCH_SIZE)
    sess = tf.Session()
    merged = tf.summary.merge_all()
    init = tf.global_variables_initializer()
    sess.run(init)
    if args.dump_init:
        np.savez(args.dump_init, **sess.run(variables()))
    costs, summaries = [], []
    for i in range(args.iterations):
        seq, res, xs = get_batch()
        if i == 0:
            feed_dict = {model.xs: seq, model.ys: res}
        else:
            feed_dict = {model.xs: seq, model.ys: res, model.cell_init_state: state}  # noqa: F821
        _, cost, state, pred = sess.run(
            [model.train_op, model.cost, model.cell_final_state, model.pred],
            feed_dict=feed_dict)
        if i % 20 == 0:
            print('cost: ', round(cost, 4), flush=True)
            costs.append(float(cost))
            summary = tf.Summary.FromString(sess.run(merged, feed_dict))
            summaries.append([[v.tag, float(v.simple_value)] for v in summary.value])
    if args.dump_final:
        np.savez(args.dump_final, **sess.run(variables()))
    sess.close()
    return dict(tf_version=tf.__version__, costs=costs, final_cost=float(cost),
                summaries=summaries, random_op_seeds=random_op_seeds())


def step(args):
    """From given weights and initial state, the given batches in turn, each fed the
    previous one's final state: pred, cost, final state, gradients, then one Adam update."""
    given = np.load(args.inp)
    model = LSTMRNN(TIME_STEPS, INPUT_SIZE, OUTPUT_SIZE, CELL_SIZE, BATCH_SIZE)
    var = variables()
    names = sorted(var)
    grads = tf.gradients(model.cost, [var[n] for n in names])
    out = {k: [] for k in ['pred', 'cost', 'c', 'h'] + ['grad_' + n for n in names]}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for n in names:
            var[n].load(given[n], sess)
        state = tf.nn.rnn_cell.LSTMStateTuple(given['c0'], given['h0'])
        for k in range(given['xs'].shape[0]):
            feed = {model.xs: given['xs'][k], model.ys: given['ys'][k],
                    model.cell_init_state: state}
            pred, cost, state, *gs = sess.run(
                [model.pred, model.cost, model.cell_final_state] + grads, feed)
            sess.run(model.train_op, feed)
            for key, value in zip(['pred', 'cost', 'c', 'h'] + ['grad_' + n for n in names],
                                  [pred, cost, state.c, state.h] + gs):
                out[key].append(value)
        result = {k: np.stack(v) for k, v in out.items()}
        for v in tf.global_variables():
            result['var/' + v.op.name] = sess.run(v)
    np.savez(args.out, **result)


def graph(args):
    """Every op of the tutorial's graph (name, type, inputs, device-free attrs that name
    things) and the summary tag, for comparing with the project's graph."""
    tf.set_random_seed(args.seed)
    model = LSTMRNN(TIME_STEPS, INPUT_SIZE, OUTPUT_SIZE, CELL_SIZE, BATCH_SIZE)
    merged = tf.summary.merge_all()
    init = tf.global_variables_initializer()
    with tf.Session() as sess:
        sess.run(init)
        zero = np.zeros((BATCH_SIZE, TIME_STEPS, 1))
        tags = [v.tag for v in tf.Summary.FromString(
            sess.run(merged, {model.xs: zero, model.ys: zero})).value]
    ops = [[op.name, op.type, [t.name for t in op.inputs],
            [c.name for c in op.control_inputs]]
           for op in tf.get_default_graph().get_operations()]
    return dict(tf_version=tf.__version__, ops=ops, summary_tags=tags,
                variables=[[v.op.name, v.shape.as_list()] for v in tf.global_variables()],
                trainable=[v.op.name for v in tf.trainable_variables()],
                train_op=model.train_op.name, cost=model.cost.name,
                random_op_seeds=random_op_seeds())


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='command')
    t = sub.add_parser('train')
    t.add_argument('--seed', type=int, required=True)
    t.add_argument('--iterations', type=int, default=200)
    t.add_argument('--dump-init')
    t.add_argument('--dump-final')
    t.add_argument('--out', required=True)
    s = sub.add_parser('step')
    s.add_argument('--inp', required=True)
    s.add_argument('--out', required=True)
    g = sub.add_parser('graph')
    g.add_argument('--seed', type=int, required=True)
    g.add_argument('--out', required=True)
    args = p.parse_args()
    result = {'train': train, 'step': step, 'graph': graph}[args.command](args)
    if result is not None:
        with open(args.out, 'w') as f:
            json.dump(result, f)


if __name__ == '__main__':
    sys.exit(main())

"""Sin -> cos regression with an LSTM: the TF 1.x tutorial (莫烦Python, "RNN LSTM
(回归例子)"), rebuilt with tf.compat.v1 so it runs on current TensorFlow.

The LSTM reads a sine wave and learns to output the cosine at the same points.
Consecutive batches continue each other, so the final LSTM state of one batch is
fed back as the initial state of the next. Graph, constants, training loop and
print cadence are the tutorial's; changes are marked "Changed:" or "Added:".

    python sin_cos_lstm_regressor.py                  # 200 iterations, live plot if there is a display
    python sin_cos_lstm_regressor.py --plot file      # no window: PNG + GIF + CSV in the logdir
    python sin_cos_lstm_regressor.py --reset-state    # zero state every batch, to compare
    tensorboard --logdir logs                         # the graph and the cost curve
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
import os
import sys
import time

import numpy as np

from run_safety import outputs
from run_safety.cli import (ArgumentParser, Interrupted, UserError, check_cost, check_interrupted, check_memory, check_output_dir,
                            check_output_file, close_events, command_line, make_output_dir,
                            non_negative_float, positive_float, positive_int, write_failed,
                            write_json)

# Changed: `import tensorflow as tf`, matplotlib and pandas are imported by
# load_tensorflow() once the flags are parsed, so --help answers at once.
# tf is tensorflow.compat.v1 in TF 1.x mode, with the legacy tf-keras that
# BasicLSTMCell needs on TF 2.16+ (see tf1_compat/v1.py); tf.contrib.legacy_seq2seq
# is gone, tf1_compat.legacy_seq2seq is the same function.
tf = plt = pd = legacy_seq2seq = None


def load_tensorflow():
    """Import TensorFlow (a few seconds), matplotlib and pandas as this module's
    ``tf``, ``plt``, ``pd`` and ``legacy_seq2seq``; return ``tf``."""
    global tf, plt, pd, legacy_seq2seq
    import matplotlib.pyplot as plt
    import pandas as pd
    try:
        from tf1_compat.v1 import tf
    except ImportError as e:
        raise UserError(str(e)) from None
    from tf1_compat import legacy_seq2seq
    return tf


BATCH_START = 0  # 建立 batch data 时候的 index
TIME_STEPS = 20  # backpropagation through time 的 time_steps
BATCH_SIZE = 50
INPUT_SIZE = 1  # sin 数据输入 size
OUTPUT_SIZE = 1  # cos 数据输出 size
CELL_SIZE = 10  # RNN 的 hidden unit size
LR = 0.006  # learning rate
ITERATIONS = 200  # 训练 200 次 (a literal in the tutorial's loop)
PAUSE = 0.3  # seconds per live-plot frame (a literal in the tutorial's loop)


# 捏一个数据 make up the data.
# Changed: batch_size and time_steps are parameters (default: the tutorial's) so the
# flags reach them. Row r covers points [start + r*T, start + (r+1)*T); moving
# BATCH_START by T means row r of the next batch continues row r of this one,
# which is why the LSTM state can be carried from batch to batch.
def get_batch(batch_size=BATCH_SIZE, time_steps=TIME_STEPS):
    global BATCH_START
    # xs shape (50batch, 20steps)
    xs = np.arange(BATCH_START, BATCH_START + time_steps * batch_size).reshape(
        (batch_size, time_steps)) / (10 * np.pi)
    seq = np.sin(xs)
    res = np.cos(xs)
    BATCH_START += time_steps
    # returned seq, res and xs: shape (batch, step, input)
    return [seq[:, :, np.newaxis], res[:, :, np.newaxis], xs]


class LSTMRNN(object):
    # Changed: lr is a parameter (default: the tutorial's LR) so --lr reaches it.
    def __init__(self, n_steps, input_size, output_size, cell_size, batch_size, lr=LR):
        self.n_steps = n_steps  # cell的个数 time steps
        self.input_size = input_size  # 每一个cell输入的长度
        self.output_size = output_size
        self.cell_size = cell_size  # 每一个RNNcell隐藏神经元数量
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
            self.train_op = tf.train.AdamOptimizer(lr).minimize(self.cost)

    def add_input_layer(self):
        l_in_x = tf.reshape(self.xs, [-1, self.input_size], name='2_2D')  # (batch*n_step, in_size) (1000,1)
        # Ws (in_size, cell_size) (1,10)
        Ws_in = self._weight_variable([self.input_size, self.cell_size])
        # bs (cell_size, ) (10,)
        bs_in = self._bias_variable([self.cell_size, ])
        # l_in_y = (batch * n_steps, cell_size) (1000,10)
        with tf.name_scope('Wx_plus_b'):
            l_in_y = tf.matmul(l_in_x, Ws_in) + bs_in
        # reshape l_in_y ==> (batch, n_steps, cell_size) (50,20,10)
        self.l_in_y = tf.reshape(l_in_y, [-1, self.n_steps, self.cell_size], name='2_3D')

    def add_cell(self):
        # Changed: tf.contrib.rnn.BasicLSTMCell -> tf.nn.rnn_cell.BasicLSTMCell (same class).
        lstm_cell = tf.nn.rnn_cell.BasicLSTMCell(self.cell_size, forget_bias=1.0, state_is_tuple=True)
        with tf.name_scope('initial_state'):
            # (c, h), each (batch, cell_size), zeros. A fed value replaces it, which
            # is how the training loop carries the state across batches.
            self.cell_init_state = lstm_cell.zero_state(self.batch_size, dtype=tf.float32)
        self.cell_outputs, self.cell_final_state = tf.nn.dynamic_rnn(
            lstm_cell, self.l_in_y, initial_state=self.cell_init_state, time_major=False
        )

    def add_output_layer(self):
        # shape = (batch * steps, cell_size) (50*20,10)
        l_out_x = tf.reshape(self.cell_outputs, [-1, self.cell_size], name='2_2D')
        Ws_out = self._weight_variable([self.cell_size, self.output_size])
        bs_out = self._bias_variable([self.output_size, ])
        # shape = (batch * steps, output_size)
        with tf.name_scope('Wx_plus_b'):
            self.pred = tf.matmul(l_out_x, Ws_out) + bs_out

    def compute_cost(self):
        # One flattened "timestep" holding all batch*steps points, weight 1 each: the
        # per-point squared error (average_across_timesteps divides by 1 + 1e-12).
        # Changed: tf.contrib.legacy_seq2seq -> tf1_compat.legacy_seq2seq (same function).
        losses = legacy_seq2seq.sequence_loss_by_example(
            [tf.reshape(self.pred, [-1], name='reshape_pred')],
            [tf.reshape(self.ys, [-1], name='reshape_target')],
            [tf.ones([self.batch_size * self.n_steps], dtype=tf.float32)],
            average_across_timesteps=True,
            softmax_loss_function=self.ms_error,
            name='losses'
        )
        with tf.name_scope('average_cost'):
            # sum over the batch / batch_size = n_steps x the mean squared error
            self.cost = tf.div(
                tf.reduce_sum(losses, name='losses_sum'),
                self.batch_size,
                name='average_cost')
            # Unused, as in the post (an argmax has no meaning for a regression).
            correct_pred = tf.equal(tf.argmax([tf.reshape(self.pred, [-1])], 1),  # noqa: F841
                                    tf.argmax([tf.reshape(self.ys, [-1])], 1))
            tf.summary.scalar('cost', self.cost)  # TensorBoard tag: cost/average_cost/cost

    @staticmethod
    def ms_error(labels, logits):
        return tf.square(tf.subtract(labels, logits))

    def _weight_variable(self, shape, name='weights'):
        initializer = tf.random_normal_initializer(mean=0., stddev=1.,)
        return tf.get_variable(shape=shape, initializer=initializer, name=name)

    def _bias_variable(self, shape, name='biases'):
        initializer = tf.constant_initializer(0.1)
        return tf.get_variable(name=name, shape=shape, initializer=initializer)


def train(args):
    """The tutorial's main block: build the model, train, plot, print the cost. What the
    project added around it is in Plot and interrupted() (below): the --plot modes, the
    PNG, GIF and CSV, the stop on a signal."""
    global BATCH_START
    BATCH_START = 0  # every run starts at the beginning of the wave
    # 搭建 LSTMRNN 模型 build the model
    model = LSTMRNN(args.time_steps, INPUT_SIZE, OUTPUT_SIZE, args.cell_size, args.batch_size, args.lr)
    sess = tf.Session()
    merged = tf.summary.merge_all()
    # Added: the pid in the events file's name, so two runs started in the same
    # second never write into one file.
    writer = tf.summary.FileWriter(args.logdir, sess.graph, filename_suffix=f'.{os.getpid()}')
    init = tf.global_variables_initializer()
    sess.run(init)
    # view it with: tensorboard --logdir logs   (then open http://localhost:6006/)

    # Changed: plt.ion(); plt.show() -> the figure of the --plot mode (Plot, below).
    plot = Plot(args)
    cost_history = []
    started = time.time()
    i = -1
    try:
        # 训练 200 次 train 200 times
        for i in range(args.iterations):
            seq, res, xs = get_batch(args.batch_size, args.time_steps)  # 提取 batch data
            # Added: --reset-state feeds the zero state every time, to show what the
            # carried state buys.
            if i == 0 or args.reset_state:
                # 初始化 data: cell_init_state is not fed, so it is the zero state
                feed_dict = {
                    model.xs: seq,
                    model.ys: res,
                }
            else:
                feed_dict = {
                    model.xs: seq,
                    model.ys: res,
                    # 保持 state 的连续性: use last state as the initial state for this run
                    model.cell_init_state: state,  # noqa: F821 (set by the previous iteration)
                }
            # 训练 train
            _, cost, state, pred = sess.run(
                [model.train_op, model.cost, model.cell_final_state, model.pred],
                feed_dict=feed_dict)
            check_cost(cost, f'at iteration {i}', args.lr)  # Added: stop on NaN/inf

            # plotting: red = target cos, blue dashed = prediction, for the first row
            if plot.fig is not None:
                plt.plot(xs[0, :], res[0].flatten(), 'r', xs[0, :], pred.flatten()[:args.time_steps], 'b--')
                plt.ylim((-1.2, 1.2))
                if args.plot == 'live':
                    plt.draw()
                    plt.pause(args.pause)
                plot.drawn(i)  # Added: the inline figure redrawn, the GIF's frames

            if i % 20 == 0:
                print('cost: ', round(cost, 4), flush=True)
                result = sess.run(merged, feed_dict)
                writer.add_summary(result, i)
                cost_history.append((i, round(float(cost), 4)))  # Added: for the CSV
            # Added: Ctrl-C, SIGTERM or SIGHUP stop here, between two iterations.
            check_interrupted()
        close_events(writer, args.logdir)
    except Interrupted as e:
        interrupted(e, i, args, plot, cost_history, writer)
        raise
    finally:
        with contextlib.suppress(Exception):  # after an error: its message stands
            writer.close()
        sess.close()
    seconds = time.time() - started

    paths = plot.save(cost_history, final=True)
    print('wrote ' + ', '.join(paths) + f' and TensorBoard events in {args.logdir}')
    return {'iterations': args.iterations, 'costs': [c for _, c in cost_history],
            'cost_iterations': [i for i, _ in cost_history], 'final_cost': float(cost),
            'seconds': round(seconds, 3), 'reset_state': args.reset_state, 'seed': args.seed}


# ------------------------------------------------------------------------------------
# Added: everything below is the project's, not the tutorial's: the --plot modes and
# the files, the checks, the flags and main().

class Plot:
    """The figure train() draws on, as --plot asks: live (the tutorial's window:
    plt.ion(), plt.show(), then plt.draw() and plt.pause() per frame, in train()),
    inline (one figure in a notebook cell, redrawn per frame), file (drawn off-screen)
    or none; and the frames and final picture saved as PNG, GIF and CSV."""

    def __init__(self, args):
        self.args = args
        self.fig = self.shown = None
        self.frames = []
        self.frame_every = max(1, args.iterations // 40)  # about 40 GIF frames
        if args.plot == 'none':
            return
        if args.plot == 'live':
            plt.ion()
            plt.show()
        elif args.plot == 'file':
            plt.switch_backend('agg')
        self.fig = plt.figure()  # a fresh figure per run
        # Added: a title, so a saved picture says what its colours are.
        plt.title('LSTM: sin in, cos out (red: target, blue dashed: prediction)')
        if args.plot == 'inline':
            from IPython.display import display
            self.shown = display(png_image(self.fig), display_id=True)

    def drawn(self, i):
        """After iteration i's curves are drawn: the inline figure updated (and paused
        like the live one), a GIF frame grabbed every frame_every iterations."""
        fig, shown = self.fig, self.shown
        if self.args.plot == 'inline':
            shown.update(png_image(fig))
            time.sleep(self.args.pause)
        if i % self.frame_every == 0:
            self.frames.append(grab_frame(fig))

    def save(self, cost_history, final):
        """The PNG, GIF and CSV (save_outputs); the figure's last frame ends the GIF.
        final: the run completed (the figure is then closed, so a notebook does not
        show it a second time)."""
        fig = self.fig
        if fig is not None and (not final or (self.args.iterations - 1) % self.frame_every):
            self.frames.append(grab_frame(fig))
        paths = save_outputs(self.args, fig, self.frames, cost_history)
        if fig is not None and final:
            plt.close(fig)
        return paths


def interrupted(e, i, args, plot, cost_history, writer):
    """A signal stopped training at iteration i: the plots and costs so far are saved
    (signals wait while they are written), the events flushed, and e's one line says so."""
    paths = plot.save(cost_history, final=False)
    e.message = f'\ninterrupted at iteration {i} ({e.name}); saved what was drawn ' \
                f'so far: {", ".join(paths)}'
    try:  # the events are flushed only here: a failure is said, not swallowed below
        close_events(writer, args.logdir)
    except UserError as failed:
        e.message += '; but ' + str(failed)


def has_display():
    """True where a plot window can open: a display (X or Wayland on Linux) and a
    GUI backend for matplotlib. matplotlib picks its backend at first use and falls
    back to the window-less Agg when no GUI toolkit can open the display."""
    if sys.platform not in ('win32', 'darwin') and not (
            os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        return False
    return plt.get_backend().lower() not in ('agg', 'cairo', 'pdf', 'pgf', 'ps', 'svg', 'template')


def in_notebook():
    """True inside a Jupyter kernel (Colab included), where figures are shown inline
    in the notebook: there is no window to open, whatever DISPLAY says."""
    shell = sys.modules.get('IPython') and sys.modules['IPython'].get_ipython()
    return shell is not None and hasattr(shell, 'kernel')


def png_image(fig):
    """The figure as a PNG for IPython's display: shown inline whatever matplotlib
    backend the kernel runs (with MPLBACKEND=Agg a figure object shows as text)."""
    import io
    from IPython.display import Image
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png')
    return Image(data=buffer.getvalue(), format='png')


def grab_frame(fig):
    """The figure as an RGB array (for the GIF)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()


OUTPUTS = 'sin_cos_outputs'  # <plot-dir>/.sin_cos_outputs: the current set (run_safety/outputs.py)


def output_names(fig):
    return (['sin_cos_fit.png', 'sin_cos_fit.gif'] if fig is not None else []) + \
        ['cost_history.csv']


def save_outputs(args, fig, frames, cost_history):
    """Added: the final frame as PNG, the fit over training as GIF, the printed costs
    as CSV (the tutorial imported pandas without using it). The three are switched in
    as one set once all are complete (run_safety/outputs.py): always a set from one
    run, even after a kill -9 or a power cut, and none is ever half-written."""
    names = output_names(fig)
    try:
        with outputs.output_set(args.plot_dir, OUTPUTS, names) as files:
            if fig is not None:
                from PIL import Image
                fig.savefig(files[0], format='png')
                images = [Image.fromarray(frame).reduce(2).quantize(colors=32)
                          for frame in frames]
                images[0].save(files[1], format='GIF', save_all=True,
                               append_images=images[1:], duration=120, loop=0)
            pd.DataFrame(cost_history, columns=['iteration', 'cost']).to_csv(
                files[-1], index=False, lineterminator='\n')
    except OSError as e:
        raise write_failed(args.plot_dir, e, '--plot-dir') from None
    return [os.path.join(args.plot_dir, name) for name in names]


def memory_needed(batch_size, time_steps, cell_size):
    """Bytes a run needs, roughly: get_batch's three float64 arrays, the LSTM's
    weights four times over (values, gradients, Adam's two slots) and, per point,
    its activations and their gradients, float32."""
    points = batch_size * time_steps
    params = 2 * cell_size + 8 * cell_size * cell_size + 4 * cell_size + cell_size + 2
    return 8 * 3 * points + 4 * (4 * params + 2 * points * 8 * cell_size)


def parse_args(argv=None):
    p = ArgumentParser(
        description="The TF 1.x sin->cos LSTM tutorial on tf.compat.v1. Defaults are the tutorial's. "
                    "Output folders are relative to the working directory.")
    p.add_argument('--iterations', type=positive_int, default=ITERATIONS,
                   help='training iterations (default: %(default)s)')
    p.add_argument('--lr', type=positive_float, default=LR, help='learning rate (default: %(default)s)')
    p.add_argument('--batch-size', type=positive_int, default=BATCH_SIZE,
                   help='sequences per batch (default: %(default)s)')
    p.add_argument('--time-steps', type=positive_int, default=TIME_STEPS,
                   help='steps per sequence, backpropagation through time (default: %(default)s)')
    p.add_argument('--cell-size', type=positive_int, default=CELL_SIZE,
                   help='LSTM units (default: %(default)s)')
    p.add_argument('--logdir', default='logs',
                   help='TensorBoard folder, relative to the working directory (default: %(default)s)')
    p.add_argument('--seed', type=int, default=None,
                   help='graph seed (tf.set_random_seed): repeatable runs that repeat TF 1.15\'s run '
                        'with that seed (default: none, as in the tutorial)')
    p.add_argument('--plot', choices=['auto', 'live', 'inline', 'file', 'none'], default='auto',
                   help='live window, inline in a notebook, files only, or nothing; auto: '
                        'inline in Jupyter/Colab, else live when a display exists, else file '
                        '(default: %(default)s)')
    p.add_argument('--pause', type=non_negative_float, default=PAUSE,
                   help='seconds per live or inline frame (default: %(default)s)')
    p.add_argument('--plot-dir', default=None,
                   help='where the PNG, GIF and cost CSV go, relative to the working directory '
                        '(default: the logdir)')
    p.add_argument('--reset-state', action='store_true',
                   help='feed the zero state every batch instead of carrying it')
    p.add_argument('--metrics-json', metavar='PATH',
                   help="write the run's numbers as JSON: iterations, costs (the printed ones), "
                        "cost_iterations, final_cost (after the last iteration), seconds, "
                        "reset_state, seed")
    args = p.parse_args(argv)
    if args.plot_dir is None:
        args.plot_dir = args.logdir
    return args


def main(argv=None):
    args = parse_args(argv)
    # Added: every failure is one line (run_safety/cli.py); signals stop at safe points.
    with command_line():
        # Check every output before the slow part starts, creating nothing.
        check_output_dir(args.logdir, '--logdir')
        check_output_dir(args.plot_dir, '--plot-dir')
        if args.metrics_json:
            check_output_file(args.metrics_json, '--metrics-json')
        check_memory(memory_needed(args.batch_size, args.time_steps, args.cell_size),
                     f'--batch-size {args.batch_size}, --time-steps {args.time_steps} and '
                     f'--cell-size {args.cell_size}')
        load_tensorflow()
        check_interrupted()
        if args.plot == 'auto':
            args.plot = 'inline' if in_notebook() else 'live' if has_display() else 'file'
        elif args.plot == 'live' and not has_display():
            raise UserError('--plot live needs a display and a GUI backend for matplotlib, '
                            'and none was found: use --plot file to write the plots instead')
        elif args.plot == 'inline' and not in_notebook():
            raise UserError('--plot inline needs a Jupyter notebook (or Colab): run the '
                            'script there with %run, or use --plot live or --plot file')
        make_output_dir(args.logdir, '--logdir')
        make_output_dir(args.plot_dir, '--plot-dir')
        # Added: remove what a killed run left among the outputs (one note line).
        outputs.clean(args.plot_dir, OUTPUTS, output_names(True))
        tf.reset_default_graph()
        if args.seed is not None:
            # Added: upstream's tf.set_random_seed; tf1_compat.v1 derives each op's seed
            # from it as TF 1.x did, so the run repeats TF 1.15's (FIDELITY.md).
            tf.set_random_seed(args.seed)
        result = train(args)
        if args.metrics_json:
            write_json(args.metrics_json, result)
        return result


if __name__ == '__main__':
    main()

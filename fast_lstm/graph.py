"""The --fast LSTM: the tutorial's input layer, LSTM and output layer as fewer, bigger ops.

The math is BasicLSTMCell's (gate order i, j, f, o; forget_bias 1.0 added to the f gate's
pre-activation; zero initial state; no peepholes, no cell clipping); what changes is how it
is computed:

(a) the input layer is folded into the gates' x-part: X @ (W_in @ Wx) + (b_in @ Wx + b)
    instead of X_in = X @ W_in + b_in and then [X_in_t, h] @ kernel + b per step (4.5x fewer
    FLOPs for that part: the 28 pixels, not the 128 hidden inputs, meet the gate weights);
    the bias rides in that matmul as a row against a column of ones;
(b) the batch is split into two halves whose recurrences are independent (an LSTM never
    mixes the rows of a batch): each half runs as its own chain of ops, and with the session
    config below the two chains run side by side, one per core, each op single-threaded,
    so no barrier stops the cores inside a step. The halves meet only at the output layer
    and where their weight gradients are summed (once per variable);
(c) each half's 28 steps are one TensorFlow op, BlockLSTM (the same cell: gate layout
    i, c, f, o = BasicLSTMCell's i, j, f, o; forget_bias; cell_clip off; no peepholes),
    instead of a dozen small ops per time step;
(d) the backward is written by hand (tf.custom_gradient): per step TensorFlow's fused
    LSTMBlockCellGrad for the elementwise part and one dh matmul on a Wh transposed once;
    then the weight gradients of all 28 steps as one matmul each for the x-part (the bias's
    with it) and Wh (no zero block for step 0's h). The input and output layers' gradients
    stay TensorFlow's own.
"""
from tf1_compat.v1 import tf

# The op seed that tf.set_random_seed(N) gives the kernel's initializer in the default
# graph (tf1_compat.v1: op seed = ops created so far). Passed explicitly here, so with
# --seed the fast graph starts from the default graph's very weights
# (tests/test_fast.py checks both graphs' initial values).
KERNEL_OP_SEED = 130

# Independent batch parts, run side by side (b). Fixed, not the machine's core count, so
# a run's numbers do not depend on the machine it runs on.
PARTS = 2


def session_config():
    """Session threads for PARTS independent chains of ops: one inter-op thread per chain
    and single-threaded ops, so each core runs one chain with no barrier between the cores
    inside an op. (TensorFlow sizes the intra-op pool once per process: this holds when
    --fast's session is the process's first, as in the script.)"""
    return tf.ConfigProto(inter_op_parallelism_threads=PARTS, intra_op_parallelism_threads=1)


def _lstm_variables(n_hidden_units):
    """rnn/basic_lstm_cell/kernel [2H, 4H] and bias [4H], as BasicLSTMCell makes them."""
    h = n_hidden_units
    seed = KERNEL_OP_SEED if tf.get_default_graph().seed is not None else None
    with tf.variable_scope('rnn'), tf.variable_scope('basic_lstm_cell'):
        kernel = tf.get_variable('kernel', [2 * h, 4 * h],
                                 initializer=tf.glorot_uniform_initializer(seed=seed))
        bias = tf.get_variable('bias', [4 * h], initializer=tf.zeros_initializer())
    return kernel, bias


def rnn_logits(X, weights, biases, n_hidden_units, n_steps, n_inputs, forget_bias=1.0):
    """The logits of the tutorial's RNN(X, weights, biases): same variables, fused math."""
    h = n_hidden_units
    kernel, bias = _lstm_variables(h)
    with tf.name_scope('fast_lstm'):  # (tests/test_fast.py finds the fast forward by it)
        wx, wh = tf.split(kernel, 2)  # kernel rows: [x_t; h_{t-1}] (split: a cheap backward)
        # (a) the input layer folded into the gates' x-part. The gate bias rides in the
        # matmul as a row against a column of ones, so its gradient comes out of the
        # weights' backward matmul instead of a separate sum over the 28 steps' gradients.
        b_gates = tf.matmul(biases['in'][None], wx) + bias  # [1, 4H]
        w_x = tf.concat([tf.matmul(weights['in'], wx), b_gates], 0)  # [n_inputs + 1, 4H]
        x_time_major = tf.transpose(X, [1, 0, 2])  # [T, B, n_inputs]
        x_time_major = tf.concat([x_time_major, tf.ones_like(x_time_major[:, :, :1])], 2)  # +1
        # (b) the batch in PARTS independent parts (the first ones one row larger if B is
        # not a multiple of PARTS)
        batch = tf.shape(X)[0]
        bounds = [(batch * k + PARTS - 1) // PARTS for k in range(PARTS + 1)]
        last_h = tf.concat([_lstm_last_h(x_time_major[:, bounds[k]:bounds[k + 1]], w_x, wh,
                                         n_steps=n_steps, forget_bias=forget_bias)
                            for k in range(PARTS)], 0)
        return tf.matmul(last_h, weights['out']) + biases['out']


def _lstm_last_h(x, w_x, w_h, n_steps, forget_bias):
    """h after the last step of the LSTM over x [T, B, n] (the pixels and a column of ones)
    with gate weights w_x [n, 4H] (the bias its last row) and w_h [H, 4H]; with its gradient
    for the weights."""

    @tf.custom_gradient
    def last_h(w_x, w_h):
        units = w_h.shape[0]
        zeros = tf.zeros(tf.stack([tf.shape(x)[1], units]))  # h_0 = c_0 = 0
        no_peephole = tf.zeros([units])
        no_bias = tf.zeros([4 * units])  # (in w_x)
        # (c) the 28 steps as one op; outputs [T, B, H] each (unstack along the time axis
        # shares their buffers, no copy)
        i, cs, f, o, ci, co, h = tf.raw_ops.BlockLSTM(
            seq_len_max=tf.constant(n_steps, tf.int64), x=x, cs_prev=zeros, h_prev=zeros,
            w=tf.concat([w_x, w_h], 0), wci=no_peephole, wcf=no_peephole, wco=no_peephole,
            b=no_bias, forget_bias=forget_bias, cell_clip=-1.0, use_peephole=False)

        def grad(dh):
            steps = [tf.unstack(t, num=n_steps) for t in (i, cs, f, o, ci, co, h)]
            i_, cs_, f_, o_, ci_, co_, h_ = steps
            no_x = tf.zeros(tf.stack([tf.shape(x)[1], 0]))  # x's part is not needed here
            # Wh transposed once for the dh = dz @ Wh^T matmuls: oneDNN's matmul is faster
            # on a plain [4H, H] operand than with transpose_b. A 2-D transpose here would
            # be folded back into transpose_b by grappler's arithmetic optimizer, so this is
            # the same transpose written over [H, 4, H], which that rewrite does not match.
            wh_t = tf.reshape(tf.transpose(tf.reshape(w_h, [units, 4, units]), [1, 2, 0]),
                              [4 * units, units])
            dc = zeros
            dz = [None] * n_steps
            for t in reversed(range(n_steps)):
                # (d) TF's fused elementwise LSTM backward (it reads only the saved
                # activations; x, h_prev, w and b are there for their shapes)
                dc, dz[t], _, _, _ = tf.raw_ops.LSTMBlockCellGrad(
                    x=no_x, cs_prev=cs_[t - 1] if t else zeros,
                    h_prev=h_[t - 1] if t else zeros, w=w_h, wci=no_peephole,
                    wcf=no_peephole, wco=no_peephole, b=no_bias, i=i_[t], cs=cs_[t], f=f_[t],
                    o=o_[t], ci=ci_[t], co=co_[t], cs_grad=dc, h_grad=dh, use_peephole=False)
                if t:
                    dh = tf.matmul(dz[t], wh_t)
            # the weight gradients of all steps: [n, TB] @ [TB, 4H] (the bias's among them);
            # for Wh only the steps after the first (h_0 = 0), whose rows are dz's after the
            # first B (a slice along the first axis: no copy), against h_0..h_{T-2} (a slice
            # of BlockLSTM's h output, no copy either)
            dz_all = tf.concat(dz, 0)
            n_inputs = x.shape[2]
            dw_x = tf.matmul(tf.reshape(x, [-1, n_inputs]), dz_all, transpose_a=True)
            rows = tf.shape(x)[1]
            dw_h = tf.matmul(tf.reshape(h[:-1], [-1, units]), dz_all[rows:], transpose_a=True)
            return dw_x, dw_h

        return h[-1], grad

    return last_h(w_x, w_h)

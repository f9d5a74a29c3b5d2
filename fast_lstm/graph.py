"""The --fast LSTM: the tutorial's input layer, LSTM and output layer as fewer, bigger ops.

The math is BasicLSTMCell's (gate order i, j, f, o; forget_bias 1.0; zero initial
state); what changes is how it is computed:

(a) input layer and the x-part of the gate matmul for all steps are one matmul before
    the recurrence: X @ (W_in @ Wx) + (b_in @ Wx + b), instead of X_in = X @ W_in + b_in
    and then [x_t, h] @ kernel per step (also ~4.5x fewer FLOPs for that part: the 28
    pixels, not the 128 hidden inputs, meet the gate weights);
(b) the steps are unrolled, with only h @ Wh inside;
(c) step 0 skips h @ Wh and the forget gate (h_0 = c_0 = 0);
(d) the backward is written by hand (tf.custom_gradient): per step, TensorFlow's fused
    LSTMBlockCellGrad op for the elementwise part and one dh matmul (on Wh transposed
    once); dWh for all steps is one big matmul afterwards. The input layer's and the output layer's gradients
    stay TensorFlow's own.
"""
from tf1_compat.v1 import tf

# The op seed that tf.set_random_seed(N) gives the kernel's initializer in the default
# graph (tf1_compat.v1: op seed = ops created so far). Passed explicitly here, so with
# --seed the fast graph starts from the default graph's very weights
# (tests/test_fast.py checks both graphs' initial values).
KERNEL_OP_SEED = 130


def session_config():
    """Session threads for a chain of small ops on few cores: the ops of one step depend
    on each other, so one inter-op thread (no hand-offs) and every core inside each op."""
    return tf.ConfigProto(inter_op_parallelism_threads=1)


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
        # (a) fold the input layer into the gates' x-part; forget_bias joins the f block.
        # The gate bias rides in the matmul as a row against a column of ones, so its
        # gradient comes out of the weights' backward matmul instead of a separate sum.
        f_block = tf.constant([0.0] * (2 * h) + [forget_bias] * h + [0.0] * h)
        b_gates = tf.matmul(biases['in'][None], wx) + bias + f_block  # [1, 4H]
        w_gates = tf.concat([tf.matmul(weights['in'], wx), b_gates], 0)  # [n_inputs + 1, 4H]
        x_time_major = tf.reshape(tf.transpose(X, [1, 0, 2]), [-1, n_inputs])
        x_time_major = tf.concat([x_time_major, tf.ones_like(x_time_major[:, :1])], 1)
        gx = tf.reshape(tf.matmul(x_time_major, w_gates), [n_steps, -1, 4 * h])
        last_h = _lstm_last_h(gx, wh)
        return tf.matmul(last_h, weights['out']) + biases['out']


@tf.custom_gradient
def _lstm_last_h(gx, wh):
    """h after the last step, from gx [T, B, 4H] (x-part of the gates, biases included)
    and the recurrent weights wh [H, 4H]; with its gradient for both."""
    n_steps = gx.shape[0]
    i, j, f, o, c, co, h = ([] for _ in range(7))
    for t, z in enumerate(tf.unstack(gx)):
        if t > 0:  # (b) only h @ Wh inside the recurrence; (c) h_0 = 0
            z = z + tf.matmul(h[-1], wh)
        zi, zj, zf, zo = tf.split(z, 4, axis=1)
        i.append(tf.sigmoid(zi))
        j.append(tf.tanh(zj))
        o.append(tf.sigmoid(zo))
        if t == 0:  # (c) c_0 = 0: no forget gate
            f.append(None)
            c.append(i[0] * j[0])
        else:
            f.append(tf.sigmoid(zf))
            c.append(f[t] * c[t - 1] + i[t] * j[t])
        co.append(tf.tanh(c[t]))
        h.append(o[t] * co[t])

    def grad(dh):
        units = wh.shape[0]
        zeros = tf.zeros_like(dh)
        no_peephole = tf.zeros([units])
        no_bias = tf.zeros([4 * units])
        no_x = tf.zeros([tf.shape(dh)[0], 0])  # x's part was folded out (gx)
        # Wh transposed once for the 27 dh = dz @ Wh^T matmuls: oneDNN's matmul is faster on
        # a plain [4H, H] operand than with transpose_b. A 2-D transpose here would be
        # folded back into transpose_b by grappler's arithmetic optimizer, so this is the
        # same transpose written over [H, 4, H], which that rewrite does not match.
        wh_t = tf.reshape(tf.transpose(tf.reshape(wh, [units, 4, units]), [1, 2, 0]),
                          [4 * units, units])
        dc = zeros
        dz = [None] * n_steps
        for t in reversed(range(n_steps)):
            # (d) TF's fused elementwise LSTM backward (it reads only the saved
            # activations; x, h_prev, w and b are there for their shapes)
            dc, dz[t], _, _, _ = tf.raw_ops.LSTMBlockCellGrad(
                x=no_x, cs_prev=c[t - 1] if t else zeros, h_prev=h[t - 1] if t else zeros,
                w=wh, wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=no_bias,
                i=i[t], cs=c[t], f=f[t] if t else zeros, o=o[t], ci=j[t], co=co[t],
                cs_grad=dc, h_grad=dh, use_peephole=False)
            if t:
                dh = tf.matmul(dz[t], wh_t)
        # dWh of all steps as one matmul, [H, TB] @ [TB, 4H], on the dz that are
        # stacked for gx anyway; h_{-1} = 0 stands in for step 0's missing h @ Wh
        dgx = tf.stack(dz)
        dwh = tf.matmul(tf.concat([zeros] + h[:-1], 0),
                        tf.reshape(dgx, [-1, 4 * units]), transpose_a=True)
        return dgx, dwh

    return h[-1], grad

"""NumPy reference implementations of the TF 1.x behaviour the tutorial relies on.

Written from docs/tf1-semantics.md (TF 1.15's behaviour, with the source file of each),
not from the project's code: nothing here imports TensorFlow, the scripts or tf1_compat.
tests/test_fidelity.py compares the rebuild against these.
"""
import gzip
import struct

import numpy as np

# ---------------------------------------------------------------- MNIST IDX files

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def read_idx(path):
    """(magic, array) of a gzip'd IDX file: big-endian uint32 magic, big-endian uint32
    dimensions (as many as the magic's low byte says), then uint8 values."""
    with gzip.open(path, 'rb') as f:
        content = f.read()
    magic = struct.unpack('>I', content[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack('>' + 'I' * ndim, content[4:4 + 4 * ndim])
    data = np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim)
    return magic, data.reshape(dims)


def scale(images_uint8):
    """TF 1.x's scaling: [N, 28, 28] uint8 -> [N, 784] float32, multiplied by 1.0 / 255.0
    (a float32 multiply, not a divide)."""
    flat = images_uint8.reshape(images_uint8.shape[0], -1).astype(np.float32)
    return np.multiply(flat, np.float32(1.0 / 255.0))


def one_hot(labels, num_classes=10):
    out = np.zeros((labels.shape[0], num_classes), dtype=np.float64)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def tf1_epoch_orders(seed, n):
    """The two example orders TF 1.x's DataSet walked through with a seed: it reseeded
    NumPy's global RNG with the seed, shuffled arange(n) on the first next_batch, and
    shuffled arange(n) again (same RNG stream) at the first epoch boundary, applying that
    permutation to the already shuffled data. Returns (order of epoch 0, order of epoch 1)
    as indices into the unshuffled data. NumPy's global RNG is restored afterwards."""
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        perm0 = np.arange(n)
        np.random.shuffle(perm0)
        perm1 = np.arange(n)
        np.random.shuffle(perm1)
    finally:
        np.random.set_state(saved)
    return perm0, perm0[perm1]


def tf1_batch_indices(seed, n, batch_size, calls):
    """Indices (into the unshuffled data) of the batch each of the first `calls`
    next_batch(batch_size) calls returned in TF 1.x (at most one epoch boundary: the
    rest of the old order followed by the start of the new one)."""
    order0, order1 = tf1_epoch_orders(seed, n)
    batches, start, order = [], 0, order0
    for _ in range(calls):
        if start + batch_size > n:
            assert order is order0, 'a second epoch boundary is not modelled'
            rest = order[start:n]
            start = batch_size - len(rest)
            order = order1
            batches.append(np.concatenate([rest, order[:start]]))
        else:
            batches.append(order[start:start + batch_size])
            start += batch_size
    return batches


# ---------------------------------------------------------------- LSTM

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def basic_lstm(inputs, kernel, bias, c0, h0, forget_bias=1.0):
    """BasicLSTMCell(state_is_tuple=True) unrolled over inputs [batch, time, depth].

    Per step: z = concat([x, h]) @ kernel + bias, split in four column blocks in the
    order i, j, f, o; c = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j);
    h = tanh(c) * sigmoid(o). Returns (outputs [batch, time, units], (c, h)).
    Computed in float64."""
    inputs = np.asarray(inputs, np.float64)
    kernel = np.asarray(kernel, np.float64)
    bias = np.asarray(bias, np.float64)
    c = np.asarray(c0, np.float64)
    h = np.asarray(h0, np.float64)
    units = h.shape[1]
    assert kernel.shape == (inputs.shape[2] + units, 4 * units)
    outputs = []
    for t in range(inputs.shape[1]):
        z = np.concatenate([inputs[:, t, :], h], axis=1) @ kernel + bias
        i, j, f, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * sigmoid(o)
        outputs.append(h)
    return np.stack(outputs, axis=1), (c, h)


def classifier_forward(images, w_in, b_in, kernel, bias, w_out, b_out, n_steps=28):
    """The tutorial's classifier: images [batch, 784] read as n_steps rows; input layer
    x @ W_in + b_in; LSTM from the zero state; logits = h_last @ W_out + b_out.
    Returns (logits, outputs, (c, h))."""
    batch = images.shape[0]
    x = np.asarray(images, np.float64).reshape(batch * n_steps, -1)
    x_in = (x @ w_in + b_in).reshape(batch, n_steps, -1)
    units = w_in.shape[1]
    zeros = np.zeros((batch, units))
    outputs, (c, h) = basic_lstm(x_in, kernel, bias, zeros, zeros)
    return h @ w_out + b_out, outputs, (c, h)


def regressor_forward(seq, w_in, b_in, kernel, bias, w_out, b_out, c0, h0):
    """The tutorial's LSTMRNN: seq [batch, steps, 1]; input layer, LSTM from (c0, h0),
    output layer on every step. Returns (pred [batch*steps, 1], (c, h))."""
    batch, steps, depth = seq.shape
    x_in = (np.asarray(seq, np.float64).reshape(-1, depth) @ w_in + b_in).reshape(batch, steps, -1)
    outputs, state = basic_lstm(x_in, kernel, bias, c0, h0)
    return outputs.reshape(batch * steps, -1) @ w_out + b_out, state


# ---------------------------------------------------------------- losses

def log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sparse_softmax_xent(labels, logits):
    labels = np.asarray(labels).reshape(-1)
    return -log_softmax(logits)[np.arange(labels.shape[0]), labels]


def softmax_xent(labels, logits):
    return -(np.asarray(labels, np.float64) * log_softmax(logits)).sum(axis=-1)


def sequence_loss_by_example(logits, targets, weights, average_across_timesteps=True,
                             loss=sparse_softmax_xent):
    """TF 1.x legacy_seq2seq.sequence_loss_by_example: sum over the list of
    loss(target, logit) * weight, divided by (sum of weights + 1e-12) when averaging."""
    total = sum(loss(t, l) * np.asarray(w, np.float64)
                for l, t, w in zip(logits, targets, weights))
    if average_across_timesteps:
        total = total / (sum(np.asarray(w, np.float64) for w in weights) + 1e-12)
    return total

"""Stand-in for ``tf.contrib.legacy_seq2seq.sequence_loss_by_example`` (TF 1.x).

TensorFlow 2 removed ``tf.contrib``; this is TF 1.15's function, same signature
and same semantics (docs/tf1-semantics.md; TF 1.15's
``tensorflow/contrib/legacy_seq2seq/python/ops/seq2seq.py``), written with ``tf.compat.v1`` ops.
"""
from tf1_compat.v1 import tf


def sequence_loss_by_example(logits, targets, weights,
                             average_across_timesteps=True,
                             softmax_loss_function=None, name=None):
    """Weighted cross-entropy loss for a sequence of logits (per example).

    Args:
      logits: List of 2D Tensors of shape [batch_size x num_decoder_symbols].
      targets: List of 1D batch-sized int32 Tensors of the same length as logits.
      weights: List of 1D batch-sized float-Tensors of the same length as logits.
      average_across_timesteps: If set, divide the returned cost by the total
        label weight.
      softmax_loss_function: Function (labels, logits) -> loss-batch to be used
        instead of the standard softmax (the default if this is None). It is
        called with keyword arguments, as in TF 1.x.
      name: Optional name for this operation, default: "sequence_loss_by_example".

    Returns:
      1D batch-sized float Tensor: The log-perplexity for each sequence.

    Raises:
      ValueError: If len(logits) is different from len(targets) or len(weights).
    """
    if len(targets) != len(logits) or len(weights) != len(logits):
        raise ValueError('Lengths of logits, weights, and targets must be the same '
                         '%d, %d, %d.' % (len(logits), len(weights), len(targets)))
    with tf.name_scope(name, 'sequence_loss_by_example', logits + targets + weights):
        log_perp_list = []
        for logit, target, weight in zip(logits, targets, weights):
            if softmax_loss_function is None:
                # TF 1.x reshapes the target, as callers sometimes pass scalars.
                target = tf.reshape(target, [-1])
                crossent = tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=target, logits=logit)
            else:
                crossent = softmax_loss_function(labels=target, logits=logit)
            log_perp_list.append(crossent * weight)
        log_perps = tf.add_n(log_perp_list)
        if average_across_timesteps:
            total_size = tf.add_n(weights)
            total_size += 1e-12  # Just to avoid division by 0 for all-0 weights.
            log_perps /= total_size
    return log_perps

"""Stand-ins for the TensorFlow 1.x pieces the tutorial uses and TensorFlow 2 removed:
the list of what TF 2 took away, each with the TF 1.x API it replaces.

* ``tf1_compat.v1.tf``: ``tensorflow.compat.v1`` in TF 1.x (graph) mode, with the
  legacy Keras that ``BasicLSTMCell`` needs on TensorFlow 2.16+.
* ``tf1_compat.input_data``: ``tensorflow.examples.tutorials.mnist.input_data``.
* ``tf1_compat.legacy_seq2seq``: ``tf.contrib.legacy_seq2seq`` (sequence_loss_by_example).

Must not hold: anything TF 1.x did not have. This project's own safety layer (locks,
checkpoint transactions, one-line errors, signals) lives in ``run_safety/``.
"""

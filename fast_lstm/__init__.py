"""fast_lstm: the classifier's opt-in --fast graph (mnist_lstm_classifier.py --fast).

Holds: the LSTM forward and hand-written backward that --fast builds instead of
tf.nn.dynamic_rnn + BasicLSTMCell, on the same variables (names, shapes, gate order
i, j, f, o, forget_bias 1.0), so a checkpoint moves freely between the two graphs;
and the session config --fast runs it with.

Must not hold: anything the default graph uses (the default stays the tutorial's
graph, number for number), TF 1.x stand-ins (tf1_compat/), run-safety code
(run_safety/), or the training loop (the script's).
"""
from fast_lstm.graph import KERNEL_OP_SEED, rnn_logits, session_config  # noqa: F401

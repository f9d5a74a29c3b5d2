"""``tensorflow.compat.v1``, set up the way the TF 1.x tutorial expects.

TensorFlow 2.16+ ships Keras 3, in which ``tf.compat.v1.nn.rnn_cell.BasicLSTMCell``
raises "not available with Keras 3". The legacy ``tf-keras`` package (same minor
version as tensorflow) still has it, and TensorFlow routes to it only when
``TF_USE_LEGACY_KERAS=1`` is set before it resolves ``tf.keras``. Importing this
module sets that, checks tf-keras is there, and switches TF 1.x behaviour on
(graph mode, sessions, placeholders, v1 control flow and variables).
"""
import os

os.environ['TF_USE_LEGACY_KERAS'] = '1'
# Fewer of TensorFlow's C++ info/warning lines (a few start-up lines print anyway).
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

try:
    import tf_keras  # noqa: F401  (imported only to fail early with a clear message)
except ImportError:
    raise ImportError('the tf-keras package is missing: TensorFlow 2.16+ needs it for '
                      'BasicLSTMCell; run `pip install -r requirements.txt` '
                      '(or `pip install tf-keras` matching your tensorflow version)') from None

import warnings  # noqa: E402

import tensorflow.compat.v1 as tf  # noqa: E402

# The TF 1.x API is deprecated in TF 2; its per-call deprecation warnings would
# bury the tutorial's output, so only errors are logged.
tf.logging.set_verbosity(tf.logging.ERROR)
warnings.filterwarnings('ignore', message='.*BasicLSTMCell.* is deprecated')
tf.disable_v2_behavior()

__all__ = ['tf']

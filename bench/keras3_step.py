"""Worker: the same model in Keras 3 (plain ``keras``, TensorFlow backend).

Must run WITHOUT TF_USE_LEGACY_KERAS (bench/benchmark.py removes it from this
process's environment): the project's own process uses the legacy tf-keras.

Model: Input(28 steps, 28) -> Dense(128) (the input layer, applied to every step)
-> LSTM(128) (last output) -> Dense(10); softmax cross-entropy on logits; Adam(lr,
epsilon=1e-8, TF 1.x's AdamOptimizer default). Timed: ``model.train_on_batch(x, y)``
of the compiled model (it returns the loss as a Python float, which syncs the step).
--jit auto is Keras 3's default, jit_compile='auto': on the TensorFlow backend it would
pick XLA, but LSTM's default use_cudnn='auto' marks the layer as not XLA-compatible,
so it resolves to a plain tf.function (no XLA). --jit xla forces XLA: LSTM(use_cudnn=
False) and jit_compile=True.
"""
import os
import sys

os.environ.pop('TF_USE_LEGACY_KERAS', None)
os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import _protocol  # noqa: E402


def main():
    p = _protocol.worker_parser()
    p.add_argument('--jit', choices=['auto', 'xla'], default='auto')
    args = p.parse_args()
    xs, ys = _protocol.load_batches(args.batches)
    n, batch_size, n_steps, n_inputs = xs.shape

    import keras
    import tensorflow as tf
    if keras.backend.backend() != 'tensorflow':
        sys.exit('keras3_step.py needs KERAS_BACKEND=tensorflow')
    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential([
        keras.Input(shape=(n_steps, n_inputs), batch_size=batch_size),
        keras.layers.Dense(args.hidden_units),
        (keras.layers.LSTM(args.hidden_units) if args.jit == 'auto'
         else keras.layers.LSTM(args.hidden_units, use_cudnn=False)),
        keras.layers.Dense(ys.shape[-1]),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=args.lr, epsilon=1e-8),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  jit_compile='auto' if args.jit == 'auto' else True)
    xs_t = [tf.constant(x) for x in xs]
    ys_t = [tf.constant(y) for y in ys]

    def step(i):
        k = i % n
        return model.train_on_batch(xs_t[k], ys_t[k])

    a = tf.random.normal([2048, 2048])
    b = tf.random.normal([2048, 2048])

    def rate(count):
        # .numpy() of one element syncs without copying the 16 MB result out
        return _protocol.matmul_gflops(lambda: tf.linalg.matmul(a, b)[0, 0].numpy(), count)

    step(0)  # builds and compiles the train function, so 'jit' below is resolved
    info = {'side': 'keras3' if args.jit == 'auto' else 'keras3-xla',
            'tf': tf.__version__, 'keras': keras.__version__,
            'jit_compile': bool(model.jit_compile),
            'what': 'keras.Sequential compiled (jit_compile=%r -> %s), model.train_on_batch(x, y)'
                    % ('auto' if args.jit == 'auto' else True,
                       'XLA' if model.jit_compile else 'tf.function, no XLA')}
    _protocol.serve(step, info, rate)


if __name__ == '__main__':
    main()

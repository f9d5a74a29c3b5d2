"""Worker: the project's own classifier graph (mnist_lstm_classifier.build_graph).

Run by bench/benchmark.py in its own process; the graph is not copied here: this
imports the script and calls its build_graph, exactly as the script's train()
does, and times the script's training fetch ``sess.run([train_op, cost])``.

--static-unroll (side "project-static") passes static_unroll=True to build_graph,
the script's opt-in --static-unroll; --fast (side "project-fast") passes fast=True and
runs the session with the script's session_config(fast=True) (fast_lstm.session_config():
two inter-op threads, single-threaded ops), as the script's --fast does.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import _protocol  # noqa: E402
import mnist_lstm_classifier as m  # noqa: E402

# sets TF_USE_LEGACY_KERAS=1 via tf1_compat.v1; --fast's single-threaded ops, as the script
tf = m.load_tensorflow(fast='--fast' in sys.argv[1:])


def main():
    p = _protocol.worker_parser()
    p.add_argument('--static-unroll', action='store_true')
    p.add_argument('--fast', action='store_true')
    args = p.parse_args()
    xs, ys = _protocol.load_batches(args.batches)
    batch_size = xs.shape[1]

    tf.reset_default_graph()
    tf.set_random_seed(args.seed)
    g = m.build_graph(args.lr, batch_size, args.hidden_units, static_unroll=args.static_unroll,
                      fast=args.fast)
    sess = tf.Session(config=m.session_config(args.fast))
    sess.run(g.init)
    fetches = [g.train_op, g.cost]  # what the script's training loop fetches

    def step(i):
        k = i % len(xs)
        return sess.run(fetches, feed_dict={g.x: xs[k], g.y: ys[k]})[1]

    import tensorflow
    side = 'project-fast' if args.fast else 'project-static' if args.static_unroll else 'project'
    flags = 'fast=True' if args.fast else 'static_unroll=True' if args.static_unroll else 'defaults'
    info = {'side': side, 'tf': tensorflow.__version__,
            'keras': 'tf-keras (TF_USE_LEGACY_KERAS=%s)' % os.environ.get('TF_USE_LEGACY_KERAS'),
            'what': 'mnist_lstm_classifier.build_graph(%s) + tf.Session, '
                    'sess.run([train_op, cost], feed_dict) as in the script'
                    % flags}
    _protocol.serve(step, info)
    sess.close()


if __name__ == '__main__':
    main()

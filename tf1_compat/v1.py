"""``tensorflow.compat.v1``, set up the way the TF 1.x tutorial expects.

TensorFlow 2.16+ ships Keras 3, in which ``tf.compat.v1.nn.rnn_cell.BasicLSTMCell``
raises "not available with Keras 3". The legacy ``tf-keras`` package (same minor
version as tensorflow) still has it, and TensorFlow routes to it only when
``TF_USE_LEGACY_KERAS=1`` is set before it resolves ``tf.keras``. Importing this
module sets that, checks tf-keras is there (and of TensorFlow's own version), and
switches TF 1.x behaviour on (graph mode, sessions, placeholders, v1 control flow and
variables). TensorFlow's start-up lines (STARTUP_NOISE below) are held back.
"""
import os

from run_safety import requirements  # standard library only: versions from package metadata

if requirements.needs_keras(requirements.tensorflow_version()):
    # (TensorFlow 2.15 and older have Keras 2 inside: there the setting would send
    # tf.keras to a tf-keras package they do not need)
    os.environ['TF_USE_LEGACY_KERAS'] = '1'
# TF_CPP_MIN_LOG_LEVEL=0 set by the user shows every line TensorFlow prints, its start-up
# lines included (nothing is held back below); otherwise only warnings and errors.
_SHOW_EVERYTHING = os.environ.get('TF_CPP_MIN_LOG_LEVEL', '').strip() == '0'
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import atexit  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import warnings  # noqa: E402

# The one list of TensorFlow's start-up lines that are held back: what TensorFlow
# 2.16-2.21 print on stderr while they load and at their first session run, on a machine
# without a GPU, which say nothing to a learner (the TF_CPP_MIN_LOG_LEVEL=2 set
# above applies only once TensorFlow has read it, after most of them). Each is matched
# against a line's message (after the "file.cc:123] " of TensorFlow's log line), or the
# whole line; every other line, errors and warnings included, is passed on. Measured on
# TF 2.16.2, 2.17.1, 2.18.1, 2.19.1, 2.20.0 and 2.21.0 (tests/test_tensorflow_noise.py).
STARTUP_NOISE = tuple(re.compile(p) for p in (
    # 2.16-2.19 (E), at import: the CUDA plugins built into the wheel register twice
    r'Unable to register cu(FFT|DNN|BLAS) factory: Attempting to register factory for '
    r'plugin cu(FFT|DNN|BLAS) when one has already been registered$',
    # 2.19 (W), at import: XLA's computation placer, registered twice (four lines)
    r'computation placer already registered\. Please check linkage and avoid linking the '
    r'same target more than once\.$',
    # 2.18-2.21 (E), at the device probe, without an NVIDIA driver (303) or without a GPU
    # (NO_DEVICE): CUDA is looked for and not found. Other cuInit failures get through.
    r'failed call to cuInit: .*(UNKNOWN ERROR \(303\)|CUDA_ERROR_NO_DEVICE)',
    # 2.21 (I), at import (twice): no NVIDIA driver, so no GPU; oneDNN's notice
    r'Could not find cuda drivers on your machine, GPU will not be used\.$',
    r'oneDNN custom operations are on\. ',
    # 2.18-2.20 (I), at the first session run: a graph pass that is off
    r'MLIR V1 optimization pass is not enabled$',
    # 2.18-2.21: absl's notice, a line of its own, before its first log line
    r'WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$',
))
# TensorFlow's C++ log line, in its two formats: absl's, "E0000 00:00:1796283534.170515
# 5562 cuda_dnn.cc:8579] message", and TensorFlow's own before absl starts,
# "2026-12-03 07:41:41.326881: E external/local_xla/xla/.../cuda_fft.cc:479] message".
_LOG_LINE = re.compile(r'(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ |'
                       r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] )[^ \]]+:\d+\] ')


def is_startup_noise(line):
    """Whether ``line`` (text, without its newline) is one of STARTUP_NOISE's."""
    log = _LOG_LINE.match(line)
    message = line[log.end():] if log else line
    return any(p.match(message) for p in STARTUP_NOISE)


def without_startup_noise(data):
    """``data`` (bytes written to stderr) less the STARTUP_NOISE lines, in order."""
    return b''.join(line for line in data.splitlines(keepends=True)
                    if not is_startup_noise(line.decode(errors='replace').rstrip('\r\n')))


@contextlib.contextmanager
def _quiet_startup():
    """Hold file descriptor 2 while TensorFlow loads and runs its first session, then
    pass on every line but STARTUP_NOISE, in order, so a learner's first screen is the
    tutorial's. Whatever else was written meanwhile (an error, a traceback, a warning)
    comes out when the block ends, before the exception that ended it, if any.

    TensorFlow's C++ side writes to fd 2 itself, whatever ``sys.stderr`` is. In a
    Jupyter kernel ``sys.stderr`` is ipykernel's stream and fd 2 a pipe that ipykernel
    forwards to the cell (``sys.stderr.fileno()`` there is a copy of the terminal's
    fd, not 2), so fd 2 is the one to hold; the lines kept go back to fd 2 as well.
    """
    fd = 2
    if _SHOW_EVERYTHING:
        yield
        return
    try:
        saved = os.dup(fd)
    except OSError:  # no fd 2 at all (e.g. pythonw on Windows)
        yield
        return
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):
        pass
    with tempfile.TemporaryFile(mode='w+b') as held:
        os.dup2(held.fileno(), fd)
        try:
            yield
        finally:
            with contextlib.suppress(AttributeError, ValueError, OSError):
                sys.stderr.flush()  # Python's own lines, written while fd 2 was held
            os.dup2(saved, fd)
            os.close(saved)
            held.seek(0)
            kept = without_startup_noise(held.read())
            while kept:
                kept = kept[os.write(fd, kept):]


# The intra-op pool that _first_session_run's session sizes for the whole process: what
# the caller's own first session will ask for (the classifier's --fast: 1, set through
# TF1_COMPAT_INTRA_OP_THREADS before this import), else TensorFlow's default (0: all cores).
_INTRA_OP_THREADS = int(os.environ.get('TF1_COMPAT_INTRA_OP_THREADS') or 0)


def _first_session_run(tf):
    """Run one tiny graph, so the lines TensorFlow prints at its first session run come
    now, inside the quiet block, not at the scripts' first sess.run. Its own graph, so
    the default graph (and the op seeds taken from it) is untouched; its own inter-op
    threads, so the first real session still makes the process-wide inter-op pool;
    intra-op threads as the caller's sessions will ask (_INTRA_OP_THREADS: the CPU
    device's pool, made once per process, takes the first session's setting)."""
    graph = tf.Graph()
    with graph.as_default():
        one = tf.constant(1)
    config = tf.ConfigProto(use_per_session_threads=True, inter_op_parallelism_threads=1,
                            intra_op_parallelism_threads=_INTRA_OP_THREADS)
    with tf.Session(graph=graph, config=config) as sess:
        sess.run(one)


def _check_versions(tf_version=None):
    """Refuse a TensorFlow or tf-keras the scripts cannot run on (ImportError, the
    scripts' one line), and say once, on stderr, that an untested one is used."""
    refusal, warning = requirements.tensorflow_problem(tf_version)
    if refusal:
        raise ImportError(refusal)
    if warning and not requirements.warned:
        requirements.warned = True
        print(f'warning: {warning}', file=sys.stderr, flush=True)


# Python's cyclic garbage collector would walk the ~500,000 objects that importing
# TensorFlow creates, again and again while they are made (about 0.6 s) and once
# more at exit (about 1 s). It is off during the import; then those objects are
# frozen (left out of every later collection), and so is everything at exit. No
# result changes: it only skips searching for garbage cycles in objects that live
# until the process ends anyway.
_check_versions()
_gc_was_enabled = gc.isenabled()
gc.disable()
try:
    with _quiet_startup():
        import tensorflow.compat.v1 as tf  # noqa: E402
        if requirements.tensorflow_version() is None:  # installed under another name
            _check_versions(tf.version.VERSION)
        if requirements.needs_keras(tf.version.VERSION):
            try:
                # Loaded now (TensorFlow would load it at the first BasicLSTMCell) so a
                # missing package fails early, with a clear message.
                import tf_keras  # noqa: F401
            except ImportError:
                raise ImportError(requirements.missing_message(['tf-keras'])) from None
        tf.config.list_physical_devices()  # probe the devices now, inside the quiet block
        _first_session_run(tf)
finally:
    if _gc_was_enabled:
        gc.enable()
gc.freeze()
atexit.register(gc.freeze)

# The TF 1.x API is deprecated in TF 2; its per-call deprecation warnings would
# bury the tutorial's output, so only errors are logged.
tf.logging.set_verbosity(tf.logging.ERROR)
warnings.filterwarnings('ignore', message='.*BasicLSTMCell.* is deprecated')
tf.disable_v2_behavior()


def _use_tf1_op_seeds():
    """Derive op seeds from a graph seed as TF 1.x did, so --seed N repeats the TF 1.15 run.

    With a graph seed and no op seed, TF 1.x's get_seed used the id of the last op
    created in the graph (Graph._last_id) as the op seed; TF 2 counts calls per graph
    instead, so the same tf.set_random_seed(1) draws other initial weights. TF 2's op
    ids are its C++ graph's node ids, which start at 2 (0 and 1 are the source and
    sink nodes): the number of ops, graph.version, is TF 1.x's _last_id. Every caller
    (random_ops, tf_keras' initializers, ...) looks get_seed up in the module at call
    time, so replacing it there reaches them all. Eager mode and explicit op seeds
    keep TF 2's rule.
    """
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops, random_seed

    tf2_get_seed = random_seed.get_seed

    def get_seed(op_seed):
        if op_seed is None and not context.executing_eagerly():
            graph = ops.get_default_graph()
            if graph.seed is not None:
                if hasattr(graph, '_seed_used'):
                    graph._seed_used = True
                seeds = (random_seed._truncate_seed(graph.seed),
                         random_seed._truncate_seed(graph.version))
                return (0, random_seed._MAXINT32) if seeds == (0, 0) else seeds
        return tf2_get_seed(op_seed)

    get_seed.__doc__ = tf2_get_seed.__doc__
    random_seed.get_seed = get_seed
    tf.get_seed = tf.random.get_seed = get_seed


def _build_tf1_ops():
    """Create the two ops TF 1.15 created and TF 2 no longer does, in graph mode.

    Op seeds are op ids (see above), so an op TF 1.15 created before a random op and
    TF 2 does not shifts that op's weights: the regressor's output layer comes after
    dynamic_rnn, which lost two ops. Nothing computed changes:
    * split(value, 4): TF 1.15 first converted the 4 to a tensor, an unused Const
      (one per BasicLSTMCell step graph);
    * a graph TensorArray's size(): TF 1.15 always read it with a TensorArraySizeV3
      op (dynamic_rnn's outputs stack); TF 2 reuses the static size when known.
    """
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops
    from tensorflow.python.ops import gen_array_ops, gen_data_flow_ops
    from tensorflow.python.ops import tensor_array_ops

    tf2_split = gen_array_ops.split

    def split(axis, num_split, value, name=None):
        if not context.executing_eagerly():
            ops.convert_to_tensor(num_split)
        return tf2_split(axis=axis, num_split=num_split, value=value, name=name)

    def size(self, name=None):
        return gen_data_flow_ops.tensor_array_size_v3(handle=self._handle, flow_in=self.flow,
                                                      name=name)

    # array_ops.split, its only caller, looks gen_array_ops.split up at call time
    gen_array_ops.split = split
    tensor_array_ops._GraphTensorArray.size = size


_use_tf1_op_seeds()
_build_tf1_ops()

__all__ = ['tf']

# The events writer's thread hands its failure (e.g. a full --logdir) to the main
# thread, where the scripts report it as one line; the thread's own traceback and
# log line would only repeat it, as a traceback.
_thread_excepthook = threading.excepthook


def _quiet_event_writer(args):
    if args.thread is None or args.thread.name != 'EventLoggerThread':
        _thread_excepthook(args)


threading.excepthook = _quiet_event_writer
tf.get_logger().addFilter(
    lambda record: 'EventFileWriter writer thread error' not in record.getMessage())

"""No TensorFlow start-up line reaches the learner, on any TensorFlow of the
tested range (2.16-2.21), while every other line still does, in order.

TensorFlow prints its start-up lines (CUDA plugins registered twice, no GPU found, absl's
notice, a graph pass that is off) on file descriptor 2 at import and at the first session
run, before its own log level applies; tf1_compat.v1 holds fd 2 over both and passes on
everything but the lines of its one list, STARTUP_NOISE. Here: the lines each version was
measured to print are all in that list (RECORDED: TF 2.16.2, 2.17.1, 2.18.1, 2.19.1,
2.20.0 and 2.21.0 on a machine without a GPU); the TensorFlow installed here, started
without the hold, prints some and no other; the scripts then print nothing on stderr;
other lines (real errors, warnings, tracebacks) get through, in order.
`nox -s tf_range` runs this file on every TensorFlow of the range (noxfile.py).
"""
import os
import subprocess
import sys

import pytest

from conftest import DATA_DIR, ROOT
from run_safety import requirements
from tf1_compat import v1

pytestmark = pytest.mark.stderr

RECORDED = {  # one line of each kind that each version printed, started without the hold
    '2.16': [
        '2026-12-03 08:02:59.157433: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:479] Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered',
        '2026-12-03 08:02:59.356529: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:10575] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered',
        '2026-12-03 08:02:59.356600: E external/local_xla/xla/stream_executor/cuda/cuda_blas.cc:1442] Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS when one has already been registered',
    ],
    '2.17': [
        '2026-12-03 08:03:08.702547: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:485] Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered',
        '2026-12-03 08:03:08.760928: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:8454] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered',
        '2026-12-03 08:03:08.771170: E external/local_xla/xla/stream_executor/cuda/cuda_blas.cc:1452] Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS when one has already been registered',
    ],
    '2.18': [
        '2026-12-03 08:03:20.011635: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:477] Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered',
        'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
        'E0000 00:00:1796285000.274339   26148 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered',
        'E0000 00:00:1796285000.391512   26148 cuda_blas.cc:1418] Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS when one has already been registered',
        '2026-12-03 08:03:27.849815: E external/local_xla/xla/stream_executor/cuda/cuda_driver.cc:152] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)',
        'I0000 00:00:1796285010.198877   26148 mlir_graph_optimization_pass.cc:401] MLIR V1 optimization pass is not enabled',
    ],
    '2.19': [
        '2026-12-03 08:03:32.895850: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered',
        'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
        'E0000 00:00:1796285012.936279   26163 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered',
        'E0000 00:00:1796285012.950769   26163 cuda_blas.cc:1407] Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS when one has already been registered',
        'W0000 00:00:1796285013.040339   26163 computation_placer.cc:177] computation placer already registered. Please check linkage and avoid linking the same target more than once.',
        '2026-12-03 08:03:40.352121: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)',
        'I0000 00:00:1796285022.049963   26163 mlir_graph_optimization_pass.cc:425] MLIR V1 optimization pass is not enabled',
    ],
    '2.20': [
        '2026-12-03 08:03:53.199264: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)',
        'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
        'I0000 00:00:1796285034.557754   26180 mlir_graph_optimization_pass.cc:437] MLIR V1 optimization pass is not enabled',
    ],
    '2.21': [
        'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
        'I0000 00:00:1796285036.648554   26249 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.',
        'I0000 00:00:1796285036.648908   26249 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.',
        'E0000 00:00:1796285045.141997   26249 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)',
    ],
}


# Lines that are not start-up noise: each must get through.
NOT_NOISE = [
    # a cuInit failure on a machine that has a GPU: a real problem
    'E0000 00:00:1796285045.141997   26249 cuda_platform.cc:52] failed call to cuInit: INTERNAL: '
    'CUDA error: Failed call to cuInit: CUDA_ERROR_OUT_OF_MEMORY: out of memory',
    'W0000 00:00:1796285013.040339   26163 cpu_allocator_impl.cc:83] Allocation of 400000000 '
    'exceeds 10% of free system memory.',
    '2026-12-03 08:03:20.011635: W tensorflow/core/framework/op_kernel.cc:1841] OP_REQUIRES '
    'failed at save_restore_v2_ops.cc:228 : NOT_FOUND: ckptRNN/x.index; No such file or directory',
    'F0000 00:00:1796285013.040339   26163 dso_loader.cc:99] Check failed: handle != nullptr',
    # a listed message, but not all of it, or not at the start of the message
    'E0000 00:00:1796285000.274339   26148 cuda_dnn.cc:8310] Unable to register cuDNN factory: '
    'the plugin failed to load',
    'ValueError: MLIR V1 optimization pass is not enabled',
    'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR, '
    'and this one too',
    'Traceback (most recent call last):',
    'error: --lr 0 must be a finite number > 0 (see --help)',
    'warning: TensorFlow 2.22.0 is newer than the tested 2.16-2.21: running anyway',
    '',
]


@pytest.mark.smoke
@pytest.mark.parametrize('version', sorted(RECORDED))
def test_every_line_each_version_printed_is_held_back(version):
    kept = [line for line in RECORDED[version] if not v1.is_startup_noise(line)]
    assert kept == []


@pytest.mark.smoke
def test_every_pattern_is_one_a_version_was_measured_to_print():
    """No pattern that nothing prints (each one hides something: keep the list short)."""
    lines = [line for version in RECORDED.values() for line in version]
    for pattern in v1.STARTUP_NOISE:
        assert any(v1.is_startup_noise(l) and pattern.match(l.split('] ', 1)[-1])
                   for l in lines), pattern.pattern


@pytest.mark.smoke
@pytest.mark.parametrize('line', NOT_NOISE)
def test_every_other_line_gets_through(line):
    assert not v1.is_startup_noise(line)


@pytest.mark.smoke
def test_the_filter_keeps_the_other_lines_in_order_and_an_unfinished_last_line():
    noise = [line.encode() + b'\n' for version in RECORDED.values() for line in version]
    data = (noise[0] + b'first\n' + noise[1] + noise[2] + b'Traceback (most recent call last):\n'
            + noise[3] + b'  File "x.py", line 1\r\n' + noise[4] + b'no newline')
    assert v1.without_startup_noise(data) == (b'first\nTraceback (most recent call last):\n'
                                              b'  File "x.py", line 1\r\nno newline')


# What the scripts do before their first step: TensorFlow (tf-keras), the device probe, a
# first session run; here without tf1_compat.v1's hold.
UNFILTERED = """
import os
os.environ['TF_USE_LEGACY_KERAS'] = '1'
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
import tensorflow.compat.v1 as tf
from run_safety import requirements
if requirements.needs_keras(tf.version.VERSION):
    import tf_keras
tf.config.list_physical_devices()
tf.logging.set_verbosity(tf.logging.ERROR)  # as tf1_compat.v1 does
tf.disable_v2_behavior()
with tf.Session() as sess:
    sess.run(tf.constant(1) + 1)
"""


def python(code, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})))


def in_tested_range():
    version = requirements.major_minor(requirements.tensorflow_version())
    return version is not None and requirements.TESTED[0] <= version <= requirements.TESTED[1]


def test_this_tensorflow_prints_start_up_lines_all_of_them_listed():
    """Without the hold, this TensorFlow prints start-up lines (so the tests that find
    none on stderr are not empty), and each is in STARTUP_NOISE."""
    proc = python(UNFILTERED)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert [l for l in lines if not v1.is_startup_noise(l)] == []
    if in_tested_range():
        assert lines, 'TensorFlow printed no start-up line: is this test still needed?'


def test_scripts_and_eval_print_nothing_on_stderr(tmp_path):
    """Both scripts, --eval and --fast, each a new process: TensorFlow's import and first
    session run in each, and not one line on stderr."""
    commands = [
        ['mnist_lstm_classifier.py', '--training-iters', '2600', '--hidden-units', '8',
         '--data-dir', DATA_DIR, '--ckpt-dir', 'c', '--logdir', 'l'],
        ['mnist_lstm_classifier.py', '--eval', '--hidden-units', '8', '--data-dir', DATA_DIR,
         '--ckpt-dir', 'c'],
        ['mnist_lstm_classifier.py', '--fast', '--training-iters', '640', '--hidden-units', '8',
         '--data-dir', DATA_DIR, '--ckpt-dir', 'f', '--logdir', 'l'],
        ['sin_cos_lstm_regressor.py', '--iterations', '3', '--plot', 'file', '--logdir', 'r'],
    ]
    for command in commands:
        proc = subprocess.run([sys.executable, os.path.join(ROOT, command[0]), *command[1:]],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert (proc.returncode, proc.stderr) == (0, ''), command
        assert 'test accuracy: ' in proc.stdout or 'cost: ' in proc.stdout, proc.stdout


def test_what_the_hold_gets_comes_out_in_order_before_the_error():
    """A real line written to fd 2 and a Python line written while the hold is on come
    out when it ends, in order, then the traceback of the exception that ended it."""
    noise = RECORDED['2.19'][0]
    code = ('import os, sys\n'
            'from tf1_compat import v1\n'
            'print("loaded", file=sys.stderr)\n'
            'with v1._quiet_startup():\n'
            f'    os.write(2, {noise!r}.encode() + b"\\nE0000 a real error\\n")\n'
            '    print("from Python", file=sys.stderr)\n'
            f'    os.write(2, {noise!r}.encode() + b"\\n")\n'
            '    raise RuntimeError("boom")\n')
    proc = python(code)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[:4] == ['loaded', 'E0000 a real error', 'from Python',
                         'Traceback (most recent call last):']
    assert lines[-1] == 'RuntimeError: boom'


def test_TF_CPP_MIN_LOG_LEVEL_0_shows_every_line():
    """The documented way to see everything TensorFlow prints: nothing is held back."""
    proc = python('import tf1_compat.v1', env={'TF_CPP_MIN_LOG_LEVEL': '0'})
    assert proc.returncode == 0, proc.stderr
    assert any(v1.is_startup_noise(l) for l in proc.stderr.splitlines()), proc.stderr

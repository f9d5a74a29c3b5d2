"""Both scripts' logs, read back through a real `tensorboard --logdir` over HTTP.

The regressor writes into the logdir root and the classifier into
<root>/mnist_lstm_classifier, the layout of the defaults (logs/ and
logs/mnist_lstm_classifier/). TensorBoard names the root's run '.'.
"""
import glob
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import types
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import DATA_DIR, main_and_stdout
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg
from tensorboard.compat.proto import graph_pb2
from google.protobuf import text_format

tf = clf.load_tensorflow()
pytestmark = pytest.mark.needs('loopback')  # TensorBoard serves on 127.0.0.1

HOST = '127.0.0.1'  # the only address these tests connect to
STEPS = [0, 20, 40]  # a summary every 20 iterations of 41
REG_RUN = '.'  # the regressor writes into the root logdir itself
CLF_RUN = 'mnist_lstm_classifier'
REG_TAG = 'cost/average_cost/cost'
STARTUP_SECONDS = 60
STOP_SECONDS = 20
SETTLE_SECONDS = 5

# Direct connections only: an http_proxy in the environment must not see these requests.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def event_file_contents(folder):
    """The scalars {tag: [(step, wall_time, value)]} and the GraphDef in the one
    event file directly in folder, read with TensorFlow (not TensorBoard)."""
    files = glob.glob(os.path.join(folder, 'events.out.tfevents.*'))
    assert len(files) == 1, files
    scalars, graph = {}, None
    for event in tf.train.summary_iterator(files[0]):
        if event.HasField('graph_def'):
            assert graph is None
            graph = graph_pb2.GraphDef.FromString(event.graph_def)
        for value in event.summary.value:
            scalars.setdefault(value.tag, []).append(
                (event.step, event.wall_time, value.simple_value))
    return scalars, graph


@pytest.fixture(scope='module')
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp('tb_logs')
    ckpt = tmp_path_factory.mktemp('tb_ckpt')
    reg_result, _ = main_and_stdout(reg.main, ['--iterations', '41', '--seed', '1', '--plot', 'none',
                                     '--logdir', str(root)])
    clf_result, clf_stdout = main_and_stdout(clf.main, [
        '--training-iters', str(128 * 41), '--seed', '1', '--data-dir', DATA_DIR,
        '--ckpt-dir', str(ckpt), '--logdir', str(root / CLF_RUN)])
    return types.SimpleNamespace(
        root=root, reg_result=reg_result, clf_result=clf_result, clf_stdout=clf_stdout,
        events={REG_RUN: event_file_contents(str(root)),
                CLF_RUN: event_file_contents(str(root / CLF_RUN))})


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tensorboard_command():
    script = os.path.join(os.path.dirname(sys.executable), 'tensorboard')
    if os.path.isfile(script):
        return [script]
    return [sys.executable, '-m', 'tensorboard.main']


class Server:
    def __init__(self, port, log_path):
        self.base = f'http://{HOST}:{port}'
        self.log_path = log_path

    def get(self, path, **query):
        url = self.base + path + ('?' + urllib.parse.urlencode(query) if query else '')
        with OPENER.open(url, timeout=30) as response:
            assert response.status == 200
            return response.read()

    def get_json(self, path, **query):
        return json.loads(self.get(path, **query))

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()[-4000:]


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_SECONDS)


def served_state(server):
    """What the server has loaded now: runs, scalar tags, graph listing, every scalar."""
    runs = sorted(server.get_json('/data/runs'))
    tags = server.get_json('/data/plugin/scalars/tags')
    graphs = server.get_json('/data/plugin/graphs/info')
    points = {f'{run}:{tag}': scalar_points(server, run, tag)
              for run in tags for tag in tags[run]}
    return {'runs': runs, 'tags': tags, 'graphs': graphs, 'scalars': points}


def loaded(state, unchanged_for):
    """Both runs' scalars are served and the last poll saw the same (no run is half
    read). Graphs are not waited for: each event file holds its graph before its
    first scalar. If a run has no scalars at all, stop waiting once both runs are
    listed and nothing changed for SETTLE_SECONDS; the tests then say what is missing."""
    if unchanged_for is None:
        return False
    if all(state['tags'].get(run) for run in (REG_RUN, CLF_RUN)):
        return True
    return set(state['runs']) >= {REG_RUN, CLF_RUN} and unchanged_for >= SETTLE_SECONDS


# 'auto' is what `tensorboard --logdir logs` does (the Rust data server where it is
# installed); 'false' is TensorBoard's pure-Python reader.
@pytest.fixture(scope='module', params=['auto', 'false'], ids=['load_fast_auto', 'load_fast_false'])
def tensorboard(request, logs, tmp_path_factory):
    log_path = tmp_path_factory.mktemp('tb_server') / 'tensorboard.log'
    for attempt in range(3):  # another process may take the free port before TensorBoard does
        port = free_port()
        server = Server(port, log_path)
        with open(log_path, 'wb') as log:
            proc = subprocess.Popen(
                tensorboard_command() + ['--logdir', str(logs.root), '--host', HOST,
                                         '--port', str(port), '--load_fast', request.param],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            state, same_since = None, None
            deadline = time.monotonic() + STARTUP_SECONDS
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    now, previous, state = time.monotonic(), state, served_state(server)
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass  # not listening yet (or a run listed before its scalars)
                else:
                    same_since = (same_since or now) if state == previous else None
                    if loaded(state, None if same_since is None else now - same_since):
                        break
                time.sleep(0.5)
            else:
                if proc.poll() is not None and 'already in use' in server.log() and attempt < 2:
                    continue
                pytest.fail(f'tensorboard did not serve both runs within {STARTUP_SECONDS}s '
                            f'(exit code {proc.poll()}); last served: '
                            f'{state}\n{server.log()}')
            server.load_fast = request.param
            yield server
            return
        finally:
            stop(proc)


def scalar_points(server, run, tag):
    return server.get_json('/data/plugin/scalars/scalars', run=run, tag=tag)


def served_graph(server, run):
    """The run's graph as the graphs dashboard gets it (a text-format GraphDef)."""
    return text_format.Parse(server.get('/data/plugin/graphs/graph', run=run).decode(),
                             graph_pb2.GraphDef())


def node_ops(graph):
    return {node.name: node.op for node in graph.node}


def assert_served_as_written(server, logs, run, tag):
    points = scalar_points(server, run, tag)
    written = logs.events[run][0][tag]
    assert [step for _, step, _ in points] == STEPS
    assert [(step, value) for _, step, value in points] == [(s, v) for s, _, v in written]
    assert [t for t, _, _ in points] == pytest.approx([t for _, t, _ in written], abs=1e-3)
    assert all(math.isfinite(value) for _, _, value in points)
    return [value for _, _, value in points]


def test_runs_are_the_root_and_the_classifier_folder(tensorboard, logs):
    assert sorted(tensorboard.get_json('/data/runs')) == sorted([REG_RUN, CLF_RUN])
    environment = tensorboard.get_json('/data/environment')
    assert environment['data_location'] == str(logs.root)
    if tensorboard.load_fast == 'false':  # really the Python reader, not the gRPC data server
        assert 'Grpc' not in environment['debug']['data_provider']


def test_scalar_tags_per_run(tensorboard):
    tags = tensorboard.get_json('/data/plugin/scalars/tags')
    assert set(tags) == {REG_RUN, CLF_RUN}
    assert set(tags[REG_RUN]) == {REG_TAG}
    assert set(tags[CLF_RUN]) == {'accuracy', 'cost'}


def test_regressor_cost_every_20_iterations(tensorboard, logs):
    values = assert_served_as_written(tensorboard, logs, REG_RUN, REG_TAG)
    # a squared-error sum: positive. (The summary is run after the training step,
    # so it is not the printed cost of the same iteration.)
    assert all(v > 0 for v in values)
    assert logs.reg_result['cost_iterations'] == STEPS
    # the tag is the regressor's alone
    with pytest.raises(urllib.error.HTTPError) as e:
        scalar_points(tensorboard, CLF_RUN, REG_TAG)
    assert e.value.code == 404


def test_classifier_accuracy_and_cost_every_20_steps(tensorboard, logs):
    accuracy = assert_served_as_written(tensorboard, logs, CLF_RUN, 'accuracy')
    cost = assert_served_as_written(tensorboard, logs, CLF_RUN, 'cost')
    # the served accuracy is the batch accuracy the script printed at that step
    printed = [float(m.group(1)) for m in
               re.finditer(r'^step +\d+/\d+  batch accuracy (\S+)', logs.clf_stdout, re.M)]
    assert accuracy == printed
    assert all(0.0 <= a <= 1.0 for a in accuracy)
    assert all(c > 0 for c in cost)  # softmax cross-entropy


def test_graphs_are_listed_for_both_runs(tensorboard):
    info = tensorboard.get_json('/data/plugin/graphs/info')
    assert set(info) == {REG_RUN, CLF_RUN}
    assert all(info[run]['run_graph'] for run in info)


def test_regressor_graph(tensorboard, logs):
    graph = node_ops(served_graph(tensorboard, REG_RUN))
    assert graph == node_ops(logs.events[REG_RUN][1])  # the whole graph, as written
    assert graph['inputs/xs'] == 'Placeholder'
    assert graph['inputs/ys'] == 'Placeholder'
    assert graph['cost/average_cost/average_cost'] == 'RealDiv'  # tf.div of floats
    assert graph['cost/average_cost/cost'] == 'ScalarSummary'
    assert graph['LSTM_cell/rnn/basic_lstm_cell/kernel'] == 'VariableV2'
    for scope in ('in_hidden/', 'LSTM_cell/rnn/', 'out_hidden/', 'train/'):
        assert any(name.startswith(scope) for name in graph), scope
    assert 'rnn/basic_lstm_cell/kernel' not in graph  # not the classifier's graph


def test_classifier_graph(tensorboard, logs):
    graph = node_ops(served_graph(tensorboard, CLF_RUN))
    assert graph == node_ops(logs.events[CLF_RUN][1])
    assert graph['rnn/basic_lstm_cell/kernel'] == 'VariableV2'
    assert graph['rnn/basic_lstm_cell/bias'] == 'VariableV2'
    assert {'Variable', 'Variable_1', 'Variable_2', 'Variable_3'} <= set(graph)
    assert graph['accuracy'] == 'ScalarSummary'
    assert graph['cost'] == 'ScalarSummary'
    assert not any(name.startswith('inputs/') for name in graph)  # not the regressor's

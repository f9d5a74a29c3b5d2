"""What a user sees, each outcome against an independent reference.

Each test checks an outcome (the arrays a DataSet hands out, the curves on the plot,
the numbers two runs print, the files left after a crash, the files' modes), against an
independent reference: TF 1.x's DataSet.next_batch transcribed from its source
(tensorflow/contrib/learn/python/learn/datasets/mnist.py), NumPy's sin and cos,
TensorFlow's own tf.train.latest_checkpoint, the umask.
"""
import functools
import io
import os
import stat

import numpy as np
import pytest

from conftest import DATA_DIR, main_and_stdout
import mnist_lstm_classifier as clf
import sin_cos_lstm_regressor as reg
from run_safety import checkpoints, cli
from tf1_compat import input_data


@pytest.fixture
def tf():
    reg.load_tensorflow()
    return clf.load_tensorflow()


# ------------------------------------------------------------------ the MNIST reader

class Tf1DataSet:
    """TF 1.x's DataSet.next_batch, transcribed from its source. Its shuffles drew from
    NumPy's global RNG after numpy.random.seed(seed); a RandomState seeded alike draws
    the same numbers. The arrays themselves are reordered at each shuffle."""

    def __init__(self, images, labels, seed):
        self.rng = np.random.RandomState(seed)
        self.images, self.labels = images, labels
        self.num_examples = images.shape[0]
        self.epochs_completed = self.index_in_epoch = 0

    def next_batch(self, batch_size, shuffle=True):
        start = self.index_in_epoch
        if self.epochs_completed == 0 and start == 0 and shuffle:
            perm0 = np.arange(self.num_examples)
            self.rng.shuffle(perm0)
            self.images, self.labels = self.images[perm0], self.labels[perm0]
        if start + batch_size > self.num_examples:
            self.epochs_completed += 1
            rest = self.num_examples - start
            images_rest, labels_rest = self.images[start:], self.labels[start:]
            if shuffle:
                perm = np.arange(self.num_examples)
                self.rng.shuffle(perm)
                self.images, self.labels = self.images[perm], self.labels[perm]
            self.index_in_epoch = batch_size - rest
            end = self.index_in_epoch
            return (np.concatenate((images_rest, self.images[:end]), axis=0),
                    np.concatenate((labels_rest, self.labels[:end]), axis=0))
        self.index_in_epoch += batch_size
        return self.images[start:self.index_in_epoch], self.labels[start:self.index_in_epoch]


def file_order(tiny_mnist, validation_size):
    """The training split in file order, scaled as TF 1.x did (float32 * 1/255)."""
    _, train_images, train_labels, _, _ = tiny_mnist
    images = train_images[validation_size:].reshape(-1, 784).astype(np.float32) * np.float32(1 / 255)
    return images, train_labels[validation_size:]


@pytest.mark.smoke
@pytest.mark.parametrize('seed', [0, 7])
@pytest.mark.parametrize('batch_size', [8, 5])  # 5 divides the 20 examples: a batch ends an epoch
def test_batches_images_labels_and_epochs_follow_tf1s_shuffle(tiny_mnist, seed, batch_size):
    """After every next_batch call, over three epochs: the batch, .images, .labels (the
    current, shuffled order) and epochs_completed are TF 1.x's (--seed 0 included)."""
    images, labels = file_order(tiny_mnist, 10)
    mnist = input_data.read_data_sets(str(tiny_mnist[0]), validation_size=10, seed=seed)
    tf1 = Tf1DataSet(images, labels, seed)
    for call in range(60 // batch_size):
        got, expected = mnist.train.next_batch(batch_size), tf1.next_batch(batch_size)
        np.testing.assert_array_equal(got[0], expected[0], err_msg=f'call {call}')
        np.testing.assert_array_equal(got[1], expected[1], err_msg=f'call {call}')
        np.testing.assert_array_equal(mnist.train.images, tf1.images, err_msg=f'call {call}')
        np.testing.assert_array_equal(mnist.train.labels, tf1.labels, err_msg=f'call {call}')
        assert mnist.train.epochs_completed == tf1.epochs_completed, f'call {call}'
    assert tf1.epochs_completed >= 2
    assert not np.array_equal(mnist.train.images, images)  # the order did change


@pytest.mark.smoke
def test_no_shuffle_batches_come_in_file_order_across_epochs(tiny_mnist):
    images, labels = file_order(tiny_mnist, 10)
    mnist = input_data.read_data_sets(str(tiny_mnist[0]), validation_size=10, seed=3)
    batches = [mnist.train.next_batch(8, shuffle=False) for _ in range(5)]  # 40 = 2 epochs
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), np.tile(images, (2, 1)))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), np.tile(labels, 2))
    np.testing.assert_array_equal(mnist.train.images, images)


# ------------------------------------------------------------------ the regressor's plot

@pytest.mark.smoke
def test_regressor_plot_shows_target_cos_and_the_first_rows_prediction(tf, tmp_path, monkeypatch):
    """--plot file: at each iteration a red curve, cos of the first row's points, and a
    blue dashed one, the prediction for that row; the saved PNG is that figure."""
    predictions, seen = [], {}

    class Recording(tf.Session):  # the predictions the training loop fetched
        def run(self, fetches, *args, **kwargs):
            out = super().run(fetches, *args, **kwargs)
            if isinstance(fetches, list) and len(fetches) == 4:
                predictions.append(out[3])
            return out

    def capture(args, fig, frames, cost_history):
        seen['lines'] = [(l.get_xdata(), l.get_ydata(), l.get_color(), l.get_linestyle())
                         for l in fig.axes[0].get_lines()]
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png')
        seen['png'] = buffer
        return save_outputs(args, fig, frames, cost_history)

    save_outputs = reg.save_outputs
    monkeypatch.setattr(tf, 'Session', Recording)
    monkeypatch.setattr(reg, 'save_outputs', capture)
    batch, steps, iterations = 3, 7, 4
    main_and_stdout(reg.main, ['--iterations', str(iterations), '--batch-size', str(batch),
                     '--time-steps', str(steps), '--plot', 'file', '--seed', '2',
                     '--logdir', str(tmp_path)])
    from matplotlib.colors import to_hex
    lines = seen['lines']
    assert len(lines) == 2 * iterations and len(predictions) == iterations
    for i in range(iterations):
        x = (i * steps + np.arange(steps)) / (10 * np.pi)  # the first row of batch i
        (tx, ty, tcolor, tstyle), (px, py, pcolor, pstyle) = lines[2 * i], lines[2 * i + 1]
        np.testing.assert_allclose(tx, x, rtol=1e-12)
        np.testing.assert_allclose(ty, np.cos(x), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(px, x, rtol=1e-12)
        np.testing.assert_array_equal(py, predictions[i].reshape(batch, steps)[0])
        assert (to_hex(tcolor), tstyle, to_hex(pcolor), pstyle) == ('#ff0000', '-', '#0000ff', '--')
    from PIL import Image
    saved = np.asarray(Image.open(tmp_path / 'sin_cos_fit.png'))
    np.testing.assert_array_equal(saved, np.asarray(Image.open(seen['png'])))


# ------------------------------------------------------------------ --seed 0

def classifier_seeded(tf, folder, seed):
    """A 3-step run (one print, at step 0, saved): its printed accuracy and checkpoint."""
    result, stdout = main_and_stdout(clf.main, [
        '--seed', str(seed), '--training-iters', '192', '--batch-size', '64',
        '--hidden-units', '16', '--data-dir', DATA_DIR, '--ckpt-dir', str(folder / 'ckpt'),
        '--logdir', str(folder / 'logs')])
    reader = tf.train.load_checkpoint(result['checkpoint'])
    weights = {n: reader.get_tensor(n) for n, _ in tf.train.list_variables(result['checkpoint'])}
    printed = [l.split()[4] for l in stdout.splitlines() if l.startswith('step')]
    return printed, result['test_accuracy'], weights


def test_classifier_seed_0_repeats_itself_and_differs_from_seed_1(tf, tmp_path):
    first = classifier_seeded(tf, tmp_path / 'a', 0)
    again = classifier_seeded(tf, tmp_path / 'b', 0)
    other = classifier_seeded(tf, tmp_path / 'c', 1)
    assert first[:2] == again[:2]
    for name, value in first[2].items():
        np.testing.assert_array_equal(value, again[2][name], err_msg=name)
    assert not np.array_equal(first[2]['Variable'], other[2]['Variable'])


def regressor_seeded(folder, seed):
    result, stdout = main_and_stdout(reg.main, ['--seed', str(seed), '--iterations', '2', '--plot', 'none',
                                      '--logdir', str(folder)])
    return stdout.splitlines()[0], result['final_cost']


@pytest.mark.smoke
def test_regressor_seed_0_repeats_itself_and_differs_from_seed_1(tf, tmp_path):
    first = regressor_seeded(tmp_path / 'a', 0)
    assert regressor_seeded(tmp_path / 'b', 0) == first
    assert regressor_seeded(tmp_path / 'c', 1)[1] != first[1]


# ------------------------------------------------------------------ --batch-size at the boundary

def test_batch_size_equal_to_the_training_images_trains_one_more_is_refused(
        tf, tiny_mnist, tmp_path, monkeypatch, capsys):
    """A 25-image training split (tiny MNIST, 5 for validation): --batch-size 25 trains,
    an epoch per step; --batch-size 26 is refused in one line."""
    from conftest import fails
    monkeypatch.setattr(input_data, 'read_data_sets',
                        functools.partial(input_data.read_data_sets, validation_size=5))
    argv = ['--training-iters', '50', '--hidden-units', '8', '--seed', '0',
            '--data-dir', str(tiny_mnist[0]), '--logdir', str(tmp_path / 'logs')]
    result, stdout = main_and_stdout(clf.main, argv + ['--batch-size', '25', '--ckpt-dir', str(tmp_path / 'ok')])
    assert result['steps'] == 2 and stdout.startswith('step 0/2  batch accuracy')
    err = fails(clf.main, argv + ['--batch-size', '26', '--ckpt-dir', str(tmp_path / 'no')], capsys)
    assert '--batch-size 26 is larger than the 25 training images' in err


# ------------------------------------------------------------------ a crash during finish()

class Crash(BaseException):
    """A kill: nothing catches it, not even the code that swallows OSError."""


FILE_OPERATIONS = ('replace', 'rename', 'remove', 'unlink', 'link', 'rmdir')


def crash_at(monkeypatch, k):
    """From now on, the k-th file operation (rename, replace, remove, ...) raises Crash
    instead of happening. Returns the list of the operations seen."""
    seen = []
    for name in FILE_OPERATIONS:
        real = getattr(os, name)

        def operation(*args, _real=real, _name=name, **kwargs):
            seen.append(_name)
            if len(seen) == k + 1:
                raise Crash(f'{_name} {args}')
            return _real(*args, **kwargs)
        monkeypatch.setattr(os, name, operation)
    return seen


@pytest.mark.parametrize('commit', ['finish', 'save'])
def test_model_survives_a_crash_at_every_step_of_a_commit(tf, tmp_path, monkeypatch, commit):
    """finish: a finished run's model (w = 1) is in the folder; a second run saves its best
    (w = 2) and crashes at step k of finish(). save: a run's best so far (w = 1), then it
    crashes at step k of saving a better one (w = 2). For every k: afterwards, and after
    the next run has cleaned up, TensorFlow's own tf.train.latest_checkpoint names a
    complete checkpoint holding one of the two models, never a deleted one."""
    graph = tf.Graph()
    with graph.as_default():
        w = tf.get_variable('w', [], initializer=tf.zeros_initializer())
        saver = tf.train.Saver(max_to_keep=1, save_relative_paths=True)
    name = 'model.ckpt'

    def train(folder, value, step, finish=True):
        with checkpoints.TrainingRun(str(folder), name) as run, tf.Session(graph=graph) as sess:
            w.load(value, sess)
            run.save(saver, sess, step)
            if finish:
                run.finish()

    def model(folder):
        path = tf.train.latest_checkpoint(str(folder))
        assert path is not None
        return float(tf.train.load_checkpoint(path).get_tensor('w'))

    k = 0
    while True:
        folder = tmp_path / f'crash{k}'
        folder.mkdir()
        if commit == 'finish':
            train(folder, 1.0, 3)
        with checkpoints.TrainingRun(str(folder), name) as run, tf.Session(graph=graph) as sess:
            if commit == 'save':
                w.load(1.0, sess)
                run.save(saver, sess, 3)
            w.load(2.0, sess)
            if commit == 'finish':
                run.save(saver, sess, 7)
            with monkeypatch.context() as m:
                seen = crash_at(m, k)
                try:
                    run.save(saver, sess, 7) if commit == 'save' else run.finish()
                    crashed = False
                except Crash:
                    crashed = True
            if not crashed and commit == 'save':
                run.finish()
        assert model(folder) in (1.0, 2.0), f'after a crash at step {k}: {seen}'
        with checkpoints.TrainingRun(str(folder), name):  # the next run cleans up
            pass
        assert model(folder) in (1.0, 2.0), f'after a crash at step {k} and a cleanup: {seen}'
        if not crashed:
            assert model(folder) == 2.0  # finished: the new model is the folder's
            break
        k += 1
    assert k >= 2  # the commit has steps: the index and the deletion of the old model


# ------------------------------------------------------------------ the outputs' modes

@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_outputs_modes_follow_the_umask(tf, tmp_path, umask):
    """The regressor's PNG, GIF, CSV and metrics JSON, and a checkpoint index: each gets
    0666 & ~umask, as any file the user writes (0644 under 022, 0600 under 077)."""
    main_and_stdout(reg.main, ['--iterations', '1', '--plot', 'file', '--logdir', str(tmp_path / 'logs'),
                     '--metrics-json', str(tmp_path / 'm.json')])
    checkpoints.write_index(str(tmp_path), 'model.ckpt-1', ['model.ckpt-1'])
    paths = [tmp_path / 'logs' / n for n in ('sin_cos_fit.png', 'sin_cos_fit.gif', 'cost_history.csv')]
    paths += [tmp_path / 'm.json', tmp_path / 'checkpoint']
    modes = {p.name: oct(stat.S_IMODE(os.stat(p).st_mode)) for p in paths}
    assert modes == {p.name: oct(0o666 & ~umask) for p in paths}


# ------------------------------------------------------------------ every validator's boundary

@pytest.mark.smoke
@pytest.mark.parametrize('validator, smallest, below', [
    (cli.positive_int, '1', '0'),
    (cli.positive_float, '5e-324', '0'),   # the smallest float above 0
    (cli.non_negative_float, '0', '-5e-324'),
])
def test_each_validator_takes_its_smallest_value_and_refuses_the_next_below(validator, smallest, below):
    assert validator(smallest) == type(validator(smallest))(smallest)
    with pytest.raises(Exception, match='must be'):
        validator(below)


@pytest.mark.smoke
def test_pause_0_and_batch_of_1_are_accepted_by_both_scripts():
    assert reg.parse_args(['--pause', '0', '--batch-size', '1']).pause == 0
    assert clf.parse_args(['--batch-size', '1', '--training-iters', '1']).batch_size == 1


@pytest.mark.smoke
def test_memory_check_accepts_exactly_the_machines_memory(monkeypatch):
    import psutil
    from types import SimpleNamespace
    monkeypatch.setattr(psutil, 'virtual_memory', lambda: SimpleNamespace(total=1000))
    cli.check_memory(1000, 'these sizes')
    with pytest.raises(cli.UserError, match='need about'):
        cli.check_memory(1001, 'these sizes')


@pytest.mark.smoke
def test_validation_size_from_0_to_every_training_image(tiny_mnist):
    folder = str(tiny_mnist[0])
    assert input_data.read_data_sets(folder, validation_size=30).validation.num_examples == 30
    assert input_data.read_data_sets(folder, validation_size=0).train.num_examples == 30
    for size in (-1, 31):
        with pytest.raises(ValueError, match='Validation size should be between 0 and 30'):
            input_data.read_data_sets(folder, validation_size=size)

"""The MNIST reader against TF 1.x's behaviour (docs/tf1-semantics.md)."""
import os

import numpy as np
import pytest

from conftest import idx_bytes, write_gz
from tf1_compat import input_data


def tf1_permutation(seed, n):
    """TF 1.x's shuffle: reseed NumPy's global RNG, shuffle arange(n). The global RNG is a
    RandomState; a private one with the same seed draws the same numbers and leaves
    NumPy's global stream alone (other tests may use it)."""
    rng = np.random.RandomState(seed)
    perm = np.arange(n)
    rng.shuffle(perm)
    return perm


def test_split_scaling_and_one_hot(tiny_mnist):
    folder, train_images, train_labels, test_images, test_labels = tiny_mnist
    mnist = input_data.read_data_sets(str(folder), one_hot=True, validation_size=5)

    assert (mnist.train.num_examples, mnist.validation.num_examples,
            mnist.test.num_examples) == (25, 5, 7)
    # validation = the first 5 training images, train = the rest
    expected_val = train_images[:5].reshape(5, 784).astype(np.float32) * np.float32(1 / 255)
    assert mnist.validation.images.dtype == np.float32
    np.testing.assert_array_equal(mnist.validation.images, expected_val)
    np.testing.assert_array_equal(
        mnist.train.images, train_images[5:].reshape(25, 784).astype(np.float32) * np.float32(1 / 255))
    # one-hot float64 [N, 10]
    assert mnist.test.labels.dtype == np.float64 and mnist.test.labels.shape == (7, 10)
    np.testing.assert_array_equal(mnist.test.labels.argmax(1), test_labels)
    np.testing.assert_array_equal(mnist.test.labels.sum(1), np.ones(7))


def test_int_labels_when_not_one_hot(tiny_mnist):
    folder, _, train_labels, _, _ = tiny_mnist
    mnist = input_data.read_data_sets(str(folder), validation_size=0)
    np.testing.assert_array_equal(mnist.train.labels, train_labels)


def test_next_batch_epoch_semantics(tiny_mnist):
    folder, train_images, _, _, _ = tiny_mnist
    mnist = input_data.read_data_sets(str(folder), validation_size=10, seed=7)
    images = train_images[10:].reshape(20, 784).astype(np.float32) * np.float32(1 / 255)
    first = tf1_permutation(7, 20)          # drawn on the very first call
    second = first[tf1_permutation_next(7, 20)]  # drawn at the epoch boundary

    batches = [mnist.train.next_batch(8)[0] for _ in range(3)]
    np.testing.assert_array_equal(batches[0], images[first[0:8]])
    np.testing.assert_array_equal(batches[1], images[first[8:16]])
    # 20 examples, batches of 8: the third batch is the 4 left of the old order
    # followed by the first 4 of the new shuffle.
    np.testing.assert_array_equal(batches[2], images[np.concatenate([first[16:20], second[0:4]])])
    assert mnist.train.epochs_completed == 1
    np.testing.assert_array_equal(mnist.train.next_batch(8)[0], images[second[4:12]])


def tf1_permutation_next(seed, n):
    """The second shuffle TF 1.x drew from the same seeded global RNG."""
    rng = np.random.RandomState(seed)
    rng.shuffle(np.arange(n))
    perm = np.arange(n)
    rng.shuffle(perm)
    return perm


def test_same_seed_same_batches(tiny_mnist):
    """(shuffle=False: tests/test_user_visible.py, against the file order.)"""
    folder = str(tiny_mnist[0])
    a = input_data.read_data_sets(folder, validation_size=0, seed=3)
    b = input_data.read_data_sets(folder, validation_size=0, seed=3)
    for _ in range(5):
        np.testing.assert_array_equal(a.train.next_batch(7)[0], b.train.next_batch(7)[0])


def test_checksum_mismatch_is_refused(tiny_mnist):
    folder = tiny_mnist[0]
    # a well-formed IDX file with other content
    write_gz(folder / input_data.TEST_LABELS, idx_bytes(np.zeros(7), 2049))
    with pytest.raises(input_data.MnistDataError, match='checksum mismatch') as e:
        input_data.read_data_sets(str(folder))
    assert input_data.TEST_LABELS in str(e.value)


def test_wrong_magic_is_refused(tiny_mnist, monkeypatch):
    folder = tiny_mnist[0]
    content = idx_bytes(np.zeros(7), 2051)  # labels with the images' magic
    write_gz(folder / input_data.TEST_LABELS, content)
    monkeypatch.setitem(input_data.SHA256, input_data.TEST_LABELS, None)
    with pytest.raises(input_data.MnistDataError, match='Invalid magic number 2051'):
        input_data.read_data_sets(str(folder))


def test_missing_file_offline_names_file_and_leaves_nothing(tiny_mnist):
    folder = tiny_mnist[0]
    os.remove(folder / input_data.TRAIN_LABELS)
    before = sorted(os.listdir(folder))
    # port 9 (discard) on loopback: nothing listens, the connection is refused at once
    with pytest.raises(input_data.MnistDataError) as e:
        input_data.read_data_sets(str(folder), source_url='http://127.0.0.1:9/')
    message = str(e.value)
    assert input_data.TRAIN_LABELS in message and 'could not be downloaded' in message
    assert 'copy the MNIST .gz files into' in message and '\n' not in message
    assert sorted(os.listdir(folder)) == before


@pytest.mark.needs('loopback')  # the download server is on 127.0.0.1
def test_missing_file_is_downloaded_and_verified(tiny_mnist, tmp_path_factory):
    """A local HTTP server stands in for the mirror."""
    import functools
    import http.server
    import threading
    folder = tiny_mnist[0]
    mirror = tmp_path_factory.mktemp('mirror')
    os.replace(folder / input_data.TRAIN_IMAGES, mirror / input_data.TRAIN_IMAGES)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f'http://127.0.0.1:{server.server_address[1]}/'
        mnist = input_data.read_data_sets(str(folder), validation_size=0, source_url=url)
    finally:
        server.shutdown()
        server.server_close()
    assert mnist.train.num_examples == 30
    assert (folder / input_data.TRAIN_IMAGES).read_bytes() == \
        (mirror / input_data.TRAIN_IMAGES).read_bytes()
    assert not [n for n in os.listdir(folder) if n.endswith('.part')]


def test_shipped_data_matches_mnist():
    """data/ holds the real MNIST: the class counts data/README.md gives."""
    from conftest import DATA_DIR
    mnist = input_data.read_data_sets(DATA_DIR, validation_size=0)
    assert mnist.train.images.shape == (60000, 784) and mnist.test.images.shape == (10000, 784)
    np.testing.assert_array_equal(np.bincount(mnist.train.labels),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    np.testing.assert_array_equal(np.bincount(mnist.test.labels),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    assert mnist.train.images.max() == 1.0 and mnist.train.images.min() == 0.0


def test_seed_is_truncated_as_tf1_did(tiny_mnist):
    """TF 1.x seeded the shuffle with seed % (2**31 - 1): any integer works."""
    folder = str(tiny_mnist[0])
    negative = input_data.read_data_sets(folder, validation_size=0, seed=-1)
    images = negative.train.images.copy()
    np.testing.assert_array_equal(negative.train.next_batch(30)[0],
                                  images[tf1_permutation(2**31 - 2, 30)])

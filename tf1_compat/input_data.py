"""Stand-in for TF 1.x's ``tensorflow.examples.tutorials.mnist.input_data``.

TensorFlow 2 removed the module; this one keeps its API so the tutorial's call
site ``input_data.read_data_sets('MNIST_data', one_hot=True)`` and
``mnist.train.next_batch(batch_size)`` work unchanged. Behaviour follows TF 1.15's
``tensorflow/contrib/learn/python/learn/datasets/mnist.py`` (docs/tf1-semantics.md):

* IDX files, gzip, big-endian header; magic 2051 (images) / 2049 (labels).
* validation = the first ``validation_size`` training images, train = the rest.
* images [N, 784] float32, multiplied by 1.0 / 255.0; one-hot labels float64.
* ``next_batch`` shuffles on the first call and, at an epoch boundary, returns
  the rest of the old order followed by the start of a fresh shuffle.

Two additions: each file's uncompressed bytes are checked against the known
SHA-256 (a corrupt or truncated copy is refused, not trained on), and a missing
file is downloaded through a temporary name, so a failed download never leaves
a partial file under the real one.
"""
import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
import zlib

import numpy

from run_safety.cli import UserError

# The mirror TF 1.x's read_data_sets used (the original host now refuses).
DEFAULT_SOURCE_URL = 'https://storage.googleapis.com/cvdf-datasets/mnist/'

TRAIN_IMAGES = 'train-images-idx3-ubyte.gz'
TRAIN_LABELS = 'train-labels-idx1-ubyte.gz'
TEST_IMAGES = 't10k-images-idx3-ubyte.gz'
TEST_LABELS = 't10k-labels-idx1-ubyte.gz'

# SHA-256 of each file's *uncompressed* bytes: the .gz bytes differ between
# mirrors (compression level, timestamps), the content does not.
SHA256 = {
    TRAIN_IMAGES: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    TRAIN_LABELS: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
    TEST_IMAGES: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    TEST_LABELS: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
}

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


class MnistDataError(UserError, ValueError):
    """A data file is missing, unreadable or not what it should be.

    The message is one line that names the file and what to do.
    """


def _read_gz(path, name):
    """The uncompressed bytes of the gzip file ``path`` (the MNIST file ``name``)."""
    if os.path.isdir(path):
        raise MnistDataError(f'{path} is a directory, not the MNIST file {name}: '
                             f'remove it and copy {name} there')
    try:
        with gzip.open(path, 'rb') as f:
            return f.read()
    except gzip.BadGzipFile as e:
        if str(e).startswith('Not a gzipped file'):
            raise MnistDataError(f'{path} is not a gzip file: replace it with the '
                                 f'original {name}') from None
        # the gzip trailer's CRC-32 or length does not match: damaged bytes
        what = 'CRC check failed' if 'CRC' in str(e) else 'length check failed'
        raise MnistDataError(f'{path} is corrupt ({what}): replace it with the '
                             f'original {name}') from None
    except (EOFError, zlib.error):
        raise MnistDataError(f'{path} is truncated or corrupt: replace it with the '
                             f'original {name}') from None
    except OSError as e:
        raise MnistDataError(f'cannot read {path} ({e.strerror or e}): replace it with the '
                             f'original {name}') from None


def _parse_idx(content, path, magic_expected):
    """Parse an IDX byte string: big-endian uint32 magic and dims, then uint8 data."""
    kind = 'images' if magic_expected == IMAGES_MAGIC else 'labels'
    ndim = 3 if magic_expected == IMAGES_MAGIC else 1
    header = 4 * (1 + ndim)
    if len(content) < header:
        raise MnistDataError(f'{path} is too short to be an MNIST {kind} file: '
                             f'replace it with the original')
    magic = struct.unpack('>I', content[:4])[0]
    if magic != magic_expected:
        raise MnistDataError(f'Invalid magic number {magic} in MNIST {kind} file {path} '
                             f'(expected {magic_expected}): replace it with the original')
    dims = struct.unpack('>' + 'I' * ndim, content[4:header])
    data = numpy.frombuffer(content, dtype=numpy.uint8, offset=header)
    if data.size != int(numpy.prod(dims)):
        raise MnistDataError(f'{path} holds {data.size} bytes of {kind} where its header '
                             f'promises {int(numpy.prod(dims))}: replace it with the original')
    return data.reshape(dims)


def _verify(content, path, name):
    """Refuse content whose SHA-256 is not the one known for ``name``."""
    expected = SHA256.get(name)
    if expected is not None and hashlib.sha256(content).hexdigest() != expected:
        raise MnistDataError(f'{path} does not hold the MNIST data (checksum mismatch): '
                             f'replace it with the original {name}')


def _read_idx(path, name=None):
    """(uint8 array, raw bytes) of an MNIST file; the format is checked, not the checksum.

    ``name`` is the MNIST file name it stands for (default: the file's own name).
    """
    name = name or os.path.basename(path)
    content = _read_gz(path, name)
    magic = IMAGES_MAGIC if 'images' in name else LABELS_MAGIC
    return _parse_idx(content, path, magic), content


def extract_images(path):
    """Images as a uint8 array [N, rows, cols, 1], as TF 1.x's extract_images."""
    images, content = _read_idx(path)
    _verify(content, path, os.path.basename(path))
    return images[..., numpy.newaxis]


def extract_labels(path, one_hot=False, num_classes=10):
    """Labels as uint8 [N], or float64 one-hot [N, num_classes]."""
    labels, content = _read_idx(path)
    _verify(content, path, os.path.basename(path))
    if one_hot:
        return dense_to_one_hot(labels, num_classes)
    return labels


def dense_to_one_hot(labels_dense, num_classes):
    """Class indices [N] to one-hot float64 [N, num_classes] (TF 1.x's dtype)."""
    labels_one_hot = numpy.zeros((labels_dense.shape[0], num_classes))
    labels_one_hot[numpy.arange(labels_dense.shape[0]), labels_dense] = 1
    return labels_one_hot


class DataSet(object):
    """One split; ``next_batch`` has TF 1.x's epoch semantics."""

    def __init__(self, images, labels, dtype=numpy.float32, reshape=True, seed=None):
        if images.shape[0] != labels.shape[0]:
            raise MnistDataError(f'images.shape: {images.shape} labels.shape: {labels.shape} '
                                 f'(image and label counts differ): replace the data files '
                                 f'with the original MNIST ones')
        self._num_examples = images.shape[0]
        if reshape:
            # [N, 28, 28, 1] -> [N, 784]
            images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
        if dtype == numpy.float32:
            # [0, 255] -> [0.0, 1.0], as a float32 multiply (not a divide), as TF 1.x.
            # (One pass, no float32 temporary: bit-identical to astype, then multiply.)
            images = numpy.multiply(images, numpy.float32(1.0 / 255.0), dtype=numpy.float32)
        self._images = images
        self._labels = labels
        # The current order, as indices into the arrays above (None: as stored). TF 1.x
        # reordered the arrays themselves at each shuffle, two 172 MB copies in the
        # tutorial's run; indices give the same batches without them.
        self._order = None
        self._epochs_completed = 0
        self._index_in_epoch = 0
        # TF 1.x reseeded NumPy's global RNG with the seed (None: fresh entropy),
        # truncated to seed % (2**31 - 1) as its random_seed.get_seed did, and shuffled
        # with it; a private RandomState with the same seed draws the same
        # permutations without touching anybody else's random numbers.
        self._rng = numpy.random.RandomState(None if seed is None else seed % (2**31 - 1))

    @property
    def images(self):
        """All images, in the current (shuffled) order, as TF 1.x."""
        return self._images if self._order is None else self._images[self._order]

    @property
    def labels(self):
        return self._labels if self._order is None else self._labels[self._order]

    @property
    def num_examples(self):
        return self._num_examples

    @property
    def epochs_completed(self):
        return self._epochs_completed

    def _shuffle(self):
        perm = numpy.arange(self._num_examples)
        self._rng.shuffle(perm)
        # TF 1.x: images = images[perm], applied to the current order
        self._order = perm if self._order is None else self._order[perm]

    def _take(self, start, end):
        """Examples start..end of the current order."""
        if self._order is None:
            return self._images[start:end], self._labels[start:end]
        index = self._order[start:end]
        return self._images[index], self._labels[index]

    def next_batch(self, batch_size, shuffle=True):
        """Return the next ``batch_size`` examples from this data set."""
        start = self._index_in_epoch
        # Shuffle for the first epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        # Go to the next epoch
        if start + batch_size > self._num_examples:
            # Finished epoch
            self._epochs_completed += 1
            # Get the rest examples in this epoch
            rest_num_examples = self._num_examples - start
            images_rest_part, labels_rest_part = self._take(start, self._num_examples)
            # Shuffle the data
            if shuffle:
                self._shuffle()
            # Start next epoch
            self._index_in_epoch = batch_size - rest_num_examples
            images_new_part, labels_new_part = self._take(0, self._index_in_epoch)
            return (numpy.concatenate((images_rest_part, images_new_part), axis=0),
                    numpy.concatenate((labels_rest_part, labels_new_part), axis=0))
        self._index_in_epoch += batch_size
        return self._take(start, self._index_in_epoch)


class Datasets(object):
    """The (train, validation, test) triple TF 1.x returned."""

    def __init__(self, train, validation, test):
        self.train = train
        self.validation = validation
        self.test = test


def maybe_download(filename, work_directory, source_url=DEFAULT_SOURCE_URL, timeout=30):
    """Return the path of ``filename`` in ``work_directory``, downloading it if missing.

    The download goes to a temporary file in the same directory, is verified,
    and only then renamed to its final name; on any failure it is removed.
    """
    filepath = os.path.join(work_directory, filename)
    if os.path.lexists(filepath):
        return filepath
    created = not os.path.isdir(work_directory)
    try:
        os.makedirs(work_directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=work_directory, prefix='.' + filename, suffix='.part')
    except OSError as e:
        raise MnistDataError(f'{filepath} is missing and {work_directory} is not writable '
                             f'({e.strerror or e}): copy the MNIST .gz files into '
                             f'{work_directory}') from None
    try:
        with os.fdopen(fd, 'wb') as out, \
                urllib.request.urlopen(source_url + filename, timeout=timeout) as response:
            while True:
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
        _verify(_read_idx(tmp, filename)[1], tmp, filename)
        os.replace(tmp, filepath)
    except MnistDataError as e:
        _cleanup(tmp, work_directory if created else None)
        raise MnistDataError(f'{filepath} is missing and the downloaded copy was refused '
                             f'({e}): copy the original {filename} into '
                             f'{work_directory}') from None
    except BaseException as e:  # network errors, Ctrl-C: never leave the partial file
        _cleanup(tmp, work_directory if created else None)
        if not isinstance(e, Exception):
            raise
        reason = getattr(e, 'reason', None) or e
        raise MnistDataError(f'{filepath} is missing and could not be downloaded from '
                             f'{source_url} ({reason}): copy the MNIST .gz files into '
                             f'{work_directory} (a fresh clone has them in data/)') from None
    return filepath


def _cleanup(tmp, created_directory):
    """Remove a failed download, and the folder if it was made for it."""
    for remove, path in ((os.remove, tmp), (os.rmdir, created_directory)):
        if path is not None:
            try:
                remove(path)
            except OSError:
                pass


DEFAULT_DATA_DIR = 'data'


def holds_mnist(folder):
    """True when ``folder`` is a directory holding at least one of the four MNIST files."""
    return os.path.isdir(folder) and any(
        os.path.lexists(os.path.join(folder, name))
        for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS))


def find_data_dir(data_dir, script):
    """The folder a script reads MNIST from, for its ``--data-dir`` flag.

    An explicit ``data_dir`` (not None) is used as given. Otherwise ``data`` in the
    working directory when it holds MNIST files (a run from the repository, as in
    the tutorial); else the ``data`` folder beside ``script`` (the copy shipped with
    the repository), so ``python path/to/mnist_lstm_classifier.py`` works from any
    directory; else ``data`` in the working directory, where the reader then
    downloads the files, as TF 1.x's did. (A ``data`` folder of something else in
    the working directory is passed over while the repository's copy is there.)
    """
    if data_dir is not None:
        return data_dir
    if holds_mnist(DEFAULT_DATA_DIR):
        return DEFAULT_DATA_DIR
    beside = os.path.join(os.path.dirname(os.path.abspath(script)), DEFAULT_DATA_DIR)
    if holds_mnist(beside):
        return beside
    return DEFAULT_DATA_DIR


def read_data_sets(train_dir, one_hot=False, dtype=numpy.float32, reshape=True,
                   validation_size=5000, seed=None, source_url=DEFAULT_SOURCE_URL):
    """Load MNIST from ``train_dir`` as TF 1.x's ``input_data.read_data_sets`` did."""
    if os.path.exists(train_dir) and not os.path.isdir(train_dir):
        raise MnistDataError(f'{train_dir} is a file, not a directory: pass the folder '
                             f'that holds the MNIST .gz files')
    names = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
    paths = [maybe_download(name, train_dir, source_url) for name in names]
    # Format first (magic, sizes, counts), then checksums: the more specific
    # message wins when a file is wrong in several ways.
    loaded = [_read_idx(path, name) for path, name in zip(paths, names)]
    train_images, train_labels, test_images, test_labels = [array for array, _ in loaded]
    for images, labels, ipath, lpath in ((train_images, train_labels, paths[0], paths[1]),
                                         (test_images, test_labels, paths[2], paths[3])):
        if images.shape[0] != labels.shape[0]:
            raise MnistDataError(f'{ipath} holds {images.shape[0]} images but {lpath} holds '
                                 f'{labels.shape[0]} labels: replace both with the originals')
    for (_, raw), path, name in zip(loaded, paths, names):
        _verify(raw, path, name)
    train_images = train_images[..., numpy.newaxis]
    test_images = test_images[..., numpy.newaxis]
    if one_hot:
        train_labels = dense_to_one_hot(train_labels, 10)
        test_labels = dense_to_one_hot(test_labels, 10)

    if not 0 <= validation_size <= len(train_images):
        raise ValueError(f'Validation size should be between 0 and {len(train_images)}. '
                         f'Received: {validation_size}.')

    validation_images = train_images[:validation_size]
    validation_labels = train_labels[:validation_size]
    train_images = train_images[validation_size:]
    train_labels = train_labels[validation_size:]

    options = dict(dtype=dtype, reshape=reshape, seed=seed)
    train = DataSet(train_images, train_labels, **options)
    validation = DataSet(validation_images, validation_labels, **options)
    test = DataSet(test_images, test_labels, **options)
    return Datasets(train=train, validation=validation, test=test)

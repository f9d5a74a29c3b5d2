"""What the scripts need installed, checked before any of it is imported.

Started with a Python that lacks the requirements (the environment not activated),
a script used to end in ``ModuleNotFoundError`` and a traceback, even for ``--help``.
``check_installed()`` runs first, imports nothing outside the standard library, and
says in one line which packages are missing, for which Python, and the command that
fixes it (exit status 1); ``--help`` is still answered.

It also holds the TensorFlow versions this project is tested on (``TESTED``) and what
happens outside them (``tensorflow_problem``), used by the scripts, by
``tf1_compat.v1`` when TensorFlow is imported another way (a notebook, the tests) and
by the notebooks' set-up cell (``setup_notebook``; run as a script, this file is that
cell: ``%run tf1-lstm/run_safety/requirements.py``):

* TensorFlow 2.16-2.21 with the tf-keras of its own minor version: runs, silently.
* tf-keras missing (TensorFlow 2.16+ needs it for BasicLSTMCell), or of another minor
  version than TensorFlow's: refused, with the pip command that installs the right one.
* TensorFlow 2.x older than 2.16 (Keras 2 built in, no tf-keras needed) or newer than
  2.21: runs, after one ``warning:`` line that says the version is untested.
* TensorFlow 1.x or 3.x: refused (this is a TF 2 ``tf.compat.v1`` project).
"""
import os
import re
import sys
import types

TESTED = ((2, 16), (2, 21))  # the oldest and newest TensorFlow (major, minor) tested
TESTED_TEXT = '%d.%d-%d.%d' % (TESTED[0] + TESTED[1])
KERAS_BUILT_IN_BEFORE = (2, 16)  # older TensorFlow has Keras 2 inside: no tf-keras needed
# TensorBoard before 2.21 imports pkg_resources, which setuptools 82 removed (a new venv on
# Python 3.12+ gets the newest setuptools): `tensorboard` and %tensorboard then fail.
TENSORBOARD_WITHOUT_PKG_RESOURCES = (2, 21)
SETUPTOOLS_WITH_PKG_RESOURCES = 'setuptools<82'

# What the scripts import: (import name, pip name), in the order a message names them.
PACKAGES = (('tensorflow', 'tensorflow'), ('tf_keras', 'tf-keras'), ('numpy', 'numpy'),
            ('matplotlib', 'matplotlib'), ('pandas', 'pandas'), ('PIL', 'pillow'),
            ('filelock', 'filelock'), ('psutil', 'psutil'))
# The names TensorFlow is installed under (pip's `tensorflow` on every platform since
# 2.13; the others are the CPU-only, older Windows/macOS and nightly builds).
TENSORFLOW_DISTRIBUTIONS = ('tensorflow', 'tensorflow-cpu', 'tensorflow-gpu', 'tensorflow-intel',
                            'tensorflow-macos', 'tensorflow-aarch64', 'tf-nightly',
                            'tf-nightly-cpu')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
warned = False  # the untested-version warning has been printed (once per process)


def installed(import_name):
    """True if ``import_name`` can be imported (found, not imported)."""
    import importlib.util
    try:
        return importlib.util.find_spec(import_name) is not None
    except (ImportError, ValueError):  # sys.modules[name] is None, or a broken package
        return False


def distribution_version(*names):
    """The installed version of the first of ``names`` that is installed, or None."""
    from importlib import metadata
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def tensorflow_version():
    return distribution_version(*TENSORFLOW_DISTRIBUTIONS)


def keras_version():
    return distribution_version('tf-keras', 'tf_keras')


def major_minor(version):
    """(2, 19) for '2.19.1', '2.19.0rc1' or '2.19.0.dev20250101'; None if unreadable."""
    m = re.match(r'(\d+)\.(\d+)', version or '')
    return (int(m.group(1)), int(m.group(2))) if m else None


def matching_keras(tf_version):
    """The pip requirement of the tf-keras that goes with TensorFlow ``tf_version``."""
    return '"tf-keras~=%d.%d.0"' % major_minor(tf_version)


def needs_keras(tf_version):
    """Whether this TensorFlow needs the tf-keras package (2.16+: Keras 3 inside; an
    unreadable version is taken as new)."""
    version = major_minor(tf_version)
    return version is None or version >= KERAS_BUILT_IN_BEFORE


def python():
    """This Python, as a command to type (quoted when its path has a space, as
    C:\\Program Files\\Python312\\python.exe has)."""
    path = sys.executable or 'python'
    return f'"{path}"' if ' ' in path else path


def pip(arguments):
    return f'{python()} -m pip install {arguments}'


def requirements_file():
    """requirements.txt as the user can type it from the working directory."""
    path = os.path.join(ROOT, 'requirements.txt')
    relative = os.path.relpath(path) if os.path.splitdrive(path)[0] == \
        os.path.splitdrive(os.getcwd())[0] else path
    return relative if not relative.startswith(os.pardir) else path


def tensorflow_problem(tf_version=None, keras=None):
    """(refusal, warning) for this TensorFlow and tf-keras (their installed versions by
    default): refusal is why the scripts cannot run and what to install, warning that
    they run on an untested version; each None when there is nothing to say."""
    tf_version = tf_version or tensorflow_version()
    keras = keras or keras_version()
    version = major_minor(tf_version)
    if version is None:  # installed under a name not listed above: nothing to compare
        return None, None
    if version[0] != 2:
        return (f'TensorFlow {tf_version} is not TensorFlow 2: this project runs on '
                f'TensorFlow {TESTED_TEXT}; run {pip("-r " + requirements_file())}'), None
    if needs_keras(tf_version) and keras and major_minor(keras) != version:
        return (f'tf-keras {keras} does not match TensorFlow {tf_version} (TensorFlow '
                f'needs the tf-keras of its own version): run {pip(matching_keras(tf_version))}'), None
    if TESTED[0] <= version <= TESTED[1]:
        return None, None
    which = 'older' if version < TESTED[0] else 'newer'
    return None, (f'TensorFlow {tf_version} is {which} than the tested {TESTED_TEXT}: '
                  f'running anyway; if it fails, {pip("-r " + requirements_file())} '
                  f'installs the tested version')


def missing_packages():
    """The pip names of the packages the scripts need and cannot import here."""
    missing = []
    tf_version = tensorflow_version()
    for module, name in PACKAGES:
        if module == 'tf_keras' and installed('tensorflow') and not needs_keras(tf_version):
            continue
        if not installed(module):
            missing.append(name)
    return missing


def project_environment():
    """The repository's own .venv when it exists and is not the running Python's:
    (its folder, the command that activates it), else None."""
    folder = os.path.join(ROOT, '.venv')
    if not os.path.isfile(os.path.join(folder, 'pyvenv.cfg')):
        return None
    if os.path.realpath(sys.prefix) == os.path.realpath(folder):
        return None
    shown = os.path.relpath(folder) if os.path.realpath(os.getcwd()) == os.path.realpath(ROOT) \
        else folder
    if os.name == 'nt':
        return folder, os.path.join(shown, 'Scripts', 'activate')
    return folder, 'source ' + os.path.join(shown, 'bin', 'activate')


def and_list(names):
    return names[0] if len(names) == 1 else ', '.join(names[:-1]) + ' and ' + names[-1]


def missing_message(missing):
    """One line: what is missing, for which Python, and the command that fixes it."""
    verb = 'is' if len(missing) == 1 else 'are'
    tf_version = tensorflow_version() if 'tensorflow' not in missing else None
    if tf_version:
        # TensorFlow is there (Colab's, say): add the rest, keep that TensorFlow
        fix = pip(' '.join(matching_keras(tf_version) if name == 'tf-keras' else name
                           for name in missing))
    else:
        fix = pip('-r ' + requirements_file())
    environment = project_environment()
    if environment:
        fix = f"activate the project's environment ({environment[1]}) or run {fix}"
    else:
        fix = f'run {fix}'
    return f'{and_list(missing)} {verb} missing for {python()}: {fix}'


def check_installed(script, argv=None):
    """Exit with one line (status 1) when a package the script needs is missing or the
    installed TensorFlow cannot run it; print one warning line when that TensorFlow is
    untested. ``--help`` is answered all the same (see _Absent). Standard library only."""
    argv = sys.argv[1:] if argv is None else argv
    name = os.path.basename(script)
    missing = missing_packages()
    refusal = missing_message(missing) if missing else tensorflow_problem()[0]
    if refusal is None:
        return
    if any(a in ('-h', '--help') for a in argv):
        for module, pip_name in PACKAGES:
            if pip_name in missing:
                sys.modules[module] = _Absent(module, f'{name}: {refusal}')
        return
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError, OSError):
        pass
    print(f'{name}: {refusal}', file=sys.stderr, flush=True)
    sys.exit(1)


class _Absent(types.ModuleType):
    """A package that is not installed, standing in for it while ``--help`` is answered:
    the scripts' module-level imports (numpy, filelock) then succeed and argparse prints
    the help. An attribute is another stand-in (a default argument such as numpy.float32);
    calling one ends the run with the missing-packages line, never a traceback."""

    def __init__(self, name, message):
        super().__init__(name)
        self.__path__ = []  # a package: `import numpy.linalg` finds nothing, not an error
        self._message = message

    def __getattr__(self, attribute):
        if attribute.startswith('__'):
            raise AttributeError(attribute)
        return _AbsentAttribute(self._message)


class _AbsentAttribute:
    def __init__(self, message):
        self._message = message

    def __getattr__(self, attribute):
        if attribute.startswith('__'):
            raise AttributeError(attribute)
        return self

    def __call__(self, *args, **kwargs):
        print(self._message, file=sys.stderr, flush=True)
        sys.exit(1)


def notebook_plan():
    """(what this kernel has, in words; the pip arguments that add what is missing)."""
    tf_version = tensorflow_version()
    version = major_minor(tf_version)
    if version is None or version[0] != 2:
        # no TensorFlow 2 here: the tested one, with every other requirement
        found = f'TensorFlow {tf_version} (not TensorFlow 2)' if tf_version else 'no TensorFlow'
        return found, ['-r', os.path.join(ROOT, 'requirements.txt')]
    keras = keras_version()
    found, to_install = f'TensorFlow {tf_version}', []
    if needs_keras(tf_version):
        found += f' with tf-keras {keras}' if keras else ', no tf-keras'
        if not keras or major_minor(keras) != version:
            to_install.append(matching_keras(tf_version).strip('"'))
    found += (' (tested)' if TESTED[0] <= version <= TESTED[1]
              else f' (untested: the tested versions are {TESTED_TEXT})')
    others = [name for module, name in PACKAGES
              if module not in ('tensorflow', 'tf_keras') and not installed(module)]
    if others:
        found += '; missing: ' + ', '.join(others)
    board = major_minor(distribution_version('tensorboard'))
    if board and board < TENSORBOARD_WITHOUT_PKG_RESOURCES and not installed('pkg_resources'):
        # TensorBoard 2.16-2.20 imports pkg_resources, which setuptools 82 removed
        found += f'; TensorBoard {board[0]}.{board[1]} without pkg_resources'
        others.append(SETUPTOOLS_WITH_PKG_RESOURCES)
    return found, to_install + others


def setup_notebook():
    """The notebooks' set-up cell: says what this kernel has (TensorFlow and tf-keras, the
    other requirements) and installs only what is missing, with pip. TensorFlow is not
    imported (the scripts must import it first, after setting TF_USE_LEGACY_KERAS=1), so
    versions are read from the installed packages."""
    found, to_install = notebook_plan()
    print(f'Python {sys.version.split()[0]} ({sys.executable}): {found}')
    if not to_install:
        print('nothing to install')
        return
    shown = ' '.join(to_install)
    print(f'installing: {shown}', flush=True)
    import subprocess
    proc = subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', *to_install],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        print(proc.stdout.rstrip())
        raise SystemExit(f'pip install {shown} failed (exit {proc.returncode}): see above')
    import importlib
    importlib.invalidate_caches()  # so this kernel finds what was just installed
    print('installed')


if __name__ == '__main__':
    # The notebook recipe's set-up cell: %run tf1-lstm/run_safety/requirements.py
    setup_notebook()

"""What some tests need of the machine beyond the requirements, checked in one place.

Each check answers None when the machine has the thing, else the one-line reason the
tests that need it skip with (the README's testing section lists these reasons and
how to enable each). A check runs once per test session; it asks the machine itself
(a real mount, a real trace, a real process as the other user), never guesses from
the platform alone.

What the suite needs of the machine, and who checks it:
  another user (root on Linux, setpriv)  other_user()        test_checkpoint_durability.py
  strace that may trace (ptrace)          strace()            test_checkpoint_durability.py
  mounting a tmpfs (root, CAP_SYS_ADMIN)  tmpfs()             test_real_faults.py
  TCP on 127.0.0.1 (TensorBoard, Jupyter) loopback()          test_tensorboard.py, test_notebook.py,
                                                              test_input_data.py
  bash (the README's shell blocks)        bash()              test_readme_commands.py, test_notebook.py
  a Python 3.7, network once, free disk   tests/tf115/oracle.py (the TF 1.15 oracle)
"""
import functools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

NOBODY = 65534  # the unprivileged user the tests run a script as (uid and gid)
AS_NOBODY = ['setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups']
SCRIPTS = ('mnist_lstm_classifier.py', 'sin_cos_lstm_regressor.py')
# Every top-level module the scripts import from their requirements (requirements.txt).
SCRIPT_MODULES = ('numpy', 'tensorflow', 'matplotlib', 'PIL', 'psutil', 'filelock')


def _root_on_linux(doing):
    """Why ``doing`` cannot be done here for want of Linux and root, or None."""
    if not sys.platform.startswith('linux'):
        return f'{doing}: Linux only'
    if os.geteuid() != 0:
        return f'{doing}: needs root (run the suite as root)'
    return None


def _last_line(text):
    lines = [l.strip() for l in (text or '').splitlines() if l.strip()]
    return lines[-1] if lines else 'no output'


@functools.lru_cache(maxsize=None)
def other_user():
    """Running a process as another user: root on Linux, with setpriv (util-linux)."""
    why = _root_on_linux('runs a script as another user with setpriv')
    if why:
        return why
    if shutil.which('setpriv') is None:
        return 'runs a script as another user: needs setpriv (apt-get install util-linux)'
    proc = subprocess.run([*AS_NOBODY, 'true'], capture_output=True, text=True)
    if proc.returncode != 0:
        return f'setpriv cannot switch to user nobody here: {_last_line(proc.stderr)}'
    return None


def unreachable(paths, uid=NOBODY):
    """'enter FOLDER' or 'read FILE': the first of ``paths``, or of the folders above
    them, that user ``uid`` cannot enter or read, as that user finds it; None if all can be."""
    checks = []
    for path in paths:
        path = os.path.abspath(path)
        parts = path.split(os.sep)
        folders = [os.sep + os.path.join(*parts[1:i]) for i in range(2, len(parts))]
        checks += [f'[ -x {shell_quote(f)} ] || {{ echo enter {shell_quote(f)}; exit; }}'
                   for f in folders]
        test, verb = ('-x', 'enter') if os.path.isdir(path) else ('-r', 'read')
        checks.append(f'[ {test} {shell_quote(path)} ] || {{ echo {verb} {shell_quote(path)}; exit; }}')
    proc = subprocess.run(['setpriv', f'--reuid={uid}', f'--regid={uid}', '--clear-groups',
                           'sh', '-c', '; '.join(checks)], capture_output=True, text=True)
    return proc.stdout.strip() or None


def shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def _readable_copy(root, destination):
    """The scripts and their packages (every top-level .py file and package, the
    requirements files and data/), without tests, environments, git metadata or run
    outputs, readable by everyone whatever the umask of the checkout."""
    os.makedirs(destination)
    for name in sorted(os.listdir(root)):
        source = os.path.join(root, name)
        if name.endswith(('.py', '.txt')) and os.path.isfile(source):
            shutil.copy(source, destination)
        elif name == 'data' or (os.path.isfile(os.path.join(source, '__init__.py'))
                                and name != 'tests'):
            shutil.copytree(source, os.path.join(destination, name),
                            ignore=shutil.ignore_patterns('__pycache__'))
    for dirpath, dirnames, filenames in os.walk(destination):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def remove_stale(parent):
    """The folders of test runs that were killed before their clean-up (a timeout's
    SIGKILL): as-nobody-<pid>-* whose process is gone."""
    for name in os.listdir(parent):
        match = re.fullmatch(r'as-nobody-(\d+)-\w+', name)
        if match:
            try:
                os.kill(int(match.group(1)), 0)
            except ProcessLookupError:
                shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
            except OSError:  # alive, another user's
                pass


def shared_folder():
    """A new folder every user can enter, in the first temporary folder user nobody
    can reach (pytest's own tmp_path is under a root-only 0700 folder), or None."""
    for parent in dict.fromkeys([tempfile.gettempdir(), '/tmp', '/var/tmp', '/dev/shm']):
        if os.path.isdir(parent) and unreachable([parent]) is None:
            remove_stale(parent)
            folder = tempfile.mkdtemp(prefix=f'as-nobody-{os.getpid()}-', dir=parent)
            os.chmod(folder, 0o755)
            return folder
    return None


def as_other_user(root):
    """(folder, argv prefix, None) to run a copy of the scripts in ``folder`` as user
    nobody with this test run's Python, or (None, None, reason) when that cannot be:
    each reason one line naming what is missing. The checkout itself need not be
    readable by that user (a clone under /root, under `mktemp -d`): the scripts run
    from a readable copy. The Python and its packages must be, and are checked as that
    user: a virtual environment under /root is not, and has no such copy."""
    reason = other_user()
    if reason:
        return None, None, reason
    folder = shared_folder()
    if folder is None:
        return None, None, ('user nobody can reach no temporary folder (TMPDIR, /tmp, '
                            '/var/tmp, /dev/shm) to run the scripts from')
    try:
        _readable_copy(root, os.path.join(folder, 'repo'))
        python = [*AS_NOBODY, sys.executable]
        scripts = [os.path.join(folder, 'repo', name) for name in SCRIPTS]
        # as nobody: the copied scripts read, the requirements found (numpy imported)
        probe = ('import importlib.util, sys; [open(p).close() for p in sys.argv[1:3]]; '
                 'import numpy; '
                 'missing = [m for m in sys.argv[3:] if importlib.util.find_spec(m) is None]; '
                 'sys.exit("cannot import " + ", ".join(missing) if missing else 0)')
        proc = subprocess.run([*python, '-c', probe, *scripts, *SCRIPT_MODULES],
                              capture_output=True, text=True, cwd=folder,
                              env={**os.environ, 'HOME': folder})
        if proc.returncode != 0:
            where = unreachable([sys.executable, os.path.realpath(sys.executable), sys.prefix,
                                 *site_packages(), *scripts])
            shutil.rmtree(folder, ignore_errors=True)
            if where:
                return None, None, (f'user nobody cannot {where}, so cannot run this '
                                    f'Python ({sys.executable}) with its packages: make the '
                                    f'environment in a folder other users can enter')
            return None, None, (f'this Python ({sys.executable}) does not start as user '
                                f'nobody with its packages: {_last_line(proc.stderr)}')
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, python, None


def site_packages():
    import numpy
    return [os.path.dirname(os.path.dirname(numpy.__file__))]


@functools.lru_cache(maxsize=None)
def strace():
    """strace installed, and allowed to trace (a container may forbid ptrace)."""
    if shutil.which('strace') is None:
        return 'needs strace (apt-get install strace)'
    proc = subprocess.run(['strace', '-f', '-o', os.devnull, 'true'], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return (f'strace cannot trace here ({_last_line(proc.stderr)}): in a container, '
                f'allow ptrace (docker run --cap-add SYS_PTRACE)')
    return None


@functools.lru_cache(maxsize=None)
def tmpfs():
    """Mounting a small tmpfs: root on Linux, allowed to mount (CAP_SYS_ADMIN)."""
    why = _root_on_linux('mounts a small tmpfs')
    if why:
        return why
    folder = tempfile.mkdtemp(prefix='tmpfs-probe-')
    try:
        proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', folder],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return (f'cannot mount a tmpfs here ({_last_line(proc.stderr)}): in a container, '
                    f'needs CAP_SYS_ADMIN (docker run --privileged)')
        subprocess.run(['umount', folder], capture_output=True)
        return None
    except OSError as e:  # no mount command
        return f'cannot mount a tmpfs here: {e}'
    finally:
        if not os.path.ismount(folder):
            os.rmdir(folder)


@functools.lru_cache(maxsize=None)
def loopback():
    """A TCP server on 127.0.0.1 that this process can connect to (TensorBoard's port,
    the Jupyter kernel's, the test download server's)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(('127.0.0.1', 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=10):
                pass
    except OSError as e:
        return (f'needs TCP on 127.0.0.1 (a local server), which fails here: {e}: bring up '
                f'the loopback interface (ip link set lo up)')
    return None


@functools.lru_cache(maxsize=None)
def bash():
    if shutil.which('bash') is None:
        return "runs the README's shell blocks with bash, which is not installed"
    return None

"""The suite where other users cannot read: a clone of this repository in a
root-only (0700) folder, as `git clone` under /root or `mktemp -d` makes it, tested twice:

1. with this Python's environment (CI's: .venv in CI's checkout), which may be readable
   by other users: the tests that run a script as user nobody must then run (from a
   copy nobody can read), not skip;
2. with an environment inside the same root-only folder (as `python3 -m venv` under
   /root makes it; here a bare venv whose .pth file points at this environment's
   packages, so nothing is downloaded): those tests must skip, with the reason.

Each time: the quick tier and every test marked other_user (`-m "smoke or other_user"`),
which must pass (skips allowed, each printed with its reason). The clone is of the
committed HEAD (CI's checkout is a clean clone). Exit status 0 when both hold.

    python tests/tools/private_checkout.py      # about 2 minutes on 2 idle cores
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
import machine  # noqa: E402

SELECTION = 'smoke or other_user'
OTHER_USER_TEST = ('tests.test_durability', 'test_an_index_the_user_cannot_read_stops_training')


def outcomes(junit):
    """{(classname, name): ('passed' | 'skipped' | 'failed', message)} from a JUnit XML."""
    found = {}
    for case in ET.parse(junit).getroot().iter('testcase'):
        key = (case.get('classname'), case.get('name'))
        for kind in ('failure', 'error', 'skipped'):
            element = case.find(kind)
            if element is not None:
                found[key] = ('skipped' if kind == 'skipped' else 'failed',
                              element.get('message', ''))
                break
        else:
            found[key] = ('passed', '')
    return found


def run_suite(python, repo, label):
    junit = os.path.join(os.path.dirname(repo), f'{label}.xml')
    start = time.monotonic()
    proc = subprocess.run([python, '-m', 'pytest', '-q', '-rs', '-m', SELECTION,
                           f'--junitxml={junit}'], cwd=repo)
    print(f'[{label}] pytest exit {proc.returncode} in {time.monotonic() - start:.0f} s',
          flush=True)
    return proc.returncode, outcomes(junit)


def private_venv(folder):
    """A virtual environment in ``folder`` whose packages are this environment's."""
    venv = os.path.join(folder, 'venv')
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', venv], check=True)
    python = os.path.join(venv, 'bin', 'python')
    site = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                          capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(site, 'outer-environment.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    return python


def main():
    if os.name != 'posix':
        print('private_checkout.py: POSIX folder modes only; nothing run')
        return 0
    private = tempfile.mkdtemp(prefix='private-checkout-')  # mode 0700, as mktemp -d
    try:
        os.chmod(private, 0o700)
        repo = os.path.join(private, 'repo')
        subprocess.run(['git', 'clone', '--quiet', ROOT, repo], check=True)
        # what the other-user tests can do with this environment, checked as that user
        folder, _, reason = machine.as_other_user(ROOT)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        problems = []

        status, found = run_suite(sys.executable, repo, 'this environment')
        if status != 0:
            problems.append(f'this environment: pytest exited {status}')
        outcome, message = found.get(OTHER_USER_TEST, ('missing', ''))
        expected = 'skipped' if reason else 'passed'
        if outcome != expected:
            problems.append(f'this environment: {OTHER_USER_TEST[1]} {outcome} {message} '
                            f'(expected {expected}: {reason or "nobody can run this Python"})')

        status, found = run_suite(private_venv(private), repo, 'private environment')
        if status != 0:
            problems.append(f'private environment: pytest exited {status}')
        outcome, message = found.get(OTHER_USER_TEST, ('missing', ''))
        named = 'user nobody cannot' in message or machine.other_user() is not None
        if outcome != 'skipped' or not named:
            problems.append(f'private environment: {OTHER_USER_TEST[1]} {outcome} {message} '
                            f'(expected a skip naming the folder user nobody cannot enter)')
        for line in problems:
            print('private_checkout.py: ' + line, file=sys.stderr)
        print(f'private_checkout.py: {"FAILED" if problems else "passed"}: a clone in a 0700 '
              f'folder, tested with this environment and with one in that folder')
        return 1 if problems else 0
    finally:
        shutil.rmtree(private, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())

"""The fenced blocks of the README and of the pages under docs/, and how the tests run
them as printed.

Shared by tests/test_readme_commands.py (the shell blocks), tests/test_notebook.py (the
notebook recipe), tests/test_readme.py and tests/test_docs.py (which pages there are).
Two rules, both here in plain sight:

* QUICK: a command that trains (`python X.py` in a shell block, `%run X.py` in the
  notebook recipe) gets X's short flags appended at the end of its line, so the run
  takes seconds instead of minutes. Nothing else in a command is changed. (The full
  default runs are test_readme.py's samples and test_tf115.py.)
* SKIP: the one list of commands that are not run, each with the reason.
"""
import os
import re
import shutil
import subprocess
import sys

from conftest import ROOT

READMES = ['README.md', 'README.zh-CN.md']
NOTEBOOKS = 'docs/notebooks.md'  # the notebook recipe, in full (the README repeats its cells)
TROUBLESHOOTING = 'docs/troubleshooting.md'
TESTING = 'docs/testing.md'


def english_pages():
    """The pages a reader follows, in order: README.md, then every English page under
    docs/ (each has a Chinese twin, see twin())."""
    names = sorted(n for n in os.listdir(os.path.join(ROOT, 'docs'))
                   if n.endswith('.md') and not n.endswith('.zh-CN.md'))
    return ['README.md'] + ['docs/' + n for n in names]


def twin(page):
    """The Chinese twin of an English page: README.md -> README.zh-CN.md, and so on."""
    assert page.endswith('.md') and not page.endswith('.zh-CN.md'), page
    return page[:-3] + '.zh-CN.md'

QUICK = {
    'mnist_lstm_classifier.py': '--training-iters 2600 --hidden-units 16',  # 21 steps
    'sin_cos_lstm_regressor.py': '--iterations 5',
}

WINDOWS_ONLY = 'Windows only (cmd/PowerShell); the suite runs on Linux and macOS'
SKIP = {
    'python3 -m venv .venv':
        'CI makes the environment (.ci/run); here .venv is the one the tests run in',
    'pip install -r requirements.txt':
        'CI installs it (.ci/run: requirements-dev.txt starts with requirements.txt); '
        'the environment the tests run in has it',
    'pip install -r requirements-dev.txt':
        'CI installs it (.ci/run); the tests run in that environment',
    'python -m pytest':
        'the test suite itself, which this test is part of; CI runs it (.ci/run)',
    'python -m pytest -q -m smoke':
        'the quick tier: a part of the suite, which this test is part of; CI runs the '
        'whole suite (.ci/run)',
    'tensorboard --logdir logs      # then open http://localhost:6006/':
        'a server that runs until Ctrl-C; test_tensorboard.py starts it and reads it back '
        'over HTTP, test_notebook.py through %tensorboard',
    'python bench/benchmark.py     # about 2-5 minutes; PyTorch only if installed':
        'speed measurement, minutes long; not part of the suite (docs/performance.md)',
    'python bench/phases.py        # one default classifier run, phase by phase':
        'speed measurement (a full default run); not part of the suite (docs/performance.md)',
    'pip install "tensorflow[and-cuda]==2.21.0"':
        'needs an NVIDIA GPU and downloads several GB; this machine has no GPU',
    'python tests/tools/mutate.py           # about 16 min on 2 cores (the last result, below)':
        'runs tests once per mutant, minutes long; its --list is run',
    'nox -db uv          # Windows: .venv\\Scripts\\nox -db uv':
        'the suite once per Python, in fresh environments: CI runs it (.ci/run)',
    'nox -db uv -s tf_range               # TensorFlow 2.16 to 2.21, each in a fresh environment':
        'six fresh environments with TensorFlow (about 2.4 GB each), the quick tier in each: '
        'CI runs tf_range(2.16) (.ci/run); its main run is 2.21',
    '!git clone --quiet URL tf1-lstm':
        'URL is where the reader cloned from; the test copies the working tree to tf1-lstm/ '
        'instead (tests/test_notebooks.py runs a real clone, from a local repository)',
}

# The Colab set-up lines that are run, in the notebook test's kernel, before the recipe.
COLAB_SETUP_RUN = ['%run tf1-lstm/run_safety/requirements.py']

# Blocks that show output, not commands: their first line, and where they are checked.
SHOWN_OUTPUT = {
    'I0000 00:00:1795796548.041384   12131 cudart_stub.cc:31] Could not find cuda drivers':
        "TensorFlow's start-up lines on a machine without a GPU; test_notebook.py checks "
        'that they stay hidden',
}

ACTIVATE = 'source .venv/bin/activate'


def read(name):
    with open(os.path.join(ROOT, name), encoding='utf-8') as f:
        return f.read()


def blocks(text):
    """[(line number, language, [lines])] for every fenced block, in order."""
    found = []
    for m in re.finditer(r'^```(\w*)\n(.*?)^```', text, re.S | re.M):
        lines = m.group(2).rstrip('\n').split('\n')
        found.append((text[:m.start()].count('\n') + 1, m.group(1), lines))
    return found


def quick(line):
    """The QUICK rule: a command that trains gets its short flags appended."""
    words = line.split()
    if len(words) >= 2 and words[0] in ('python', '%run') and words[1] in QUICK:
        return line + ' ' + QUICK[words[1]]
    return line


def notebook_recipe(text):
    """The notebook cells a page gives after the Colab/kernel set-up: the ```python
    block that starts with %cd (docs/notebooks.md has it, and the README repeats it)."""
    recipes = [lines for _, lang, lines in blocks(text)
               if lang == 'python' and lines[0].startswith('%cd ')]
    assert len(recipes) == 1, recipes
    return recipes[0]


def copy_repository(destination):
    """The working tree (as edited, committed or not) without the environment, the
    git metadata, caches and run outputs; .venv links to the environment running the
    tests, as a quick start's would be."""
    def ignore(folder, names):
        skipped = {'.git', '.venv', '.nox', '__pycache__', '.pytest_cache'}
        if os.path.samefile(folder, ROOT):
            skipped |= {'logs', 'ckptRNN'}
        return [n for n in names if n in skipped]
    shutil.copytree(ROOT, destination, ignore=ignore)
    os.symlink(os.path.realpath(sys.prefix), os.path.join(destination, '.venv'))


def environment_bin_dirs():
    return {os.path.realpath(os.path.join(sys.prefix, 'bin')),
            os.path.join(sys.prefix, 'bin'),
            os.path.dirname(sys.executable)}


def outside_environment(extra=None):
    """os.environ as a new terminal (or a Jupyter started elsewhere) has it: the
    environment not on PATH, not activated; headless (no display, no MPLBACKEND)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('VIRTUAL_ENV', 'PYTHONPATH', 'DISPLAY', 'WAYLAND_DISPLAY',
                        'MPLBACKEND', 'PYTHONHOME',
                        # ipykernel forwards fd 1 and 2 to the notebook (TensorFlow's
                        # C++ lines go there) except when it sees it runs under pytest
                        'PYTEST_CURRENT_TEST')}
    bins = environment_bin_dirs()
    env['PATH'] = os.pathsep.join(p for p in env.get('PATH', '').split(os.pathsep)
                                  if p and os.path.realpath(p) not in bins and p not in bins)
    env.update(extra or {})
    return env


MARK = '@@@ README command '


def shell_script(lines, activate_first):
    """The block as bash runs it: each line as printed (QUICK applied, SKIP lines
    replaced by a `:` no-op that names them), a marker echoed before each, so the
    output can be split per command; `source .venv/bin/activate` first for blocks
    after the quick start, which the README says assume it (the pages under docs/ too)."""
    script = ['set -e']
    if activate_first:
        script.append(ACTIVATE)
    for index, line in enumerate(lines):
        script.append(f"echo '{MARK}{index}'")
        if line.strip() in SKIP:
            script.append(': skipped')
        else:
            script.append(quick(line))
    return '\n'.join(script) + '\n'


def run_block(lines, cwd, env, activate_first, timeout=900):
    """Run a shell block; returns (status, {line index: output lines}, whole output)."""
    proc = subprocess.run(['bash', '-c', shell_script(lines, activate_first)], cwd=cwd,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    per_command, current = {}, None
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            current = int(line[len(MARK):])
            per_command[current] = []
        elif current is not None:
            per_command[current].append(line)
    return proc.returncode, per_command, proc.stdout

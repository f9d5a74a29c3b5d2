"""Every command block of the READMEs and of the pages under docs/ runs as printed.

Each English page (README.md, docs/*.md) has the same blocks as its Chinese twin. Each
shell block is run by bash in a fresh copy of the repository, line by line as printed,
with two visible exceptions from tests/helpers/readme_blocks.py: QUICK (short flags appended to
a command that trains) and SKIP (the one list of commands not run here, each with its
reason). Windows blocks are skipped as a whole (WINDOWS_ONLY), the notebook recipe is
tests/test_notebook.py's, and the `$ python ...` samples are test_readme.py's (run in
full, compared line by line). Every command that runs has its output checked (EXPECT),
against the README's sample where the README shows one. The counts the pages state
(tests, mutants) are checked against what pytest collects and what tests/tools/mutate.py
lists, now.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from helpers.readme_blocks import (ACTIVATE, COLAB_SETUP_RUN, NOTEBOOKS, SHOWN_OUTPUT, SKIP, TESTING,
                           TROUBLESHOOTING, WINDOWS_ONLY, blocks, copy_repository,
                           english_pages, notebook_recipe, outside_environment, read,
                           run_block, twin)
from test_readme import normalise, samples

EN = read('README.md')
PAGES = english_pages()
# (page, line number, lines) of every shell block, the README's first (its quick start
# makes the environment the rest assume), then each page's under docs/, in order
SHELL_BLOCKS = [(page, number, lines) for page in PAGES
                for number, lang, lines in blocks(read(page)) if lang == 'bash']


def shape(line):
    """A line with its numbers (and the step lines' clock column) generalised."""
    return re.sub(r'\d+(\.\d+)?(e[-+]?\d+)?', 'N', ' '.join(normalise(line).split()))


def sample_for(script):
    [lines] = [expected for command, expected in samples(EN) if command.split()[1] == script]
    return [l for l in lines if l != '...']


def like_the_sample(script):
    """The run prints what the README's `$ python <script> --seed 1` sample shows, in
    shape (other flags, other numbers): the same first and last line, and every
    other line has the shape of a sample line."""
    def check(output):
        shown = [shape(l) for l in sample_for(script)]
        got = [shape(l) for l in output]
        assert got and got[0] == shown[0], (got[:1], shown[0])
        assert got[-1] == shown[-1], (got[-1:], shown[-1])
        assert set(got) <= set(shown), set(got) - set(shown)
    return check


def readme_mutant_count(text):
    return int(re.search(r'holds (\d+) one-line mutants', text).group(1))


def lists_the_mutants(output):
    stated = readme_mutant_count(read(TESTING))
    assert output[-1] == f'{stated} mutants', output[-1:]
    assert sum(1 for l in output if l.lstrip().startswith('tests: ')) == stated


def nothing(output):
    assert output == []


def installs_the_kernel(output):
    """The kernel spec is where Jupyter looks (--user: JUPYTER_DATA_DIR here) and
    carries the activated environment's PATH, so %tensorboard finds tensorboard."""
    [line] = output
    folder = os.path.join(JUPYTER['data_dir'], 'kernels', 'tf1-lstm')
    assert line == f'Installed kernelspec tf1-lstm in {folder}', line
    with open(os.path.join(folder, 'kernel.json')) as f:
        spec = json.load(f)
    assert spec['display_name'] == 'Python (tf1-lstm)'
    first = spec['env']['PATH'].split(os.pathsep)[0]
    assert os.path.isfile(os.path.join(first, 'tensorboard')), spec['env']['PATH']


JUPYTER = {}  # the shell runs' JUPYTER_DATA_DIR, where --user installs kernels

# What each command that runs must print (the command as the README prints it).
EXPECT = {
    ACTIVATE: nothing,
    'python mnist_lstm_classifier.py': like_the_sample('mnist_lstm_classifier.py'),
    'python sin_cos_lstm_regressor.py': like_the_sample('sin_cos_lstm_regressor.py'),
    'python tests/tools/mutate.py --list    # the mutants and the tests each one runs':
        lists_the_mutants,
    'python -m ipykernel install --user --name tf1-lstm --display-name "Python (tf1-lstm)" '
    '--env PATH "$PATH"': installs_the_kernel,
}


@pytest.mark.parametrize('page', PAGES)
def test_both_readmes_have_the_same_blocks(page):
    """Each English page and its Chinese twin give the same blocks, in the same order."""
    assert [(lang, lines) for _, lang, lines in blocks(read(page))] == \
        [(lang, lines) for _, lang, lines in blocks(read(twin(page)))]


def test_every_command_is_run_or_skipped_with_a_reason():
    """The accounting: every line of every block of every page has exactly one fate,
    and neither list names a command no page has any more."""
    recipe = notebook_recipe(read(NOTEBOOKS))
    seen = set()
    every_block = [(page, number, lang, lines) for page in PAGES
                   for number, lang, lines in blocks(read(page))]
    for page, number, lang, lines in every_block:
        where = f'{page} line {number}'
        if lang == 'bash':
            for line in lines:
                assert (line in SKIP) != (line in EXPECT), \
                    f'{where}: {line!r} must be either in SKIP or in EXPECT'
                seen.add(line)
        elif lang == 'powershell':
            assert WINDOWS_ONLY and all(l.startswith('.venv\\') or l.startswith('py ')
                                        for l in lines), where
        elif lang == 'python':
            if lines != recipe:
                for line in lines:
                    assert (line in SKIP) != (line in COLAB_SETUP_RUN), f'{where}: {line!r}'
                    seen.add(line)
        elif lines[0].startswith('$ '):
            assert lines[0][2:] in [c for c, _ in samples(EN)], where
        else:
            assert any(lines[0].startswith(k) for k in SHOWN_OUTPUT), \
                f'{where}: a block with no language that is not a `$ ` sample: {lines[0]!r}'
        assert lang in ('bash', 'powershell', 'python', ''), where
    assert set(SKIP) <= seen, set(SKIP) - seen
    assert set(EXPECT) <= seen, set(EXPECT) - seen
    assert set(COLAB_SETUP_RUN) <= seen, set(COLAB_SETUP_RUN) - seen


@pytest.fixture(scope='module')
def shell_runs(tmp_path_factory):
    """Every shell block of the README and of the pages under docs/, run by bash in one
    fresh copy of the repository, in order, from a terminal where the environment is
    not activated."""
    base = tmp_path_factory.mktemp('readme')
    repo = base / 'repo'
    copy_repository(repo)
    jupyter = str(base / 'jupyter')
    env = outside_environment({'JUPYTER_DATA_DIR': jupyter})
    JUPYTER['data_dir'] = jupyter
    results = {}
    for position, (page, number, lines) in enumerate(SHELL_BLOCKS):
        # the quick start (the README's first block) activates the environment itself;
        # the README says every command after it, here and in docs/, assumes that
        results[page, number] = run_block(lines, repo, env, activate_first=position > 0)
    return results


@pytest.mark.skipif(sys.platform == 'win32', reason="runs the pages' Linux and macOS "
                    'shell blocks with bash (the Windows blocks are WINDOWS_ONLY)')
@pytest.mark.parametrize('page, number, lines', SHELL_BLOCKS,
                         ids=[f'{p}:line{n}' for p, n, _ in SHELL_BLOCKS])
@pytest.mark.needs('bash')
def test_shell_block_runs_as_printed(page, number, lines, shell_runs):
    status, per_command, whole = shell_runs[page, number]
    assert status == 0, f'{page} line {number}: bash exited {status}:\n{whole[-3000:]}'
    for index, line in enumerate(lines):
        if line in EXPECT:
            output = [l for l in per_command[index] if l.strip()]
            try:
                EXPECT[line](output)
            except AssertionError as e:
                raise AssertionError(f'{page} line {number}: {line!r} printed:\n'
                                     + '\n'.join(per_command[index][-40:])) from e


def test_readme_counts_are_the_truth():
    """The number of tests (all, and the quick tier's) and of mutants the pages state is
    what pytest collects and what tests/tools/mutate.py lists, counted now: each README
    states the tests and the quick tier's, each testing page the mutants, and wherever a
    page of either language states one, it is the truth."""
    proc = subprocess.run([sys.executable, '-m', 'pytest', '--collect-only', '-q',
                           '-p', 'no:randomly'], cwd=ROOT, capture_output=True, text=True)
    tests = int(re.search(r'^(\d+) tests? collected', proc.stdout, re.M).group(1))
    proc = subprocess.run([sys.executable, '-m', 'pytest', '--collect-only', '-q', '-m', 'smoke',
                           '-p', 'no:randomly'], cwd=ROOT, capture_output=True, text=True)
    smoke = int(re.search(r'^(\d+)/\d+ tests? collected', proc.stdout, re.M).group(1))
    listing = subprocess.run([sys.executable, os.path.join('tests', 'tools', 'mutate.py'),
                              '--list'], cwd=ROOT, capture_output=True, text=True)
    mutants = int(re.fullmatch(r'(\d+) mutants', listing.stdout.splitlines()[-1]).group(1))
    def en(text):
        return (re.findall(r'\b(\d+) tests\b', text), re.findall(r'\b(\d+) smoke tests\b', text),
                re.findall(r'\b(\d+) (?:one-line )?mutants\b|mutants: (\d+)', text))

    def zh(text):
        return (re.findall(r'(\d+) 个测试', text), re.findall(r'(\d+) 个 smoke 测试', text),
                re.findall(r'(\d+) 个(?:单行)?变异体|mutants: (\d+)', text))

    for page in PAGES:
        for name, claims in ((page, en), (twin(page), zh)):
            test_claims, smoke_claims, mutant_claims = claims(read(name))
            assert {int(n) for n in test_claims} <= {tests}, (name, test_claims, tests)
            assert {int(n) for n in smoke_claims} <= {smoke}, (name, smoke_claims, smoke)
            numbers = {int(a or b) for a, b in mutant_claims}
            assert numbers <= {mutants}, (name, mutant_claims, mutants)
            if page == 'README.md':
                assert test_claims and smoke_claims, (name, test_claims, smoke_claims)
            if page == TESTING:
                assert test_claims and smoke_claims and numbers, (name, mutant_claims)


def test_every_test_a_mutant_runs_is_collected():
    """tests/tools/mutate.py names the tests that must kill each mutant; a test renamed,
    moved or lost in a merge would leave its mutants with nothing to run (the run reports
    "not found" only when it gets there, 20 minutes in)."""
    proc = subprocess.run([sys.executable, '-m', 'pytest', '--collect-only', '-q',
                           '-p', 'no:randomly'], cwd=ROOT, capture_output=True, text=True)
    collected = {line for line in proc.stdout.splitlines() if '::' in line}
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'tools'))
    try:
        import mutate
    finally:
        sys.path.pop(0)
    missing = set()
    for mutant in mutate.MUTANTS:
        for test in mutant['tests']:
            if '::' not in test:
                found = os.path.isfile(os.path.join(ROOT, test))
            else:
                found = test in collected or any(c.startswith(test + '[') for c in collected)
            if not found:
                missing.add((mutant['id'], test))
    assert len(mutate.MUTANTS) > 100
    assert sorted(missing) == []


@pytest.mark.parametrize('argv', [['--select-on', 'test'], ['--batch-size', '0'],
                                  ['--lr', 'nan'], ['--epochs', '3']])
def test_bad_flag_rows_are_what_the_python_running_the_tests_prints(argv):
    """The troubleshooting table's bad-flag messages, word for word as argparse words
    them on this Python (e.g. `(choose from 'batch', 'validation')`, quoted). They
    answer before TensorFlow loads, so this is quick."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'mnist_lstm_classifier.py')]
                          + argv, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.startswith('error: '), proc.stderr
    message = proc.stderr[len('error: '):].rstrip('\n')
    for name in (TROUBLESHOOTING, twin(TROUBLESHOOTING)):
        assert f'`{message}`' in read(name), (name, message)

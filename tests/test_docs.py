"""The documentation holds together: a short README that starts with a command, links that resolve.

Also: no file holds a path of someone's machine, every document the repository cites is
in it, every page under docs/ has its Chinese twin and is linked from the README, and
each test file's opening line says what it checks (an issue number is not an
explanation: the issue tracker is not in the repository). The files are the
repository's as a commit would have them: what git tracks, plus new files it does not
ignore. Fast: no TensorFlow, no subprocess but git.
"""
import ast
import glob
import os
import re
import subprocess

import pytest

from conftest import ROOT
from readme_blocks import READMES, blocks, english_pages, read, twin

README_LINES = 200  # each README stays under this many lines
FIRST_COMMAND_LINE = 30  # and shows its first command by this line


def repository_files():
    """The repository's files, relative to ROOT with '/': tracked by git or new and not
    ignored (so a page just written counts), that exist in the working tree."""
    try:
        proc = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others',
                               '--exclude-standard'], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        proc = None
    if proc is None or proc.returncode != 0:
        pytest.skip('lists the repository with git ls-files: needs git and a clone')
    return sorted({n for n in proc.stdout.split('\0')
                   if n and os.path.isfile(os.path.join(ROOT, n))})


def text_files():
    """{name: text} of every repository file that is UTF-8 text (not the MNIST .gz
    files, not the picture)."""
    found = {}
    for name in repository_files():
        try:
            with open(os.path.join(ROOT, name), encoding='utf-8') as f:
                found[name] = f.read()
        except UnicodeDecodeError:
            continue
    return found


def markdown_files():
    """Every page of the repository: the .md files at the top and one or two folders
    down (hidden folders, such as .venv, left out)."""
    found = set()
    for pattern in ('*.md', '*/*.md', '*/*/*.md'):
        found.update(n.replace(os.sep, '/') for n in glob.glob(pattern, root_dir=ROOT))
    return sorted(found)


def without_code_blocks(text):
    """The text with its fenced blocks blanked (line numbers kept)."""
    return re.sub(r'^```.*?^```', lambda m: '\n' * m.group(0).count('\n'), text,
                  flags=re.S | re.M)


# ----------------------------------------------------------------- the front page

@pytest.mark.parametrize('readme', READMES)
def test_readme_is_short_and_its_first_command_comes_early(readme):
    lines = read(readme).splitlines()
    assert len(lines) < README_LINES, f'{readme} has {len(lines)} lines'
    fences = [i for i, line in enumerate(lines, 1) if line == '```bash']
    assert fences, f'{readme} has no shell block'
    first_command = fences[0] + 1
    assert first_command <= FIRST_COMMAND_LINE, \
        f'{readme}: the first command is on line {first_command}'


def test_every_page_has_its_twin_and_the_readme_links_it():
    """docs/ holds English pages and their Chinese twins, one for one; README.md links
    every English page, README.zh-CN.md every Chinese one."""
    docs = {n for n in markdown_files() if n.startswith('docs/')}
    english = set(english_pages()) - {'README.md'}
    assert {twin(n) for n in english} | english == docs, docs ^ ({twin(n) for n in english} | english)
    en, zh = read('README.md'), read('README.zh-CN.md')
    for page in sorted(english):
        assert f']({page})' in en or f']({page}#' in en, f'README.md does not link {page}'
        assert f']({twin(page)})' in zh or f']({twin(page)}#' in zh, \
            f'README.zh-CN.md does not link {twin(page)}'


def test_command_blocks_are_only_in_pages_whose_commands_are_run():
    """tests/test_readme_commands.py runs (or skips with a reason) every block of the
    READMEs and of docs/: a block anywhere else would be run by nobody."""
    covered = set(english_pages()) | {twin(p) for p in english_pages()}
    for name in markdown_files():
        if name not in covered:
            assert blocks(read(name)) == [], f'{name} has a fenced block'


# ----------------------------------------------------------------- links

def slug(heading):
    """The anchor GitHub gives a heading: lower case, punctuation (backticks, dots,
    parentheses, colons, ...) dropped, spaces to hyphens; letters of any script kept."""
    text = re.sub(r'<[^>]+>', '', heading).strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(text):
    """The #anchors a page has: its headings' slugs (a repeated one numbered -1, -2, ...)
    and its explicit <a id="..."> anchors."""
    found, seen = set(), {}
    for heading in re.findall(r'^#{1,6} (.+)$', without_code_blocks(text), re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f'{base}-{count}')
    found.update(re.findall(r'<a id="([^"]+)"></a>', text))
    return found


def links(text):
    """(line number, target) of every markdown link and image in the text, outside code."""
    text = without_code_blocks(text)
    return [(text[:m.start()].count('\n') + 1, m.group(1))
            for m in re.finditer(r'\]\(([^)\s]+)\)', text)]


@pytest.mark.parametrize('page', markdown_files())
def test_every_relative_link_resolves(page):
    """Every link to a file of the repository names one that exists (a folder counts),
    inside the repository; a #anchor names a heading (or an <a id>) of that page."""
    for line, target in links(read(page)):
        if re.match(r'[a-z][a-z0-9+.-]*:', target):  # https:, mailto:
            continue
        where = f'{page} line {line}: {target}'
        path, _, anchor = target.partition('#')
        name = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        assert not name.startswith('..') and not os.path.isabs(name), f'{where}: outside the repository'
        full = os.path.join(ROOT, name)
        assert os.path.exists(full), f'{where}: no such file'
        if anchor:
            assert name.endswith('.md'), f'{where}: an anchor into a file that is not a page'
            assert anchor in anchors(read(name)), f'{where}: no heading #{anchor} in {name}'


# ----------------------------------------------------------------- what the files cite

# Paths of someone's machine: a user's home or a build machine's work folder. Written so
# that this file does not match them itself.
MACHINE_PATHS = re.compile(r'(?<![\w.~])/(?:work|root)/'
                           r'|(?<![\w.~])/(?:home|Users)/[A-Za-z0-9._-]+/'
                           r'|\b[A-Za-z]:\\+Users\\+')


def test_no_file_holds_a_path_of_a_machine():
    """No absolute path of any machine, in any file of the repository: a reader's clone
    has none of them (relative paths, ~, and system paths such as /usr/bin are fine)."""
    found = []
    for name, text in text_files().items():
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATHS.search(line):
                found.append(f'{name}:{number}: {line.strip()}')
    assert found == [], '\n'.join(found)


# What the repository cites: a page by name (FIDELITY.md, docs/testing.md), a file or
# folder by its path from the repository's top (tests/np_reference.py, tf1_compat/), a
# test file by its name (test_fidelity.py). Web addresses are left out: they cite
# public pages, TensorFlow's sources among them; so are ckptRNN/ and logs/, whose
# files runs make.
CITED_PAGE = re.compile(r'(?<![\w./~-])((?:/|\.\./)*\w[\w./-]*\.md)\b')
CITED_PATH = re.compile(r'(?<![\w./~-])((?:tests|tf1_compat|run_safety|fast_lstm|bench|docs'
                        r'|data|\.ci)/[\w./-]*\w)')
CITED_TEST = re.compile(r'(?<![\w./-])(test_\w+\.py)\b')


def test_every_cited_document_is_in_the_repository():
    files = set(repository_files())
    basenames = {n.rsplit('/', 1)[-1] for n in files}
    folders = {n.rsplit('/', 1)[0] for n in files if '/' in n}
    folders |= {f.rsplit('/', i)[0] for f in list(folders) for i in range(1, f.count('/') + 1)}
    missing = []
    for name, text in text_files().items():
        text = re.sub(r'https?://\S+', '', text)
        here = os.path.dirname(name)
        for number, line in enumerate(text.splitlines(), 1):
            for page in CITED_PAGE.findall(line):
                if page.startswith('/'):
                    ok = False  # an absolute path: no clone has it
                elif '/' in page:
                    ok = any(os.path.normpath(os.path.join(base, page)).replace(os.sep, '/')
                             in files for base in (here, ''))
                else:
                    ok = page in basenames
                if not ok:
                    missing.append(f'{name}:{number}: {page}')
            for path in CITED_PATH.findall(line):
                if path.rstrip('/') not in files | folders:
                    missing.append(f'{name}:{number}: {path}')
            for test in CITED_TEST.findall(line):
                if 'tests/' + test not in files:
                    missing.append(f'{name}:{number}: {test}')
    assert missing == [], 'cited but not in the repository:\n' + '\n'.join(missing)


# ----------------------------------------------------------------- the test files

ISSUE = re.compile(r'\bissues?\s*#?\d+', re.I)


def test_each_test_file_says_what_it_checks_in_its_opening_line():
    """Every test file (test_*.py in tests/) opens with a docstring whose first line says,
    in words, what the file checks: not empty, not an issue number."""
    for name in repository_files():
        folder, _, base = name.rpartition('/')
        if folder != 'tests' or not re.fullmatch(r'test_\w+\.py', base):
            continue
        docstring = ast.get_docstring(ast.parse(read(name)))
        assert docstring, f'{name} has no docstring'
        first = docstring.strip().splitlines()[0]
        assert len(re.findall(r'[A-Za-z]{2,}', ISSUE.sub('', first))) >= 4, \
            f'{name}: {first!r} does not say what it checks'
        assert not ISSUE.search(first), f'{name}: {first!r}'


def test_no_python_file_explains_itself_by_an_issue_number():
    """A reader has the repository, not its issue tracker: comments, docstrings and
    messages say why, not "issue #N"."""
    found = [f'{name}:{number}: {line.strip()}'
             for name, text in text_files().items() if name.endswith('.py')
             for number, line in enumerate(text.splitlines(), 1) if ISSUE.search(line)]
    assert found == [], '\n'.join(found)

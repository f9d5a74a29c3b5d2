"""The READMEs match what runs: every sample output is produced by the command it
names, the flag tables give every flag with its default, and each Chinese page (the
README's and every page's under docs/) says the same commands, flags, defaults, links
and table rows as its English twin."""
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT
from helpers.readme_blocks import TROUBLESHOOTING, english_pages, twin

READMES = ['README.md', 'README.zh-CN.md']
PAGES = english_pages()
ELAPSED = re.compile(r'\s+\d+\.\ds(?=(\s+saved)?$)')  # the step lines' wall-clock column


def read(name):
    with open(os.path.join(ROOT, name), encoding='utf-8') as f:
        return f.read()


def samples(text):
    """(command, expected lines) for every ``` block that starts with `$ python ...`."""
    found = []
    for block in re.findall(r'```\n(\$ python .*?)```', text, re.S):
        lines = block.rstrip('\n').split('\n')
        found.append((lines[0][2:], lines[1:]))
    return found


def normalise(line):
    return ELAPSED.sub('', line.rstrip())


@pytest.fixture(scope='module')
def sample_runs(tmp_path_factory):
    """Each README sample command, run once in a fresh folder; its stdout lines."""
    outputs = {}
    for command, _ in samples(read('README.md')):
        argv = shlex.split(command)
        assert argv[0] == 'python' and argv[1].endswith('.py'), command
        folder = tmp_path_factory.mktemp('sample')
        proc = subprocess.run([sys.executable, os.path.join(ROOT, argv[1])] + argv[2:],
                              cwd=folder, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr
        outputs[command] = proc.stdout.splitlines()
    return outputs


def test_readme_has_samples_for_both_scripts():
    commands = [c for c, _ in samples(read('README.md'))]
    assert any('mnist_lstm_classifier.py' in c for c in commands)
    assert any('sin_cos_lstm_regressor.py' in c for c in commands)
    assert all('--seed' in c for c in commands), 'a sample without --seed cannot repeat'


@pytest.mark.parametrize('readme', READMES)
def test_sample_outputs_are_what_the_commands_print(prints_tf115s_numbers, readme, sample_runs):
    for command, expected in samples(read(readme)):
        actual = [normalise(l) for l in sample_runs[command]]
        shown = [normalise(l) for l in expected if l.strip() != '...']
        # the sample's first and last lines are the output's, and every line it shows
        # comes out, in order
        assert shown[0] == actual[0], (command, shown[0], actual[0])
        assert shown[-1] == actual[-1], (command, shown[-1], actual[-1])
        position = 0
        for line in shown:
            assert line in actual[position:], (command, line)
            position = actual.index(line, position) + 1


def table_rows(text, first_cell):
    """First cells of the table rows whose first cell matches ``first_cell``."""
    return [m for m in re.findall(r'^\| (`--[\w-]+`) \| ([^|]*) \|', text, re.M)
            if re.fullmatch(first_cell, m[0])]


def relative_links(text):
    """The targets of a page's links within the repository (to other files, and to
    #anchors of the page itself), in order; web addresses left out."""
    return [t for t in re.findall(r'\]\(([^)\s]+)\)', text) if not re.match(r'[a-z]+:', t)]


@pytest.mark.parametrize('page', PAGES)
def test_chinese_readme_says_the_same_commands_flags_and_defaults(page):
    en, zh = read(page), read(twin(page))
    here, there = os.path.basename(page), os.path.basename(twin(page))
    # each names the other at the top, as the READMEs do
    assert f'English | [简体中文]({there})' in en.split('\n## ')[0], page
    assert f'[English]({here}) | 简体中文' in zh.split('\n## ')[0], twin(page)
    # every command the English page gives, the Chinese one gives too
    commands = set(re.findall(r'^(?:\$ |PS> |> )?((?:python|py|\.venv)\S* .*)$', en, re.M))
    for command in commands:
        assert command in zh, command
    # the same flags with the same defaults in the flag tables
    assert table_rows(en, r'`--.*`') == table_rows(zh, r'`--.*`')
    # the same links, each to the other language's page where there is one (and the
    # language switch at the top to the English page)
    def chinese(target):
        path, _, anchor = target.partition('#')
        name = os.path.normpath(os.path.join(os.path.dirname(page), path)).replace(os.sep, '/')
        if not path:
            pass  # an anchor of the page itself: the same in both languages
        elif name == twin(page):
            path = here
        elif name in PAGES:
            path = path[:-3] + '.zh-CN.md'
        return path + ('#' + anchor if anchor else '')
    assert [chinese(t) for t in relative_links(en)] == relative_links(zh), page
    # links to the original tutorial
    if page == 'README.md':
        for link in ('https://mofanpy.com/tutorials/machine-learning/tensorflow/intro-RNN/',
                     'https://github.com/MorvanZhou/tutorials'):
            assert link in en and link in zh


def code_span_rows(text):
    """The code spans of each table row that has any, in order."""
    return [re.findall(r'`([^`]+)`', line) for line in text.splitlines()
            if line.startswith('|') and '`' in line]


def test_chinese_readme_has_every_troubleshooting_row():
    """Messages stay English, so each table row of the troubleshooting page has the
    same code spans (flags, messages) in both languages, in order."""
    en_rows = code_span_rows(read(TROUBLESHOOTING))
    zh_rows = code_span_rows(read(twin(TROUBLESHOOTING)))
    assert len(en_rows) > 20 and en_rows == zh_rows


@pytest.mark.parametrize('page', PAGES)
def test_chinese_pages_have_every_table_row(page):
    """Every table of every page (exit statuses, flags, Supported, the benchmark, ...)
    has the same rows with the same code spans in both languages, in order."""
    assert code_span_rows(read(page)) == code_span_rows(read(twin(page)))


def flag_table(text, section):
    """The flag table (from its '| flag |' header to the blank line) under ``section``."""
    start = text.index(section)
    return text[start:text.index('\n\n', text.index('| flag |', start))]


def assert_default_shown(flag, shown, default):
    """A table's default cell says the parser's default: none for None, off for False."""
    if default is None:
        assert shown == 'none', flag
    elif default is False:
        assert shown == 'off', flag
    else:
        assert shown == str(default), (flag, shown, default)


@pytest.mark.parametrize('name, page, section', [
    ('mnist_lstm_classifier', 'docs/classifier.md', '## Flags'),
    ('sin_cos_lstm_regressor', 'docs/regressor.md', '## Flags')])
def test_readme_flag_tables_list_every_flag_with_its_default(name, page, section):
    """The flag table of each script's page names exactly the script's flags, each with
    the default its parser has (none/off for None/False)."""
    import importlib
    parser_flags = {}
    module = importlib.import_module(name)
    args = vars(module.parse_args([]))
    table = flag_table(read(page), section)
    rows = dict((flag.split()[0].strip('`'), default.strip())
                for flag, default in re.findall(r'^\| (`--[^|]+`) \| ([^|]*) \|', table, re.M))
    for flag in rows:
        parser_flags[flag] = args[flag[2:].replace('-', '_')]
    assert set(rows) == {'--' + k.replace('_', '-') for k in args}
    for flag, default in parser_flags.items():
        shown = rows[flag].strip('`')
        if shown == 'the logdir':
            assert default == args['logdir'], flag
        else:
            assert_default_shown(flag, shown, default)


def test_readme_main_flags_are_real_flags_with_their_defaults():
    """The README's table of the main flags: each row names the script it is for (or
    both), and the flag is that script's, with the default its parser has."""
    import importlib
    defaults = {}
    for name, label in (('mnist_lstm_classifier', 'classifier'),
                        ('sin_cos_lstm_regressor', 'regressor')):
        defaults[label] = vars(importlib.import_module(name).parse_args([]))
    table = flag_table(read('README.md'), '## The main flags')
    rows = re.findall(r'^\| `(--[\w-]+)` \| ([^|]*) \| (classifier|regressor|both scripts): ',
                      table, re.M)
    assert len(rows) >= 5 and len(rows) == table.count('\n| `--'), table
    for flag, shown, scripts in rows:
        labels = ['classifier', 'regressor'] if scripts == 'both scripts' \
            else [scripts]
        for label in labels:
            args = defaults[label]
            key = flag[2:].replace('-', '_')
            assert key in args, (flag, label)
            assert_default_shown(flag, shown.strip().strip('`'), args[key])

"""The READMEs match what runs: every sample output is produced by the command it
names, and the Chinese README says the same commands, flags, defaults and
troubleshooting rows as the English one."""
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT

READMES = ['README.md', 'README.zh-CN.md']
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
def test_sample_outputs_are_what_the_commands_print(readme, sample_runs):
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


def test_chinese_readme_says_the_same_commands_flags_and_defaults():
    en, zh = read('README.md'), read('README.zh-CN.md')
    assert '[简体中文](README.zh-CN.md)' in en and '[English](README.md)' in zh
    # every command the English README gives, the Chinese one gives too
    commands = set(re.findall(r'^(?:\$ |PS> |> )?((?:python|py|\.venv)\S* .*)$', en, re.M))
    for command in commands:
        assert command in zh, command
    # the same flags with the same defaults in the flag tables
    assert table_rows(en, r'`--.*`') == table_rows(zh, r'`--.*`')
    # links to the original tutorial
    for link in ('https://mofanpy.com/tutorials/machine-learning/tensorflow/intro-RNN/',
                 'https://github.com/MorvanZhou/tutorials'):
        assert link in en and link in zh


def test_chinese_readme_has_every_troubleshooting_row():
    """Messages stay English, so each table row of the troubleshooting section has the
    same code spans (flags, messages, exit statuses) in both READMEs, in order."""
    def rows(section):
        return [re.findall(r'`([^`]+)`', line) for line in section.splitlines()
                if line.startswith('|') and '`' in line]
    en, zh = read('README.md'), read('README.zh-CN.md')
    en_rows = rows(en[en.index('## Troubleshooting'):en.index('\n## ', en.index('## Troubleshooting') + 3)])
    zh_rows = rows(zh[zh.index('## 常见问题'):zh.index('\n## ', zh.index('## 常见问题') + 3)])
    assert len(en_rows) > 20 and en_rows == zh_rows


@pytest.mark.parametrize('name, section', [('mnist_lstm_classifier', '### Flags'),
                                           ('sin_cos_lstm_regressor', '## The regressor')])
def test_readme_flag_tables_list_every_flag_with_its_default(name, section):
    """The README's flag table of each script names exactly the script's flags, each with
    the default its parser has (none/off for None/False)."""
    import importlib
    parser_flags = {}
    module = importlib.import_module(name)
    args = vars(module.parse_args([]))
    text = read('README.md')
    start = text.index(section)
    table = text[start:text.index('\n\n', text.index('| flag |', start))]
    rows = dict((flag.split()[0].strip('`'), default.strip())
                for flag, default in re.findall(r'^\| (`--[^|]+`) \| ([^|]*) \|', table, re.M))
    for flag in rows:
        parser_flags[flag] = args[flag[2:].replace('-', '_')]
    assert set(rows) == {'--' + k.replace('_', '-') for k in args}
    for flag, default in parser_flags.items():
        shown = rows[flag].strip('`')
        if shown == 'the logdir':
            assert default == args['logdir'], flag
        elif default is None:
            assert shown == 'none', flag
        elif default is False:
            assert shown == 'off', flag
        else:
            assert shown == str(default), (flag, shown, default)

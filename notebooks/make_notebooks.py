"""Writes the two notebooks in this folder from the scripts, so they cannot drift.

    python notebooks/make_notebooks.py           # rewrite the notebooks and the Colab links
    python notebooks/make_notebooks.py --check   # exit 1 if anything would change

Each notebook gets the repository (unless it already runs inside it), checks the kernel's
TensorFlow and installs only what is missing (run_safety/requirements.py: nothing on
Colab, whose TensorFlow 2.19 and tf-keras are in the tested range), shows the tutorial's
hyperparameters as variables, runs the script with them as flags, and shows TensorBoard.
The hyperparameters are read from the script's source (no import, no TensorFlow): every
flag whose default is one of the script's module constants, with the constant's value
and comment. The "Open in Colab" links in the READMEs and docs are rewritten here too.

REPOSITORY is the one place the project's GitHub address is written.
"""
import ast
import json
import os
import re
import sys

REPOSITORY = 'OWNER/REPO'  # GitHub owner/name of this project: set it once it is public
BRANCH = 'main'

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ('mnist_lstm_classifier.py', 'sin_cos_lstm_regressor.py')
# Files whose "Open in Colab" links point at the notebooks (those that exist are rewritten).
LINKED = ('README.md', 'README.zh-CN.md', os.path.join('docs', 'notebooks.md'),
          os.path.join('docs', 'notebooks.zh-CN.md'))
COLAB_LINK = re.compile(r'https://colab\.research\.google\.com/github/[^)\s"\'<>]*?/notebooks/'
                        r'(?P<name>\w+)\.ipynb')

TITLES = {
    'mnist_lstm_classifier.py': (
        'MNIST classification with an LSTM (TF 1.x tutorial on tf.compat.v1)',
        'RNN LSTM 循环神经网络 (分类例子)',
        'The LSTM reads each 28x28 image as 28 rows of 28 pixels and learns the digit. The run '
        'prints the accuracy on the batch it just trained on every 20 steps, then tests the '
        'best checkpoint on the 10,000 test images.'),
    'sin_cos_lstm_regressor.py': (
        'Sin -> cos regression with an LSTM (TF 1.x tutorial on tf.compat.v1)',
        'RNN LSTM (回归例子)',
        'The LSTM reads a sine wave and learns to output the cosine at the same points; the plot '
        'below the cell shows the target (red) and the prediction (blue, dashed) as it learns, '
        'and the run prints the cost every 20 iterations.'),
}


def repository_url():
    return f'https://github.com/{REPOSITORY}'


def colab_url(script):
    name = os.path.splitext(script)[0]
    return (f'https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/'
            f'notebooks/{name}.ipynb')


def hyperparameters(script):
    """[(flag, constant name, value, comment)] for every flag of ``script`` whose default is
    one of its module constants, in the order of its --help."""
    path = os.path.join(ROOT, script)
    with open(path, encoding='utf-8') as f:
        source = f.read()
    lines = source.splitlines()
    tree = ast.parse(source)
    constants = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, (int, float))
                and not isinstance(node.value.value, bool)):
            line = lines[node.lineno - 1]
            comment = line.split('#', 1)[1].strip() if '#' in line else ''
            constants[node.targets[0].id] = (node.value.value, comment)
    [parse_args] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'parse_args']
    found = []
    for call in ast.walk(parse_args):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == 'add_argument' and call.args
                and isinstance(call.args[0], ast.Constant)):
            continue
        default = next((k.value for k in call.keywords if k.arg == 'default'), None)
        if isinstance(default, ast.Name) and default.id in constants:
            value, comment = constants[default.id]
            found.append((call.args[0].value, default.id, value, comment, call.lineno))
    return [row[:4] for row in sorted(found, key=lambda row: row[4])]


def lines(text):
    """A cell's source as nbformat stores it: lines, each but the last with its newline."""
    parts = text.strip('\n').split('\n')
    return [p + '\n' for p in parts[:-1]] + parts[-1:]


def markdown(text):
    return {'cell_type': 'markdown', 'metadata': {}, 'source': lines(text)}


def code(text):
    return {'cell_type': 'code', 'execution_count': None, 'metadata': {}, 'outputs': [],
            'source': lines(text)}


def setup_cell(script):
    return f'''\
# Set-up: the repository (cloned unless this notebook already runs inside it), then what
# this kernel has. Nothing is installed when its TensorFlow is 2.16-2.21 with its tf-keras
# (Colab's is); otherwise only what is missing, and this cell says what it found and did.
import os
REPOSITORY = '{repository_url()}'
if not os.path.isfile('{script}'):
    if os.path.isfile(os.path.join('..', '{script}')):  # opened from the clone's notebooks/
        os.chdir('..')
    else:
        if not os.path.isdir(os.path.basename(REPOSITORY)):
            said = !git clone --quiet --depth 1 {{REPOSITORY}} 2>&1
            if not os.path.isdir(os.path.basename(REPOSITORY)):  # one line, no traceback
                raise SystemExit(f'git clone {{REPOSITORY}}: {{said[0] if said else "failed"}} '
                                 '(check the address and the network)')
        os.chdir(os.path.basename(REPOSITORY))
print('repository:', os.getcwd())
from run_safety.requirements import setup_notebook
setup_notebook()'''


def run_cell(script, rows):
    """The tutorial's hyperparameters as variables, and the script run with them as flags,
    in one cell: %run copies the script's module constants (the same names, the
    tutorial's values) into the notebook when it ends, so a later cell would see those,
    not the ones set here; running this cell again always uses what it shows."""
    width = max(len(f'{name} = {value!r}') for _, name, value, _ in rows)
    body = '\n'.join(f'{name} = {value!r}'.ljust(width) + f'  # {comment}' if comment
                     else f'{name} = {value!r}' for _, name, value, comment in rows)
    run = f'%run {script} ' + ' '.join(f'{flag} {{{name}}}' for flag, name, _, _ in rows)
    return (f"# The tutorial's hyperparameters (the constants at the top of {script}),\n"
            f'# passed to it as flags: change one and run this cell again.\n{body}\n{run}')


def notebook(script):
    rows = hyperparameters(script)
    title, chinese, about = TITLES[script]
    badge = (f'[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]'
             f'({colab_url(script)})')
    cells = [
        markdown(f'# {title}\n\n莫烦Python\'s "{chinese}", rebuilt with `tf.compat.v1`: '
                 f'`{script}` as it is in the repository, run with this kernel\'s '
                 f'TensorFlow.\n\n{badge}\n\n{about}\n\n'
                 f'Generated by `notebooks/make_notebooks.py` from `{script}`: edit that, '
                 f'not this file.'),
        code(setup_cell(script)),
        code(run_cell(script, rows)),
        markdown('TensorBoard: the cost and accuracy curves and the graph, from `logs/` '
                 '(both scripts write there).'),
        code('%load_ext tensorboard\n%tensorboard --logdir logs'),
    ]
    for index, cell in enumerate(cells):
        cell['id'] = f'cell-{index}'
    return {
        'cells': cells,
        'metadata': {
            'colab': {'provenance': []},
            'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'},
            'language_info': {'name': 'python'},
        },
        'nbformat': 4,
        'nbformat_minor': 5,
    }


def notebook_path(script):
    return os.path.join(ROOT, 'notebooks', os.path.splitext(script)[0] + '.ipynb')


def notebook_text(script):
    return json.dumps(notebook(script), indent=1, ensure_ascii=False) + '\n'


def linked_text(text):
    """``text`` with every Colab link to one of the notebooks pointing at REPOSITORY."""
    def fix(m):
        script = m.group('name') + '.py'
        return colab_url(script) if script in SCRIPTS else m.group(0)
    return COLAB_LINK.sub(fix, text)


def outputs():
    """{path: the text it must hold}."""
    wanted = {notebook_path(s): notebook_text(s) for s in SCRIPTS}
    for name in LINKED:
        path = os.path.join(ROOT, name)
        if os.path.isfile(path):
            with open(path, encoding='utf-8') as f:
                wanted[path] = linked_text(f.read())
    return wanted


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = '--check' in argv
    stale = []
    for path, text in outputs().items():
        try:
            with open(path, encoding='utf-8', newline='') as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not check:
            with open(path, 'w', encoding='utf-8', newline='\n') as f:
                f.write(text)
    if check and stale:
        print('out of date (run python notebooks/make_notebooks.py): ' + ', '.join(stale),
              file=sys.stderr)
        return 1
    for name in stale:
        print('wrote', name)
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""What the notebook tests (test_notebook.py, test_notebooks.py) read from an executed
notebook, and the clean-up after its kernel."""
import glob
import json
import os
import re
import signal
import urllib.request


def outputs(cell, kind):
    """A cell's outputs of one type ('stream', 'display_data', 'error', ...)."""
    return [o for o in cell.get('outputs', []) if o.output_type == kind]


def tensorboard_runs(nb):
    """The runs the TensorBoard that a cell shows serves (None if no cell shows one): it
    is asked over HTTP on the port the cell's frame names."""
    for cell in nb.cells:
        for o in outputs(cell, 'display_data'):
            html = o.get('data', {}).get('text/html', '')
            if '<iframe' in html:
                port = int(re.search(r'const port = (\d+);', html).group(1))
                with urllib.request.urlopen(f'http://localhost:{port}/data/runs',
                                            timeout=60) as r:
                    return json.load(r)
    return None


def end_stray_tensorboards(home):
    """The kernel ends the TensorBoard it started when it shuts down (ipykernel
    terminates its children). Should one outlive it, its info file under ``home`` names
    its pid: end it, after checking the pid is still that TensorBoard."""
    for info in glob.glob(os.path.join(str(home), '.tensorboard-info', 'pid-*.info')):
        with open(info) as f:
            pid = json.load(f)['pid']
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                ours = b'tensorboard' in f.read()
        except OSError:
            ours = False
        if ours:
            os.kill(pid, signal.SIGTERM)

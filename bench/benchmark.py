"""How fast is the project's training step, against Keras 3, PyTorch and the FLOP floor?

    python bench/benchmark.py                 # about 2-4 minutes on 2 cores
    python bench/benchmark.py --quick         # a smoke run, well under a minute
    python bench/benchmark.py --skip-runs     # only the per-step table
    python bench/benchmark.py --runs 3        # time each script's whole run 3 times
    python bench/benchmark.py --max-isa avx2  # as on a CPU without AVX-512 (most laptops)

One training step at batch 128, 28 steps x 28 inputs, 128 hidden units, 10 classes,
Adam lr 0.001, measured for each side in its own long-lived worker process:

* project      : bench/tf1_step.py imports mnist_lstm_classifier and calls its
                 build_graph (legacy tf-keras, graph mode), times sess.run([train_op, cost])
* project-static: the same with build_graph(static_unroll=True), the script's opt-in
                 --static-unroll (tf.nn.static_rnn instead of dynamic_rnn's while loop)
* project-fast : the same with build_graph(fast=True) and the script's --fast session
                 config (fast_lstm/: the batch in two independent halves, one per core,
                 fused ops, hand-written backward)
* keras3       : bench/keras3_step.py, plain Keras 3 (no TF_USE_LEGACY_KERAS), compiled
                 model.train_on_batch with Keras' defaults: jit_compile='auto', which
                 resolves to no XLA here (LSTM's use_cudnn='auto' opts the model out)
* keras3-xla   : the same with LSTM(use_cudnn=False) and jit_compile=True (XLA)
* torch        : bench/torch_step.py, when torch is importable (skipped otherwise;
                 the project does not need torch)
* floor        : the step's FLOPs counted analytically / the machine's best large
                 fp32 matmul rate (numpy, and TensorFlow / torch when their workers run)

The workers start together, warm up, then run ``--rounds`` rounds; in each round every
side runs ``--steps-per-round`` steps in turn (the order rotates every round) while
the others wait, so the machine's noise falls on all sides alike. Each step is timed
alone; the table gives the median, the interquartile range and the minimum over all
timed steps. All sides train on the same real MNIST batches (data/; random ones if
the files are missing).

Then, unless --skip-runs, each script's whole run is timed from start to exit, in
temporary folders: `python mnist_lstm_classifier.py` (defaults, 782 steps), the same
with --fast, and `python sin_cos_lstm_regressor.py --plot file`.

For --fast the report gives, against each peer, the median of the per-round ratios
(project-fast's median step in a round over the peer's in the same round) with their
range, and floor / median the same way: one lucky or unlucky round cannot move them.
The machine may be shared and noisy: the report's header gives the load averages and
the CPU that other processes took while each side was measured (/proc/stat minus the
benchmark's own processes), and warns when the machine was not idle (1-min load
average above 0.5 at the start, or other processes using more than 0.1 core while
a side was measured).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The step being measured (the tutorial's defaults).
BATCH, N_STEPS, N_INPUTS, HIDDEN, CLASSES, LR = 128, 28, 28, 128, 10, 0.001

SIDES = {
    'project': ['tf1_step.py'],
    'project-static': ['tf1_step.py', '--static-unroll'],
    'project-fast': ['tf1_step.py', '--fast'],
    'keras3': ['keras3_step.py', '--jit', 'auto'],
    'keras3-xla': ['keras3_step.py', '--jit', 'xla'],
    'torch': ['torch_step.py'],
}


DEFAULT_SIDES = ['project', 'project-static', 'project-fast', 'keras3', 'keras3-xla', 'torch']

# --max-isa avx2: every side's math libraries limited to AVX2 (no AVX-512), as on most
# laptops: oneDNN (TensorFlow's and torch's), MKL, torch's own kernels, OpenBLAS (numpy's
# floor). Another CPU emulated on this one, not a second machine: same caches and clocks.
ISA_LIMITS = {'avx2': {'ONEDNN_MAX_CPU_ISA': 'AVX2', 'DNNL_MAX_CPU_ISA': 'AVX2',
                       'MKL_ENABLE_INSTRUCTIONS': 'AVX2', 'ATEN_CPU_CAPABILITY': 'avx2',
                       'OPENBLAS_CORETYPE': 'Haswell'}}
ISA_VARIABLES = sorted({k for limits in ISA_LIMITS.values() for k in limits})


def step_flops(b=BATCH, t=N_STEPS, i=N_INPUTS, h=HIDDEN, c=CLASSES):
    """Multiply-add FLOPs (2 per MAC) of one training step; backward ~ 2x forward."""
    parts = {
        'input layer': 2 * b * t * i * h,
        'LSTM cell (all steps)': t * 2 * b * (h + h) * 4 * h,
        'output layer': 2 * b * h * c,
    }
    forward = sum(parts.values())
    return parts, forward, 3 * forward


def fast_step_flops(b=BATCH, t=N_STEPS, i=N_INPUTS, h=HIDDEN, c=CLASSES):
    """The FLOPs --fast's graph really does (fast_lstm/graph.py): the pixels, not the 128
    hidden inputs, meet the gate weights (the input layer is folded into them); forward:
    BlockLSTM's [x_t, h] @ [Wx; Wh] every step; backward: dh on every step but the first,
    the weight gradients as one matmul for Wx (all steps) and one for Wh (all but the
    first, h_0 = 0)."""
    forward = t * 2 * b * (i + h) * 4 * h + 2 * b * h * c
    backward = ((t - 1) * 2 * b * 4 * h * h + 2 * t * b * i * 4 * h + (t - 1) * 2 * b * h * 4 * h
                + 2 * 2 * b * h * c)
    return forward + backward


def percentile(sorted_values, q):
    """Linear-interpolation percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float('nan')
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(ms):
    s = sorted(ms)
    return {'median': statistics.median(s), 'p25': percentile(s, 25), 'p75': percentile(s, 75),
            'min': s[0], 'max': s[-1], 'n': len(s)}


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    versions = {}
    for dist in ('tensorflow', 'tf-keras', 'keras', 'torch', 'numpy'):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {'cpu': cpu, 'cores': os.cpu_count(), 'usable_cores': usable,
            'python': platform.python_version(), 'platform': platform.platform(),
            'versions': versions,
            'isa_limits': {k: os.environ[k] for k in ISA_VARIABLES if k in os.environ}}


def loadavg():
    try:
        return os.getloadavg()
    except OSError:
        return None


def machine_cpu_seconds():
    """(busy, steal) CPU seconds of the whole machine so far, from /proc/stat (None where
    that file is missing): busy is every state but idle and iowait; steal is time the
    hypervisor gave to other machines."""
    try:
        with open('/proc/stat') as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf('SC_CLK_TCK')
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    steal = fields[7] if len(fields) > 7 else 0
    return (sum(fields[:8]) - idle - steal) / tick, steal / tick


def process_cpu_seconds(pids):
    """user + system CPU seconds of these processes (all their threads), from /proc."""
    tick = os.sysconf('SC_CLK_TCK')
    total = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return total / tick


def children_cpu_seconds():
    """CPU seconds of this process's finished (waited-for) children: the whole runs."""
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class OtherLoad:
    """How much CPU the rest of the machine took while our processes were measured: the
    machine's busy CPU seconds minus this process's and the workers' own, per second of
    wall time, in cores (0 on an idle machine; 2 = two cores' worth of other work), and
    the hypervisor's steal. The load average cannot say this during the rounds: it counts
    the benchmark's own running worker too."""

    def __init__(self, pids):
        self.pids = [os.getpid()] + list(pids)
        self.t0 = time.perf_counter()
        self.machine0 = machine_cpu_seconds()
        self.ours0 = process_cpu_seconds(self.pids) + children_cpu_seconds()

    def cores(self):
        """(other cores, steal cores) since construction, or (None, None) without /proc."""
        machine = machine_cpu_seconds()
        if machine is None or self.machine0 is None:
            return None, None
        wall = max(time.perf_counter() - self.t0, 1e-9)
        ours = process_cpu_seconds(self.pids) + children_cpu_seconds() - self.ours0
        other = max(0.0, machine[0] - self.machine0[0] - ours) / wall
        return other, (machine[1] - self.machine0[1]) / wall


def prepare_batches(path, n=16, seed=0):
    """n batches from the real MNIST training split (the project's reader), else random."""
    import numpy as np
    source = 'MNIST data/ (train split, seeded shuffle)'
    try:
        sys.path.insert(0, ROOT)
        from tf1_compat import input_data  # numpy only: does not import TensorFlow
        mnist = input_data.read_data_sets(os.path.join(ROOT, 'data'), one_hot=True, seed=seed)
        batches = [mnist.train.next_batch(BATCH) for _ in range(n)]
        x = np.stack([b[0].reshape(BATCH, N_STEPS, N_INPUTS) for b in batches]).astype(np.float32)
        y = np.stack([b[1] for b in batches]).astype(np.float32)
    except Exception as e:  # no data/: random pixels and labels
        source = f'random (MNIST unavailable: {e})'
        rng = np.random.RandomState(seed)
        x = rng.rand(n, BATCH, N_STEPS, N_INPUTS).astype(np.float32)
        y = np.eye(CLASSES, dtype=np.float32)[rng.randint(0, CLASSES, size=(n, BATCH))]
    np.savez(path, x=x, y=y)
    return source


class Worker:
    """One side's process, spoken to with bench/_protocol.py's line protocol."""

    def __init__(self, name, python, batches, tmpdir):
        self.name = name
        env = dict(os.environ)
        env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
        if name.startswith('keras3'):
            env.pop('TF_USE_LEGACY_KERAS', None)  # plain Keras 3 in this one
        self.stderr_path = os.path.join(tmpdir, f'{name}.stderr')
        self._stderr = open(self.stderr_path, 'w')
        cmd = [python, os.path.join(HERE, SIDES[name][0])] + SIDES[name][1:] + [
            '--batches', batches, '--lr', str(LR), '--hidden-units', str(HIDDEN)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     bufsize=1)
        self.info = None
        self.ms = []
        self.rounds = []  # the ms of each round's steps, one list per round
        self.load = []  # per round: load averages and the other work's CPU (OtherLoad)
        self.losses = []

    def _read(self, expect):
        while True:  # skip anything a library printed to stdout
            line = self.proc.stdout.readline()
            if line.startswith(expect + ' '):
                return json.loads(line[len(expect) + 1:])
            if not line or line.startswith('ERROR'):
                if not line:
                    try:
                        self.proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        pass
                raise RuntimeError(self.failure(line))

    def failure(self, line=''):
        self._stderr.flush()
        with open(self.stderr_path) as f:
            tail = ''.join(f.readlines()[-15:])
        return (f'{self.name} worker failed (exit {self.proc.poll()}, got {line.strip()!r}):\n'
                f'{tail}')

    def ready(self):
        self.info = self._read('READY')
        return self.info

    def _send(self, command):
        try:
            self.proc.stdin.write(command + '\n')
            self.proc.stdin.flush()
        except OSError:  # the worker is gone
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            raise RuntimeError(self.failure()) from None

    def run(self, steps, budget, keep=True):
        self._send(f'run {steps} {budget}')
        reply = self._read('TIMES')
        if keep:
            self.ms.extend(reply['ms'])
            self.rounds.append(reply['ms'])
            self.losses.append(reply['loss'])
        return reply

    def rate(self, count):
        self._send(f'rate {count}')
        return self._read('RATE')

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('quit\n')
                self.proc.stdin.flush()
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


def numpy_gflops(count, size=2048):
    import numpy as np
    rng = np.random.RandomState(0)
    a = rng.rand(size, size).astype(np.float32)
    b = rng.rand(size, size).astype(np.float32)
    best = float('inf')
    for _ in range(count):
        t0 = time.perf_counter()
        np.matmul(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size ** 3 / best / 1e9


def measure_steps(args, tmpdir, notes):
    batches = os.path.join(tmpdir, 'batches.npz')
    source = prepare_batches(batches)
    notes.append(f'input batches: {source}')
    workers = []
    for name in args.sides:
        workers.append(Worker(name, args.python, batches, tmpdir))
    live = []
    for w in workers:  # they start (import TensorFlow / torch) in parallel
        try:
            w.ready()
            live.append(w)
        except RuntimeError as e:
            if w.name == 'torch' and w.proc.poll() == 3:
                notes.append('torch: skipped, torch is not importable in this Python '
                             '(optional: the project does not need it)')
            else:
                notes.append(f'{w.name}: skipped, worker failed: ' + str(e).strip().replace('\n', ' | ')[-600:])
            w.close()
    print(f'workers ready: {", ".join(w.name for w in live)}; warming up', file=sys.stderr)
    ready = list(live)

    def drop(w, when, e):  # a side that dies keeps what it measured
        notes.append(f'{w.name}: worker died {when}: ' + str(e).strip().replace('\n', ' | ')[-600:])
        live.remove(w)
        w.died = True
        w.close()

    for w in list(live):
        try:
            w.run(args.warmup, args.max_seconds, keep=False)
        except RuntimeError as e:
            drop(w, 'in the warm-up', e)
    rates = {'numpy': []}
    for w in live:
        if w.name in ('keras3', 'keras3-xla', 'torch'):
            rates.setdefault('tensorflow' if w.name.startswith('keras3') else 'torch', [])
    rate_worker = {'tensorflow': next((w for w in live if w.name.startswith('keras3')), None),
                   'torch': next((w for w in live if w.name == 'torch'), None)}
    pids = [w.proc.pid for w in live]
    for r in range(args.rounds):
        if not live:
            break
        k = r % len(live)
        for w in live[k:] + live[:k]:
            before = loadavg()
            other = OtherLoad(pids)
            cpu0 = process_cpu_seconds([w.proc.pid])
            try:
                reply = w.run(args.steps_per_round, args.max_seconds)
            except RuntimeError as e:
                drop(w, f'in round {r + 1}', e)
                rate_worker = {lib: (None if x is w else x) for lib, x in rate_worker.items()}
                continue
            other_cores, steal_cores = other.cores()
            cpu_ms = (process_cpu_seconds([w.proc.pid]) - cpu0) * 1e3 / max(len(reply['ms']), 1)
            w.load.append({'round': r + 1, 'loadavg_before': before, 'loadavg_after': loadavg(),
                           'other_cores': other_cores, 'steal_cores': steal_cores,
                           'cpu_ms_per_step': cpu_ms})
        # the matmul rate, interleaved too (best of all rounds is the floor's rate)
        rates['numpy'].append(numpy_gflops(1 if args.quick else 2))
        for lib in ('tensorflow', 'torch'):
            if lib in rates and rate_worker[lib] is not None:
                try:
                    rates[lib].append(rate_worker[lib].rate(1 if args.quick else 2))
                except RuntimeError as e:
                    drop(rate_worker[lib], f'in round {r + 1}', e)
                    rate_worker[lib] = None
        print(f'round {r + 1}/{args.rounds} done', file=sys.stderr)
    for w in live:
        w.close()
    return [w for w in ready if w.ms], rates


def whole_runs(args, tmpdir):
    """Each script's whole run, start to exit, in fresh temporary folders."""
    results = {'classifier': [], 'classifier-fast': [], 'regressor': []}
    env = dict(os.environ)
    for i in range(args.runs):
        for which in ('classifier', 'classifier-fast', 'regressor'):
            d = tempfile.mkdtemp(dir=tmpdir, prefix=f'{which}{i}-')
            metrics = os.path.join(d, 'metrics.json')
            if which.startswith('classifier'):
                cmd = [args.python, 'mnist_lstm_classifier.py', '--ckpt-dir', os.path.join(d, 'ckpt'),
                       '--logdir', os.path.join(d, 'logs'), '--metrics-json', metrics]
                if which == 'classifier-fast':
                    cmd.append('--fast')
            else:
                cmd = [args.python, 'sin_cos_lstm_regressor.py', '--plot', 'file',
                       '--logdir', os.path.join(d, 'logs'), '--metrics-json', metrics]
            print(f'whole run {i + 1}/{args.runs}: {which} ...',
                  file=sys.stderr)
            before = loadavg()
            other = OtherLoad([])
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            wall = time.perf_counter() - t0
            other_cores, steal_cores = other.cores()
            entry = {'wall_s': wall, 'exit': proc.returncode, 'loadavg_before': before,
                     'other_cores': other_cores, 'steal_cores': steal_cores}
            if proc.returncode != 0:
                entry['error'] = proc.stdout[-800:]
            try:
                with open(metrics) as f:
                    m = json.load(f)
                entry['loop_s'] = m.get('train_seconds', m.get('seconds'))
                if 'test_accuracy' in m:
                    entry['test_accuracy'] = m['test_accuracy']
                if 'final_cost' in m:
                    entry['final_cost'] = m['final_cost']
            except (OSError, ValueError):
                pass
            results[which].append(entry)
            shutil.rmtree(d, ignore_errors=True)
    return results


def fmt(v, digits=1):
    return f'{v:.{digits}f}'


# Thresholds for "the machine was not idle" (the report warns above them).
IDLE_LOADAVG = 0.5  # 1-min load average before the workers start
IDLE_OTHER_CORES = 0.1  # other processes' CPU while a side was measured, in cores (median)
IDLE_OTHER_CORES_MAX = 0.5  # ... in any one side's round


def round_medians(w):
    """{round number: median ms of that round's steps} of one side."""
    return {e['round']: statistics.median(ms) for e, ms in zip(w.load, w.rounds) if ms}


def spread(values):
    """(median, min, max) of a list, or None when it is empty."""
    return (statistics.median(values), min(values), max(values)) if values else None


def fast_vs_peers(live, floor):
    """--fast's per-round ratios: {peer: [fast's round median / peer's round median]} for the
    rounds both measured, and 'floor' -> [floor / fast's round median]."""
    sides = {w.name: round_medians(w) for w in live}
    fast = sides.get('project-fast')
    if not fast:
        return {}
    out = {}
    for peer in ('project', 'keras3', 'keras3-xla', 'torch'):
        if peer in sides:
            out[peer] = [fast[r] / sides[peer][r] for r in sorted(fast) if r in sides[peer]]
    if floor:
        out['floor'] = [floor / fast[r] for r in sorted(fast)]
    return out


def idle_warnings(load_before, load_after, live, runs):
    """Why the figures may not be an idle machine's, one line each (empty: it looked idle)."""
    warn = []
    if load_before and load_before[0] > IDLE_LOADAVG:
        warn.append(f'the 1-min load average was {load_before[0]:.2f} before the workers started '
                    f'(> {IDLE_LOADAVG}): other work was running, or had stopped less than a '
                    f'minute or two before (the average decays slowly); the other processes\' CPU '
                    f'while each side was measured is the direct measure')
    for w in live:
        other = [e['other_cores'] for e in w.load if e.get('other_cores') is not None]
        steal = [e['steal_cores'] for e in w.load if e.get('steal_cores') is not None]
        if other and (statistics.median(other) > IDLE_OTHER_CORES or max(other) > IDLE_OTHER_CORES_MAX):
            warn.append(f'{w.name}: other processes used {statistics.median(other):.2f} cores (median '
                        f'of its rounds, max {max(other):.2f}) while it was measured')
        if steal and statistics.median(steal) > IDLE_OTHER_CORES:
            warn.append(f'{w.name}: the hypervisor stole {statistics.median(steal):.2f} cores (median '
                        f'of its rounds) while it was measured')
    for which, entries in (runs or {}).items():
        for e in entries:
            if e.get('other_cores') is not None and e['other_cores'] > IDLE_OTHER_CORES:
                warn.append(f'whole run {which}: other processes used {e["other_cores"]:.2f} cores '
                            f'during it')
    return warn


def floor_ms(rates):
    """The FLOP floor in ms: the step's FLOPs at the best matmul rate measured, or None."""
    best = max((max(v) for v in rates.values() if v), default=None)
    return step_flops()[2] / (best * 1e9) * 1e3 if best else None


def report(args, machine, live, rates, runs, notes, load_before, load_after):
    out = []
    parts, forward, total = step_flops()
    best_rates = {lib: max(v) for lib, v in rates.items() if v}
    rate_lib, rate = max(best_rates.items(), key=lambda kv: kv[1]) if best_rates else (None, None)
    floor = floor_ms(rates)
    stats = {w.name: summarize(w.ms) for w in live}
    base = stats.get('project', {}).get('median')
    warnings = idle_warnings(load_before, load_after, live, runs)
    fl = (lambda la: ' / '.join(f'{x:.2f}' for x in la) if la else '?')
    v = machine['versions']

    out.append('## Machine')
    out.append('')
    out.append(f'- CPU: {machine["cpu"]}, {machine["cores"]} cores '
               f'({machine["usable_cores"]} usable), {machine["platform"]}')
    out.append(f'- Python {machine["python"]}; tensorflow {v["tensorflow"]}, tf-keras {v["tf-keras"]}, '
               f'keras {v["keras"]}, torch {v["torch"] or "not installed"}, numpy {v["numpy"]}')
    if machine['isa_limits']:
        out.append('- instruction sets limited (another CPU emulated on this one): '
                   + ', '.join(f'{k}={v}' for k, v in machine['isa_limits'].items()))
    out.append(f'- load average (1/5/15 min) before: {fl(load_before)}, after: {fl(load_after)}')
    other = [e['other_cores'] for w in live for e in w.load if e.get('other_cores') is not None]
    if other:
        out.append(f'- other processes\' CPU while the sides were measured: median {statistics.median(other):.2f} '
                   f'cores, max {max(other):.2f} (0 = idle; from /proc/stat minus the benchmark\'s own '
                   f'processes: the load average also counts the benchmark\'s running worker)')
    if warnings:
        out.append('')
        out.append('**WARNING: the machine was not idle; the figures below are not an idle machine\'s '
                   '(every side suffers, those with 2 threads that wait for each other most):**')
        for line in warnings:
            out.append(f'- {line}')
    out.append('')
    out.append(f'## Training step, batch {BATCH}, {N_STEPS} steps x {N_INPUTS} inputs, '
               f'{HIDDEN} hidden, {CLASSES} classes, Adam {LR}')
    out.append('')
    out.append(f'{args.rounds} interleaved rounds x {args.steps_per_round} steps per side '
               f'(after {args.warmup} warm-up steps); each step timed alone.')
    out.append('')
    out.append('| side | median ms/step | IQR (p25-p75) ms | min ms | steps | ratio to project | '
               'CPU ms/step | other work (cores) |')
    out.append('|---|---:|---:|---:|---:|---:|---:|---:|')
    for w in live:
        s = stats[w.name]
        ratio = fmt(s['median'] / base, 2) if base else 'n/a'
        oc = [e['other_cores'] for e in w.load if e.get('other_cores') is not None]
        cpu = [e['cpu_ms_per_step'] for e in w.load if e.get('cpu_ms_per_step')]
        out.append(f'| {w.name} | {fmt(s["median"])} | {fmt(s["p25"])}-{fmt(s["p75"])} | '
                   f'{fmt(s["min"])} | {s["n"]} | {ratio} | '
                   f'{fmt(statistics.median(cpu)) if cpu else "?"} | '
                   f'{fmt(statistics.median(oc), 2) if oc else "?"} |')
    if rate:
        ratio = fmt(floor / base, 2) if base else 'n/a'
        out.append(f'| FLOP floor ({total / 1e9:.2f} GFLOP at {rate:.0f} GFLOP/s, {rate_lib}) | '
                   f'{fmt(floor)} | - | - | - | {ratio} | | |')
    ratios = fast_vs_peers(live, floor)
    if ratios:
        out.append('')
        out.append('### --fast (project-fast) against each peer, round by round')
        out.append('')
        out.append('Each round\'s ratio is project-fast\'s median step in that round over the peer\'s '
                   'median step in the same round (measured minutes apart at most, under the same '
                   'load); the floor\'s row is floor / project-fast\'s round median (higher is better).')
        out.append('')
        out.append('| project-fast against | median of per-round ratios | range (min-max) | rounds | '
                   'ratio of the medians above |')
        out.append('|---|---:|---:|---:|---:|')
        for peer, values in ratios.items():
            sp = spread(values)
            if not sp:
                continue
            whole = (floor / stats['project-fast']['median'] if peer == 'floor'
                     else stats['project-fast']['median'] / stats[peer]['median'])
            label = 'FLOP floor (floor / median)' if peer == 'floor' else peer
            out.append(f'| {label} | {sp[0]:.2f} | {sp[1]:.2f}-{sp[2]:.2f} | {len(values)} | {whole:.2f} |')
    out.append('')
    out.append('- "CPU ms/step": the CPU time of the side\'s process (all its threads) per step, '
               'median of its rounds: its work, which competing load inflates less than the wall '
               'time (threads that spin while they wait count too)')
    for w in live:
        out.append(f'- {w.name}: {w.info.get("what")}; last loss {w.losses[-1]:.3f}'
                   + (f'; torch threads {w.info["threads"]}' if 'threads' in w.info else ''))
    out.append(f'- FLOPs per step: forward {forward / 1e9:.3f} GFLOP ('
               + ', '.join(f'{k} {v / 1e6:.1f} M' for k, v in parts.items())
               + f'), backward ~2x forward, total {total / 1e9:.3f} GFLOP')
    out.append('- best 2048x2048 fp32 matmul rate (best of all rounds): '
               + ', '.join(f'{lib} {r:.0f} GFLOP/s' for lib, r in best_rates.items()))
    for w in live:
        if len(w.ms) < args.rounds * args.steps_per_round and not getattr(w, 'died', False):
            out.append(f'- {w.name}: some rounds were cut short by --max-seconds {args.max_seconds:g} '
                       f'({len(w.ms)} of {args.rounds * args.steps_per_round} steps timed)')
    fast = stats.get('project-fast', {}).get('median')
    if fast and rate:
        real = fast_step_flops()
        out.append(f'- --fast really does {real / 1e9:.2f} GFLOP a step (the folded input layer), '
                   f'whose floor at that rate is {fmt(real / (rate * 1e9) * 1e3)} ms '
                   f'({fmt(real / (rate * 1e9) * 1e3 / fast, 2)} of its median)')
    if 'torch' in stats:
        out.append('- torch runs 2 OpenMP threads that wait at a barrier after every small op: when '
                   'other work competes for the 2 cores it slows down far more than TensorFlow '
                   '(100s of ms to seconds a step under load); its min is the fairer figure then')
    for n in notes:
        out.append(f'- {n}')

    if runs is not None:
        out.append('')
        out.append('## Whole runs, start to exit')
        out.append('')
        out.append('| run | wall s | in-script loop s | rest s | other work (cores) | result |')
        out.append('|---|---:|---:|---:|---:|---|')
        labels = {'classifier': 'python mnist_lstm_classifier.py (782 steps)',
                  'classifier-fast': 'python mnist_lstm_classifier.py --fast (782 steps)',
                  'regressor': 'python sin_cos_lstm_regressor.py --plot file (200 iterations)'}
        for which, entries in runs.items():
            for e in entries:
                loop = e.get('loop_s')
                if e['exit'] != 0:
                    result = f'FAILED (exit {e["exit"]}): ' + e.get('error', '').strip().splitlines()[-1:][0] \
                        if e.get('error', '').strip() else f'FAILED (exit {e["exit"]})'
                elif 'test_accuracy' in e:
                    result = f'test accuracy {e["test_accuracy"]:.4f}'
                else:
                    result = f'final cost {e["final_cost"]:.4f}' if e.get('final_cost') is not None else 'ok'
                oc = e.get('other_cores')
                out.append(f'| {labels[which]} | {fmt(e["wall_s"])} | '
                           f'{fmt(loop) if loop is not None else "?"} | '
                           f'{fmt(e["wall_s"] - loop) if loop is not None else "?"} | '
                           f'{fmt(oc, 2) if oc is not None else "?"} | {result} |')
        pairs = [d['wall_s'] / f['wall_s'] for d, f in zip(runs.get('classifier', []),
                                                            runs.get('classifier-fast', []))
                 if d['exit'] == 0 and f['exit'] == 0]
        if pairs:
            sp = spread(pairs)
            out.append('')
            out.append(f'--fast whole run: {sp[0]:.2f}x faster than the default one (wall, start to exit; '
                       + (f'median of {len(pairs)} back-to-back pairs, range {sp[1]:.2f}-{sp[2]:.2f})'
                          if len(pairs) > 1 else 'one pair)'))
        out.append('')
        out.append('"in-script loop": the training loop as the script measures it (--metrics-json); '
                   '"rest": TensorFlow import, data, graph, test evaluation, writing outputs, exit.')
    if warnings:
        out.append('')
        out.append(f'WARNING: not an idle machine ({len(warnings)} reason(s) at the top): rerun on idle '
                   f'cores before quoting these figures.')
    return '\n'.join(out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--rounds', type=int, default=None, help='interleaved rounds (default 10; --quick 3)')
    p.add_argument('--steps-per-round', type=int, default=None,
                   help='timed steps per side per round (default 20; --quick 8)')
    p.add_argument('--warmup', type=int, default=None,
                   help='untimed steps per side before the rounds (default 15; --quick 5)')
    p.add_argument('--max-seconds', type=float, default=5.0,
                   help='stop a side\'s round (or warm-up) early after this many seconds, so a side '
                        'that competing load slows down a lot cannot blow the time budget (default 5)')
    p.add_argument('--runs', type=int, default=None,
                   help='how many times to time each script\'s whole run (default 1; --quick 0)')
    p.add_argument('--skip-runs', action='store_true', help='skip the whole-run timings (= --runs 0)')
    p.add_argument('--quick', action='store_true',
                   help='a smoke run: 3 rounds of 8 steps, no whole runs unless --runs is given')
    p.add_argument('--sides', default=','.join(DEFAULT_SIDES),
                   help='comma-separated, from: %s (default: %s)'
                        % (', '.join(SIDES), ','.join(DEFAULT_SIDES)))
    p.add_argument('--python', default=sys.executable,
                   help='interpreter for the workers and the scripts (default: this one)')
    p.add_argument('--json', metavar='PATH', help='also write every number as JSON')
    p.add_argument('--max-isa', choices=sorted(ISA_LIMITS),
                   help='limit every side to this instruction set (avx2: no AVX-512, as on most '
                        'laptops), through the math libraries\' own variables')
    args = p.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds if args.rounds is not None else (3 if q else 10)
    args.steps_per_round = args.steps_per_round if args.steps_per_round is not None else (8 if q else 20)
    args.warmup = args.warmup if args.warmup is not None else (5 if q else 15)
    args.runs = args.runs if args.runs is not None else (0 if q else 1)
    if args.skip_runs:
        args.runs = 0
    args.sides = [s.strip() for s in args.sides.split(',') if s.strip()]
    bad = [s for s in args.sides if s not in SIDES]
    if bad or not args.sides:
        p.error(f'unknown side(s) {bad}; choose from {", ".join(SIDES)}')
    if min(args.rounds, args.steps_per_round) < 1 or args.warmup < 0 or args.runs < 0:
        p.error('--rounds and --steps-per-round must be >= 1, --warmup and --runs >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.max_isa:  # before numpy is imported here; the workers and runs inherit it
        os.environ.update(ISA_LIMITS[args.max_isa])
    machine = machine_info()
    load_before = loadavg()
    notes = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='lstm-bench-') as tmpdir:
        live, rates = measure_steps(args, tmpdir, notes)
        if not live:
            sys.exit('error: no side could be measured:\n' + '\n'.join(notes))
        runs = whole_runs(args, tmpdir) if args.runs else None
    load_after = loadavg()
    text = report(args, machine, live, rates, runs, notes, load_before, load_after)
    print(text)
    print(f'\n(benchmark took {time.perf_counter() - started:.0f} s)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'machine': machine, 'args': vars(args),
                       'steps': {w.name: {'info': w.info, 'ms': w.ms, 'rounds': w.rounds,
                                          'load': w.load, 'losses': w.losses,
                                          **summarize(w.ms)} for w in live},
                       'fast_ratios': fast_vs_peers(live, floor_ms(rates)),
                       'flops': step_flops()[2], 'fast_flops': fast_step_flops(), 'matmul_gflops': rates, 'runs': runs,
                       'notes': notes, 'loadavg': [load_before, load_after],
                       'idle_warnings': idle_warnings(load_before, load_after, live, runs)},
                      f, indent=1)


if __name__ == '__main__':
    main()

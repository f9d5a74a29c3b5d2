"""bench/benchmark.py's report: --fast's per-round ratios and their range, and the warning
when the machine was not idle, on made-up rounds (nothing is timed here)."""
import os
import sys
import types

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'bench'))
import benchmark  # noqa: E402


def side(name, round_ms, other=0.0, steal=0.0):
    """A measured side as report() sees it: one list of step times per round."""
    return types.SimpleNamespace(
        name=name, rounds=[list(ms) for ms in round_ms], ms=[x for ms in round_ms for x in ms],
        losses=[0.1], info={'what': name},
        load=[{'round': r + 1, 'loadavg_before': (0.0, 0.0, 0.0), 'loadavg_after': (0.0, 0.0, 0.0),
               'other_cores': other, 'steal_cores': steal} for r in range(len(round_ms))])


ARGS = types.SimpleNamespace(rounds=3, steps_per_round=3, warmup=1, max_seconds=5.0)
MACHINE = {'cpu': 'test CPU', 'cores': 2, 'usable_cores': 2, 'platform': 'test', 'python': '3',
           'versions': {k: '0' for k in ('tensorflow', 'tf-keras', 'keras', 'torch', 'numpy')},
           'isa_limits': {}}


def test_ratios_are_per_round_medians_with_their_range():
    # round medians: fast 10, 20, 12; torch 20, 10, 24 -> ratios 0.5, 2.0, 0.5
    fast = side('project-fast', [[9, 10, 11], [20, 20, 20], [12, 11, 13]])
    torch = side('torch', [[20, 19, 21], [10, 10, 10], [24, 24, 24]])
    ratios = benchmark.fast_vs_peers([fast, torch], floor=6.0)
    assert ratios['torch'] == pytest.approx([0.5, 2.0, 0.5])
    assert benchmark.spread(ratios['torch']) == pytest.approx((0.5, 0.5, 2.0))
    assert ratios['floor'] == pytest.approx([0.6, 0.3, 0.5])
    text = benchmark.report(ARGS, MACHINE, [fast, torch], {'numpy': [100.0]}, None, [],
                            (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    assert '| torch | 0.50 | 0.50-2.00 | 3 |' in text
    assert 'WARNING' not in text


def test_a_round_only_one_side_measured_is_left_out():
    fast = side('project-fast', [[10], [10], [10]])
    keras = side('keras3', [[20], [40]])  # died after round 2
    assert benchmark.fast_vs_peers([fast, keras], None)['keras3'] == pytest.approx([0.5, 0.25])


@pytest.mark.parametrize('load_before, other, steal, warns', [
    ((0.1, 0.1, 0.1), 0.0, 0.0, False),
    ((0.9, 0.1, 0.1), 0.0, 0.0, True),  # busy before the workers started
    ((0.1, 0.1, 0.1), 0.3, 0.0, True),  # other processes took 0.3 core during the rounds
    ((0.1, 0.1, 0.1), 0.0, 0.3, True),  # the hypervisor stole 0.3 core
])
def test_the_report_warns_when_the_machine_was_not_idle(load_before, other, steal, warns):
    fast = side('project-fast', [[10], [10], [10]], other=other, steal=steal)
    assert bool(benchmark.idle_warnings(load_before, load_before, [fast], None)) == warns
    text = benchmark.report(ARGS, MACHINE, [fast], {}, None, [], load_before, load_before)
    assert ('WARNING' in text) == warns


def test_other_load_is_the_machine_minus_the_benchmarks_own_processes(monkeypatch):
    """Over 2 s of wall time the machine was busy 3 CPU-seconds, 1.8 of them the
    benchmark's own (workers, itself, finished children): other work took 0.6 core."""
    readings = {'machine': [(100.0, 5.0), (103.0, 5.2)], 'ours': [10.0, 11.5],
                'children': [1.0, 1.3], 'clock': [50.0, 52.0]}
    monkeypatch.setattr(benchmark, 'machine_cpu_seconds', lambda: readings['machine'].pop(0))
    monkeypatch.setattr(benchmark, 'process_cpu_seconds', lambda pids: readings['ours'].pop(0))
    monkeypatch.setattr(benchmark, 'children_cpu_seconds', lambda: readings['children'].pop(0))
    monkeypatch.setattr(benchmark.time, 'perf_counter', lambda: readings['clock'].pop(0))
    other, steal = benchmark.OtherLoad([123]).cores()
    assert other == pytest.approx(0.6)
    assert steal == pytest.approx(0.1)


def test_the_proc_readings_are_cpu_seconds():
    machine = benchmark.machine_cpu_seconds()
    if machine is None:
        pytest.skip('no /proc/stat here')
    deadline = benchmark.time.perf_counter() + 0.2
    while benchmark.time.perf_counter() < deadline:  # busy: this process's CPU time grows
        pass
    ours = benchmark.process_cpu_seconds([os.getpid()])
    assert 0 < ours <= benchmark.machine_cpu_seconds()[0]
    assert machine[0] > 0 and machine[1] >= 0


def test_max_isa_limits_every_side_and_the_report_says_so(monkeypatch):
    """--max-isa avx2 sets the math libraries' limits before anything is measured (the
    workers and whole runs inherit the environment), and the report's header names them."""
    monkeypatch.setattr(os, 'environ', {k: v for k, v in os.environ.items()
                                        if k not in benchmark.ISA_VARIABLES})
    seen = {}

    def measure_steps(args, tmpdir, notes):
        seen.update(os.environ)
        return [], {}
    monkeypatch.setattr(benchmark, 'measure_steps', measure_steps)
    with pytest.raises(SystemExit):
        benchmark.main(['--max-isa', 'avx2', '--quick'])
    assert {k: seen.get(k) for k in benchmark.ISA_VARIABLES} == {
        'ATEN_CPU_CAPABILITY': 'avx2', 'DNNL_MAX_CPU_ISA': 'AVX2', 'MKL_ENABLE_INSTRUCTIONS': 'AVX2',
        'ONEDNN_MAX_CPU_ISA': 'AVX2', 'OPENBLAS_CORETYPE': 'Haswell'}
    fast = side('project-fast', [[10], [10], [10]])
    machine = benchmark.machine_info()
    text = benchmark.report(ARGS, machine, [fast], {}, None, [], (0.0,) * 3, (0.0,) * 3)
    assert ('- instruction sets limited (another CPU emulated on this one): ATEN_CPU_CAPABILITY=avx2, '
            'DNNL_MAX_CPU_ISA=AVX2, MKL_ENABLE_INSTRUCTIONS=AVX2, ONEDNN_MAX_CPU_ISA=AVX2, '
            'OPENBLAS_CORETYPE=Haswell') in text.splitlines()
    os.environ.clear()
    machine = benchmark.machine_info()
    text = benchmark.report(ARGS, machine, [fast], {}, None, [], (0.0,) * 3, (0.0,) * 3)
    assert 'instruction sets limited' not in text

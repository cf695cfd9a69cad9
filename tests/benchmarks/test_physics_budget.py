"""``benchmarks/physics_budget.py``: percentiles, suggested sizes, a CPU run that overflows on purpose, input errors."""

import importlib
import subprocess

import numpy as np
import pytest
from bench_script import navila_bench
from mujoco_warp import OverflowType


@pytest.fixture(scope="module")
def budget_module():
    return importlib.import_module("navila_benchmarks.physics_budget")


def run_script(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return navila_bench("physics_budget", *args, timeout=timeout)


def make_budget(module, histogram: dict[int, int], **fields):
    bins = [0] * module.HISTOGRAM_BINS
    for rows, count in histogram.items():
        bins[rows] = count
    values = dict(samples=10, num_worlds=4, njmax=100, nconmax=20, nefc_max=max(histogram), contacts_max=9,
                  pool_max=30, pool_mean=25.0)  # fmt: skip
    no_overflow = module.Overflow(0)
    return module.Budget(nefc_histogram=bins, overflow=no_overflow, overflow_before=no_overflow, **(values | fields))


class TestBudget:
    def test_overflow_counts_worlds_and_each_bit(self, budget_module):
        flags = np.array([0, OverflowType.NEFC, OverflowType.NEFC | OverflowType.ITERATIONS, 0], dtype=np.int32)
        overflow = budget_module.Overflow.of(flags)
        assert (overflow.worlds, overflow.kinds) == (2, {"NEFC": 2, "ITERATIONS": 1})
        assert str(overflow) == "2 (NEFC 2, ITERATIONS 1)"
        assert str(budget_module.Overflow.of(np.zeros(4, dtype=np.int32))) == "0"

    def test_percentiles_read_the_histogram_and_p100_is_the_exact_maximum(self, budget_module):
        budget = make_budget(budget_module, {12: 90, 28: 9, 44: 1})
        assert [budget.nefc_percentile(q) for q in (50.0, 90.0, 99.0, 99.5)] == [12, 12, 28, 44]
        assert budget.nefc_percentile(100.0) == 44

    def test_suggested_sizes_hold_the_largest_sample_with_the_margin_rounded_up_to_five(self, budget_module):
        budget = make_budget(budget_module, {12: 1, 60: 1}, pool_max=42, num_worlds=4)
        assert budget.suggested(1.25) == (75, 15)  # 60 × 1.25 = 75; 42 × 1.25 / 4 = 13.1 → 15
        assert budget.suggested(1.0) == (60, 15)


@pytest.mark.sim
def test_cpu_run_samples_every_substep_and_reports_overflow(tmp_path):
    """Four robots on CPU with room for 12 constraint rows per world: a standing Go2's four foot contacts alone need 16
    (pyramidal cones), so the probe must see more rows than allocated and MuJoCo-Warp's overflow flags, both in the
    sampled steps and in the warm-up before the probe attached."""
    results = tmp_path / "budget.md"
    done = run_script("--task", "blind", "--num_envs", "4", "--steps", "3", "--njmax", "12", "--results", str(results),
                      timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = results.read_text()
    assert text.startswith("# Physics buffer budget")
    assert "NaVILA-Go2-Rough-Blind · 4 envs · 3 steps · random actions" in text
    assert "Buffers in effect: njmax 12, nconmax 20; 24 physics-step samples." in text  # 3 steps × 4 × 2 substeps
    rows = text.split("| rows | ")[1].split("\n")[0].rstrip(" |").split(" | ")
    assert int(rows[-1]) > 12, "nefc counts the rows asked for, past njmax"
    overflowing = text.split("Worlds with an overflow flag: ")[1].split(";")[0]
    assert int(overflowing.split()[0]) > 0 and "NEFC" in overflowing, "the flags must say the rows ran out"
    before = text.split("raised before sampling (spawn, resets, warm-up): ")[1].split(".")[0]
    assert int(before.split()[0]) > 0 and "NEFC" in before, "the warm-up steps overflow too, and are counted apart"


class TestInputErrors:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--actions", "policy"], "--actions policy needs --policy DIR"),
            (["--profile", "3"], "--profile times CUDA kernels"),
            (["--trace", "t.json"], "--trace records the --profile steps"),
            (["--task", "nope"], "unknown task 'nope'"),
        ],
    )
    def test_one_line_error_and_exit_code_2(self, args, message):
        done = run_script(*args)
        assert done.returncode == 2
        assert message in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1

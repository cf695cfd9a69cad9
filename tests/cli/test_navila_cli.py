"""The ``navila`` dispatcher: every subcommand is found by its name, and mistakes are one line."""

import importlib
import subprocess
import sys

import pytest
from navila_benchmarks import benchmarks
from navila_cli import SUBCOMMANDS, command_module


def navila(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "navila_cli", *args], capture_output=True, text=True, timeout=300)


class TestDispatch:
    @pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
    def test_subcommand_module_has_main(self, name):
        """`navila NAME` runs `main` of `<owner>.commands.<name>` (bench: the benchmarks package)."""
        module = importlib.import_module(command_module(name))
        assert callable(module.main)
        assert module.__name__.startswith(SUBCOMMANDS[name][0])
        if name != "bench":
            assert module.__name__.rsplit(".", 1)[-1] == name.replace("-", "_")

    def test_unknown_command_is_one_line(self):
        """An unknown subcommand lists the known ones in one stderr line, exit code 2."""
        result = navila("fly")
        assert result.returncode == 2
        assert result.stderr.strip().count("\n") == 0 and "vln-episodes" in result.stderr


class TestBench:
    def test_lists_the_user_benchmarks(self):
        """`navila bench` lists every benchmark script (not the shared helpers) with its one-line summary."""
        names = set(benchmarks())
        expected = {"throughput", "vln_results", "time_to_walk", "sim2sim_walk", "sim2real_latency", "physics_budget"}
        assert expected | {"multi_gpu_scaling"} <= names
        assert "step_timing" not in names
        result = navila("bench")
        assert result.returncode == 0 and all(name in result.stdout for name in expected)

    def test_unknown_benchmark_is_one_line(self):
        """A misspelt benchmark is a one-line error naming the choices."""
        result = navila("bench", "thruput")
        assert result.returncode == 2 and "unknown benchmark 'thruput'" in result.stderr
        assert "Traceback" not in result.stderr

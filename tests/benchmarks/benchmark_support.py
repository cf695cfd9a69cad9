"""Helpers for the tests of the scripts in ``benchmarks/``: import one as a module, or run it."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` under the module name ``name``."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def run_benchmark(name: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run ``benchmarks/<name>.py`` with ``args``, capturing its output."""
    command = [sys.executable, str(BENCHMARKS / f"{name}.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

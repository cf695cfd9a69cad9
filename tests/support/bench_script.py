"""Run a script of ``benchmarks/`` as users do (``navila bench NAME ...``), capturing its output."""

import subprocess
import sys


def navila_bench(name: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run ``navila bench <name> <args>`` in a fresh interpreter."""
    command = [sys.executable, "-m", "navila_cli", "bench", name, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

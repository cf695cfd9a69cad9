"""Where a result comes from: date, commit and device, written by every results file of the project."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
"""The checkout this package runs from (its commit is the one results are stamped with)."""


def device_name(device: str) -> str:
    """GPU name for CUDA devices, CPU model and core count otherwise."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ({os.cpu_count()} cores)"


def git_commit() -> str:
    """Short commit of the working tree (``+dirty`` when tracked files differ); ``NAVILA_GIT_COMMIT`` overrides."""
    if os.environ.get("NAVILA_GIT_COMMIT"):
        return os.environ["NAVILA_GIT_COMMIT"]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=REPO_ROOT, capture_output=True).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def utc_now() -> str:
    """The current UTC time as results files write it."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def stamp(device: str) -> dict[str, str]:
    """Date (UTC), commit and device name of a run."""
    return {"date": utc_now(), "commit": git_commit(), "device": device_name(device)}


def run_heading(device: str, command: str) -> str:
    """Heading of one run's section in a results file: date, commit, device, then the command that made it."""
    facts = stamp(device)
    return f"\n## {facts['date']}, tree `{facts['commit']}`, {facts['device']}\n\n`{command}`"


def append_markdown(path: str | Path, header: str, text: str) -> None:
    """Append ``text`` to a markdown results file, creating it with ``header`` first."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.stat().st_size == 0:
        target.write_text(header)
    with target.open("a") as file:
        file.write(text)

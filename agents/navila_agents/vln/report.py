"""Results of VLN runs on disk: per-episode JSON and a summary per run, and a markdown table over several runs.

A run directory holds ``episodes.json`` (one object per episode, see :meth:`EpisodeResult.to_dict`) and
``summary.json`` (``label``, ``metrics`` of :func:`~navila_agents.vln.metrics.aggregate`, ``end_reasons`` and the
``config`` the run was made with).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from navila_agents.vln.metrics import SUCCESS_RADIUS, aggregate, format_table
from navila_agents.vln.runner import EpisodeResult

EPISODES_FILE = "episodes.json"
SUMMARY_FILE = "summary.json"


def write_run(
    out_dir: str | Path, label: str, results: Sequence[EpisodeResult], config: dict, radius: float = SUCCESS_RADIUS
) -> dict:
    """Write ``episodes.json`` and ``summary.json`` into ``out_dir``; return the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EPISODES_FILE).write_text(json.dumps([result.to_dict(radius) for result in results], indent=1))
    summary = {
        "label": label,
        "metrics": aggregate([result.record for result in results], radius),
        "end_reasons": dict(Counter(str(result.end_reason) for result in results)),
        "config": config,
    }
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    return summary


def load_summary(run_dir: str | Path) -> dict:
    """Read a run's ``summary.json``."""
    path = Path(run_dir) / SUMMARY_FILE
    if not path.is_file():
        raise ValueError(f"{run_dir}: no {SUMMARY_FILE} (not a navila vln output directory)")
    return json.loads(path.read_text())


def markdown_report(run_dirs: Sequence[str | Path], title: str = "VLN results") -> str:
    """Markdown with one table row per run (NE in m; OS, SR, SPL in %), then how each run ended and was made."""
    summaries = [load_summary(run_dir) for run_dir in run_dirs]
    lines = [f"# {title}", "", format_table({s["label"]: s["metrics"] for s in summaries}), ""]
    lines += ["| method | episodes ended by |", "|---|---|"]
    lines += [
        f"| {s['label']} | " + ", ".join(f"{k} {v}" for k, v in sorted(s["end_reasons"].items())) + " |"
        for s in summaries
    ]
    lines += ["", "Runs:", ""]
    for s in summaries:
        settings = ", ".join(f"{key}={value}" for key, value in s["config"].items())
        lines.append(f"- **{s['label']}**: {settings}")
    return "\n".join(lines) + "\n"

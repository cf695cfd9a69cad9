"""Results of VLN runs on disk: per-episode JSON and a summary per run, and a markdown table over several runs.

A run directory holds ``episodes.json`` (one object per episode, see :meth:`EpisodeResult.to_dict`) and
``summary.json`` (``label``, ``metrics`` of :func:`~navila_agents.vln.metrics.aggregate`, ``end_reasons``,
``fall_causes`` (falls per :attr:`EpisodeResult.fall_cause`) and the ``config`` the run was made with). Older runs lack
``fall_causes`` and the episodes' ``fall_cause``: their falls are reported without causes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from navila_tasks.vln.episodes import SUCCESS_RADIUS

from navila_agents.vln.metrics import aggregate, format_table
from navila_agents.vln.rollout import EpisodeResult

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
        "fall_causes": dict(Counter(result.fall_cause for result in results if result.fall_cause is not None)),
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


def _end_reasons(summary: dict) -> str:
    """How a run's episodes ended, e.g. ``fall 3 (head_contact 2, calf_contact 1), stop 7``."""
    by_count = sorted(summary.get("fall_causes", {}).items(), key=lambda item: (-item[1], item[0]))
    causes = ", ".join(f"{cause} {count}" for cause, count in by_count)
    return ", ".join(
        f"{reason} {count}" + (f" ({causes})" if reason == "fall" and causes else "")
        for reason, count in sorted(summary["end_reasons"].items())
    )


THROUGHPUT_KEYS = ("num_envs", "camera", "device", "loop_time_s", "episodes_per_hour")
"""Settings of ``summary.json`` the throughput table shows (runs made before they were recorded have none)."""


def throughput_table(summaries: Sequence[dict]) -> list[str]:
    """Markdown lines: episodes in parallel, camera size, device, loop time and episodes per hour of each run."""
    rows = [s for s in summaries if all(key in s["config"] for key in THROUGHPUT_KEYS)]
    if not rows:
        return []
    lines = ["| method | envs in parallel | camera | device | episodes | loop time (s) | episodes/hour |"]
    lines.append("|---|---|---|---|---|---|---|")
    for s in rows:
        c = s["config"]
        cells = (c["num_envs"], c["camera"], c["device"], s["metrics"]["episodes"], c["loop_time_s"])
        lines.append(f"| {s['label']} | " + " | ".join(map(str, cells)) + f" | {c['episodes_per_hour']:.0f} |")
    return [*lines, ""]


def markdown_report(run_dirs: Sequence[str | Path], title: str = "VLN results", header: str = "") -> str:
    """Markdown: a table row per run (NE in m; OS, SR, SPL in %), its throughput, how it ended and was made.

    ``header`` (e.g. device, date, commit and command) goes under the title.
    """
    summaries = [load_summary(run_dir) for run_dir in run_dirs]
    lines = [f"# {title}", "", *([header, ""] if header else [])]
    lines += [format_table({s["label"]: s["metrics"] for s in summaries}), ""]
    lines += throughput_table(summaries)
    lines += ["| method | episodes ended by |", "|---|---|"]
    lines += [f"| {s['label']} | {_end_reasons(s)} |" for s in summaries]
    lines += ["", "Runs:", ""]
    for s in summaries:
        settings = ", ".join(f"{key}={value}" for key, value in s["config"].items())
        lines.append(f"- **{s['label']}**: {settings}")
    return "\n".join(lines) + "\n"

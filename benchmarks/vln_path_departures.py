"""Probe: where VLN episodes leave their reference path — the way lost, or a stop short on it.

For every episode of the given runs (folders or ``episodes.json`` files of ``navila vln --out``, ``navila bench
vln_results`` or ``vla_results``) it follows the recorded positions (one per query, and the end) along the episode's
reference path (``--episodes``, the set's episode file: matched by episode id): a position farther than
``--off-path`` from the path has **left the way**; progress is the arc length, as a share of the path's length, of
the path point nearest the last position still on the way. Each run's failures split into those that left the way
(and how far along), those that stopped on it short of the goal, and the rest (step limit, no progress, fall) on it.
Runs side by side on one set tell which of the two a new model changed (the 2026-12-07 18:39 reading of
``results/vla.md``: the shipped VLA loses its way at the path's first bends).

usage: python benchmarks/vln_path_departures.py --episodes DATA/episodes/test_clear.json.gz RUN [RUN ...]
(appends to results/vln_paths.md)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from navila_lab.errors import UserError, run_command
from navila_lab.provenance import append_markdown, run_heading
from navila_tasks.vln.episodes import load_episodes

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "vln_paths.md"
HEADER = "# Where VLN episodes leave their reference path (`benchmarks/vln_path_departures.py`)\n"
OFF_PATH = 1.5
"""Distance (m) from the reference path beyond which a position has left the way."""


def progress_along(path: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each point's distance to the polyline ``path`` (N×2), and the nearest path point's share of the path's length."""
    starts, ends = path[:-1], path[1:]
    segments = ends - starts
    lengths = np.linalg.norm(segments, axis=1)
    before = np.concatenate([[0.0], np.cumsum(lengths)])[:-1]
    total = max(float(lengths.sum()), 1e-9)
    along = np.einsum("psd,sd->ps", points[:, None] - starts[None], segments) / np.maximum(lengths**2, 1e-12)
    along = np.clip(along, 0.0, 1.0)
    nearest = starts[None] + along[..., None] * segments[None]
    distances = np.linalg.norm(points[:, None] - nearest, axis=2)
    best = distances.argmin(axis=1)
    rows = np.arange(len(points))
    return distances[rows, best], (before[best] + along[rows, best] * lengths[best]) / total


def departure(episode: dict, reference: np.ndarray, off_path: float) -> dict:
    """Where one episode left its reference path (None: it never did) and its progress along it by then."""
    points = np.asarray(episode["path"], dtype=float).reshape(-1, 2)
    distances, progress = progress_along(reference, points)
    off = np.flatnonzero(distances > off_path)
    on_way = progress[: off[0]] if len(off) else progress
    return {
        "success": bool(episode["success"]),
        "end_reason": episode["end_reason"],
        "left": bool(len(off)),
        "progress": float(on_way.max()) if len(on_way) else 0.0,
    }


def run_records(run: Path, references: dict, off_path: float) -> list[dict]:
    """The departure record of every episode of one run."""
    file = run / "episodes.json" if run.is_dir() else run
    if not file.is_file():
        raise UserError(f"'{run}' is neither a run folder with episodes.json nor an episodes.json file")
    episodes = json.loads(file.read_text())
    unknown = sorted({str(e["episode_id"]) for e in episodes} - set(references))
    if unknown:
        raise UserError(f"'{file}': episodes {', '.join(unknown[:5])} are not in --episodes (another set?)")
    return [departure(e, references[str(e["episode_id"])], off_path) for e in episodes]


def quartiles(values: list[float]) -> str:
    """'median (q1–q3)' in percent, or '—' for none."""
    if not values:
        return "—"
    q1, median, q3 = np.percentile(np.asarray(values) * 100, [25, 50, 75])
    return f"{median:.0f}% ({q1:.0f}–{q3:.0f})"


def table_row(name: str, records: list[dict]) -> str:
    """One run's row: episodes, successes, failures that left the way / stopped on it / ended otherwise on it."""
    failures = [r for r in records if not r["success"]]
    left = [r["progress"] for r in failures if r["left"]]
    stopped = [r["progress"] for r in failures if not r["left"] and r["end_reason"] == "stop"]
    other = sum(not r["left"] and r["end_reason"] != "stop" for r in failures)
    cells = [name, len(records), len(records) - len(failures), len(failures)]
    cells += [len(left), quartiles(left), len(stopped), quartiles(stopped), other]
    return "| " + " | ".join(map(str, cells)) + " |"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="run folders (or their episodes.json) of one set")
    parser.add_argument("--episodes", type=Path, required=True, help="the set's episode file (reference paths)")
    parser.add_argument("--off-path", type=float, default=OFF_PATH, help="m from the path at which the way is lost")
    parser.add_argument("--report", type=Path, default=RESULTS, help="markdown file to append to")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Print and append one table: a row per run."""
    args = parse_args(argv)
    try:
        episodes = load_episodes(args.episodes)
    except (OSError, ValueError) as error:
        raise UserError(f"--episodes: {error}") from error
    references = {str(e.episode_id): np.asarray(e.reference_path, dtype=float)[:, :2] for e in episodes}
    rows = [table_row(str(run), run_records(run, references, args.off_path)) for run in args.runs]
    text = "\n".join(
        [
            run_heading("cpu", " ".join(["python benchmarks/vln_path_departures.py", *argv])),
            "",
            f"Failures that **left the way** (a recorded position more than {args.off_path} m from the reference "
            "path) and those that **stopped on it** short of the goal, with the progress along the path (median, "
            'quartiles) of the last position on the way; "other": step limit, no progress or fall on the way.',
            "",
            "| run | episodes | successes | failures | left the way | progress when it left | stopped on the way "
            "| progress at the stop | other |",
            "|---|---:|---:|---:|---:|---|---:|---|---:|",
            *rows,
            "",
        ]
    )
    append_markdown(args.report, HEADER, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vln_path_departures.py"))

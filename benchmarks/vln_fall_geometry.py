"""Probe: what a robot met when a VLN episode ended in a fall — a wall's face, or a corner (a wall's end, a jamb).

For every fallen episode of the given ``episodes.json`` files (``navila vln --out``, ``navila bench vln_results`` or
``vla_results``; procedural scenes only, regenerated from their ids) it finds the obstacle box nearest to the last
recorded position and where on its footprint the nearest point lies: at a **corner** (a wall's end, a door jamb, a
furniture edge: what a robot passing beside it meets with a hip) or on a **face**. It gives that point's distance
ahead of and beside the robot along its last move (the last two recorded positions; "—" when it did not move) and
the episode's last answer and fall cause. The summary counts falls by last action (move forward / turn / other) and
corner or face: the class the next locomotion recipe has to remove, and the probe to measure it on
(``benchmarks/pane_edge_probe.py`` for corners beside the path, ``benchmarks/wall_turn_probe.py`` for turns).

usage: python benchmarks/vln_fall_geometry.py EPISODES_JSON [EPISODES_JSON ...]   (appends to results/vln_falls.md)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from navila_lab.errors import UserError, run_command
from navila_lab.provenance import append_markdown, run_heading
from navila_tasks.vln.scenes import Box, Scene, scene_from_id

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "vln_falls.md"
HEADER = "# What the robot met when VLN episodes ended in falls (`benchmarks/vln_fall_geometry.py`)\n"
CORNER_TOLERANCE = 0.02
"""Distance (m) from a footprint corner within which the nearest point counts as the corner."""
MOVED = 0.02
"""Distance (m) between the last two recorded positions below which the robot counts as not having moved."""


def nearest_obstacle(scene: Scene, xy: np.ndarray) -> tuple[Box, np.ndarray]:
    """The obstacle box (not the floor) nearest to ``xy`` and the nearest point of its footprint."""
    best: tuple[float, Box, np.ndarray] | None = None
    for box in scene.obstacles():
        x_min, y_min, x_max, y_max = box.footprint
        point = np.clip(xy, (x_min, y_min), (x_max, y_max))
        distance = float(np.linalg.norm(point - xy))
        if best is None or distance < best[0]:
            best = (distance, box, point)
    if best is None:
        raise UserError(f"scene {scene.scene_id} has no obstacles")
    return best[1], best[2]


def is_corner(box: Box, point: np.ndarray) -> bool:
    """Whether ``point`` (on the footprint's boundary) is within :data:`CORNER_TOLERANCE` of a corner."""
    x_min, y_min, x_max, y_max = box.footprint
    corners = np.array([(x_min, y_min), (x_min, y_max), (x_max, y_min), (x_max, y_max)])
    return bool(np.linalg.norm(corners - point, axis=1).min() <= CORNER_TOLERANCE)


def action_kind(answer: str) -> str:
    """``forward``, ``turn`` or ``other`` for an answer of the action grammar."""
    words = answer.split()
    if words[:2] == ["move", "forward"]:
        return "forward"
    return "turn" if words[:1] == ["turn"] else "other"


def fall_record(episode: dict, scene: Scene) -> dict:
    """Where the fallen ``episode``'s robot was against the nearest obstacle at its last recorded position."""
    path = np.asarray(episode["path"], dtype=float)[:, :2]
    box, point = nearest_obstacle(scene, path[-1])
    step = path[-1] - path[-2] if len(path) > 1 else np.zeros(2)
    offset = point - path[-1]
    ahead = beside = None
    if np.linalg.norm(step) >= MOVED:
        heading = step / np.linalg.norm(step)
        ahead = float(offset @ heading)
        beside = float(heading[0] * offset[1] - heading[1] * offset[0])
    answer = (episode.get("answers") or [""])[-1]
    return {
        "episode": episode["episode_id"],
        "box": box.name,
        "kind": str(box.kind),
        "corner": is_corner(box, point),
        "distance": float(np.linalg.norm(offset)),
        "ahead": ahead,
        "beside": beside,
        "answer": answer,
        "action": action_kind(answer),
        "cause": episode.get("fall_cause") or "",
    }


def falls_of(path: Path) -> list[dict]:
    """The records of the fallen episodes of one ``episodes.json``."""
    try:
        episodes = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"cannot read episodes '{path}': {error}") from None
    records = []
    for episode in episodes:
        if not episode.get("falls"):
            continue
        try:
            scene = scene_from_id(episode["scene_id"])
        except ValueError as error:
            raise UserError(f"{path}: {error}") from None
        records.append(fall_record(episode, scene))
    return records


def table(name: str, records: list[dict]) -> str:
    """One row per fall, then the counts by last action and corner or face."""

    def number(value: float | None) -> str:
        return "—" if value is None else f"{value:+.2f}"

    lines = [
        f"**{name}**: {len(records)} falls\n",
        "| episode | last answer | fall cause | nearest obstacle | corner | distance (m) | ahead / beside (m) |",
        "|---:|---|---|---|---|---:|---:|",
    ]
    for row in records:
        lines.append(
            f"| {row['episode']} | {row['answer']} | {row['cause']} | {row['box']} ({row['kind']}) "
            f"| {'corner' if row['corner'] else 'face'} | {row['distance']:.2f} "
            f"| {number(row['ahead'])} / {number(row['beside'])} |"
        )
    counts = Counter((row["action"], "corner" if row["corner"] else "face") for row in records)
    summary = ", ".join(f"{action} at a {where}: {count}" for (action, where), count in sorted(counts.items()))
    return "\n".join(lines) + f"\n\nBy last action and where: {summary or 'no falls'}.\n"


def main(argv: list[str]) -> int:
    """Classify the falls of each file, print the tables and append them to results/vln_falls.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("episodes", type=Path, nargs="+", help="episodes.json files of VLN runs")
    args = parser.parse_args(argv)
    sections = [table(str(path), falls_of(path)) for path in args.episodes]
    heading = run_heading("cpu", " ".join(["python benchmarks/vln_fall_geometry.py", *argv]))
    text = f"{heading}\n\n" + "\n".join(sections)
    print(text)
    append_markdown(RESULTS, HEADER, text)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vln_fall_geometry.py"))

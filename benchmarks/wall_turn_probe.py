"""Probe: whether a policy touches a wall beside it while turning in place, one it meets at an angle, or a wall's end.

Three cases from the VLA's falls over the LiDAR policy (``results/vla.md``), one flat tile per distance or angle, the
policy alone (``--governor`` caps the commands as ``navila vln --governor`` does):

- ``turn``: a wall 2 m long parallel to the robot, on its left, its near face ``gap`` m from the base; the robot turns
  in place at ``--yaw-rate`` (default: the command layer's turn rate, to the right, away from the wall, which swings
  the rear legs towards it; a positive rate turns towards it). ``--bearing`` puts the wall elsewhere around the base,
  facing it (0: across the path ahead, the legs sweeping past it).
- ``oblique``: a wall 3 m long whose near face crosses the robot's path ``--face`` m ahead at ``angle`` degrees to the
  path (90: head-on); the robot walks forward at ``--speed``.
- ``corner``: a wall 2 m long ending ``--face`` m ahead and ``--offset`` m left of the path, running off to the left at
  ``angle`` degrees to the path (a wall's end or a door jamb passed close, the VLN walking falls of
  ``results/vln_falls.md``); the robot walks forward at ``--speed``.

Per tile: the wall contacts of any body, feet included (the first contact's body and the degrees turned before it;
every body touching; the peak force), where the robot ended and its last-second speed. A safe policy touches nothing.

usage: python benchmarks/wall_turn_probe.py turn [--gaps 0.3 0.4 0.5] [--yaw-rate -0.52]
       python benchmarks/wall_turn_probe.py oblique [--angles 30 45 60 90] [--speed 0.5]
       python benchmarks/wall_turn_probe.py corner [--angles 45 90 135] [--offset 0.15]
       (each appends a table to results/wall_turn.md)
"""

from __future__ import annotations

import argparse
import math
import sys
from functools import partial
from pathlib import Path

import trimesh
from navila_agents.vla.executor import ExecutorCfg
from navila_benchmarks import pane_edge_probe
from navila_lab.errors import run_command
from navila_lab.provenance import append_markdown, run_heading
from navila_lab.terrains.flat import FlatSlabTerrainCfg, flat_slab_terrain
from navila_lab.terrains.walls import OBSTACLES, tag_wall

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "wall_turn.md"
HEADER = "# Walls beside a turning robot and walls met at an angle (`benchmarks/wall_turn_probe.py`)\n"
BESIDE_LENGTH = 2.0
"""Length (m) of the wall beside the robot, centered on it."""
OBLIQUE_LENGTH = 3.0
"""Length (m) of the wall met at an angle, centered on the robot's path."""
CORNER_LENGTH = 2.0
"""Length (m) of the wall whose end the robot passes."""


def wall_box(kind: str, length: float, thickness: float | None = None) -> trimesh.Trimesh:
    """A wall of ``kind`` (obstacle box or glass pane) ``length`` m long along y, its near face at x = 0.

    ``thickness``: its depth along x (default: 0.4 m for a box, 0.02 m for a pane; the VLN scenes' walls are 0.1 m).
    """
    depth, height = (0.4, 0.5) if kind == OBSTACLES else (0.02, 1.0)
    depth = depth if thickness is None else thickness
    wall = trimesh.creation.box((depth, length, height))
    wall.apply_translation((0.5 * depth, 0.0, 0.5 * height))
    return wall


def beside_tile(
    difficulty: float,
    cfg: FlatSlabTerrainCfg,
    kind: str,
    gap: float,
    thickness: float | None = None,
    bearing: float = 90.0,
) -> tuple:
    """Flat tile with a wall facing the tile's center ``gap`` m from it, at ``bearing`` degrees left of +x.

    90 (default): a wall along +x on the robot's left; 0: a wall across its path ahead.
    """
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    wall = wall_box(kind, BESIDE_LENGTH, thickness)
    wall.apply_translation((gap, 0.0, 0.0))
    wall.apply_transform(trimesh.transformations.rotation_matrix(math.radians(bearing), (0.0, 0.0, 1.0)))
    wall.apply_translation((origin[0], origin[1], 0.0))
    return [*meshes, tag_wall(wall, kind)], origin


def oblique_tile(
    difficulty: float, cfg: FlatSlabTerrainCfg, kind: str, face: float, angle: float, thickness: float | None = None
) -> tuple:
    """Flat tile with a wall whose near face crosses the +x path ``face`` m ahead at ``angle`` degrees to it."""
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    wall = wall_box(kind, OBLIQUE_LENGTH, thickness)
    wall.apply_transform(trimesh.transformations.rotation_matrix(math.radians(90.0 - angle), (0.0, 0.0, 1.0)))
    wall.apply_translation((origin[0] + face, origin[1], 0.0))
    return [*meshes, tag_wall(wall, kind)], origin


def corner_tile(
    difficulty: float,
    cfg: FlatSlabTerrainCfg,
    kind: str,
    face: float,
    offset: float,
    angle: float,
    thickness: float | None = None,
) -> tuple:
    """Flat tile with a wall ending ``face`` m ahead and ``offset`` m left of the +x path, running off to the left.

    At ``angle`` degrees to the path: 90 across it, as a door jamb met head-on; 45 ahead-left; 135 back-left.
    """
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    wall = wall_box(kind, CORNER_LENGTH, thickness)
    wall.apply_translation((0.0, 0.5 * CORNER_LENGTH, 0.0))
    wall.apply_transform(trimesh.transformations.rotation_matrix(math.radians(angle - 90.0), (0.0, 0.0, 1.0)))
    wall.apply_translation((origin[0] + face, origin[1] + offset, 0.0))
    return [*meshes, tag_wall(wall, kind)], origin


def tiles(args: argparse.Namespace) -> dict[str, pane_edge_probe.TileFunction]:
    """The case's tiles, one per gap or angle."""
    if args.case == "turn":
        where = "" if args.bearing == 90.0 else f" at {args.bearing:.0f}°"
        return {
            f"gap {gap:.2f} m{where}": partial(
                beside_tile, kind=args.kind, gap=gap, thickness=args.thickness, bearing=args.bearing
            )
            for gap in args.gaps
        }
    if args.case == "corner":
        return {
            f"corner {angle:.0f}° at {args.offset:.2f} m": partial(
                corner_tile, kind=args.kind, face=args.face, offset=args.offset, angle=angle, thickness=args.thickness
            )
            for angle in args.angles
        }
    return {
        f"angle {angle:.0f}°": partial(
            oblique_tile, kind=args.kind, face=args.face, angle=angle, thickness=args.thickness
        )
        for angle in args.angles
    }


def table(rows: list[dict]) -> str:
    """Markdown table, one row per tile."""
    lines = [
        "| tile | turned (°) | final x, y (m) | last-second speed (m/s) | first contact (body, after ° turned) "
        "| bodies touching | peak force (N) |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for row in rows:
        first = row["first"]
        contact = f"{first['body']} after {first['turned']:.0f}°" if first else "none"
        lines.append(
            f"| {row['tile']} | {row['turned']:.0f} | {row['final_x']:.2f}, {row['drift']:+.2f} "
            f"| {row['final_speed']:.2f} | {contact} | {', '.join(row['touched']) or 'none'} "
            f"| {row['peak_force']:.0f} |"
        )
    return "\n".join(lines)


def map_blocks(rows: list[dict]) -> str:
    """Each tile's height maps as text: one line per row from the far edge ahead to behind, depth × 20 per cell."""
    blocks = []
    for row in rows:
        for mark, depth in sorted(row["maps"].items()):
            cells = "\n".join(" ".join(f"{round(20 * value):2d}" for value in line) for line in depth.tolist())
            blocks.append(f"{row['tile']}, base {mark:.2f} m forward:\n\n```\n{cells}\n```")
    return "\n\n".join(blocks)


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line: the case and its tiles, the policy, the wall kind and the walk."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=("turn", "oblique", "corner"))
    pane_edge_probe.add_wall_args(parser, face=1.5)
    parser.add_argument("--gaps", type=float, nargs="+", default=[0.3, 0.35, 0.4, 0.45, 0.5, 0.6])
    parser.add_argument(
        "--bearing", type=float, default=90.0, help="turn case: the wall's bearing, degrees left of ahead (90: beside)"
    )
    parser.add_argument("--yaw-rate", type=float, default=-ExecutorCfg.turn_rate, help="turn case's command (rad/s)")
    parser.add_argument("--angles", type=float, nargs="+", default=[20.0, 30.0, 45.0, 60.0, 90.0])
    parser.add_argument("--thickness", type=float, default=None, help="wall depth (m; default: by --kind)")
    parser.add_argument("--offset", type=float, default=0.15, help="corner case: the wall's end left of the path (m)")
    parser.add_argument("--speed", type=float, default=ExecutorCfg.forward_speed, help="oblique case's command (m/s)")
    parser.add_argument("--steps", type=int, default=300, help="policy steps (50 per simulated second)")
    parser.add_argument("--governor", action="store_true", help="cap the commands with the height-map governor")
    parser.add_argument(
        "--show-map",
        type=float,
        nargs="+",
        default=[],
        metavar="X",
        help="also write each tile's height map when the base first passes X m forward",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the case, print the table and append it to results/wall_turn.md."""
    args = parse(argv)
    speed, yaw_rate = (0.0, args.yaw_rate) if args.case == "turn" else (args.speed, 0.0)
    rows = pane_edge_probe.walk(
        args.policy, tiles(args), speed, args.steps, yaw_rate, governor=args.governor, map_at=args.show_map
    )
    heading = run_heading("cpu", " ".join(["python benchmarks/wall_turn_probe.py", *argv]))
    command = f"turning in place at {yaw_rate:+.2f} rad/s" if args.case == "turn" else f"walking at {speed} m/s"
    governed = " behind the height-map governor" if args.governor else ""
    text = f"{heading}\n\n{args.policy.name}{governed}, {args.kind} walls, {command}.\n\n{table(rows)}\n"
    if args.show_map:
        text += "\nThe policy's height maps (depth below the sensor × 20: 0 is unseen or above the clip):\n\n"
        text += f"{map_blocks(rows)}\n"
    print(text)
    append_markdown(RESULTS, HEADER, text)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/wall_turn_probe.py"))

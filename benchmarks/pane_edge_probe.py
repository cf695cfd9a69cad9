"""Probe: which body of a policy touches a pane (or box) whose edge it walks past, at which lateral offsets.

One flat tile per offset: a wall 2 m wide across the robot's path, ``--face`` m ahead of the spawn, reaching from
``offset`` m left of the robot's centerline outwards (offset 0: the wall covers the left half of the path; −0.5: all
of it). The policy is commanded straight ahead at ``--speed`` for ``--steps`` steps; only the time-out ends an episode.
Per offset it reports where the robot ended, its last-second speed and lateral drift, its first non-trivial wall
contact (body, base position), every body that touched the wall, and what the task's ``wall_clearance`` reward term
(:func:`~navila_lab.mdp.safety.wall_clearance_penalty`, before its weight) charged over the walk. The glass-safe
target (``navila_lab.mdp.safety``) stops a robot whose footprint band (half width ``FOOTPRINT[1]``) meets the wall
and lets it pass otherwise.

usage: python benchmarks/pane_edge_probe.py [--policy policies/go2_rough_lidar] [--kind glass] [--speed 0.5]
       [--governor]
       (appends a table to results/pane_edge.md)
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import trimesh
from isaaclab.utils.math import wrap_to_pi
from navila_agents.locomotion import runtime
from navila_agents.locomotion.evaluation import end_on_time_out_only, fix_velocity_command, spawn_still
from navila_agents.locomotion.policy import host_height_map, load_policy, resolve_policy
from navila_lab.errors import run_command
from navila_lab.mdp.safety import FOOTPRINT, wall_clearance_penalty
from navila_lab.provenance import append_markdown, stamp
from navila_lab.terrains.flat import FlatSlabTerrainCfg, flat_slab_terrain
from navila_lab.terrains.generator import WallTerrainGeneratorCfg
from navila_lab.terrains.walls import GLASS, OBSTACLES, tag_wall

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnvCfg

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "pane_edge.md"
HEADER = "# A policy at a wall's edge (`benchmarks/pane_edge_probe.py`)\n"
CONTACT_FORCE = 1.0
"""Normal force (N) above which a body counts as touching the wall."""
TileFunction = Callable[[float, FlatSlabTerrainCfg], tuple]
"""A sub-terrain's mesh builder: (difficulty, cfg) -> (meshes, origin)."""


def edge_tile(difficulty: float, cfg: FlatSlabTerrainCfg, kind: str, face: float, offset: float) -> tuple:
    """Flat tile with a wall across +x at ``face``, from ``offset`` m left of the centerline to 2 m beyond."""
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    depth, height = (0.4, 0.5) if kind == OBSTACLES else (0.02, 1.0)
    wall = trimesh.creation.box((depth, 2.0, height))
    wall.apply_translation((origin[0] + face + 0.5 * depth, origin[1] + offset + 1.0, 0.5 * height))
    return [*meshes, tag_wall(wall, kind)], origin


def edge_tiles(kind: str, face: float, offsets: list[float]) -> dict[str, TileFunction]:
    """One wall-edge tile per lateral offset."""
    return {f"edge_{offset:.2f}": partial(edge_tile, kind=kind, face=face, offset=offset) for offset in offsets}


def configure(
    env_cfg: ManagerBasedRLEnvCfg,
    tiles: dict[str, TileFunction],
    speed: float,
    yaw_rate: float = 0.0,
    governor: bool = False,
) -> None:
    """One flat tile per entry of ``tiles``, robots at rest at the tile centers heading +x, a fixed command.

    ``governor``: the command capped by the robot-side height-map governor.
    """
    env_cfg.sim.device = "cpu"
    env_cfg.scene.num_envs = len(tiles)
    env_cfg.scene.terrain.terrain_generator = WallTerrainGeneratorCfg(
        size=(6.0, 6.0),
        border_width=1.0,
        num_rows=1,
        num_cols=len(tiles),
        curriculum=True,
        use_cache=False,
        sub_terrains={
            name: FlatSlabTerrainCfg(function=tile, proportion=1.0 / len(tiles), convert_to_heightfield=True)
            for name, tile in tiles.items()
        },
    )
    spawn_still(env_cfg)
    end_on_time_out_only(env_cfg)
    fix_velocity_command(env_cfg, (speed,), yaw_rate=yaw_rate)
    if governor:
        env_cfg.govern_commands()


def walk(
    policy_dir: Path,
    tiles: dict[str, TileFunction],
    speed: float,
    steps: int,
    yaw_rate: float = 0.0,
    governor: bool = False,
    map_at: Sequence[float] = (),
) -> list[dict]:
    """Roll the policy out on the tiles; one result per tile, in the order of ``tiles``.

    ``map_at``: forward distances (m) at whose first passing each tile's result keeps the policy's height map
    (``maps``: distance → (rows, cols) tensor, depths below the sensor as the actor reads them).
    """
    source = resolve_policy(str(policy_dir))
    env_cfg, agent_cfg = runtime.load_cfgs(source.task, [], play=True)
    host_height_map(source, env_cfg)
    configure(env_cfg, tiles, speed, yaw_rate, governor)
    agent_cfg.device = "cpu"
    with runtime.open_env(source.task, env_cfg) as env:
        wrapped, policy = load_policy(source, env, agent_cfg)
        robot = env.unwrapped.scene["robot"]
        contacts = env.unwrapped.scene.sensors["wall_contacts"]
        columns = env.unwrapped.scene.terrain.terrain_types.tolist()
        origins = robot.data.root_pos_w.torch[:, :2].clone()
        first: list[dict | None] = [None] * len(columns)
        clearance_cfg = env.unwrapped.reward_manager.get_term_cfg("wall_clearance")
        clearance = torch.zeros(len(columns))
        peak = torch.zeros(len(columns), len(contacts.sensor_names))
        heading = robot.data.heading_w.torch.clone()
        turned = torch.zeros(len(columns))
        speeds = []
        maps: list[dict[float, torch.Tensor]] = [{} for _ in columns]
        shape = env_cfg.observations.height_map.height_map.params["spec"].shape if map_at else None
        obs = wrapped.get_observations()
        with torch.inference_mode():
            for step in range(steps):
                obs, _, _, _ = wrapped.step(policy(obs))
                force = torch.linalg.norm(contacts.data.normal_force_matrix_w_history.torch, dim=-1).amax(dim=(1, 3))
                peak = torch.maximum(peak, force)
                clearance += wall_clearance_penalty(env.unwrapped, **clearance_cfg.params) * env.unwrapped.step_dt
                turned += wrap_to_pi(robot.data.heading_w.torch - heading)
                heading = robot.data.heading_w.torch.clone()
                where = robot.data.root_pos_w.torch[:, :2] - origins
                for env_id in torch.nonzero(force.amax(-1) > CONTACT_FORCE).flatten().tolist():
                    if first[env_id] is None:
                        body = contacts.sensor_names[int(force[env_id].argmax())]
                        first[env_id] = {
                            "step": step,
                            "body": body,
                            "x": where[env_id, 0].item(),
                            "y": where[env_id, 1].item(),
                            "turned": math.degrees(turned[env_id].item()),
                        }
                speeds.append(robot.data.root_lin_vel_b.torch[:, 0].clone())
                for env_id, mark in ((e, m) for e in range(len(columns)) for m in map_at if m not in maps[e]):
                    if where[env_id, 0] >= mark:
                        maps[env_id][mark] = obs["height_map"][env_id].reshape(shape).clone()
        where = robot.data.root_pos_w.torch[:, :2] - origins
        final_speed = torch.stack(speeds[-50:]).mean(0)
        names = list(tiles)
        return [
            {
                "tile": names[column],
                "final_x": where[env_id, 0].item(),
                "drift": where[env_id, 1].item(),
                "final_speed": final_speed[env_id].item(),
                "turned": math.degrees(turned[env_id].item()),
                "clearance": clearance[env_id].item(),
                "first": first[env_id],
                "peak_force": peak[env_id].max().item(),
                "maps": maps[env_id],
                "touched": [
                    name
                    for name, value in zip(contacts.sensor_names, peak[env_id].tolist(), strict=True)
                    if value > CONTACT_FORCE
                ],
            }
            for env_id, column in enumerate(columns)
        ]


def table(offsets: list[float], rows: list[dict]) -> str:
    """Markdown table of the results, sorted by offset."""
    lines = [
        "| edge offset (m) | final x (m) | lateral drift (m) | last-second speed (m/s) | first contact (body, x, y) "
        "| bodies touching | clearance penalty (∫ dt) |",
        "|---:|---:|---:|---:|---|---|---:|",
    ]
    for offset, row in sorted(zip(offsets, rows, strict=True)):
        first = row["first"]
        contact = f"{first['body']} at ({first['x']:.2f}, {first['y']:+.2f})" if first else "none"
        lines.append(
            f"| {offset:.2f} | {row['final_x']:.2f} | {row['drift']:+.3f} | {row['final_speed']:.2f} "
            f"| {contact} | {', '.join(row['touched']) or 'none'} | {row['clearance']:.2f} |"
        )
    return "\n".join(lines)


def add_wall_args(parser: argparse.ArgumentParser, face: float) -> None:
    """``--policy``, ``--kind`` and ``--face`` of the probes that walk a policy at a wall (default ``face`` m ahead)."""
    parser.add_argument("--policy", type=Path, default=ROOT / "policies" / "go2_rough_lidar")
    parser.add_argument("--kind", choices=(GLASS, OBSTACLES), default=GLASS)
    parser.add_argument("--face", type=float, default=face, help="distance (m) from the spawn to the wall's near face")


def main(argv: list[str]) -> int:
    """Run the probe, print the table and append it to results/pane_edge.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_wall_args(parser, face=2.0)
    parser.add_argument("--speed", type=float, default=0.5, help="commanded forward speed (m/s)")
    parser.add_argument("--offsets", type=float, nargs="+", default=[-0.5, 0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4])
    parser.add_argument("--steps", type=int, default=350, help="policy steps (50 per simulated second)")
    parser.add_argument("--governor", action="store_true", help="cap the command with the height-map governor")
    args = parser.parse_args(argv)
    info = stamp("cpu")
    governed = " --governor" if args.governor else ""
    tiles = edge_tiles(args.kind, args.face, args.offsets)
    text = table(args.offsets, walk(args.policy, tiles, args.speed, args.steps, governor=args.governor))
    header = (
        f"\n## {args.policy.name}, {args.kind}, {args.speed} m/s ({info['date']}, commit {info['commit']}, "
        f"{info['device']})\n\n`python benchmarks/pane_edge_probe.py --policy {args.policy} --kind {args.kind} "
        f"--speed {args.speed}{governed}`; wall face {args.face} m ahead; the safe target's footprint half width is "
        f"{FOOTPRINT[1]} m.\n\n"
    )
    print(header + text)
    append_markdown(RESULTS, HEADER, header + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/pane_edge_probe.py"))

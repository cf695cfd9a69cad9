"""Probe: how far ahead of the truth the policy's fused height map shows a wall the robot walks towards.

With the reference's fusion (``HeightMapSpec.fusion == "max"``) the policy reads the element-wise max of the last
``num_sweeps`` sweeps' maps, each binned in the sensor frame of its own cast. A larger value is a lower surface, so
a cell reads wall only once every fused sweep saw wall there: walking towards a wall, the fused map shows it where
the oldest sweep saw it. One flat tile per commanded speed, a wall across the path ``--face`` m ahead; the policy
walks at the speed (alone, no governor).
Each step compares the free distance ahead of the footprint (:meth:`~navila_lab.barrier.HeightMapGovernor.
free_distance`) in the policy's fused map and in the newest sweep's map with the truth. Reports per speed where each
first shows the wall and how much farther than the truth it shows it while the robot still moves.

usage: python benchmarks/map_lag_probe.py [--policy policies/go2_rough_lidar] [--kind glass] [--speeds 0.25 0.5 1.0]
       (appends a table to results/map_lag.md)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from isaaclab.managers import SceneEntityCfg
from isaaclab.utils.math import matrix_from_quat
from navila_agents.locomotion import runtime
from navila_agents.locomotion.policy import load_policy, resolve_policy
from navila_benchmarks import pane_edge_probe
from navila_lab.barrier import FOOTPRINT, LOOKAHEAD, HeightMapGovernor
from navila_lab.errors import run_command
from navila_lab.mdp.observations import lidar_points
from navila_lab.provenance import append_markdown, run_heading
from navila_lab.sensors.height_map import HeightMapSpec, height_map_from_points

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "map_lag.md"
HEADER = "# Where the policy's fused height map shows an approaching wall (`benchmarks/map_lag_probe.py`)\n"
MOVING = 0.1
"""Forward speed (m/s) above which the robot counts as still approaching."""


def walk(args: argparse.Namespace) -> list[dict]:
    """Walk one robot per speed at its wall; per speed the map's first sighting and over-estimates of the free way."""
    source = resolve_policy(str(args.policy))
    env_cfg, agent_cfg = runtime.load_cfgs(source.task, [], play=True)
    offsets = [-0.5 - 0.1 * i for i in range(len(args.speeds))]  # one tile each, every wall across the whole path
    pane_edge_probe.configure(env_cfg, pane_edge_probe.edge_tiles(args.kind, args.face, offsets), speed=0.0)
    agent_cfg.device = "cpu"
    lidar = SceneEntityCfg("lidar")
    with runtime.open_env(source.task, env_cfg) as env:
        unwrapped = env.unwrapped
        unwrapped.command_manager.get_term("base_velocity").fixed_command[:, 0] = torch.tensor(args.speeds)
        wrapped, policy = load_policy(source, env, agent_cfg)  # its reset gives each robot its speed
        offset = unwrapped.scene.sensors[lidar.name].cfg.offset
        spec = env_cfg.observations.height_map.height_map.params.get("spec") or HeightMapSpec()
        governor = HeightMapGovernor(spec, offset.pos, matrix_from_quat(torch.tensor([offset.rot]))[0])
        robot = unwrapped.scene["robot"]
        speeds = unwrapped.command_manager.get_term("base_velocity").fixed_command[:, 0].tolist()
        origin = robot.data.root_pos_w.torch[:, 0].clone()
        ahead = torch.tensor([[1.0, 0.0]]).expand(len(speeds), -1)
        shown = {"fused": [], "newest": []}
        truths, moving = [], []
        obs = wrapped.get_observations()
        with torch.inference_mode():
            for _ in range(args.steps):
                obs, _, _, _ = wrapped.step(policy(obs))
                newest = height_map_from_points(lidar_points(unwrapped, lidar), spec)
                shown["newest"].append(governor.free_distance(newest, ahead))
                shown["fused"].append(governor.free_distance(obs["height_map"], ahead))
                truths.append(args.face - (robot.data.root_pos_w.torch[:, 0] - origin) - FOOTPRINT[0])
                moving.append(robot.data.root_lin_vel_b.torch[:, 0] > MOVING)
    truth, moving = torch.stack(truths), torch.stack(moving)
    rows = []
    for env_id, speed in enumerate(speeds):
        row = {"speed": speed}
        for name, values in shown.items():
            seen = torch.stack(values)[:, env_id] < LOOKAHEAD
            first = int(seen.to(torch.uint8).argmax()) if seen.any() else None
            excess = (torch.stack(values)[:, env_id] - truth[:, env_id])[seen & moving[:, env_id]]
            row[name] = {
                "first_seen_at": None if first is None else truth[first, env_id].item(),
                "mean_excess": excess.mean().item() if len(excess) else None,
                "max_excess": excess.max().item() if len(excess) else None,
            }
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown table, one row per speed."""

    def number(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    lines = [
        "| speed (m/s) | wall first shown at (m of free way): newest sweep / fused | free way over-estimated while "
        "moving, mean (m): newest / fused | max (m): newest / fused |",
        "|---:|---:|---:|---:|",
    ]
    for row in rows:
        newest, fused = row["newest"], row["fused"]
        lines.append(
            f"| {row['speed']:.2f} | {number(newest['first_seen_at'])} / {number(fused['first_seen_at'])} "
            f"| {number(newest['mean_excess'])} / {number(fused['mean_excess'])} "
            f"| {number(newest['max_excess'])} / {number(fused['max_excess'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the probe, print the table and append it to results/map_lag.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    pane_edge_probe.add_wall_args(parser, face=2.5)
    parser.add_argument("--speeds", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--steps", type=int, default=400, help="policy steps (50 per simulated second)")
    args = parser.parse_args(argv)
    heading = run_heading("cpu", " ".join(["python benchmarks/map_lag_probe.py", *argv]))
    text = (
        f"{heading}\n\n{args.kind} wall {args.face} m ahead, the policy alone; distances are of free way ahead of the "
        f"footprint's front ({FOOTPRINT[0]} m ahead of the base), as the governor reads it (up to {LOOKAHEAD} m)."
        f"\n\n{table(walk(args))}\n"
    )
    print(text)
    append_markdown(RESULTS, HEADER, text)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/map_lag_probe.py"))

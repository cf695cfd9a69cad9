"""Probe: what the policy's height map showed before each wall contact of a LiDAR policy on the evaluation's glass set.

Runs ``navila evaluate``'s glass set (one evaluation seed, CPU or GPU) and follows every robot until its first wall
contact (the contact ends its episode). For the last second before it, each step records the forward speed, the
privileged free distance ahead of the footprint's front (from the terrain's walls, as the training's safe target
computes it) and the free distance the policy's own height map shows there (:meth:`~navila_lab.barrier.
HeightMapGovernor.free_distance`, the robot-side reading). Each contact is then put in one class:

* ``beside``: the way ahead was free at the contact (the wall touched is beside the footprint: a pane's edge passed);
* ``never shown``: a wall is within ``NEAR`` m ahead at the contact, and the map showed none in that second;
* ``shown, then lost``: the map showed a wall in that second but no longer at the contact;
* ``shown, not stopped``: the map showed a wall up to the contact and the robot walked on.

usage: python benchmarks/glass_contact_probe.py --policy DIR [--seed 0] [--num_envs 300] [--device cpu]
       (appends a table to results/glass_contacts.md; --out FILE writes each contact's trace as JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import torch
from isaaclab.utils.math import matrix_from_quat, quat_apply_yaw
from navila_agents.locomotion import runtime
from navila_agents.locomotion.evaluation import EvalSet, make_eval_cfg
from navila_agents.locomotion.policy import load_policy, resolve_policy
from navila_lab.barrier import FOOTPRINT, LOOKAHEAD, HeightMapGovernor
from navila_lab.errors import UserError, run_command
from navila_lab.mdp.locomotion_metrics import SPEED_BINS
from navila_lab.provenance import append_markdown, run_heading
from navila_lab.sensors.height_map import HeightMapSpec

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "glass_contacts.md"
HEADER = "# What the height map showed before a LiDAR policy's glass contacts (`benchmarks/glass_contact_probe.py`)\n"
WINDOW = 50
"""Steps (1 s at 50 Hz) looked at before each contact."""
NEAR = 0.3
"""Free distance (m) ahead of the footprint below which a wall counts as close."""
CLASSES = ("beside", "never shown", "shown, then lost", "shown, not stopped")


def classify(truth: list[float], shown: list[float]) -> str:
    """The class of one contact from its last second of true and map-shown free distances ahead (oldest first)."""
    if truth[-1] >= NEAR:
        return "beside"
    if min(shown) >= LOOKAHEAD:
        return "never shown"
    return "shown, not stopped" if shown[-1] < LOOKAHEAD else "shown, then lost"


def follow(args: argparse.Namespace) -> tuple[list[dict], int]:
    """Run the glass set until every robot's first episode ends: a record per robot a wall stopped, and the robots."""
    source = resolve_policy(str(args.policy))
    env_cfg, agent_cfg = runtime.load_cfgs(source.task, [], play=True)
    if getattr(env_cfg.observations, "height_map", None) is None:
        raise UserError(f"{args.policy} is a policy without a height map: the probe reads the LiDAR policy's map")
    eval_set = EvalSet(terrains=["glass"], device=args.device, num_envs=args.num_envs, seeds=(args.seed,))
    make_eval_cfg(env_cfg, eval_set, args.seed, max_episodes=1, layouts=1)
    device = runtime.resolve_device(args.device)
    runtime.configure(env_cfg, agent_cfg, argparse.Namespace(device=device, num_envs=args.num_envs, seed=args.seed))
    with runtime.open_env(source.task, env_cfg) as env:
        unwrapped = env.unwrapped
        wrapped, policy = load_policy(source, env, agent_cfg)
        count, walls, robot = unwrapped.num_envs, unwrapped.scene.terrain.wall_map, unwrapped.scene["robot"]
        offset = unwrapped.scene.sensors["lidar"].cfg.offset
        spec = env_cfg.observations.height_map.height_map.params.get("spec") or HeightMapSpec()
        governor = HeightMapGovernor(spec, offset.pos, matrix_from_quat(torch.tensor([offset.rot]))[0])
        speeds = unwrapped.command_manager.get_term("base_velocity").fixed_command[:, 0].tolist()
        ahead = torch.tensor([[1.0, 0.0]], device=device).expand(count, -1)
        half_width = torch.full((count,), FOOTPRINT[1], device=device)
        history = torch.zeros(count, WINDOW, 3, device=device)  # speed, true free distance, shown free distance
        ended = torch.zeros(count, dtype=torch.bool, device=device)
        terminations = unwrapped.termination_manager
        bodies = [name for name in terminations.active_terms if name.endswith("_contact") and name != "wall_contact"]
        records = []
        obs = wrapped.get_observations()
        with torch.inference_mode():
            for step in range(int(unwrapped.max_episode_length)):
                heading = quat_apply_yaw(robot.data.root_quat_w.torch, torch.nn.functional.pad(ahead, (0, 1)))[:, :2]
                front = robot.data.root_pos_w.torch[:, :2] + heading * FOOTPRINT[0]
                truth = walls.free_distance(front, heading, half_width, LOOKAHEAD, FOOTPRINT[1])
                shown = governor.free_distance(obs["height_map"], ahead).clamp(max=LOOKAHEAD)
                speed = robot.data.root_lin_vel_b.torch[:, 0]
                history = torch.cat((history[:, 1:], torch.stack((speed, truth, shown), dim=-1)[:, None]), dim=1)
                obs, _, dones, _ = wrapped.step(policy(obs))
                hit = terminations.get_term("wall_contact") & ~ended
                for env_id in torch.nonzero(hit).flatten().tolist():
                    trace = history[env_id].tolist()
                    speed_trace, truth_trace, shown_trace = (list(column) for column in zip(*trace, strict=True))
                    records.append(
                        {
                            "env": env_id,
                            "step": step,
                            "command": speeds[env_id],
                            "bodies": [name for name in bodies if bool(terminations.get_term(name)[env_id])],
                            "class": classify(truth_trace, shown_trace),
                            "speed": speed_trace[-1],
                            "top_speed": max(speed_trace),
                            "truth": truth_trace,
                            "shown": shown_trace,
                        }
                    )
                ended |= dones.bool()
                if bool(ended.all()):
                    break
    return records, count


def table(records: list[dict], robots: int) -> str:
    """Markdown table: contacts per class and commanded speed, with speeds at the contact."""
    speeds = [f"{speed:.2f}" for speed in SPEED_BINS]
    lines = [
        f"| class | contacts | at {' / '.join(speeds)} m/s | speed at contact (mean, m/s) | top speed, last second |",
        "|---|---:|---|---:|---:|",
    ]
    for name in CLASSES:
        picked = [record for record in records if record["class"] == name]
        per_speed = Counter(f"{record['command']:.2f}" for record in picked)
        bins = " / ".join(str(per_speed.get(speed, 0)) for speed in speeds)
        mean, top = (
            (f"{sum(record[key] for record in picked) / len(picked):.2f}" for key in ("speed", "top_speed"))
            if picked
            else ("–", "–")
        )
        lines.append(f"| {name} | {len(picked)} | {bins} | {mean} | {top} |")
    contacts = f"{len(records)} wall contact{'' if len(records) == 1 else 's'}"
    return f"{contacts} of {robots} robots (one episode each).\n\n" + "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the probe, print the table and append it to results/glass_contacts.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", type=Path, required=True, help="LiDAR policy (exported dir or checkpoint)")
    parser.add_argument("--seed", type=int, default=0, help="evaluation seed (terrain layout, spawns, noise)")
    parser.add_argument("--num_envs", type=int, default=300)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None, help="JSON file of every contact's trace")
    parser.add_argument("--report", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    records, robots = follow(args)
    heading = run_heading(args.device, " ".join(["python benchmarks/glass_contact_probe.py", *argv]))
    text = f"{heading}\n\n{table(records, robots)}\n"
    print(text)
    append_markdown(args.report, HEADER, text)
    if args.out is not None:
        args.out.write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/glass_contact_probe.py"))

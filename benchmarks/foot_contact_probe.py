"""Probe: does the Go2 stand on a task's terrain? Zero actions, default joint pose, no reset velocities.

Prints, per env step of env 0, the base height, each foot's height and contact force, each calf's contact force, and
at the end the terminations per term over all envs. On a terrain that holds the robot the feet settle at their
radius (0.022 m above the ground) and no contact termination fires.

usage: .venv/bin/python benchmarks/foot_contact_probe.py [TASK] [--num_envs 16] [--steps 40] [--device cpu]
"""

from __future__ import annotations

import argparse
import collections
import sys

import gymnasium as gym
import torch
from isaaclab.app import launch_simulation
from navila_benchmarks import step_timing as bench
from navila_lab.errors import run_command
from navila_lab.terrains.config import sub_terrain_of_column


def main(argv: list[str]) -> int:
    """Run the probe."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", nargs="?", default="NaVILA-Go2-Rough-Blind")
    parser.add_argument("--num_envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    cfg = bench.load_env_cfg(args.task, args.device, args.num_envs, 0)
    cfg.events.reset_robot_joints.params["position_range"] = (1.0, 1.0)
    cfg.events.reset_base.params["velocity_range"] = {}
    with launch_simulation(cfg, {"device": args.device}):
        env = gym.make(args.task, cfg=cfg)
        base = env.unwrapped
        base.reset()
        sensor = base.scene.sensors["contact_forces"]
        robot = base.scene["robot"]
        feet = [name for name in sensor.body_names if name.endswith("_foot")]
        calves = [name for name in sensor.body_names if name.endswith("_calf")]
        foot_ids = [sensor.body_names.index(name) for name in feet]
        calf_ids = [sensor.body_names.index(name) for name in calves]
        foot_bodies = [robot.body_names.index(name) for name in feet]
        terminations = base.termination_manager
        counts: collections.Counter[str] = collections.Counter()
        ages: collections.Counter[int] = collections.Counter()
        by_terrain: collections.Counter[str] = collections.Counter()
        column_names = sub_terrain_of_column(cfg.scene.terrain.terrain_generator)
        env_terrain = [column_names[col] for col in base.scene.terrain.terrain_types.tolist()]
        print("feet:", feet)
        with torch.inference_mode():
            for step in range(args.steps):
                age = base.episode_length_buf.clone() + 1
                base.step(torch.zeros(base.num_envs, base.action_manager.total_action_dim, device=base.device))
                for term in terminations.active_terms:
                    fired = terminations.get_term(term)
                    counts[term] += int(fired.sum())
                    if term.endswith("_contact"):
                        ages.update(age[fired].tolist())
                        by_terrain.update(f"{term}@{env_terrain[i]}" for i in fired.nonzero().flatten().tolist())
                force = sensor.data.net_forces_w.torch.norm(dim=-1)[0]
                origin_z = base.scene.env_origins[0, 2].item()
                foot_z = robot.data.body_pos_w.torch[0, foot_bodies, 2] - origin_z
                print(
                    f"{step:3d} base z {robot.data.root_pos_w.torch[0, 2].item() - origin_z:.3f}"
                    f" | foot z {[round(z, 3) for z in foot_z.tolist()]}"
                    f" | foot N {[round(f, 1) for f in force[foot_ids].tolist()]}"
                    f" | calf N {[round(f, 1) for f in force[calf_ids].tolist()]}"
                )
        print(f"terminations over {args.steps} steps x {base.num_envs} envs: {dict(counts)}")
        print(f"episode step of contact terminations (step: count): {sorted(ages.items())}")
        print(f"envs per terrain: {dict(collections.Counter(env_terrain))}")
        print(f"contact terminations per terrain: {dict(by_terrain)}")
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/foot_contact_probe.py"))

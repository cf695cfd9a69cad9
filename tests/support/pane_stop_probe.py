"""Subprocess body of the shipped-policy wall test: an exported policy commanded straight at a box and a pane, on CPU.

Usage: ``pane_stop_probe.py POLICY_DIR [FACE] [--speed S] [--governor]``. Builds the wall probe's two tiles
(``wall_probe``: a box and a 2 cm glass pane FACE m ahead of the spawn, default :data:`FACE`; only the time-out ends an
episode), lets the policy walk forward at S m/s (default :data:`COMMAND`; ``--governor``: the command capped by the
height-map governor) for :data:`STEPS` env steps and prints a JSON line per wall: the farthest the front of the head
got, the largest non-foot force on the wall, the peak and the final (last second) forward speed, and the lowest
forward command the policy was given.
"""

import argparse
import json

import torch
import wall_probe
from navila_agents.locomotion import runtime
from navila_agents.locomotion.evaluation import fix_velocity_command
from navila_agents.locomotion.policy import load_policy, resolve_policy

COMMAND = 0.5
"""Commanded forward speed (m/s)."""
STEPS = 300
"""Policy steps (6 simulated seconds: the free path to the wall takes ~1.7 s at the command)."""
FACE = 2.0
"""Distance (m) from the spawn to the wall's near face: beyond the LiDAR map's reach at the start."""
LAST = 50
"""Steps over which the final speed is averaged (1 s)."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("policy")
    parser.add_argument("face", type=float, nargs="?", default=FACE)
    parser.add_argument("--speed", type=float, default=COMMAND)
    parser.add_argument("--governor", action="store_true")
    args = parser.parse_args()
    wall_probe.FACE = args.face
    source = resolve_policy(args.policy)
    env_cfg, agent_cfg = runtime.load_cfgs(source.task, [], play=True)
    wall_probe.configure(env_cfg)
    fix_velocity_command(env_cfg, (args.speed,))
    if args.governor:
        env_cfg.govern_commands()
    agent_cfg.device = "cpu"
    with runtime.open_env(source.task, env_cfg) as env:
        wrapped, policy = load_policy(source, env, agent_cfg)
        robot = env.unwrapped.scene["robot"]
        contacts = env.unwrapped.scene.sensors["wall_contacts"]
        head = robot.body_names.index(next(name for name in robot.body_names if name.startswith("Head")))
        origins = robot.data.root_pos_w.torch.clone()
        reach = torch.full((2,), -torch.inf)
        force = torch.zeros(2)
        speeds, commands = [], []
        terms = env.unwrapped.observation_manager.active_terms["policy"]
        dims = env.unwrapped.observation_manager.group_obs_term_dim["policy"]
        forward_command = sum(dim[0] for dim in dims[: terms.index("velocity_commands")])
        obs = wrapped.get_observations()
        with torch.inference_mode():
            for _ in range(STEPS):
                obs, _, _, _ = wrapped.step(policy(obs))
                front = robot.data.body_pos_w.torch[:, head, 0] - origins[:, 0] + wall_probe.HEAD_REACH
                reach = torch.maximum(reach, front)
                forces = contacts.data.normal_force_matrix_w_history.torch
                force = torch.maximum(force, torch.linalg.norm(forces, dim=-1).flatten(1).max(-1).values)
                speeds.append(robot.data.root_lin_vel_b.torch[:, 0].clone())
                commands.append(obs["policy"][:, forward_command].clone())
    final_speed = torch.stack(speeds[-LAST:]).mean(0)
    report = {
        kind: {
            "face": wall_probe.FACE,
            "head_reach": reach[i].item(),
            "wall_force": force[i].item(),
            "final_speed": final_speed[i].item(),
            "peak_speed": torch.stack(speeds)[:, i].max().item(),
            "lowest_command": torch.stack(commands)[:, i].min().item(),
        }
        for i, kind in enumerate((wall_probe.OBSTACLES, wall_probe.GLASS))
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()

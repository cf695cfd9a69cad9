"""``navila play``: run a policy with a few robots and write an mp4 (watch it live with ``--viz``, docs/viewers.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from navila_lab.errors import UserError
from navila_lab.sensors.height_map import HeightMapSpec
from navila_lab.video import require_mp4

from navila_agents.locomotion import runtime
from navila_agents.locomotion.play import render_video, roll_out
from navila_agents.locomotion.policy import load_policy, resolve_policy
from navila_agents.viewers import add_viewer_args, look_at, parse_viewers, viewer_cfgs


def main(argv: list[str]) -> int:
    """Roll out the policy in the task's play mode (no noise or randomization, fixed command)."""
    parser = argparse.ArgumentParser(prog="navila play", description=__doc__)
    runtime.add_common_args(parser, task_default=None)
    parser.add_argument("--policy", required=True, help="exported policy directory or rsl_rl checkpoint/run dir")
    parser.add_argument("--steps", type=int, default=500, help="policy steps (50 per simulated second)")
    parser.add_argument("--video", default=None, help="mp4 path (default: play.mp4 beside the policy)")
    add_viewer_args(parser)
    args = parser.parse_args(argv)
    if args.steps < 1:
        raise UserError(f"--steps must be positive, got {args.steps}")
    parse_viewers(args.viz)
    source = resolve_policy(args.policy, args.task)
    env_cfg, agent_cfg = runtime.load_cfgs(source.task, args.overrides, play=True)
    args.num_envs = args.num_envs or 4
    runtime.configure(env_cfg, agent_cfg, args)
    target = Path(source.checkpoint or source.path)
    video = args.video or str((target.parent if target.is_file() else target) / "play.mp4")
    require_mp4()
    env_cfg.sim.visualizer_cfgs = viewer_cfgs(args, Path(video).with_suffix(".rrd"))
    with runtime.open_env(source.task, env_cfg) as env:
        wrapped, policy = load_policy(source, env, agent_cfg)
        look_at(env)
        rollout = roll_out(wrapped, policy, args.steps)
        glass = getattr(env.unwrapped.scene.terrain, "glass_mesh", None)
    render_video(rollout, None if glass is None else glass.vertices[:, :2], HeightMapSpec().shape, video)
    print(f"[navila] {args.steps} steps of {source.path} -> {video}")
    return 0

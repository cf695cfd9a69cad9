"""``navila play``: run a checkpoint with a few robots and write an mp4 (or open Isaac Sim with ``--viz kit``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from navila_lab.sensors.height_map import HeightMapSpec
from navila_lab.video import require_mp4

from navila_tasks import runtime
from navila_tasks.play import render_video, roll_out


def main(argv: list[str]) -> int:
    """Roll out the policy in the task's play mode (no noise or randomization, fixed command)."""
    parser = argparse.ArgumentParser(prog="navila play", description=__doc__)
    runtime.add_common_args(parser)
    parser.add_argument("--checkpoint", required=True, help="model_*.pt file or run directory (newest checkpoint)")
    parser.add_argument("--steps", type=int, default=500, help="policy steps (50 per simulated second)")
    parser.add_argument("--video", default=None, help="mp4 path (default: <checkpoint dir>/play.mp4)")
    parser.add_argument("--viz", default=None, help="Isaac Lab visualizer(s), e.g. kit (needs Isaac Sim) or newton_gl")
    args = parser.parse_args(argv)
    if args.steps < 1:
        raise runtime.UserError(f"--steps must be positive, got {args.steps}")
    checkpoint = runtime.find_checkpoint(args.checkpoint)
    env_cfg, agent_cfg = runtime.load_cfgs(args.task, args.overrides, play=True)
    args.num_envs = args.num_envs or 4
    runtime.configure(env_cfg, agent_cfg, args)
    video = args.video or str(Path(checkpoint).parent / "play.mp4")
    require_mp4()
    with runtime.open_env(args.task, env_cfg, args.viz) as env:
        runner = runtime.load_runner(env, agent_cfg, checkpoint)
        rollout = roll_out(runner.env, runner.get_inference_policy(agent_cfg.device), args.steps)
        glass = getattr(env.unwrapped.scene.terrain, "glass_mesh", None)
    render_video(rollout, None if glass is None else glass.vertices[:, :2], HeightMapSpec().shape, video)
    print(f"[navila] {args.steps} steps of {checkpoint} -> {video}")
    return 0

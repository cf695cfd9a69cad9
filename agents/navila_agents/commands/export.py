"""``navila export``: checkpoint → TorchScript + ONNX + deploy.yaml."""

from __future__ import annotations

import argparse

from navila_agents.locomotion import runtime
from navila_agents.locomotion.export import export_policy


def main(argv: list[str]) -> int:
    """Build the task with one environment, load the checkpoint and write the deployable files."""
    parser = argparse.ArgumentParser(prog="navila export", description=__doc__)
    runtime.add_common_args(parser, task_default=None)
    parser.add_argument("--checkpoint", required=True, help="model_*.pt file or run directory (newest checkpoint)")
    parser.add_argument("--out", default=None, help="output directory (default: <run dir>/exported)")
    args = parser.parse_args(argv)
    checkpoint = runtime.find_checkpoint(args.checkpoint)
    args.task, overrides = runtime.checkpoint_task(checkpoint, args.task, args.overrides)
    env_cfg, agent_cfg = runtime.load_cfgs(args.task, overrides, play=True)
    train_cfg, _ = runtime.load_cfgs(args.task.removesuffix("-Play"), overrides)  # the trained command ranges
    args.num_envs = 1
    runtime.configure(env_cfg, agent_cfg, args)
    out_dir = args.out or str(runtime.Path(checkpoint).parent / "exported")
    with runtime.open_env(args.task, env_cfg) as env:
        runner = runtime.load_runner(env, agent_cfg, checkpoint)
        spec = export_policy(runner, args.task, env, train_cfg, out_dir)
    runtime.record_run(out_dir, args.task.removesuffix("-Play"), overrides)  # a fine-tune goes on with the objective
    print(f"[navila] exported {checkpoint} -> {out_dir} (obs {spec.obs_dim}-D, {len(spec.joint_names)} joints)")
    return 0

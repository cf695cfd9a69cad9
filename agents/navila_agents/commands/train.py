"""``navila train``: headless rsl_rl PPO training with checkpoints, resume, and no lost work on interrupt."""

from __future__ import annotations

import argparse
import os
from datetime import datetime

from torch.distributed.elastic.multiprocessing.errors import record

from navila_agents.locomotion import distributed, runtime
from navila_agents.locomotion.policy import (
    FINE_TUNE_STD,
    FINE_TUNE_STD_KEY,
    FINE_TUNE_WARMUP,
    FINE_TUNE_WARMUP_KEY,
    exported_policy,
    fine_tune_overrides,
    load_exported_actor,
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options of ``navila train``."""
    parser = argparse.ArgumentParser(prog="navila train", description=__doc__)
    runtime.add_common_args(parser, task_default=None)
    parser.add_argument("--max_iterations", type=int, default=None, help="PPO iterations (default: the runner cfg's)")
    parser.add_argument(
        "--resume",
        default=None,
        metavar="PATH",
        help="checkpoint file or run directory to resume from, or an exported policy directory whose actor to "
        f"fine-tune (a new critic, trained alone for {FINE_TUNE_WARMUP} iterations unless {FINE_TUNE_WARMUP_KEY} is "
        "overridden, then the actor too from the adaptive schedule's lowest learning rate; actor std "
        f"{FINE_TUNE_STD} unless {FINE_TUNE_STD_KEY} is; task: its deploy.yaml's, with the overrides it was trained "
        "with, unless --task)",
    )
    parser.add_argument("--log_dir", default="logs", help="root of the run directories (default: logs)")
    parser.add_argument("--run_name", default=None, help="run directory name (default: date and time)")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training (rsl_rl over torch.distributed): re-runs itself under torchrun with one process "
        "per GPU; implied when torchrun started it. See docs/multi_gpu.md",
    )
    parser.add_argument("--nproc", type=int, default=None, help="processes of --distributed (default: visible GPUs)")
    return parser.parse_args(argv)


@record  # a rank's uncaught exception reaches torchrun's failure report, even when its console is filtered out
def main(argv: list[str]) -> int:
    """Train a policy; Ctrl-C saves the current iteration before leaving."""
    args = parse_args(argv)
    rank = distributed.join(args)
    if rank is None and args.distributed:
        return distributed.launch(argv, args.device, args.nproc)
    is_main = rank is None or rank.is_main
    export = exported_policy(args.resume, args.task) if args.resume else None
    resume_path = runtime.find_checkpoint(args.resume) if args.resume and export is None else None
    if resume_path is not None:
        args.task, args.overrides = runtime.resume_task(resume_path, args.task, args.overrides)
    if export is not None:
        args.task, args.overrides = export.task, fine_tune_overrides(export, args.overrides)
    args.task = args.task or runtime.DEFAULT_TASK
    env_cfg, agent_cfg = runtime.load_cfgs(args.task, args.overrides)
    runtime.configure(env_cfg, agent_cfg, args, rank=rank.rank if rank else 0)
    if args.max_iterations is not None:
        agent_cfg.max_iterations = args.max_iterations
    log_dir = os.path.abspath(
        os.path.join(
            args.log_dir, agent_cfg.experiment_name, args.run_name or datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        )
    )
    from isaaclab.utils import to_dict
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, create_rsl_rl_runner

    from navila_agents.locomotion.ppo_runner import NavilaOnPolicyRunner

    with runtime.open_env(args.task, env_cfg) as env:
        vec_env = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
        if agent_cfg.class_name == "OnPolicyRunner":  # PPO: checkpoints keep the terrain curriculum
            runner = NavilaOnPolicyRunner(vec_env, to_dict(agent_cfg), log_dir, agent_cfg.device)
        else:
            runner = create_rsl_rl_runner(vec_env, agent_cfg, log_dir)
        if resume_path is not None:
            print(f"[navila] resuming from {resume_path}")
            runner.load(resume_path, map_location=agent_cfg.device)
            runner.current_learning_iteration += 1
        if export is not None:
            print(f"[navila] fine-tuning the actor of {export.path} (new critic)")
            load_exported_actor(runner, export, agent_cfg.obs_groups["actor"])
        if is_main:
            runtime.dump_cfgs(log_dir, env_cfg, agent_cfg)
            runtime.record_run(log_dir, args.task, args.overrides)
            envs = f"{env_cfg.scene.num_envs} envs" + (f" per rank x {rank.world_size} ranks" if rank else "")
            print(f"[navila] training {args.task} on {agent_cfg.device} with {envs} -> {log_dir}")
        try:
            with distributed.checked_sync(runner, rank):
                runner.learn(num_learning_iterations=agent_cfg.max_iterations, init_at_random_ep_len=True)
        except KeyboardInterrupt:
            if is_main:
                path = os.path.join(log_dir, f"model_{runner.current_learning_iteration}.pt")
                runner.save(path)
                print(f"[navila] interrupted: saved {path}")
            return 130
    return 0

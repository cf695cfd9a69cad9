"""Shared plumbing of the CLI jobs: device choice, task and cfg resolution, environment lifetime, checkpoints."""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
import torch
import yaml
from navila_lab.errors import UserError

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnvCfg
    from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg
    from rsl_rl.runners import OnPolicyRunner

DEFAULT_TASK = "NaVILA-Go2-Rough-Lidar"
RUN_FILE = os.path.join("params", "run.yaml")
"""A run's record of what ``navila train`` was asked for (task id, cfg overrides), beside its cfgs."""
CPU_NUM_ENVS = 64
"""Default number of environments on CPU (the cfgs' 4096 are for GPUs)."""


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda:0`` when CUDA is present, else ``cpu``; a CUDA device on a machine without it is an error."""
    if name == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device '{name}' requested but CUDA is not available on this machine (use --device cpu)")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise UserError(f"device '{name}' does not exist: this machine has {torch.cuda.device_count()} GPU(s)")
        return f"cuda:{index}"
    if name != "cpu":
        raise UserError(f"unknown device '{name}' (use auto, cpu, cuda or cuda:N)")
    return name


def check_task(task: str) -> None:
    """Raise a one-line error for task ids this package did not register."""
    import navila_tasks

    if task not in navila_tasks.TASK_IDS:
        known = ", ".join(navila_tasks.TASK_IDS)
        raise UserError(f"unknown task '{task}' (choose from: {known})")


def add_common_args(parser: argparse.ArgumentParser, task_default: str | None = DEFAULT_TASK) -> None:
    """Arguments shared by the jobs that build an environment."""
    default = task_default or f"the policy's or run's own, else {DEFAULT_TASK}"
    parser.add_argument("--task", default=task_default, help=f"gym task id (default: {default})")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    parser.add_argument(
        "--num_envs", type=int, default=None, help=f"parallel environments (default: cfg, {CPU_NUM_ENVS} on CPU)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the runner cfg's)")
    parser.add_argument(
        "overrides", nargs="*", help="Hydra-style overrides of cfg fields, e.g. env.rewards.feet_air_time.weight=0.1"
    )


def load_cfgs(
    task: str, overrides: list[str], *, play: bool = False
) -> tuple[ManagerBasedRLEnvCfg, RslRlOnPolicyRunnerCfg]:
    """Resolve the env and rsl_rl runner cfgs of ``task`` with Hydra overrides applied."""
    check_task(task)
    bad = [item for item in overrides if "=" not in item or item.startswith("=")]
    if bad:
        raise UserError(f"malformed override '{bad[0]}': expected key=value, e.g. env.scene.num_envs=128")
    from isaaclab_rl.rsl_rl import check_rsl_rl_version, handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils import resolve_task_config

    try:
        env_cfg, agent_cfg = resolve_task_config(task, "rsl_rl_cfg_entry_point", play_mode=play, overrides=overrides)
    except Exception as error:  # Hydra reports bad keys and values with several exception types
        if isinstance(error, UserError):
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"could not apply overrides {overrides}: {message}") from None
    return env_cfg, handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())


def configure(
    env_cfg: ManagerBasedRLEnvCfg, agent_cfg: RslRlOnPolicyRunnerCfg, args: argparse.Namespace, rank: int = 0
) -> None:
    """Apply device, env count and seed from the command line; the learner runs on the simulation device.

    A data-parallel ``rank`` is added to the seed, so that the ranks collect different experience.
    """
    device = resolve_device(args.device)
    env_cfg.sim.device = device
    agent_cfg.device = device
    if args.num_envs is not None:
        if args.num_envs < 1:
            raise UserError(f"--num_envs must be positive, got {args.num_envs}")
        env_cfg.scene.num_envs = args.num_envs
    elif device == "cpu":
        env_cfg.scene.num_envs = min(env_cfg.scene.num_envs, CPU_NUM_ENVS)
    if args.seed is not None:
        agent_cfg.seed = args.seed
    agent_cfg.seed += rank
    env_cfg.seed = agent_cfg.seed


@contextlib.contextmanager
def open_env(task: str, env_cfg: ManagerBasedRLEnvCfg, visualizer: str | None = None) -> Iterator[gym.Env]:
    """Start the simulation runtime the cfg needs (kitless unless it or ``visualizer`` asks for Kit), build the env."""
    from isaaclab.app import launch_simulation

    launcher_args = {"device": env_cfg.sim.device}
    if visualizer:
        launcher_args["visualizer"] = visualizer.split(",")
    user_error = None
    with launch_simulation(env_cfg, launcher_args):
        env = gym.make(task, cfg=env_cfg)
        try:
            yield env
        except UserError as error:  # leaves the launcher quietly: it prints a traceback for any exception
            user_error = error
        finally:
            env.close()
    if user_error is not None:
        raise user_error


def find_checkpoint(path: str) -> str:
    """A checkpoint file, or the newest ``model_<iteration>.pt`` under a run directory (searched recursively)."""
    target = Path(path)
    if target.is_file():
        return str(target)
    if not target.is_dir():
        raise UserError(f"checkpoint '{path}' does not exist")
    found = glob.glob(os.path.join(path, "**", "model_*.pt"), recursive=True)
    if not found:
        raise UserError(f"no model_*.pt checkpoint under '{path}'")
    return max(found, key=lambda f: (os.path.getmtime(f), int(re.findall(r"model_(\d+)\.pt", f)[-1])))


def dump_cfgs(log_dir: str, env_cfg: ManagerBasedRLEnvCfg, agent_cfg: RslRlOnPolicyRunnerCfg) -> None:
    """Write the resolved env and agent cfgs next to the checkpoints (``params/env.yaml``, ``params/agent.yaml``)."""
    from isaaclab.utils.io import dump_yaml

    dump_yaml(os.path.join(log_dir, "params", "env.yaml"), env_cfg)
    dump_yaml(os.path.join(log_dir, "params", "agent.yaml"), agent_cfg)


def record_run(log_dir: str, task: str, overrides: list[str]) -> None:
    """Write what the run was asked for (:data:`RUN_FILE`: task id and cfg overrides) next to its checkpoints."""
    path = Path(log_dir, RUN_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"task": task, "overrides": list(overrides)}, sort_keys=False))


def recorded_run(checkpoint: str) -> tuple[str, list[str]] | None:
    """Task and overrides recorded for the run holding ``checkpoint``; None for runs without a record.

    The record is in the checkpoint's folder or the one above (``scripts/gpu_train_chunk.sh``'s stripped checkpoints).
    """
    for folder in Path(checkpoint).parents[:2]:
        path = folder / RUN_FILE
        if not path.is_file():
            continue
        try:
            record = yaml.safe_load(path.read_text())
            task, overrides = record["task"], record.get("overrides") or []
        except (yaml.YAMLError, TypeError, KeyError) as error:
            raise UserError(
                f"run record '{path}' is unreadable ({type(error).__name__}): expected task and overrides"
            ) from None
        if not isinstance(task, str) or not isinstance(overrides, list):
            raise UserError(f"run record '{path}' is unreadable: expected a task id and a list of overrides")
        return task, [str(item) for item in overrides]
    return None


def checkpoint_task(checkpoint: str, task: str | None, overrides: list[str]) -> tuple[str, list[str]]:
    """The task to build for ``checkpoint`` and the overrides to apply, ``overrides`` after the recorded ones.

    ``task`` must be the recorded task or its play variant. A run without a record (:func:`record_run`) takes
    ``task`` (default :data:`DEFAULT_TASK`) and ``overrides`` alone.
    """
    record = recorded_run(checkpoint)
    if record is None:
        return task or DEFAULT_TASK, list(overrides)
    trained, trained_overrides = record
    if task is not None and task.removesuffix("-Play") != trained:
        raise UserError(f"checkpoint '{checkpoint}' was trained on {trained}, not {task}: leave --task out")
    return task or trained, trained_overrides + list(overrides)


def resume_task(checkpoint: str, task: str | None, overrides: list[str]) -> tuple[str | None, list[str]]:
    """Task and overrides of a run resumed from ``checkpoint``.

    With no ``task`` or the recorded one, the run goes on as recorded (``overrides`` after the recorded ones); another
    ``task`` fine-tunes the weights on it with ``overrides`` alone.
    """
    record = recorded_run(checkpoint)
    if task is None or (record is not None and record[0] == task):
        return checkpoint_task(checkpoint, task, overrides)
    return task, list(overrides)


def load_runner(env: gym.Env, agent_cfg: RslRlOnPolicyRunnerCfg, checkpoint: str) -> OnPolicyRunner:
    """An rsl_rl runner over ``env`` with the actor weights of ``checkpoint`` (no logging).

    Critic and optimizer state, which inference does not use, may be absent (``scripts/gpu_train_chunk.sh``'s stripped
    checkpoints).
    """
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, create_rsl_rl_runner

    runner = create_rsl_rl_runner(RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions), agent_cfg, None)
    try:
        runner.load(checkpoint, load_cfg={"actor": True, "iteration": True}, map_location=agent_cfg.device)
    except (RuntimeError, KeyError) as error:
        raise UserError(f"checkpoint '{checkpoint}' does not fit task policy: {str(error).splitlines()[0]}") from None
    return runner

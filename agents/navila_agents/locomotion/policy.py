"""The one way a locomotion policy is loaded in simulation: an exported folder or a training checkpoint.

Used by ``navila play``, ``navila evaluate``, ``navila vln`` and the benchmarks. An exported folder (``navila export``)
is its TorchScript actor fed the observation groups its ``deploy.yaml`` lists; a checkpoint is restored into an rsl_rl
runner with the runner cfg whose actor width it has. The robot side reads the same folders through
:mod:`navila_lab.deploy_spec` (ONNX, no Isaac Lab).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from navila_lab.deploy_spec import DEPLOY_FILE, POLICY_JIT, DeploySpec
from navila_lab.errors import UserError
from navila_lab.sensors.height_map import HeightMapSpec

from navila_agents.locomotion import runtime
from navila_agents.rsl_rl_cfg import (
    BLIND_ACTOR_GROUPS,
    LIDAR_ACTOR_GROUPS,
    Go2RoughBlindPPORunnerCfg,
    Go2RoughLidarPPORunnerCfg,
)

if TYPE_CHECKING:
    import gymnasium as gym
    from isaaclab.envs import ManagerBasedRLEnvCfg
    from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg, RslRlVecEnvWrapper
    from rsl_rl.runners import OnPolicyRunner
    from tensordict import TensorDict

Policy = Callable[["TensorDict"], torch.Tensor]
"""Maps the env's observation groups to joint actions."""

FINE_TUNE_STD_KEY = "agent.actor.distribution_cfg.init_std"
FINE_TUNE_STD = 0.3
"""Exploration std of an exported actor fine-tuned by ``navila train --resume`` unless an override sets one: an export
keeps no std, and the Go2 policies end their training near 0.25–0.35 (a fresh actor starts at 1.0)."""
FINE_TUNE_WARMUP_KEY = "agent.critic_warmup_iterations"
FINE_TUNE_WARMUP = 20
"""Iterations a fine-tune's new critic trains alone unless an override sets them: fine-tuned without (2026-12-07,
results/locomotion.md), the shipped LiDAR actor's critic loss settled by iteration ~20, and its thin-wall collisions
had doubled at iteration 67 (back to the shipped level by 134); with the warm-up, +3.2 instead of +8.4 points at
iteration 60 (both runs also on a looser tracking kernel than the export's, unrecorded then)."""


@dataclass
class PolicySource:
    """A policy on disk: an exported directory (``deploy.yaml`` + ``policy.pt``) or a training checkpoint."""

    path: str
    task: str
    spec: DeploySpec | None = None
    checkpoint: str | None = None

    @property
    def name(self) -> str:
        """Folder or file name, as tables label the policy."""
        return Path(self.path).name


def resolve_policy(path: str, task: str | None = None) -> PolicySource:
    """Identify the policy at ``path``; the task defaults to the exported one's or the run's, else the LiDAR task."""
    target = Path(path)
    if not target.exists():
        raise UserError(f"policy '{path}' does not exist")
    if target.is_dir() and (target / DEPLOY_FILE).is_file():
        try:
            spec = DeploySpec.load(target)
        except ValueError as error:
            raise UserError(str(error)) from None
        if not (target / POLICY_JIT).is_file():
            raise UserError(f"exported policy '{path}' has no {POLICY_JIT}: export it with 'navila export'")
        return PolicySource(path, task or spec.task, spec=spec)
    try:
        checkpoint = runtime.find_checkpoint(path)
    except UserError:
        raise UserError(
            f"'{path}' holds neither an exported policy ({DEPLOY_FILE} + {POLICY_JIT}) nor a model_*.pt checkpoint"
        ) from None
    return PolicySource(path, runtime.checkpoint_task(checkpoint, task, [])[0], checkpoint=checkpoint)


def runner_cfg_for(source: PolicySource, env: gym.Env, device: str) -> RslRlOnPolicyRunnerCfg:
    """The runner cfg (LiDAR or blind) whose actor reads as many inputs as the policy, for envs serving both."""
    from isaaclab_rl.rsl_rl import check_rsl_rl_version, handle_deprecated_rsl_rl_cfg

    dims = env.unwrapped.observation_manager.group_obs_dim
    cfgs = {
        sum(dims[group][-1] for group in groups): cfg
        for groups, cfg in (
            (LIDAR_ACTOR_GROUPS, Go2RoughLidarPPORunnerCfg),
            (BLIND_ACTOR_GROUPS, Go2RoughBlindPPORunnerCfg),
        )
    }
    if source.spec is not None:
        width = source.spec.obs_dim
    else:
        actor = torch.load(source.checkpoint, map_location="cpu", weights_only=False).get("actor_state_dict", {})
        width = next((value.shape[1] for value in actor.values() if value.ndim == 2), None)
    if width not in cfgs:
        raise UserError(f"policy '{source.path}' reads {width} inputs, this task's actors read {list(cfgs)}")
    agent_cfg = handle_deprecated_rsl_rl_cfg(cfgs[width](), check_rsl_rl_version())
    agent_cfg.device = device
    return agent_cfg


def check_height_map(source: PolicySource, env_cfg: ManagerBasedRLEnvCfg) -> None:
    """Refuse an exported LiDAR policy whose height map (``deploy.yaml``) is not the one the task builds."""
    if source.spec is None or source.spec.height_map is None:
        return
    group = getattr(env_cfg.observations, "height_map", None)
    built = (group.height_map.params.get("spec") or HeightMapSpec()).to_dict() if group is not None else {}
    trained = source.spec.height_map.to_dict()
    differ = [f"{key} {trained[key]} (task: {built.get(key)})" for key in trained if built.get(key) != trained[key]]
    if differ:
        raise UserError(
            f"the deploy.yaml of policy '{source.path}' asks for a height map with {', '.join(differ)}; "
            f"choose the policy's task with --task"
        )


def host_height_map(source: PolicySource | None, env_cfg: ManagerBasedRLEnvCfg) -> None:
    """Let a task that hosts any LiDAR policy (the VLN task) build the height map ``source`` was trained on."""
    if source is not None and source.spec is not None and source.spec.height_map is not None:
        env_cfg.use_height_map(source.spec.height_map)


def check_inputs(source: PolicySource, env: gym.Env, groups: list[str]) -> None:
    """Refuse an exported policy whose joints or observation terms are not those of the task's actor ``groups``."""
    joint_names = list(env.unwrapped.scene["robot"].joint_names)
    if source.spec.joint_names != joint_names:
        raise UserError(f"policy '{source.path}': joints {source.spec.joint_names} are not the task's {joint_names}")
    task_terms = list(env.unwrapped.observation_manager.active_terms[groups[0]])
    policy_terms = [term.name for term in source.spec.observations]
    if policy_terms != task_terms:
        raise UserError(
            f"policy '{source.path}' reads the terms {policy_terms}, task {source.task} gives {task_terms} "
            "(a policy exported before the task changed: retrain or choose its task with --task)"
        )


def exported_policy(path: str, task: str | None) -> PolicySource | None:
    """The exported policy at ``path`` (task: ``task``, else its ``deploy.yaml``'s), None for a training checkpoint."""
    if Path(path).is_dir() and (Path(path) / DEPLOY_FILE).is_file():
        return resolve_policy(path, task)
    return None


def fine_tune_overrides(source: PolicySource, overrides: list[str]) -> list[str]:
    """Overrides for fine-tuning an exported actor on ``source.task``.

    On the export's own task the objective goes on as trained: the overrides of the run it was exported from (its
    record, ``params/run.yaml`` in the export) come first, e.g. a tighter tracking kernel; then ``overrides``; then
    std and critic-only iterations, each unless set.
    """
    record = runtime.recorded_run(str(Path(source.path) / POLICY_JIT))
    own_task = source.spec is not None and source.task == source.spec.task
    overrides = [*(record[1] if record is not None and own_task else []), *overrides]
    defaults = {FINE_TUNE_STD_KEY: FINE_TUNE_STD, FINE_TUNE_WARMUP_KEY: FINE_TUNE_WARMUP}
    given = {item.split("=", 1)[0] for item in overrides}
    return [*overrides, *(f"{key}={value}" for key, value in defaults.items() if key not in given)]


def load_exported_actor(runner: OnPolicyRunner, source: PolicySource, groups: list[str]) -> None:
    """Start ``runner``'s actor from an exported policy's weights; its critic and exploration std stay as built."""
    check_inputs(source, runner.env.unwrapped, groups)
    weights = torch.jit.load(str(Path(source.path) / POLICY_JIT), map_location="cpu").state_dict()
    actor = runner.alg.get_policy()  # the module itself, also where training compiles it
    own = actor.state_dict()
    misfits = [
        f"{name} {tuple(value.shape)} (task: {tuple(own[name].shape) if name in own else 'none'})"
        for name, value in weights.items()
        if name not in own or own[name].shape != value.shape
    ]
    misfits += [  # e.g. an observation normalizer the export was trained without
        f"none (task: {name} {tuple(value.shape)})"
        for name, value in own.items()
        if name not in weights and not name.startswith("distribution.")
    ]
    if misfits:
        raise UserError(f"policy '{source.path}' does not fit the actor of {source.task}: {misfits[0]}")
    actor.load_state_dict(weights, strict=False)  # the export has no distribution parameters


def load_policy(
    source: PolicySource, env: gym.Env, agent_cfg: RslRlOnPolicyRunnerCfg
) -> tuple[RslRlVecEnvWrapper, Policy]:
    """Wrap ``env`` (this resets it) and return the policy of ``source``, checked against the task's inputs."""
    if source.checkpoint is not None:
        runner = runtime.load_runner(env, agent_cfg, source.checkpoint)
        return runner.env, runner.get_inference_policy(agent_cfg.device)
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper

    groups = agent_cfg.obs_groups["actor"]
    check_inputs(source, env, groups)
    check_height_map(source, env.unwrapped.cfg)
    wrapped = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
    obs = wrapped.get_observations()
    width = sum(obs[group].shape[-1] for group in groups)
    if width != source.spec.obs_dim:
        raise UserError(
            f"policy '{source.path}' reads {source.spec.obs_dim}-D observations but task {source.task} gives "
            f"{width}-D (choose the policy's task with --task)"
        )
    network = torch.jit.load(str(Path(source.path) / POLICY_JIT), map_location=agent_cfg.device).eval()

    def policy(observations: TensorDict) -> torch.Tensor:
        return network(torch.cat([observations[group] for group in groups], dim=-1))

    try:
        with torch.inference_mode():
            actions = policy(obs)
    except RuntimeError as error:
        raise UserError(
            f"{POLICY_JIT} of '{source.path}' rejects a {width}-D observation: {str(error).strip().splitlines()[-1]}"
        ) from None
    if actions.shape != (wrapped.num_envs, wrapped.num_actions):
        raise UserError(
            f"policy '{source.path}' outputs {actions.shape[-1]} actions, "
            f"task {source.task} takes {wrapped.num_actions}"
        )
    return wrapped, policy

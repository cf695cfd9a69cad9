"""Locomotion evaluation: a policy on a fixed-seed set of terrains and commanded speeds (the simulator side).

The evaluation set is the task's play configuration (no noise, no randomization, no pushes) with three edits made
by :func:`make_eval_cfg`: the terrain grid keeps one curriculum column per selected sub-terrain, every env keeps one
forward speed of the set for the whole run (:class:`FixedVelocityCommand`), and a recorder term
(:class:`EvalMetricsRecorder`) accumulates :mod:`navila_tasks.eval_metrics` after each step, before resets clear the
sensors. Two contact sensors filter the robot's contacts by partner shape: the terrain mesh and the glass prim.
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
import torch
from isaaclab.envs.mdp import UniformVelocityCommand, UniformVelocityCommandCfg
from isaaclab.managers import DatasetExportMode, RecorderManagerBaseCfg, RecorderTerm, RecorderTermCfg
from isaaclab.sensors import ContactSensorCfg
from isaaclab.utils import configclass, replace
from isaaclab.utils.string import resolve_matching_names
from navila_lab.deploy_spec import DEPLOY_FILE, DeploySpec
from navila_lab.provenance import git_commit
from navila_lab.terrains.config import sub_terrain_of_column
from navila_lab.terrains.generator import GLASS_PRIM_NAME
from tqdm import trange

from navila_tasks import runtime
from navila_tasks.eval_metrics import (
    CONTACT_THRESHOLD,
    SPEED_BINS,
    EvalTotals,
    joint_power,
    obstacle_contact,
    onsets,
    speed_slots,
    summarize,
    terrain_group,
    touching,
    tracking_errors,
)
from navila_tasks.export import POLICY_JIT

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv, ManagerBasedRLEnvCfg
    from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg
    from tensordict import TensorDict

FORMAT_VERSION = 1
"""Version of the results file layout."""
RECORDER_NAME = "eval_metrics"
TERRAIN_SENSOR = "eval_terrain_contacts"
GLASS_SENSOR = "eval_glass_contacts"
ENVS_PER_CELL = {"cpu": 2, "cuda": 64}
"""Default envs per (terrain column, commanded speed) pair."""

##
# Commands
##


class FixedVelocityCommand(UniformVelocityCommand):
    """A velocity command that never changes: each env keeps one forward speed of the set, and the yaw rate.

    The envs of each terrain column take the speeds in turn, so every (terrain, speed) pair gets envs.
    """

    cfg: FixedVelocityCommandCfg

    def __init__(self, cfg: FixedVelocityCommandCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        columns = getattr(env.scene.terrain, "terrain_types", None)
        if columns is None:
            columns = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        speeds = torch.tensor(cfg.speeds, device=self.device)
        self.fixed_command = torch.zeros(self.num_envs, 3, device=self.device)
        """Command of each env: (forward speed, 0, yaw rate)."""
        self.fixed_command[:, 0] = speeds[speed_slots(columns, len(cfg.speeds))]
        self.fixed_command[:, 2] = cfg.yaw_rate

    def _resample_command(self, env_ids: Sequence[int]) -> None:
        self.vel_command_b[env_ids] = self.fixed_command[env_ids]
        self.is_standing_env[env_ids] = False


@configclass
class FixedVelocityCommandCfg(UniformVelocityCommandCfg):
    """Configuration of :class:`FixedVelocityCommand`."""

    class_type: type = FixedVelocityCommand
    speeds: tuple[float, ...] = SPEED_BINS
    """Commanded forward speeds (m/s)."""
    yaw_rate: float = 0.0
    """Commanded yaw rate (rad/s) of every env."""


##
# Metrics recorder
##


class EvalMetricsRecorder(RecorderTerm):
    """Accumulates per-env :class:`~navila_tasks.eval_metrics.EvalTotals` after each step, before resets.

    Steps and episodes count while an env has ended fewer than ``cfg.max_episodes`` episodes (always without it).
    """

    cfg: EvalMetricsRecorderCfg

    def __init__(self, cfg: EvalMetricsRecorderCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        self.robot = env.scene[cfg.asset_name]
        self.terrain_contacts = env.scene[TERRAIN_SENSOR]
        self.glass_contacts = env.scene.sensors.get(GLASS_SENSOR)
        self.totals: EvalTotals | None = None
        """The run's totals, created at the first step (the termination terms are known by then)."""
        num_envs, device = env.num_envs, env.device
        self._fresh = torch.ones(num_envs, dtype=torch.bool, device=device)
        self._hitting = torch.zeros(num_envs, dtype=torch.bool, device=device)
        self._on_glass = torch.zeros_like(self._hitting)
        self._counted_end = torch.zeros_like(self._hitting)
        self._last_xy = torch.zeros(num_envs, 2, device=device)
        self._is_foot = torch.zeros(0, dtype=torch.bool, device=device)

    @property
    def counting(self) -> torch.Tensor:
        """Envs whose steps count."""
        if self.totals is None or self.cfg.max_episodes is None:
            return torch.ones_like(self._fresh)
        return self.totals.ended < self.cfg.max_episodes

    @property
    def finished(self) -> bool:
        """Whether every env has ended its ``max_episodes`` episodes."""
        return self.cfg.max_episodes is not None and not bool(self.counting.any())

    def _levels(self) -> torch.Tensor:
        levels = getattr(self._env.scene.terrain, "terrain_levels", None)
        return torch.zeros_like(self._last_xy[:, 0], dtype=torch.float64) if levels is None else levels.double()

    def _start(self) -> None:
        terminations = self._env.termination_manager
        self.totals = EvalTotals.zeros(self._env.num_envs, terminations.active_terms, self._env.device)
        feet, _ = resolve_matching_names(self.cfg.foot_names, self.terrain_contacts.sensor_names)
        self._is_foot = torch.zeros(len(self.terrain_contacts.sensor_names), dtype=torch.bool, device=self._env.device)
        self._is_foot[feet] = True

    def record_post_step(self) -> tuple[None, None]:
        """Add this step's quantities of the counting envs; their state is the one that ended the step."""
        if self.totals is None:
            self._start()
        totals, counting, levels = self.totals, self.counting, self._levels()
        weight = counting.double()
        begins = counting & self._fresh
        totals.level_start = torch.where(begins & (totals.episodes == 0), levels, totals.level_start)
        totals.episodes += begins
        self._fresh &= ~counting

        data = self.robot.data
        command = self._env.command_manager.get_command(self.cfg.command_name)
        lin_error, yaw_error = tracking_errors(data.root_lin_vel_b.torch, data.root_ang_vel_b.torch, command)
        totals.steps += weight
        totals.lin_vel_error += lin_error * weight
        totals.yaw_vel_error += yaw_error * weight
        totals.forward_speed += data.root_lin_vel_b.torch[:, 0] * weight
        totals.power += joint_power(data.applied_torque.torch, data.joint_vel.torch) * weight
        xy = data.root_pos_w.torch[:, :2]
        totals.distance += torch.linalg.norm(xy - self._last_xy, dim=-1) * weight
        self._last_xy.copy_(xy)

        forces = self.terrain_contacts.data.normal_force_matrix_w_history.torch[..., 0, :]
        hitting = obstacle_contact(forces, self._is_foot, self.cfg.threshold)
        totals.obstacle_contacts += onsets(hitting, self._hitting) & counting
        self._hitting = hitting
        if self.glass_contacts is not None:
            glass_forces = self.glass_contacts.data.normal_force_matrix_w_history.torch[..., 0, :]
            on_glass = touching(glass_forces, self.cfg.threshold)
            totals.glass_contacts += onsets(on_glass, self._on_glass) & counting
            self._on_glass = on_glass

        terminations = self._env.termination_manager
        totals.falls += terminations.terminated & counting
        for name, count in totals.terminations.items():
            count += terminations.get_term(name) & counting
        self._counted_end = (terminations.terminated | terminations.time_outs) & counting
        totals.ended += self._counted_end
        totals.level_end = torch.where(counting, levels, totals.level_end)
        return None, None

    def record_post_reset(self, env_ids: Sequence[int] | None) -> tuple[None, None]:
        """Start the new episodes: no contact carried over, path from the new spawn, the level the curriculum gave."""
        ids = slice(None) if env_ids is None else torch.as_tensor(env_ids, dtype=torch.long, device=self._env.device)
        self._last_xy[ids] = self.robot.data.root_pos_w.torch[ids, :2]
        self._fresh[ids] = True
        self._hitting[ids] = False
        self._on_glass[ids] = False
        if self.totals is not None:
            ended = self._counted_end[ids]
            self.totals.level_end[ids] = torch.where(ended, self._levels()[ids], self.totals.level_end[ids])
        return None, None


@configclass
class EvalMetricsRecorderCfg(RecorderTermCfg):
    """Configuration of :class:`EvalMetricsRecorder`."""

    class_type: type = EvalMetricsRecorder
    asset_name: str = "robot"
    command_name: str = "base_velocity"
    foot_names: str = ".*_foot"
    """Bodies whose contacts with the ground are expected (see :func:`~navila_tasks.eval_metrics.obstacle_contact`)."""
    threshold: float = CONTACT_THRESHOLD
    """Normal force (N) above which a body touches."""
    max_episodes: int | None = None
    """Episodes each env counts; None: every step counts."""


@configclass
class EvalRecorderManagerCfg(RecorderManagerBaseCfg):
    """The metrics recorder alone; nothing is written to disk."""

    dataset_export_mode: DatasetExportMode = DatasetExportMode.EXPORT_NONE
    export_in_record_pre_reset: bool = False
    eval_metrics: EvalMetricsRecorderCfg = EvalMetricsRecorderCfg()


def metrics_recorder(env: gym.Env) -> EvalMetricsRecorder:
    """Return the metrics recorder of an env built from an eval cfg."""
    return env.unwrapped.recorder_manager._terms[RECORDER_NAME]  # the manager has no public term getter


##
# Evaluation set
##


@dataclass
class EvalSet:
    """What every evaluated policy is run on; equal sets give equal terrains, spawns and commands."""

    terrains: list[str]
    """Terrain types (keys of :data:`~navila_tasks.eval_metrics.TERRAIN_GROUPS`), or ``["all"]``."""
    speeds: tuple[float, ...] = SPEED_BINS
    yaw_rate: float = 0.0
    """Commanded yaw rate (rad/s) of every env."""
    num_envs: int | None = None
    """None: :data:`ENVS_PER_CELL` per (terrain column, speed)."""
    steps: int | None = None
    """Policy steps; None: run ``episodes`` episodes per env."""
    episodes: int = 1
    seed: int = 0
    device: str = "auto"
    overrides: tuple[str, ...] = ()
    """Hydra overrides of the env cfg (applied before the eval edits)."""


def make_eval_cfg(env_cfg: ManagerBasedRLEnvCfg, eval_set: EvalSet, max_episodes: int | None) -> list[str]:
    """Edit a play env cfg into the evaluation set; returns the sub-terrain of each terrain column."""
    generator = env_cfg.scene.terrain.terrain_generator
    available = list(dict.fromkeys(terrain_group(name) for name in generator.sub_terrains))
    wanted = available if "all" in eval_set.terrains else eval_set.terrains
    missing = [terrain for terrain in wanted if terrain not in available]
    if missing:
        raise runtime.UserError(f"this task has no '{missing[0]}' terrain (it has: {', '.join(available)})")
    generator.sub_terrains = {
        name: replace(sub, proportion=1.0)
        for name, sub in generator.sub_terrains.items()
        if terrain_group(name) in wanted
    }
    generator.num_cols = len(generator.sub_terrains)
    generator.curriculum = True  # one sub-terrain per column, rows of increasing difficulty
    generator.seed = eval_set.seed
    previous = env_cfg.commands.base_velocity
    env_cfg.commands.base_velocity = FixedVelocityCommandCfg(
        asset_name=previous.asset_name,
        resampling_time_range=(env_cfg.episode_length_s, env_cfg.episode_length_s),
        ranges=replace(previous.ranges, heading=None),
        heading_command=False,
        debug_vis=False,
        speeds=tuple(eval_set.speeds),
        yaw_rate=eval_set.yaw_rate,
    )
    terrain_prim = env_cfg.scene.terrain.prim_path
    contacts = ContactSensorCfg(
        prim_path="{ENV_REGEX_NS}/Robot/.*", history_length=env_cfg.decimation, update_period=env_cfg.sim.dt
    )
    env_cfg.scene.eval_terrain_contacts = replace(contacts, filter_shape_prim_expr=[f"{terrain_prim}/terrain/.*"])
    if "glass" in wanted:
        glass = f"{terrain_prim}/{GLASS_PRIM_NAME}/.*"
        env_cfg.scene.eval_glass_contacts = replace(contacts, filter_shape_prim_expr=[glass])
    env_cfg.recorders = EvalRecorderManagerCfg(eval_metrics=EvalMetricsRecorderCfg(max_episodes=max_episodes))
    return sub_terrain_of_column(generator)


##
# Policies
##


@dataclass
class PolicySource:
    """A policy to evaluate: an exported directory (``deploy.yaml`` + ``policy.pt``) or a training checkpoint."""

    path: str
    task: str
    spec: DeploySpec | None = None
    checkpoint: str | None = None


def resolve_policy(path: str, task: str | None) -> PolicySource:
    """Identify the policy at ``path``; the task defaults to the exported one's, else the LiDAR task."""
    target = Path(path)
    if not target.exists():
        raise runtime.UserError(f"policy '{path}' does not exist")
    if target.is_dir() and (target / DEPLOY_FILE).is_file():
        try:
            spec = DeploySpec.load(target)
        except ValueError as error:
            raise runtime.UserError(str(error)) from None
        if not (target / POLICY_JIT).is_file():
            raise runtime.UserError(f"exported policy '{path}' has no {POLICY_JIT}: export it with 'navila export'")
        return PolicySource(path, task or spec.task, spec=spec)
    try:
        checkpoint = runtime.find_checkpoint(path)
    except runtime.UserError:
        raise runtime.UserError(
            f"'{path}' holds neither an exported policy ({DEPLOY_FILE} + {POLICY_JIT}) nor a model_*.pt checkpoint"
        ) from None
    return PolicySource(path, task or runtime.DEFAULT_TASK, checkpoint=checkpoint)


def load_policy(source: PolicySource, env: gym.Env, agent_cfg: RslRlOnPolicyRunnerCfg) -> tuple[gym.Env, Callable]:
    """Return the rsl_rl-wrapped env and the policy (groups → actions) of ``source``, checked against the task."""
    if source.checkpoint is not None:
        runner = runtime.load_runner(env, agent_cfg, source.checkpoint)
        return runner.env, runner.get_inference_policy(agent_cfg.device)
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper

    wrapped = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
    groups = agent_cfg.obs_groups["actor"]
    obs = wrapped.get_observations()
    width = sum(obs[group].shape[-1] for group in groups)
    if width != source.spec.obs_dim:
        raise runtime.UserError(
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
        raise runtime.UserError(
            f"{POLICY_JIT} of '{source.path}' rejects a {width}-D observation: {str(error).strip().splitlines()[-1]}"
        ) from None
    if actions.shape != (wrapped.num_envs, wrapped.num_actions):
        raise runtime.UserError(
            f"policy '{source.path}' outputs {actions.shape[-1]} actions, task {source.task} "
            f"takes {wrapped.num_actions}"
        )
    return wrapped, policy


##
# Run
##


def roll_out(env: gym.Env, policy: Callable, steps: int, label: str) -> EvalMetricsRecorder:
    """Step the wrapped ``env`` with ``policy`` for up to ``steps`` steps (less once every env's episodes are done)."""
    recorder = metrics_recorder(env)
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in trange(steps, desc=label, unit="step"):
            obs, _, _, _ = env.step(policy(obs))
            if recorder.finished:
                break
    return recorder


def evaluate(source: PolicySource, eval_set: EvalSet, edit_cfg: Callable[[object], None] | None = None) -> dict:
    """Run one policy on the evaluation set; returns its summary per terrain type and speed.

    ``edit_cfg`` edits the task's play env cfg before the evaluation edits (e.g. a hand-made terrain).
    """
    env_cfg, agent_cfg = runtime.load_cfgs(source.task, list(eval_set.overrides), play=True)
    if edit_cfg is not None:
        edit_cfg(env_cfg)
    max_episodes = None if eval_set.steps is not None else eval_set.episodes
    columns = make_eval_cfg(env_cfg, eval_set, max_episodes)
    device = runtime.resolve_device(eval_set.device)
    num_envs = eval_set.num_envs or len(columns) * len(eval_set.speeds) * ENVS_PER_CELL[device.split(":")[0]]
    runtime.configure(env_cfg, agent_cfg, argparse.Namespace(device=device, num_envs=num_envs, seed=eval_set.seed))
    with runtime.open_env(source.task, env_cfg) as env:
        wrapped, policy = load_policy(source, env, agent_cfg)
        unwrapped = env.unwrapped
        steps = eval_set.steps or eval_set.episodes * int(unwrapped.max_episode_length)
        recorder = roll_out(wrapped, policy, steps, Path(source.path).name)
        terrain_of_env = [terrain_group(columns[column]) for column in unwrapped.scene.terrain.terrain_types.tolist()]
        speed_of_env = unwrapped.command_manager.get_term("base_velocity").fixed_command[:, 0]
        summary = summarize(recorder.totals, terrain_of_env, speed_of_env)
        return {
            "name": Path(source.path).name,
            "policy": source.path,
            "kind": "checkpoint" if source.checkpoint else "exported",
            "checkpoint": source.checkpoint,
            "task": source.task,
            "num_envs": unwrapped.num_envs,
            "num_levels": env_cfg.scene.terrain.terrain_generator.num_rows,
            "terrains": summary,
        }


def report(results: list[dict], eval_set: EvalSet) -> dict:
    """Build the results file: format version, evaluation set, date, commit, device, one entry per policy."""
    device = runtime.resolve_device(eval_set.device)
    cpu = f"cpu ({os.cpu_count()} × {platform.machine()})"
    return {
        "format_version": FORMAT_VERSION,
        "eval_set": asdict(eval_set),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "device": torch.cuda.get_device_name(device) if device.startswith("cuda") else cpu,
        "policies": results,
    }

"""The evaluation's recorder term: per-env locomotion totals accumulated after every step, before resets clear them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from isaaclab.managers import DatasetExportMode, RecorderManagerBaseCfg, RecorderTerm, RecorderTermCfg
from isaaclab.utils import configclass
from isaaclab.utils.string import resolve_matching_names

from navila_lab.mdp.locomotion_metrics import (
    CONTACT_THRESHOLD,
    EvalTotals,
    each_partner,
    joint_power,
    non_foot_contact,
    obstacle_contact,
    onsets,
    touching,
    tracking_errors,
)

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv
    from isaaclab.sensors import ContactSensor

RECORDER_NAME = "eval_metrics"
TERRAIN_SENSOR = "eval_terrain_contacts"
"""Scene name of the contact sensor filtered on the ground's shapes."""
OBSTACLE_SENSOR = "eval_obstacle_contacts"
"""Scene name of the contact sensor filtered on the obstacle boxes."""
GLASS_SENSOR = "eval_glass_contacts"
"""Scene name of the contact sensor filtered on the glass panes."""


class EvalMetricsRecorder(RecorderTerm):
    """Accumulates per-env :class:`~navila_lab.mdp.locomotion_metrics.EvalTotals` after each step, before resets.

    Steps and episodes count while an env has ended fewer than ``cfg.max_episodes`` episodes (always without it).
    Its three contact sensors filter disjoint partners: Newton keeps one sensor per (bodies, partners) pair, so two
    Isaac Lab sensors with the same filter would share it and one of them would read nothing.
    """

    cfg: EvalMetricsRecorderCfg

    def __init__(self, cfg: EvalMetricsRecorderCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        self.robot = env.scene[cfg.asset_name]
        self.terrain_contacts = env.scene[TERRAIN_SENSOR]
        self.obstacle_contacts = env.scene.sensors.get(OBSTACLE_SENSOR)
        self.glass_contacts = env.scene.sensors.get(GLASS_SENSOR)
        self.totals: EvalTotals | None = None
        """The run's totals, created at the first step (the termination terms are known by then)."""
        num_envs, device = env.num_envs, env.device
        self._fresh = torch.ones(num_envs, dtype=torch.bool, device=device)
        self._hitting = torch.zeros(num_envs, dtype=torch.bool, device=device)
        self._on_glass = torch.zeros_like(self._hitting)
        self._collided = torch.zeros_like(self._hitting)
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

    def _feet(self, sensor: ContactSensor) -> torch.Tensor:
        """Which of the sensor's bodies are feet (the eval's sensors all sense the same bodies, in one order)."""
        feet, _ = resolve_matching_names(self.cfg.foot_names, sensor.sensor_names)
        is_foot = torch.zeros(len(sensor.sensor_names), dtype=torch.bool, device=self._env.device)
        is_foot[feet] = True
        return is_foot

    def _forces(self, sensor: ContactSensor | None) -> torch.Tensor | None:
        """The sensor's normal forces of the last env step, one slot per sub-step and partner (None: no sensor)."""
        return None if sensor is None else each_partner(sensor.data.normal_force_matrix_w_history.torch)

    def _start(self) -> None:
        terminations = self._env.termination_manager
        self.totals = EvalTotals.zeros(self._env.num_envs, terminations.active_terms, self._env.device)
        self._is_foot = self._feet(self.terrain_contacts)

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

        threshold, nothing = self.cfg.threshold, torch.zeros_like(self._hitting)
        ground, obstacles, glass = map(
            self._forces, (self.terrain_contacts, self.obstacle_contacts, self.glass_contacts)
        )
        hitting = obstacle_contact(ground, self._is_foot, threshold)
        on_glass, collided = nothing, nothing
        if obstacles is not None:
            hitting = hitting | obstacle_contact(obstacles, self._is_foot, threshold)
            collided = collided | non_foot_contact(obstacles, self._is_foot, threshold)
        if glass is not None:
            on_glass = touching(glass, threshold)
            collided = collided | non_foot_contact(glass, self._is_foot, threshold)
        totals.obstacle_contacts += onsets(hitting, self._hitting) & counting
        totals.glass_contacts += onsets(on_glass, self._on_glass) & counting
        totals.collisions += collided & ~self._collided & counting
        self._hitting, self._on_glass = hitting, on_glass
        self._collided |= collided & counting

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
        self._collided[ids] = False
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
    """Bodies whose contacts with the ground are expected (see
    :func:`~navila_lab.mdp.locomotion_metrics.obstacle_contact`)."""
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

"""Mid-level actions → velocity commands (vx, vy, wz) for the locomotion policy, vectorized over N envs.

Every env executes its own plan and advances at the policy rate from odometry (x, y, yaw in the world frame):

* open loop (NaVILA's reference): a forward or turn runs at a fixed speed for a fixed time;
* closed loop: a plan is a list of target poses tracked until odometry shows them reached, with a timeout.

A forward or turn is a one-target plan; waypoint sequences (relative Δx, Δy, Δyaw) are longer plans, always tracked
in closed loop. Discrete tokens map onto actions in :mod:`navila_agents.vla.grammar`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import torch
from navila_lab.tensors import wrap_to_pi

from navila_agents.vla.grammar import Action, Forward, Turn


class ExecutionMode(StrEnum):
    """How forwards and turns are executed."""

    OPEN_LOOP = "open_loop"
    """Fixed speed for a fixed time (NaVILA's reference)."""
    CLOSED_LOOP = "closed_loop"
    """Track the target pose until odometry shows it reached."""


@dataclass(frozen=True)
class ExecutorCfg:
    """Speeds, tolerances and gains of the executor (reference values of NaVILA's simulated benchmark)."""

    mode: ExecutionMode = ExecutionMode.OPEN_LOOP
    """Execution of forwards and turns; waypoint plans are always tracked."""
    policy_dt: float = 0.02
    """Time between two :meth:`ActionExecutor.step` calls (s): the locomotion policy's period."""
    forward_speed: float = 0.5
    """Forward speed command (m/s); open loop drives 25/50/75 cm in 0.5/1.0/1.5 s."""
    turn_rate: float = math.pi / 6
    """Yaw rate command (rad/s); open loop turns 15/30/45 degrees in 0.5/1.0/1.5 s."""
    position_tolerance: float = 0.02
    """Closed loop: a target's position counts as reached within this distance along the segment (m)."""
    yaw_tolerance: float = math.radians(1.0)
    """Closed loop: the final heading counts as reached within this angle (rad)."""
    approach_gain: float = 4.0
    """Closed loop: speed command per meter left to go along the plan (1/s), capped at ``forward_speed``."""
    heading_gain: float = 4.0
    """Closed loop: yaw-rate command per radian of heading error (1/s), capped at ``turn_rate``."""
    lookahead: float = 0.3
    """Closed loop: distance ahead along the segment the robot steers toward (m)."""
    max_driving_heading_error: float = math.radians(20.0)
    """Closed loop: above this heading error the robot turns in place before driving on (rad)."""
    timeout_factor: float = 2.0
    """Closed loop: a plan is abandoned after this multiple of its nominal duration ..."""
    timeout_margin: float = 1.0
    """... plus this margin (s)."""
    max_waypoints: int = 32
    """Longest plan accepted."""


def relative_to_world(poses: torch.Tensor, relative: torch.Tensor) -> torch.Tensor:
    """World poses of targets given in each robot's frame.

    Args:
        poses: Robot poses (M, 3) as (x, y, yaw).
        relative: Targets (M, K, 3) as (Δx, Δy, Δyaw) in the frame of the matching pose.

    Returns:
        Targets (M, K, 3) as (x, y, yaw) in the world frame.
    """
    cos, sin = torch.cos(poses[:, 2:3]), torch.sin(poses[:, 2:3])
    x = poses[:, 0:1] + cos * relative[..., 0] - sin * relative[..., 1]
    y = poses[:, 1:2] + sin * relative[..., 0] + cos * relative[..., 1]
    return torch.stack((x, y, poses[:, 2:3] + relative[..., 2]), dim=-1)


def action_to_relative_target(action: Action | None) -> list[tuple[float, float, float]]:
    """Return the plan of one action: a single relative target (Δx, Δy, Δyaw), or none for a stop or a hold."""
    match action:
        case Forward():
            return [(action.meters, 0.0, 0.0)]
        case Turn():
            return [(0.0, 0.0, action.radians)]
    return []


def plan_duration(plan: Sequence[Sequence[float]], speed: float, turn_rate: float) -> float:
    """Return the time to follow a plan of relative targets by turning in place and driving straight (s).

    Args:
        plan: Targets (Δx, Δy, Δyaw), all in the robot frame at the start.
        speed: Forward speed (m/s).
        turn_rate: Yaw rate (rad/s).
    """
    x, y, heading, duration = 0.0, 0.0, 0.0, 0.0
    for target_x, target_y, _ in plan:
        distance = math.hypot(target_x - x, target_y - y)
        if distance > 1e-6:
            direction = math.atan2(target_y - y, target_x - x)
            duration += abs(math.remainder(direction - heading, math.tau)) / turn_rate + distance / speed
            x, y, heading = target_x, target_y, direction
    if plan:
        duration += abs(math.remainder(plan[-1][2] - heading, math.tau)) / turn_rate
    return duration


class ActionExecutor:
    """Executes one plan per env and emits velocity commands at the policy rate.

    Call :meth:`start` (actions) or :meth:`start_waypoints` for the envs that received a new plan, then
    :meth:`step` once per policy step with the odometry of all envs. :attr:`done` tells which envs are ready for the
    next query; a stop or a hold (``None``) is done at once and commands zero velocity.
    """

    def __init__(self, num_envs: int, cfg: ExecutorCfg | None = None, device: str | torch.device = "cpu") -> None:
        """Create an idle executor.

        Args:
            num_envs: Number of envs N.
            cfg: Speeds, tolerances and gains.
            device: Device of all tensors.
        """
        self.cfg = cfg or ExecutorCfg()
        self.num_envs = num_envs
        self.device = torch.device(device)
        k = self.cfg.max_waypoints
        self._targets = torch.zeros(num_envs, k, 3, device=self.device)
        self._length_after = torch.zeros(num_envs, k, device=self.device)
        """Per env and target: length of the plan's segments after that target (m); slows only for the last."""
        self._num_targets = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self._target_index = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self._segment_start = torch.zeros(num_envs, 2, device=self.device)
        self._timed_command = torch.zeros(num_envs, 3, device=self.device)
        self._timed_steps_left = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self._elapsed = torch.zeros(num_envs, device=self.device)
        self._timeout = torch.zeros(num_envs, device=self.device)
        self.timed_out = torch.zeros(num_envs, dtype=torch.bool, device=self.device)
        """(N,) whether each env's last plan was abandoned at its timeout."""

    @property
    def done(self) -> torch.Tensor:
        """(N,) whether each env has finished its plan (and waits for the next one)."""
        return (self._timed_steps_left == 0) & (self._target_index >= self._num_targets)

    def start(
        self, env_ids: Sequence[int] | torch.Tensor, actions: Sequence[Action | None], poses: torch.Tensor
    ) -> None:
        """Begin executing one action per listed env.

        Args:
            env_ids: Envs that received an action.
            actions: Their actions; :class:`~navila_agents.vla.grammar.Stop` or ``None`` command zero velocity.
            poses: Odometry of all envs (N, 3) as (x, y, yaw).
        """
        env_ids = torch.as_tensor(env_ids, dtype=torch.long, device=self.device)
        plans = [action_to_relative_target(action) for action in actions]
        relative = torch.tensor([plan or [(0.0, 0.0, 0.0)] for plan in plans], device=self.device).reshape(-1, 1, 3)
        counts = torch.tensor([len(plan) for plan in plans], dtype=torch.long, device=self.device)
        self._load(env_ids, relative, counts, poses)
        if self.cfg.mode == ExecutionMode.OPEN_LOOP:
            self._load_timed(env_ids, relative[:, 0], counts)

    def start_waypoints(
        self,
        env_ids: Sequence[int] | torch.Tensor,
        waypoints: torch.Tensor,
        poses: torch.Tensor,
        counts: torch.Tensor | None = None,
    ) -> None:
        """Begin tracking a waypoint sequence per listed env (closed loop in both modes).

        Intermediate waypoints are passed through; only the last one's heading is turned to.

        Args:
            env_ids: Envs that received waypoints (M of them).
            waypoints: (M, K, 3) as (Δx, Δy, Δyaw), all in the robot frame at the time of this call.
            poses: Odometry of all envs (N, 3) as (x, y, yaw).
            counts: (M,) number of valid waypoints per env (the rest is padding); all K when omitted.
        """
        env_ids = torch.as_tensor(env_ids, dtype=torch.long, device=self.device)
        waypoints = waypoints.to(self.device)
        if waypoints.shape[1] > self.cfg.max_waypoints:
            raise ValueError(f"{waypoints.shape[1]} waypoints exceed max_waypoints={self.cfg.max_waypoints}")
        if counts is None:
            counts = torch.full((len(env_ids),), waypoints.shape[1], dtype=torch.long, device=self.device)
        self._load(env_ids, waypoints, counts.to(self.device), poses)

    def _load(self, env_ids: torch.Tensor, relative: torch.Tensor, counts: torch.Tensor, poses: torch.Tensor) -> None:
        """Store the world targets of new plans and their timeouts; clear the timed (open-loop) part."""
        start_poses = poses[env_ids].to(self.device)
        world = relative_to_world(start_poses, relative)
        self._targets[env_ids] = 0.0
        self._targets[env_ids, : relative.shape[1]] = world
        valid = torch.arange(relative.shape[1], device=self.device) < counts[:, None]
        segments = (world[:, 1:, :2] - world[:, :-1, :2]).norm(dim=-1) * valid[:, 1:]
        self._length_after[env_ids] = 0.0
        self._length_after[env_ids, : relative.shape[1] - 1] = segments.flip(1).cumsum(1).flip(1)
        self._num_targets[env_ids] = counts
        self._target_index[env_ids] = 0
        self._segment_start[env_ids] = start_poses[:, :2]
        self._timed_steps_left[env_ids] = 0
        self._elapsed[env_ids] = 0.0
        self._timeout[env_ids] = self.cfg.timeout_factor * self._nominal_duration(relative, counts)
        self._timeout[env_ids] += self.cfg.timeout_margin
        self.timed_out[env_ids] = False

    def _nominal_duration(self, relative: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """(M,) time to follow each plan at the commanded speeds, turning in place at its corners (s)."""
        durations = [
            plan_duration(plan[:count].tolist(), self.cfg.forward_speed, self.cfg.turn_rate)
            for plan, count in zip(relative.cpu(), counts.tolist(), strict=True)
        ]
        return torch.tensor(durations, device=self.device)

    def _load_timed(self, env_ids: torch.Tensor, relative: torch.Tensor, counts: torch.Tensor) -> None:
        """Replace single-target plans by fixed-speed, fixed-duration commands (open loop)."""
        distance, angle = relative[:, 0], relative[:, 2]
        command = torch.zeros(len(env_ids), 3, device=self.device)
        command[:, 0] = self.cfg.forward_speed * (distance > 0)
        command[:, 2] = self.cfg.turn_rate * torch.sign(angle)
        duration = distance / self.cfg.forward_speed + angle.abs() / self.cfg.turn_rate
        self._timed_command[env_ids] = command
        self._timed_steps_left[env_ids] = torch.round(duration / self.cfg.policy_dt).long() * (counts > 0)
        self._num_targets[env_ids] = 0

    def step(self, poses: torch.Tensor) -> torch.Tensor:
        """Advance every env by one policy step.

        Args:
            poses: Odometry of all envs (N, 3) as (x, y, yaw) in the world frame.

        Returns:
            Velocity commands (N, 3) as (vx, vy, wz) in the robot frame; zero for envs that are done.
        """
        poses = poses.to(self.device)
        active = ~self.done
        timed = self._timed_steps_left > 0
        commands = torch.where(timed[:, None], self._timed_command, self._track(poses))
        self._timed_steps_left -= timed.long()
        self._elapsed += self.cfg.policy_dt * active
        expired = active & ~timed & (self._elapsed > self._timeout)
        self.timed_out |= expired
        self._target_index = torch.where(expired, self._num_targets, self._target_index)
        return commands * active[:, None]

    def _segment(self, poses: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per env: current target index (clamped) and pose, its segment's unit direction and length, progress."""
        index = self._target_index.clamp(max=self.cfg.max_waypoints - 1)
        target = self._targets[torch.arange(self.num_envs, device=self.device), index]
        segment = target[:, :2] - self._segment_start
        length = segment.norm(dim=-1)
        direction = segment / length.clamp(min=1e-9)[:, None]
        progress = ((poses[:, :2] - self._segment_start) * direction).sum(dim=-1)
        return index, target, direction, length, progress

    def _track(self, poses: torch.Tensor) -> torch.Tensor:
        """Closed-loop commands toward each env's current target; advances the envs that reached it.

        An intermediate waypoint within tolerance is passed before the command is computed, so the robot drives on.
        """
        index, target, _, length, progress = self._segment(poses)
        passed = (length - progress <= self.cfg.position_tolerance) & (self._target_index < self._num_targets - 1)
        self._segment_start = torch.where(passed[:, None], target[:, :2], self._segment_start)
        self._target_index = self._target_index + passed.long()

        rows = torch.arange(self.num_envs, device=self.device)
        index, target, direction, length, progress = self._segment(poses)
        remaining = length - progress
        moving = remaining > self.cfg.position_tolerance

        aim = self._segment_start + direction * (progress + self.cfg.lookahead)[:, None]
        bearing = torch.atan2(aim[:, 1] - poses[:, 1], aim[:, 0] - poses[:, 0])
        heading_error = torch.where(length > 0, wrap_to_pi(bearing - poses[:, 2]), 0.0)
        to_go = remaining + self._length_after[rows, index]
        vx = (self.cfg.approach_gain * to_go).clamp(0.0, self.cfg.forward_speed) * heading_error.cos()
        vx = vx * (heading_error.abs() < self.cfg.max_driving_heading_error)

        is_last = self._target_index == self._num_targets - 1
        yaw_error = wrap_to_pi(target[:, 2] - poses[:, 2])
        turning = ~moving & is_last & (yaw_error.abs() > self.cfg.yaw_tolerance)
        wz = self.cfg.heading_gain * torch.where(moving, heading_error, yaw_error)

        reached = ~moving & ~turning & (self._target_index < self._num_targets)
        self._segment_start = torch.where(reached[:, None], target[:, :2], self._segment_start)
        self._target_index = self._target_index + reached.long()

        commands = torch.zeros(self.num_envs, 3, device=self.device)
        commands[:, 0] = vx * moving
        commands[:, 2] = wz.clamp(-self.cfg.turn_rate, self.cfg.turn_rate) * (moving | turning)
        return commands

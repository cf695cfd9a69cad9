"""Terms of the glass-safe objective: a privileged safe-velocity target, its rewards, and wall-contact termination.

The objective follows reach-avoid RL (Hsu et al., "Safety and Liveness Guarantees through Reach-Avoid Reinforcement
Learning", RSS 2021) and "Agile But Safe" (He et al., "Agile But Safe: Learning Collision-Free High-Speed Legged
Locomotion", RSS 2024): make progress where the way is free, never collide. Rather than a learned reach-avoid value,
the target is computed from the terrain's walls (privileged geometry, seen by the critic only): the commanded planar
velocity is scaled down to the speed a control barrier function allows (:mod:`navila_lab.barrier`). The
tracking reward then asks the robot to slow down and stop in front of what its height map shows, and to track the
command wherever the way is free; turning is limited only near a wall beside or behind the robot (optionally:
``turn_stop_radius``), so a robot stopped at a wall turns away when told to.
Any non-foot contact with a wall ends the episode (ABS's collision penalty as a termination, with its penalty), and
bodies closer to a wall than a clearance are penalized before they touch it (a dense version of that signal: a robot
that creeps on past the stop line or slides along a pane's edge pays for it before a hip meets the glass).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from isaaclab.envs.mdp import joint_deviation_l1
from isaaclab.managers import ManagerTermBase, RewardTermCfg, SceneEntityCfg
from isaaclab.utils.math import quat_apply_yaw

from navila_lab.barrier import (
    BARRIER_GAIN,
    FOOTPRINT,
    LOOKAHEAD,
    STOP_DISTANCE,
    TURN_GAIN,
    TURN_LOOKAHEAD,
    footprint_extent,
    limit_command,
    limit_turn,
    planar_heading,
    turn_directions,
)
from navila_lab.tensors import zero_rows

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv

CLEARANCE = 0.1
"""Gap (m) the bodies that end an episode on a wall contact keep from every wall."""


def safe_velocity_command(
    env: ManagerBasedRLEnv,
    command_name: str,
    gain: float = BARRIER_GAIN,
    stop_distance: float = STOP_DISTANCE,
    lookahead: float = LOOKAHEAD,
    footprint: tuple[float, float] = FOOTPRINT,
    turn_stop_radius: float | None = None,
    asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
) -> torch.Tensor:
    """Velocity command (vx, vy, ωz; base frame) with its planar speed capped at ``gain·(free distance − stop)``.

    The free distance is how far the footprint's front edge can sweep along the commanded direction before it meets a
    wall of the terrain's :class:`~navila_lab.terrains.walls.WallMap`; without one the command is returned unchanged.
    With ``turn_stop_radius`` the yaw rate is capped too, at ``TURN_GAIN·(clearance − turn_stop_radius)``, the
    clearance being the distance from the base to the nearest wall on the side the turn swings the rear towards,
    beside or behind it (:func:`~navila_lab.barrier.turn_directions`, :func:`~navila_lab.barrier.limit_turn`).
    """
    command = env.command_manager.get_command(command_name)[:, :3]
    walls = getattr(env.scene.terrain, "wall_map", None)
    if walls is None:
        return command
    robot = env.scene[asset_cfg.name]
    heading = planar_heading(command)
    half_length, half_width = footprint_extent(heading, footprint)
    direction = quat_apply_yaw(robot.data.root_quat_w.torch, torch.nn.functional.pad(heading, (0, 1)))[:, :2]
    front = robot.data.root_pos_w.torch[:, :2] + direction * half_length.unsqueeze(1)
    free = walls.free_distance(front, direction, half_width, lookahead, max(footprint))
    command = limit_command(command, free, gain, stop_distance)
    if turn_stop_radius is None:
        return command
    reach = turn_stop_radius + TURN_LOOKAHEAD
    directions = turn_directions(robot.data.heading_w.torch, reach, walls.pitch)
    center = robot.data.root_pos_w.torch[:, :2]
    clearance = torch.stack([walls.clearance(center, directions[:, side], reach) for side in (0, 1)], dim=1)
    return limit_turn(command, clearance, TURN_GAIN, turn_stop_radius)


class track_safe_lin_vel_xy_exp(ManagerTermBase):
    """exp(−‖v_xy − v*_xy‖² / std²) of the base velocity against the safe target v* (base frame).

    Since each robot's reset it also integrates the distance the target allowed, ∫‖v*_xy‖ dt
    (:attr:`allowed_distance`), and the progress along it, ∫ min(‖v*_xy‖, max(0, v_xy · v̂*_xy)) dt (:attr:`progress`),
    which :func:`~navila_lab.mdp.curriculums.terrain_levels_free_path` compares. Progress is measured along the target,
    not as distance from the start: yaw-rate commands drive arcs whose chord is much shorter than their length.
    """

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        self.allowed_distance = torch.zeros(env.num_envs, device=env.device)
        """Distance (m) the safe target allowed since the reset."""
        self.progress = torch.zeros(env.num_envs, device=env.device)
        """Distance (m) walked along the safe target since the reset (at most the target's speed each step)."""

    def reset(self, env_ids: torch.Tensor | None = None) -> None:
        """Restart the allowed distance and progress of the reset robots."""
        zero_rows(self.allowed_distance, env_ids)
        zero_rows(self.progress, env_ids)

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        std: float,
        command_name: str,
        stop_distance: float = STOP_DISTANCE,
        asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
    ) -> torch.Tensor:
        """Tracking reward of each robot; adds this step's allowed distance and progress."""
        target = safe_velocity_command(env, command_name, stop_distance=stop_distance, asset_cfg=asset_cfg)[:, :2]
        velocity = env.scene[asset_cfg.name].data.root_lin_vel_b.torch[:, :2]
        speed = torch.linalg.norm(target, dim=1)
        along = torch.sum(velocity * target, dim=1) / speed.clamp_min(1e-6)
        self.allowed_distance += speed * env.step_dt
        self.progress += torch.minimum(along.clamp_min(0.0), speed) * env.step_dt
        return torch.exp(-torch.sum(torch.square(velocity - target), dim=1) / std**2)


def track_safe_ang_vel_z_exp(
    env: ManagerBasedRLEnv,
    std: float,
    command_name: str,
    turn_stop_radius: float | None = None,
    asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
) -> torch.Tensor:
    """exp(−(ω_z − ω*_z)² / std²) of the base yaw rate against the safe target's.

    Without ``turn_stop_radius`` the target's yaw rate is the command's, as in Isaac Lab's ``track_ang_vel_z_exp``.
    """
    target = safe_velocity_command(env, command_name, turn_stop_radius=turn_stop_radius, asset_cfg=asset_cfg)[:, 2]
    return torch.exp(-torch.square(env.scene[asset_cfg.name].data.root_ang_vel_b.torch[:, 2] - target) / std**2)


def stand_still_at_safe_target_l1(
    env: ManagerBasedRLEnv,
    command_name: str,
    command_threshold: float = 0.06,
    stop_distance: float = STOP_DISTANCE,
    turn_stop_radius: float | None = None,
    asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
) -> torch.Tensor:
    """Σ|q − q_default| while the safe target (vx, vy, ωz) is below ``command_threshold``: stopped or blocked, stand.

    The whole target counts, yaw rate included: Isaac Lab's term of the same purpose looks at vx, vy only, so it also
    penalizes turning in place, and policies trained with it refuse the VLA's "turn left 30 degrees". A robot held at
    a wall by the safe target stands instead of stepping in place against it.
    """
    target = safe_velocity_command(
        env,
        command_name,
        stop_distance=stop_distance,
        turn_stop_radius=turn_stop_radius,
        asset_cfg=SceneEntityCfg(asset_cfg.name),
    )
    return joint_deviation_l1(env, asset_cfg) * (torch.linalg.norm(target, dim=1) < command_threshold)


def wall_clearance_penalty(
    env: ManagerBasedRLEnv, clearance: float = CLEARANCE, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")
) -> torch.Tensor:
    """Σ over the selected bodies of the share of points around each that lie at a wall.

    0 while every body keeps ``clearance`` from the terrain's walls, growing as one closes in (1 per body inside a
    wall). The points are the body's origin and two rings of 8 around it, of radius ``clearance`` / 2 and ``clearance``,
    looked up in the :class:`~navila_lab.terrains.walls.WallMap` (which reads ~0.07 m around each wall as occupied).
    """
    robot = env.scene[asset_cfg.name]
    walls = getattr(env.scene.terrain, "wall_map", None)
    xy = robot.data.body_pos_w.torch[:, asset_cfg.body_ids, :2]
    if walls is None:
        return torch.zeros(xy.shape[0], device=xy.device)
    angles = torch.arange(8, device=xy.device) * (torch.pi / 4)
    ring = torch.stack((angles.cos(), angles.sin()), dim=-1)
    offsets = torch.cat((ring.new_zeros(1, 2), 0.5 * clearance * ring, clearance * ring))
    return walls.blocked(xy[:, :, None, :] + offsets).float().mean(dim=-1).sum(dim=-1)


def wall_contact(env: ManagerBasedRLEnv, sensor_cfg: SceneEntityCfg, threshold: float = 1.0) -> torch.Tensor:
    """Whether a selected body pushed on a filter partner (a wall) harder than ``threshold`` (N) in the last env step.

    Every physics step of the env step counts (the sensor's history); the partners are the sensor's filter shapes.
    """
    forces = env.scene.sensors[sensor_cfg.name].data.normal_force_matrix_w_history.torch[:, :, sensor_cfg.body_ids]
    return (torch.linalg.norm(forces, dim=-1) > threshold).flatten(1).any(dim=1)

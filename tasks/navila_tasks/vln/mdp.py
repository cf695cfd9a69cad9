"""MDP terms of the VLN task: the command term the VLA command layer writes, episode starts, requested ends.

The VLN loop owns the episodes: it writes each env's velocity command and the pose of the episode the env starts at
its next reset, and asks for resets through :func:`episode_end_requested`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from isaaclab.managers import CommandTerm, CommandTermCfg, SceneEntityCfg
from isaaclab.utils import configclass
from isaaclab.utils.math import quat_from_euler_xyz

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedEnv, ManagerBasedRLEnv


class EpisodeVelocityCommand(CommandTerm):
    """Velocity command (vx, vy, wz) in the base frame, set per env from outside; zero after a reset.

    Also holds, per env, the pose (x, y, yaw) in the world where its next episode starts and whether the VLN loop
    wants the env reset.
    """

    cfg: EpisodeVelocityCommandCfg

    def __init__(self, cfg: EpisodeVelocityCommandCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        self.velocity = torch.zeros(self.num_envs, 3, device=self.device)
        """(N, 3) commanded (vx, vy, wz)."""
        self.next_start = torch.zeros(self.num_envs, 3, device=self.device)
        """(N, 3) world (x, y, yaw) where each env starts after its next reset."""
        self.end_requested = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        """(N,) whether each env should be reset at the next step."""

    @property
    def command(self) -> torch.Tensor:
        """(N, 3) commanded (vx, vy, wz) in the base frame."""
        return self.velocity

    def reset(self, env_ids: Sequence[int] | slice | None = None) -> dict[str, torch.Tensor]:
        """Zero the command and clear the reset request of these envs."""
        env_ids = slice(None) if env_ids is None else env_ids
        self.end_requested[env_ids] = False
        return super().reset(env_ids)

    def _update_metrics(self) -> None:
        pass

    def _resample_command(self, env_ids: Sequence[int] | slice) -> None:
        self.velocity[env_ids] = 0.0

    def _update_command(self) -> None:
        pass


@configclass
class EpisodeVelocityCommandCfg(CommandTermCfg):
    """Configuration of :class:`EpisodeVelocityCommand` (never resampled on its own)."""

    class_type: type = EpisodeVelocityCommand
    resampling_time_range: tuple[float, float] = (1.0e9, 1.0e9)


def reset_root_to_episode_start(
    env: ManagerBasedEnv,
    env_ids: torch.Tensor,
    command_name: str = "base_velocity",
    asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
) -> None:
    """Place the robot at rest at its episode's start (x, y, yaw of the command term), at its default height."""
    asset = env.scene[asset_cfg.name]
    start = env.command_manager.get_term(command_name).next_start[env_ids]
    height = asset.data.default_root_pose.torch[env_ids, 2:3]
    zeros = torch.zeros_like(start[:, 2])
    orientation = quat_from_euler_xyz(zeros, zeros, start[:, 2])
    pose = torch.cat((start[:, :2], height, orientation), dim=-1)
    asset.write_root_pose_to_sim_index(root_pose=pose, env_ids=env_ids)
    asset.write_root_velocity_to_sim_index(
        root_velocity=torch.zeros(len(start), 6, device=start.device), env_ids=env_ids
    )


def episode_end_requested(env: ManagerBasedRLEnv, command_name: str = "base_velocity") -> torch.Tensor:
    """(N,) whether the VLN loop ended the env's episode and wants it reset."""
    return env.command_manager.get_term(command_name).end_requested

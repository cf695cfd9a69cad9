"""Reward terms of the navila tasks that Isaac Lab does not ship."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from isaaclab.envs.mdp import joint_deviation_l1
from isaaclab.managers import ManagerTermBase, RewardTermCfg, SceneEntityCfg

from navila_lab.tensors import zero_rows

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv


def joint_power_l1(env: ManagerBasedRLEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """Mechanical power Σ|τ·q̇| (W) of the selected joints."""
    data = env.scene[asset_cfg.name].data
    torque = data.applied_torque.torch[:, asset_cfg.joint_ids]
    return torch.sum(torch.abs(torque * data.joint_vel.torch[:, asset_cfg.joint_ids]), dim=1)


def stand_still_joint_deviation_l1(
    env: ManagerBasedRLEnv,
    command_name: str,
    command_threshold: float = 0.06,
    asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
) -> torch.Tensor:
    """Σ|q − q_default| while the whole velocity command (vx, vy, yaw rate) is below ``command_threshold``.

    Isaac Lab's term of the same name looks at vx, vy only, so it also penalizes turning in place: policies trained
    with it refuse the VLA's "turn left 30 degrees" (a yaw-rate command at zero forward speed).
    """
    command = env.command_manager.get_command(command_name)[:, :3]
    return joint_deviation_l1(env, asset_cfg) * (torch.linalg.norm(command, dim=1) < command_threshold)


class action_smoothness_l2(ManagerTermBase):
    """Second difference of the actions, ‖a_t − 2a_{t−1} + a_{t−2}‖²."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        self.before_previous = torch.zeros_like(env.action_manager.action)

    def reset(self, env_ids: torch.Tensor | None = None) -> None:
        """Zero the remembered action of the reset environments."""
        zero_rows(self.before_previous, env_ids)

    def __call__(self, env: ManagerBasedRLEnv) -> torch.Tensor:
        """Penalty (N,) of this step's second difference of the actions."""
        action, previous = env.action_manager.action, env.action_manager.prev_action
        penalty = torch.sum(torch.square(action - 2.0 * previous + self.before_previous), dim=1)
        self.before_previous = previous.clone()
        return penalty

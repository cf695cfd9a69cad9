"""Reward terms of the navila tasks that Isaac Lab does not ship."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from isaaclab.managers import ManagerTermBase, RewardTermCfg, SceneEntityCfg

from navila_lab.tensors import zero_rows

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv


def joint_power_l1(env: ManagerBasedRLEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """Mechanical power Σ|τ·q̇| (W) of the selected joints."""
    data = env.scene[asset_cfg.name].data
    torque = data.applied_torque.torch[:, asset_cfg.joint_ids]
    return torch.sum(torch.abs(torque * data.joint_vel.torch[:, asset_cfg.joint_ids]), dim=1)


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

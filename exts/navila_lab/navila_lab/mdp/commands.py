"""Velocity command with turn-in-place episodes, the mid-level action "turn left 30 degrees" of the VLA layer."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from isaaclab.envs.mdp import UniformVelocityCommand, UniformVelocityCommandCfg
from isaaclab.utils import configclass


class TurnInPlaceVelocityCommand(UniformVelocityCommand):
    """Uniform velocity command where a share of the resampled envs turns in place (zero linear velocity)."""

    cfg: TurnInPlaceVelocityCommandCfg

    def __init__(self, cfg: TurnInPlaceVelocityCommandCfg, env) -> None:  # noqa: ANN001 (a ManagerBasedEnv)
        super().__init__(cfg, env)
        self.is_turning_env = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)

    def _resample_command(self, env_ids: Sequence[int]) -> None:
        super()._resample_command(env_ids)
        draw = torch.rand_like(self.is_turning_env[env_ids], dtype=torch.float)
        self.is_turning_env[env_ids] = draw < self.cfg.rel_turning_envs

    def _update_command(self) -> None:
        super()._update_command()
        self.vel_command_b[:, :2] *= (~self.is_turning_env).unsqueeze(1)


@configclass
class TurnInPlaceVelocityCommandCfg(UniformVelocityCommandCfg):
    """:class:`UniformVelocityCommandCfg` plus the share of envs that turn in place."""

    class_type: type = TurnInPlaceVelocityCommand
    rel_turning_envs: float = 0.0
    """Probability that a resampled command keeps only its yaw rate."""

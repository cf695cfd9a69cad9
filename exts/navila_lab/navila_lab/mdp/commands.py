"""Velocity commands: turn-in-place episodes (the VLA layer's "turn left 30 degrees"), and fixed evaluation speeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from isaaclab.envs.mdp import UniformVelocityCommand, UniformVelocityCommandCfg
from isaaclab.utils import configclass

from navila_lab.mdp.locomotion_metrics import SPEED_BINS, speed_slots

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv


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

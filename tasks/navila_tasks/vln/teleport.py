"""Perfect low level: velocity commands executed exactly, as kinematic motion over the free space of a grid."""

from __future__ import annotations

import torch
from navila_lab.tensors import wrap_to_pi

from navila_tasks.vln.navgrid import NavGrid

TELEPORT_CLEARANCE = 0.2
"""Distance (m) the teleported base center keeps from every obstacle: about the Go2's half width."""


class TeleportBase:
    """Moves N bases by their commands (vx, vy, wz) in the base frame, never onto a blocked cell.

    Where the center would leave the grid's free cells (obstacles inflated by a clearance, e.g.
    :data:`TELEPORT_CLEARANCE`), the base slides along x or y if that stays free (the scenes' walls are axis-aligned),
    or else stays put; turning is never blocked.
    """

    def __init__(self, grid: NavGrid, device: str | torch.device = "cpu") -> None:
        """Keep the grid's free cells on ``device``."""
        self.free = torch.as_tensor(grid.free, device=device)
        self.resolution = grid.resolution
        self.origin = torch.tensor(grid.origin, dtype=torch.float32, device=device)

    def is_free(self, xy: torch.Tensor) -> torch.Tensor:
        """(M,) whether world points (M, 2) lie on free cells (False outside the grid)."""
        col_row = torch.floor((xy - self.origin) / self.resolution).long()
        rows, cols = col_row[:, 1], col_row[:, 0]
        inside = (rows >= 0) & (rows < self.free.shape[0]) & (cols >= 0) & (cols < self.free.shape[1])
        return inside & self.free[rows.clamp(0, self.free.shape[0] - 1), cols.clamp(0, self.free.shape[1] - 1)]

    def advance(self, poses: torch.Tensor, commands: torch.Tensor, dt: float) -> torch.Tensor:
        """Poses (N, 3) as (x, y, yaw) after ``dt`` seconds of commands (N, 3); blocked moves keep their position."""
        poses, commands = poses.to(self.free.device), commands.to(self.free.device)
        yaw = poses[:, 2] + 0.5 * dt * commands[:, 2]  # midpoint heading of the step
        cos, sin = torch.cos(yaw), torch.sin(yaw)
        step = dt * torch.stack(
            (cos * commands[:, 0] - sin * commands[:, 1], sin * commands[:, 0] + cos * commands[:, 1]), -1
        )
        xy = poses[:, :2]
        for move in (step * step.new_tensor((0.0, 1.0)), step * step.new_tensor((1.0, 0.0)), step):  # last wins
            xy = torch.where(self.is_free(poses[:, :2] + move)[:, None], poses[:, :2] + move, xy)
        return torch.cat((xy, wrap_to_pi(poses[:, 2:] + dt * commands[:, 2:])), dim=-1)

"""Perfect low level: velocity commands executed exactly, as kinematic motion over the free space of a grid."""

from __future__ import annotations

import math

import torch
from navila_lab.barrier import FOOTPRINT
from navila_lab.tensors import wrap_to_pi

from navila_tasks.vln.navgrid import NavGrid

TELEPORT_CLEARANCE = 0.2
"""Distance (m) the teleported base center keeps from every obstacle: about the Go2's half width."""
FRONT_REACH = FOOTPRINT[0]
"""Distance (m) from the base center to the body's front along the heading (head; the camera is behind it)."""
FRONT_MARGIN = 0.05
"""Gap (m) the front keeps from obstacles: it never moves closer than this to one, nor closer at all once it is
(e.g. at an episode's start)."""


class TeleportBase:
    """Moves N bases by their commands (vx, vy, wz) in the base frame, never into an obstacle.

    The center stays on the grid's free cells (obstacles inflated by a clearance, e.g. :data:`TELEPORT_CLEARANCE`);
    where a step would leave them, the base slides along x or y if that stays free (the scenes' walls are
    axis-aligned), or else stays put. Nor does a step bring the body's front (:data:`FRONT_REACH` ahead) closer than
    :data:`FRONT_MARGIN` to an obstacle, so a base walking into a wall stops with its head and camera outside it, never
    rendering from inside a wall or past a pane. A turn that would swing the front that close steps the base back along
    its new heading, or else is not made.
    """

    def __init__(self, grid: NavGrid, device: str | torch.device = "cpu") -> None:
        """Keep the grid's free cells and clearance on ``device``."""
        self.free = torch.as_tensor(grid.free, device=device)
        self.clearance = torch.as_tensor(grid.clearance, dtype=torch.float32, device=device)
        self.resolution = grid.resolution
        self.origin = torch.tensor(grid.origin, dtype=torch.float32, device=device)
        self.front_margin = FRONT_MARGIN + grid.resolution / math.sqrt(2)
        """The margin plus a cell's half diagonal: the front may lie anywhere in the cell whose clearance it reads."""

    def _cells(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows, columns (clamped into the grid) and whether inside it, of world points (M, 2)."""
        col_row = torch.floor((xy - self.origin) / self.resolution).long()
        rows, cols = col_row[:, 1], col_row[:, 0]
        inside = (rows >= 0) & (rows < self.free.shape[0]) & (cols >= 0) & (cols < self.free.shape[1])
        return rows.clamp(0, self.free.shape[0] - 1), cols.clamp(0, self.free.shape[1] - 1), inside

    def is_free(self, xy: torch.Tensor) -> torch.Tensor:
        """(M,) whether world points (M, 2) lie on free cells (False outside the grid)."""
        rows, cols, inside = self._cells(xy)
        return inside & self.free[rows, cols]

    def front_clearance(self, poses: torch.Tensor) -> torch.Tensor:
        """(N,) distance (m) from the front of the bodies at poses (N, 3) to the nearest obstacle (0 off the grid)."""
        heading = torch.stack((torch.cos(poses[:, 2]), torch.sin(poses[:, 2])), -1)
        rows, cols, inside = self._cells(poses[:, :2] + FRONT_REACH * heading)
        return torch.where(inside, self.clearance[rows, cols], 0.0)

    def _allowed(self, poses: torch.Tensor, front: torch.Tensor) -> torch.Tensor:
        """(N,) whether poses (N, 3) keep the center free and the front clear, or as clear as ``front`` (before)."""
        clearance = self.front_clearance(poses)
        return self.is_free(poses[:, :2]) & ((clearance >= self.front_margin) | (clearance >= front))

    def _turn(self, poses: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        """Poses (N, 3) turned in place by ``angles`` (N,), stepped back if the turn swings the front too close.

        The step back is the front's shortfall of the margin, along the new heading (as a robot turning beside a wall
        does); a turn that is still too close after it is not made.
        """
        front = self.front_clearance(poses)
        turned = torch.cat((poses[:, :2], wrap_to_pi(poses[:, 2:] + angles[:, None])), -1)
        shortfall = (self.front_margin - self.front_clearance(turned)).clamp(min=0.0)
        heading = torch.stack((torch.cos(turned[:, 2]), torch.sin(turned[:, 2])), -1)
        stepped_back = torch.cat((turned[:, :2] - shortfall[:, None] * heading, turned[:, 2:]), -1)
        return torch.where(
            self._allowed(turned, front)[:, None],
            turned,
            torch.where(self._allowed(stepped_back, front)[:, None], stepped_back, poses),
        )

    def advance(self, poses: torch.Tensor, commands: torch.Tensor, dt: float) -> torch.Tensor:
        """Poses (N, 3) as (x, y, yaw) after ``dt`` seconds of commands (N, 3): turned, then moved, unless blocked."""
        poses, commands = poses.to(self.free.device), commands.to(self.free.device)
        turned = self._turn(poses, dt * commands[:, 2])
        heading = poses[:, 2] + 0.5 * wrap_to_pi(turned[:, 2] - poses[:, 2])  # midpoint heading of the turn made
        poses = turned
        front = self.front_clearance(poses)
        cos, sin = torch.cos(heading), torch.sin(heading)
        step = dt * torch.stack(
            (cos * commands[:, 0] - sin * commands[:, 1], sin * commands[:, 0] + cos * commands[:, 1]), -1
        )
        moved = poses
        for move in (step * step.new_tensor((0.0, 1.0)), step * step.new_tensor((1.0, 0.0)), step):  # last wins
            candidate = torch.cat((poses[:, :2] + move, poses[:, 2:]), -1)
            moved = torch.where(self._allowed(candidate, front)[:, None], candidate, moved)
        return moved

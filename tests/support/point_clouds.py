"""Hand-made LiDAR returns in the robot's base frame: a floor, a wall, a drop-off."""

from __future__ import annotations

import torch

BASE_HEIGHT = 0.32
"""Height (m) of the base above the floor."""


def floor_and_wall(
    wall_x: float | None = None, wall_y: float | None = None, drop_x: float | None = None
) -> torch.Tensor:
    """Points (P, 3) of a floor ``BASE_HEIGHT`` below the base (0.3 m lower past ``drop_x``) and of a wall up to
    0.7 m above the base.

    The wall stands across +x at ``wall_x`` or along x at ``wall_y`` (left); the floor behind it is hidden.
    """
    grid = torch.arange(-1.2, 1.6, 0.015)
    x, y = (values.flatten() for values in torch.meshgrid(grid, grid, indexing="ij"))
    z = torch.full_like(x, -BASE_HEIGHT)
    if drop_x is not None:
        z = torch.where(x > drop_x, z - 0.3, z)
    points = [torch.stack((x, y, z), dim=-1)]
    heights = torch.arange(-BASE_HEIGHT, 0.7, 0.015)
    line, up = (values.flatten() for values in torch.meshgrid(grid, heights, indexing="ij"))
    if wall_x is not None:
        points[0] = points[0][points[0][:, 0] < wall_x]
        points.append(torch.stack((torch.full_like(line, wall_x), line, up), dim=-1))
    if wall_y is not None:
        points[0] = points[0][points[0][:, 1] < wall_y]
        points.append(torch.stack((line, torch.full_like(line, wall_y), up), dim=-1))
    return torch.cat(points)

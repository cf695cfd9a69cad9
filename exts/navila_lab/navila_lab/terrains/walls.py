"""Walls of a terrain (obstacle boxes, glass panes): tagged meshes kept apart from the ground, and their footprint map.

Physics collides with the ground as a Newton heightfield, which turns a vertical face into a ramp one grid cell wide,
and with the walls as triangle meshes: vertical faces, where the LiDAR and the height scanner see them. The
:class:`WallMap` rasterizes the walls' footprints for the privileged safe-velocity target
(:mod:`navila_lab.mdp.safety`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import trimesh

WALL_TAG = "navila_wall"
"""Key set in ``trimesh.Trimesh.metadata`` of every wall mesh a sub-terrain returns; its value is the wall's kind."""
GLASS = "glass"
"""Kind of the glass panes (cameras see through them, the LiDAR does not)."""
OBSTACLES = "obstacles"
"""Kind of the opaque obstacles."""
WALL_KINDS: tuple[str, ...] = (GLASS, OBSTACLES)
"""Every wall kind; each is imported as the prim ``<terrain prim>/<kind>``."""


def tag_wall(mesh: trimesh.Trimesh, kind: str) -> trimesh.Trimesh:
    """Mark ``mesh`` as a wall of ``kind`` (one of :data:`WALL_KINDS`) and return it."""
    if kind not in WALL_KINDS:
        raise ValueError(f"unknown wall kind '{kind}' (known: {', '.join(WALL_KINDS)})")
    mesh.metadata[WALL_TAG] = kind
    return mesh


def wall_kind(mesh: trimesh.Trimesh) -> str | None:
    """Kind of a wall mesh, or None for ground."""
    return mesh.metadata.get(WALL_TAG)


def upright_box(length: float, thickness: float, height: float, yaw: float, center: Sequence[float]) -> trimesh.Trimesh:
    """A box standing on the ground (z = 0), its length along ``yaw`` (rad), its footprint centered at ``center``."""
    box = trimesh.creation.box((length, thickness, height))
    transform = trimesh.transformations.rotation_matrix(yaw, (0.0, 0.0, 1.0))
    transform[:3, 3] = (*center, 0.5 * height)
    box.apply_transform(transform)
    return box


def wall_kinds(sub_terrain: object) -> tuple[str, ...]:
    """Wall kinds a sub-terrain cfg generates: those its ``wall_kinds()`` names, none for a ground-only tile."""
    kinds = getattr(sub_terrain, "wall_kinds", None)
    return kinds() if callable(kinds) else ()


class WallMap:
    """Occupancy grid of wall footprints in the world x-y plane, on a torch device.

    A cell is occupied when its center lies within ``margin + resolution·√2/2`` of a footprint (the minimum-area
    rectangle around a wall's vertices in x-y), so every point within ``margin`` of a wall falls in an occupied cell.
    Samples on a square lattice of pitch ``margin·√2`` then cannot step over a wall, however thin: one of them lies
    within ``margin`` of any point the lattice's area touches.
    """

    def __init__(self, occupied: torch.Tensor, origin: tuple[float, float], resolution: float, margin: float) -> None:
        self.occupied = occupied
        """(rows along x, cols along y) True where a wall stands."""
        self.origin = torch.tensor(origin, device=occupied.device)
        """World x-y of the lower corner of cell (0, 0)."""
        self.resolution = resolution
        """Cell size (m)."""
        self.margin = margin
        """Distance (m) around each footprint that is sure to read occupied."""

    @classmethod
    def from_meshes(
        cls,
        meshes: Sequence[trimesh.Trimesh],
        resolution: float = 0.05,
        margin: float = 0.05 / math.sqrt(2.0),
        device: str | torch.device = "cpu",
    ) -> WallMap:
        """Rasterize the footprints of ``meshes`` (each a wall: a vertical prism such as a box or a pane)."""
        if not meshes:
            return cls(torch.zeros(0, 0, dtype=torch.bool, device=device), (0.0, 0.0), resolution, margin)
        reach = margin + resolution * math.sqrt(0.5)
        low = np.min([mesh.bounds[0, :2] for mesh in meshes], axis=0) - reach - resolution
        high = np.max([mesh.bounds[1, :2] for mesh in meshes], axis=0) + reach + resolution
        shape = np.ceil((high - low) / resolution).astype(int)
        occupied = np.zeros(shape, dtype=bool)
        for mesh in meshes:
            to_box, extents = trimesh.bounds.oriented_bounds_2D(np.asarray(mesh.vertices)[:, :2])
            first = np.floor((mesh.bounds[0, :2] - reach - low) / resolution).astype(int)
            last = np.ceil((mesh.bounds[1, :2] + reach - low) / resolution).astype(int)
            rows, cols = np.arange(first[0], last[0]), np.arange(first[1], last[1])
            x, y = np.meshgrid(low[0] + (rows + 0.5) * resolution, low[1] + (cols + 0.5) * resolution, indexing="ij")
            local = np.einsum("ij,jkl->ikl", to_box[:2], np.stack((x, y, np.ones_like(x))))
            outside = np.maximum(np.abs(local) - 0.5 * extents[:, None, None], 0.0)
            occupied[np.ix_(rows, cols)] |= np.hypot(*outside) <= reach
        return cls(torch.as_tensor(occupied, device=device), (float(low[0]), float(low[1])), resolution, margin)

    @property
    def pitch(self) -> float:
        """Spacing (m) of samples that cannot step over a wall: ``margin·√2`` (the class's guarantee)."""
        return math.sqrt(2.0) * self.margin

    def blocked(self, xy: torch.Tensor) -> torch.Tensor:
        """Whether each point (..., 2) lies in an occupied cell (points off the grid are free)."""
        if self.occupied.numel() == 0:
            return torch.zeros(xy.shape[:-1], dtype=torch.bool, device=xy.device)
        index = torch.floor((xy - self.origin) / self.resolution).long()
        rows, cols = self.occupied.shape
        inside = (index[..., 0] >= 0) & (index[..., 0] < rows) & (index[..., 1] >= 0) & (index[..., 1] < cols)
        flat = (index[..., 0].clamp(0, rows - 1) * cols + index[..., 1].clamp(0, cols - 1)).reshape(-1)
        return inside & self.occupied.reshape(-1)[flat].view(inside.shape)

    def free_distance(
        self,
        start: torch.Tensor,
        direction: torch.Tensor,
        half_width: torch.Tensor,
        lookahead: float,
        max_half_width: float,
    ) -> torch.Tensor:
        """Distance (m, ≤ ``lookahead``) a segment can sweep from ``start`` along ``direction`` before touching a wall.

        The segment is sampled on the lattice of :class:`WallMap`'s guarantee: the result is at most half a pitch beyond
        the exact first contact, and at most the occupied band's width before it.

        Args:
            start: (N, 2) midpoint of the segment (e.g. the front edge of a robot's footprint), world frame.
            direction: (N, 2) unit direction of travel, perpendicular to the segment.
            half_width: (N,) half length of the segment, at most ``max_half_width``.
            lookahead: Farthest distance looked at; returned where the way is free that far.
            max_half_width: Bound on ``half_width`` that sets the number of sampled lanes (no host sync).
        """
        step = self.pitch
        along = torch.arange(0.0, lookahead + 0.5 * step, step, device=start.device).clamp(max=lookahead)
        across = torch.linspace(-1.0, 1.0, math.ceil(2.0 * max_half_width / step) + 1, device=start.device)
        normal = torch.stack((-direction[:, 1], direction[:, 0]), dim=-1)
        lateral = (half_width[:, None] * across)[:, None, :, None] * normal[:, None, None, :]
        points = start[:, None, None, :] + along[None, :, None, None] * direction[:, None, None, :] + lateral
        return self._first_blocked(points, along, lookahead)

    def clearance(self, center: torch.Tensor, directions: torch.Tensor, reach: float) -> torch.Tensor:
        """Distance (m, ≤ ``reach``) from each point to the nearest wall along any of its directions.

        Args:
            center: (N, 2) points, world frame.
            directions: (N, K, 2) unit directions looked along from each point, at most :attr:`pitch` / ``reach``
                radians apart for no wall within ``reach`` to be missed between them.
            reach: Farthest distance looked at; returned where no wall is nearer.

        Samples lie on the lattice of :class:`WallMap`'s guarantee along each direction: the result is at most the
        occupied band's width plus a pitch short of the wall's face.
        """
        step = self.pitch
        radii = torch.arange(step, reach + 0.5 * step, step, device=center.device).clamp(max=reach)
        points = center[:, None, None, :] + radii[None, :, None, None] * directions[:, None, :, :]
        return self._first_blocked(points, radii, reach)

    def _first_blocked(self, points: torch.Tensor, distances: torch.Tensor, limit: float) -> torch.Tensor:
        """(N,) the first of ``distances`` where a sample of ``points`` (N, D, S, 2) is blocked, else ``limit``."""
        hit = torch.cat((self.blocked(points).any(dim=-1), torch.ones_like(points[:, :1, 0, 0], dtype=torch.bool)), 1)
        return torch.cat((distances, distances.new_tensor([limit])))[hit.to(torch.uint8).argmax(dim=-1)]

"""LiDAR point cloud → robot-centric height map, shared by simulation and the real robot.

This module imports only torch (and :mod:`navila_lab.tensors`, :mod:`navila_lab.sensors.lidar_pattern`) so that the
robot side can use it without Isaac Lab.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from navila_lab.sensors.lidar_pattern import L1PatternSpec
from navila_lab.tensors import zero_rows

FUSIONS = ("max", "newest")
"""Ways :class:`SweepHistory` fuses its sweeps (see :attr:`HeightMapSpec.fusion`)."""
POOLS = ("max", "gaps", "open")
"""Which cells of a sweep's map the max-pool sets (see :attr:`HeightMapSpec.pool`)."""
SHADOW_BEARINGS = round(360.0 / L1PatternSpec.azimuth_step)
"""Bearing sectors around the sensor in which ``pool == "open"`` finds the nearest tall return: one per azimuth step
of the simulated L1 (90 of 4°), centered on its ray azimuths, so each holds one column of rays; a return shadows its
whole sector behind it (~1 cell wide at the map's far edge)."""


@dataclass
class HeightMapSpec:
    """Grid of the height map, in the LiDAR frame (reference values of NaVILA's locomotion policy)."""

    x_range: tuple[float, float] = (-0.8, 0.2)
    """Extent (m) along the LiDAR x axis; rows of the map."""
    y_range: tuple[float, float] = (-0.8, 0.8)
    """Extent (m) along the LiDAR y axis; columns of the map."""
    resolution: float = 0.06
    """Cell edge (m)."""
    z_clip: tuple[float, float] = (0.05, 0.5)
    """Cell values are clipped to this range; values below the lower bound and empty cells become 0."""
    pool_size: int = 3
    """Edge of the max-pool window applied to each sweep's map (odd)."""
    pool: str = field(default="max", metadata={"optional": True})
    """Which cells take the max-pool (absent from files written before it existed: ``"max"``).

    ``"max"`` (the reference's): every cell, so each reads the lowest surface of its window and a wall one cell thick
    (a 0.02 m pane) disappears wherever floor hits lie next to it. ``"gaps"``: only the cells no point fell in; the
    measured ones keep their value (``results/glass_contacts.md``). ``"open"``: as ``"gaps"``, but a cell whose
    center lies farther from the sensor than a tall return (above the clip) on its bearing reads 0, unseen: it is in
    that return's shadow, whatever floor the rays passing beside the return hit in it. With ``"gaps"`` a thin wall met
    end-on shows as a post with floor behind it: the cells of its body hold floor hits from beside it, or are filled
    from them (``results/wall_turn.md``)."""
    num_sweeps: int = 5
    """Number of most recent sweeps fused."""
    fusion: str = field(default="max", metadata={"optional": True})
    """How the sweeps are fused (absent from files written before it existed: ``"max"``).

    ``"max"`` (the reference's): element-wise max, so a wall shows only where every fused sweep saw it, i.e. where the
    oldest sweep saw it while the robot walks at it. ``"newest"``: each cell reads the newest sweep that covers it
    (:func:`bin_sweep`), older sweeps filling only the gaps."""

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the map: 17 × 27 for the defaults."""
        rows = round((self.x_range[1] - self.x_range[0]) / self.resolution + 0.5)
        cols = round((self.y_range[1] - self.y_range[0]) / self.resolution + 0.5)
        return rows, cols

    @property
    def size(self) -> int:
        """Number of cells."""
        rows, cols = self.shape
        return rows * cols

    def to_dict(self) -> dict:
        """Plain-data form for ``deploy.yaml``."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> HeightMapSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})


def window_exit_distance(directions: torch.Tensor, spec: HeightMapSpec) -> torch.Tensor:
    """Distance along each ray from the LiDAR origin beyond which its points lie outside the map's x-y window.

    The point ``t·d`` of a ray with direction ``d`` is in the window only while ``t`` is at most the exit distance of
    the slab ``x_range`` (``x_range[1] / d_x`` for ``d_x > 0``, ``x_range[0] / d_x`` for ``d_x < 0``) and of the
    slab ``y_range``; a ray parallel to a slab that holds the origin never leaves it (``inf``), one parallel to a slab
    that does not never enters it (0). z is not bounded: the map reads any height. When the origin lies in the window
    (as for the reference spec), the result is the exact distance to the window's boundary, i.e. L(a) / cos(e) for
    azimuth a and elevation e; otherwise it is an upper bound.

    Args:
        directions: Ray directions in the LiDAR frame, shape (..., 3); distances are in units of their length.
        spec: Grid of the map; only ``x_range`` and ``y_range`` are read.

    Returns:
        Exit distances, shape (...), non-negative, ``inf`` for rays whose points stay in the window.
    """
    planar = directions[..., :2]
    low = planar.new_tensor((spec.x_range[0], spec.y_range[0]))
    high = planar.new_tensor((spec.x_range[1], spec.y_range[1]))
    holds_origin = (low <= 0.0) & (high >= 0.0)
    parallel = torch.where(holds_origin, torch.inf, 0.0).expand_as(planar)
    exits = torch.where(planar == 0.0, parallel, torch.maximum(low / planar, high / planar))
    return exits.amin(dim=-1).clamp_min(0.0)


def bin_sweep(
    points: torch.Tensor, spec: HeightMapSpec, valid: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Height map of one sweep per batch entry, and the cells it covers.

    Each cell keeps the minimum z of the points that fall in it; values below ``spec.z_clip[0]`` and empty cells
    become 0, the rest are clipped to ``spec.z_clip[1]``; then a ``pool_size`` × ``pool_size`` max-pool is applied
    (to the empty cells alone with ``spec.pool == "gaps"``; with ``"open"`` the cells in a tall return's shadow
    then read 0, see :func:`shadowed_cells`).
    A cell is covered when its pooling window holds a point of any height (a 0 there is a tall surface, not a gap).

    Args:
        points: Points in the LiDAR frame, shape (B, P, 3). Non-finite points are ignored.
        spec: Grid of the map.
        valid: Optional mask of shape (B, P); False entries are ignored (e.g. rays that hit nothing).

    Returns:
        Height maps of shape (B, rows, cols) and their coverage (bool, same shape).
    """
    batch, num_points, _ = points.shape
    rows, cols = spec.shape
    x, y, z = points.unbind(-1)
    keep = torch.isfinite(points).all(-1)
    if valid is not None:
        keep &= valid
    keep &= (x >= spec.x_range[0]) & (x <= spec.x_range[1]) & (y >= spec.y_range[0]) & (y <= spec.y_range[1])
    row = ((x - spec.x_range[0]) / spec.resolution).floor().long().clamp_(0, rows - 1)
    col = ((y - spec.y_range[0]) / spec.resolution).floor().long().clamp_(0, cols - 1)
    cell = torch.where(keep, row * cols + col, rows * cols)  # ignored points land in a spill cell
    cell = cell + torch.arange(batch, device=points.device).unsqueeze(1) * (rows * cols + 1)
    lowest = torch.full((batch * (rows * cols + 1),), torch.inf, device=points.device, dtype=points.dtype)
    lowest.scatter_reduce_(0, cell.reshape(-1), torch.where(keep, z, torch.inf).reshape(-1), reduce="amin")
    grid = lowest.view(batch, rows * cols + 1)[:, :-1].view(batch, rows, cols)
    hit = torch.isfinite(grid)
    seen = hit & (grid >= spec.z_clip[0])
    grid = torch.where(seen, grid.clamp(max=spec.z_clip[1]), torch.zeros_like(grid))
    pad = spec.pool_size // 2
    pooled = F.max_pool2d(torch.stack((grid, hit.to(grid.dtype)), 1), spec.pool_size, stride=1, padding=pad)
    values = pooled[:, 0] if spec.pool == "max" else torch.where(hit, grid, pooled[:, 0])
    if spec.pool == "open":
        values = torch.where(shadowed_cells(points, keep & (z < spec.z_clip[0]), spec), 0.0, values)
    return values, pooled[:, 1] > 0


def shadowed_cells(points: torch.Tensor, tall: torch.Tensor, spec: HeightMapSpec) -> torch.Tensor:
    """(B, rows, cols) cells whose center lies farther from the sensor than a ``tall`` point on its bearing.

    Bearings and distances are taken in the LiDAR frame's x-y plane, where every ray's points share one bearing.
    """
    x, y = points[..., 0], points[..., 1]
    batch = points.shape[0]
    offset = torch.arange(batch, device=points.device).unsqueeze(1) * (SHADOW_BEARINGS + 1)
    sector = torch.where(tall, _bearing_bin(x, y), SHADOW_BEARINGS) + offset  # other points land in a spill sector
    nearest = torch.full((batch * (SHADOW_BEARINGS + 1),), torch.inf, device=points.device, dtype=points.dtype)
    distance = torch.where(tall, torch.hypot(x, y), torch.inf)
    nearest.scatter_reduce_(0, sector.reshape(-1), distance.reshape(-1), reduce="amin")
    nearest = nearest.view(batch, SHADOW_BEARINGS + 1)[:, :-1]
    rows, cols = spec.shape
    center_x = spec.x_range[0] + (torch.arange(rows, device=points.device) + 0.5) * spec.resolution
    center_y = spec.y_range[0] + (torch.arange(cols, device=points.device) + 0.5) * spec.resolution
    cx, cy = torch.meshgrid(center_x, center_y, indexing="ij")
    return torch.hypot(cx, cy) > nearest[:, _bearing_bin(cx, cy)]


def _bearing_bin(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Index of the :data:`SHADOW_BEARINGS` sector of each planar direction (x, y) from the sensor."""
    fraction = (torch.atan2(y, x) + torch.pi) / (2 * torch.pi)
    return torch.round(fraction * SHADOW_BEARINGS).long() % SHADOW_BEARINGS


def height_map_from_points(
    points: torch.Tensor, spec: HeightMapSpec, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Height map of one sweep per batch entry (B, rows, cols): :func:`bin_sweep` without the coverage."""
    return bin_sweep(points, spec, valid)[0]


class SweepHistory:
    """Ring buffer of the last ``spec.num_sweeps`` height maps per batch entry, fused as ``spec.fusion`` says."""

    def __init__(self, batch: int, spec: HeightMapSpec, device: torch.device | str = "cpu"):
        self.spec = spec
        self.maps = torch.zeros(spec.num_sweeps, batch, *spec.shape, device=device)
        self.covered = torch.zeros_like(self.maps, dtype=torch.bool)
        self._slot = 0

    def push(self, maps: torch.Tensor, covered: torch.Tensor | None = None) -> None:
        """Store a new sweep's maps (B, rows, cols) and coverage (default: every cell), replacing the oldest."""
        self._slot = (self._slot + 1) % self.spec.num_sweeps
        self.maps[self._slot] = maps
        self.covered[self._slot] = True if covered is None else covered

    def reset(
        self,
        batch_ids: torch.Tensor | slice = slice(None),
        maps: torch.Tensor | None = None,
        covered: torch.Tensor | None = None,
    ) -> None:
        """Forget the history of the given entries; ``maps`` (one per entry), when given, becomes their only sweep."""
        zero_rows(self.maps, batch_ids, dim=1)
        zero_rows(self.covered, batch_ids, dim=1)
        if maps is not None:
            self.maps[self._slot, batch_ids] = maps
            self.covered[self._slot, batch_ids] = True if covered is None else covered

    @property
    def value(self) -> torch.Tensor:
        """Fused map, shape (B, rows, cols)."""
        if self.spec.fusion == "max":
            return self.maps.amax(dim=0)
        sweeps = self.spec.num_sweeps
        recency = (sweeps - (self._slot - torch.arange(sweeps, device=self.maps.device)) % sweeps).to(torch.uint8)
        score = self.covered * recency.view(-1, 1, 1, 1)  # per slot: num_sweeps for the newest, 0 where uncovered
        return self.maps.gather(0, score.argmax(dim=0, keepdim=True)).squeeze(0) * self.covered.any(dim=0)

    @property
    def latest(self) -> torch.Tensor:
        """The newest sweep's map, shape (B, rows, cols)."""
        return self.maps[self._slot]

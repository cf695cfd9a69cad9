"""Obstacle sub-terrain: flat ground with box obstacles that are walls, not ground (see :mod:`.walls`)."""

from __future__ import annotations

import numpy as np
import trimesh
from isaaclab.utils import configclass

from navila_lab.terrains.flat import FlatSlabTerrainCfg, flat_slab_terrain
from navila_lab.terrains.walls import OBSTACLES, tag_wall


def box_obstacles_terrain(difficulty: float, cfg: BoxObstaclesTerrainCfg) -> tuple[list[trimesh.Trimesh], np.ndarray]:
    """Flat ground with axis-aligned boxes, all as tall as the difficulty sets, none on the central platform.

    Isaac Lab's discrete-obstacles terrain (``obstacle_height_mode="fixed"``) as separate box meshes: the ground stays a
    heightfield for physics, and the boxes collide with vertical faces where the sensors see them.
    """
    rng = np.random.default_rng(None if cfg.seed is None else [cfg.seed, round(difficulty * 1e6)])
    low, high = cfg.height_range
    height = low + difficulty * (high - low)
    size = np.asarray(cfg.size)
    center, platform = 0.5 * size, 0.5 * cfg.platform_width
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    while len(meshes) <= cfg.num_obstacles:
        extent = rng.uniform(*cfg.width_range, size=2)
        corner = rng.uniform(0.0, size - extent)
        if np.all(np.abs(corner + 0.5 * extent - center) < 0.5 * extent + platform):
            continue  # overlaps the platform the robots spawn on
        box = trimesh.creation.box((*extent, height))
        box.apply_translation((*(corner + 0.5 * extent), 0.5 * height))
        meshes.append(tag_wall(box, OBSTACLES))
    return meshes, origin


@configclass
class BoxObstaclesTerrainCfg(FlatSlabTerrainCfg):
    """Flat tile with box obstacles (see :func:`box_obstacles_terrain`)."""

    function = box_obstacles_terrain
    num_obstacles: int = 10
    """Boxes per tile."""
    height_range: tuple[float, float] = (0.3, 2.0)
    """Box height (m) at difficulty 0 and 1."""
    width_range: tuple[float, float] = (0.4, 1.0)
    """Range of each side (m) of a box's footprint."""
    platform_width: float = 1.5
    """Side (m) of the square at the tile center that stays free."""
    seed: int | None = None
    """Set by the terrain generator."""

    def wall_kinds(self) -> tuple[str, ...]:
        """Wall kinds of the tile."""
        return (OBSTACLES,)

"""Glass sub-terrain: thin vertical panels across the robot's way, tagged as glass walls (see :mod:`.walls`)."""

from __future__ import annotations

import numpy as np
import trimesh
from isaaclab.utils import configclass

from navila_lab.terrains.flat import FlatSlabTerrainCfg, flat_slab_terrain
from navila_lab.terrains.walls import GLASS, tag_wall, upright_box


def glass_panels_terrain(difficulty: float, cfg: GlassPanelsTerrainCfg) -> tuple[list[trimesh.Trimesh], np.ndarray]:
    """Flat ground with vertical glass panels; harder levels have more and longer panels.

    Panels stay outside a clear disc around the tile center, where robots spawn.
    """
    rng = np.random.default_rng(None if cfg.seed is None else [cfg.seed, round(difficulty * 1e6)])
    num_panels = round(cfg.num_panels_range[0] + difficulty * (cfg.num_panels_range[1] - cfg.num_panels_range[0]))
    length_max = cfg.panel_length_range[0] + difficulty * (cfg.panel_length_range[1] - cfg.panel_length_range[0])
    center = np.array([0.5 * cfg.size[0], 0.5 * cfg.size[1]])
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    half_extent = 0.5 * min(cfg.size) - 0.5
    while len(meshes) <= num_panels:
        offset = rng.uniform(-half_extent, half_extent, size=2)
        if np.linalg.norm(offset) < cfg.clear_radius:
            continue
        length = rng.uniform(cfg.panel_length_range[0], length_max)
        # panels face the tile center so that they stand across the way of a robot leaving it
        yaw = np.arctan2(offset[1], offset[0]) + 0.5 * np.pi + rng.uniform(-0.3, 0.3)
        panel = upright_box(length, cfg.panel_thickness, cfg.panel_height, yaw, center + offset)
        meshes.append(tag_wall(panel, GLASS))
    return meshes, origin


@configclass
class GlassPanelsTerrainCfg(FlatSlabTerrainCfg):
    """Flat tile with glass panels (see :func:`glass_panels_terrain`)."""

    function = glass_panels_terrain
    num_panels_range: tuple[int, int] = (2, 10)
    """Number of panels at difficulty 0 and 1."""
    panel_length_range: tuple[float, float] = (0.6, 2.0)
    """Panel length (m): lower bound, and upper bound reached at difficulty 1."""
    panel_height: float = 1.0
    """Panel height (m); tall enough that the robot cannot step over it."""
    panel_thickness: float = 0.02
    """Panel thickness (m)."""
    clear_radius: float = 1.0
    """No panel center within this distance (m) of the tile center."""
    seed: int | None = None
    """Set by the terrain generator."""

    def wall_kinds(self) -> tuple[str, ...]:
        """Wall kinds of the tile."""
        return (GLASS,)

"""Thin-wall sub-terrain: 0.1 m walls and glass panes pointing at the tile center, so that robots meet their ends.

The box obstacles are 0.4–1.0 m wide and the glass panes stand across the way; neither shows a robot the end of a
thin wall ahead, which the LiDAR policies walk into head first (a VLN scene's wall ends and door jambs,
``results/wall_turn.md``, ``results/vln_falls.md``).
"""

from __future__ import annotations

import numpy as np
import trimesh
from isaaclab.utils import configclass

from navila_lab.terrains.flat import FlatSlabTerrainCfg, flat_slab_terrain
from navila_lab.terrains.walls import GLASS, OBSTACLES, tag_wall, upright_box


def thin_walls_terrain(difficulty: float, cfg: ThinWallsTerrainCfg) -> tuple[list[trimesh.Trimesh], np.ndarray]:
    """Flat ground with walls running radially away from the tile center; harder levels have more of them.

    Each wall's near end lies on a random bearing at ``end_distance_range`` from the center, the wall turned up to
    ``max_skew`` off the radial line; a robot leaving the center along that bearing meets the end head-on, on a
    nearby bearing it passes the end close beside. A ``glass_fraction`` of the walls are glass panes.
    """
    rng = np.random.default_rng(None if cfg.seed is None else [cfg.seed, round(difficulty * 1e6)])
    low, high = cfg.num_walls_range
    num_walls = round(low + difficulty * (high - low))
    center = np.array([0.5 * cfg.size[0], 0.5 * cfg.size[1]])
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    for _ in range(num_walls):
        bearing = rng.uniform(-np.pi, np.pi)
        yaw = bearing + rng.uniform(-cfg.max_skew, cfg.max_skew)
        distance = rng.uniform(*cfg.end_distance_range)
        # the far end stays on the tile, a margin inside its edge
        length = min(rng.uniform(*cfg.length_range), 0.5 * min(cfg.size) - cfg.edge_margin - distance)
        glass = rng.uniform() < cfg.glass_fraction
        thickness = cfg.glass_thickness if glass else cfg.wall_thickness
        end = center + distance * np.array([np.cos(bearing), np.sin(bearing)])
        middle = end + 0.5 * length * np.array([np.cos(yaw), np.sin(yaw)])
        wall = upright_box(length, thickness, cfg.height, yaw, middle)
        meshes.append(tag_wall(wall, GLASS if glass else OBSTACLES))
    return meshes, origin


@configclass
class ThinWallsTerrainCfg(FlatSlabTerrainCfg):
    """Flat tile with thin walls met end-on (see :func:`thin_walls_terrain`)."""

    function = thin_walls_terrain
    num_walls_range: tuple[int, int] = (4, 12)
    """Number of walls at difficulty 0 and 1."""
    end_distance_range: tuple[float, float] = (1.0, 2.5)
    """Distance (m) from the tile center to a wall's near end; the spawn disc inside stays free."""
    length_range: tuple[float, float] = (0.8, 2.5)
    """Wall length (m), shortened where the wall would come within ``edge_margin`` of the tile's edge."""
    edge_margin: float = 0.2
    """Least distance (m) from a wall's far end to the tile's edge."""
    max_skew: float = 0.35
    """Largest angle (rad, ~20°) between a wall and the radial line through its end."""
    glass_fraction: float = 0.5
    """Share of the walls that are glass panes."""
    wall_thickness: float = 0.1
    """Thickness (m) of the opaque walls: a VLN scene's walls."""
    glass_thickness: float = 0.02
    """Thickness (m) of the panes: the glass sub-terrain's."""
    height: float = 1.0
    """Wall height (m); too tall to step over."""
    seed: int | None = None
    """Set by the terrain generator."""

    def wall_kinds(self) -> tuple[str, ...]:
        """Wall kinds of the tile: glass, opaque walls or both, by ``glass_fraction``."""
        return (GLASS,) * (self.glass_fraction > 0.0) + (OBSTACLES,) * (self.glass_fraction < 1.0)

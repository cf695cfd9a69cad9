"""The NaVILA terrain mix: flat, rough, slopes, tall discrete obstacles and glass, with a curriculum."""

from __future__ import annotations

import isaaclab.terrains as terrain_gen
import numpy as np
from isaaclab.terrains import SubTerrainBaseCfg, TerrainGeneratorCfg

from navila_lab.terrains.flat import FlatSlabTerrainCfg
from navila_lab.terrains.generator import WallTerrainGeneratorCfg
from navila_lab.terrains.glass import GlassPanelsTerrainCfg
from navila_lab.terrains.obstacles import BoxObstaclesTerrainCfg
from navila_lab.terrains.thin_walls import ThinWallsTerrainCfg

NAVILA_TERRAINS_CFG = WallTerrainGeneratorCfg(
    size=(8.0, 8.0),
    border_width=20.0,
    num_rows=10,
    num_cols=20,
    horizontal_scale=0.1,
    vertical_scale=0.005,
    slope_threshold=0.75,
    use_cache=False,
    sub_terrains={
        "flat": FlatSlabTerrainCfg(proportion=0.1, convert_to_heightfield=True),
        "random_rough": terrain_gen.HfRandomUniformTerrainCfg(
            proportion=0.1, noise_range=(0.01, 0.06), noise_step=0.01, border_width=0.25, convert_to_heightfield=True
        ),
        "hf_pyramid_slope": terrain_gen.HfPyramidSlopedTerrainCfg(
            proportion=0.05, slope_range=(0.0, 0.4), platform_width=2.0, border_width=0.25, convert_to_heightfield=True
        ),
        "hf_pyramid_slope_inv": terrain_gen.HfInvertedPyramidSlopedTerrainCfg(
            proportion=0.05, slope_range=(0.0, 0.4), platform_width=2.0, border_width=0.25, convert_to_heightfield=True
        ),
        "obstacles": BoxObstaclesTerrainCfg(
            proportion=0.2,
            num_obstacles=10,
            height_range=(0.3, 2.0),
            width_range=(0.4, 1.0),
            platform_width=1.5,
            convert_to_heightfield=True,
        ),
        "glass": GlassPanelsTerrainCfg(proportion=0.2, convert_to_heightfield=True),
    },
)
"""Reference mix of NaVILA's locomotion training (docs/reference.md §2) plus glass panels.

Physics collides against the ground as a Newton heightfield sampled at the tiles' own 0.1 m grid (every sub-terrain
sets ``convert_to_heightfield``), the same surface as the ground mesh at a fraction of its collision cost
(``results/bench.md``). Obstacle boxes and glass panes are walls (:mod:`navila_lab.terrains.walls`): triangle-mesh
colliders with vertical faces, where the LiDAR and the height scanner, which cast against every mesh, see them.
"""

EXTRA_TERRAINS: dict[str, SubTerrainBaseCfg] = {
    "thin_walls": ThinWallsTerrainCfg(proportion=0.15, convert_to_heightfield=True),
}
"""Sub-terrains outside the reference mix, with their share in a task that adds them to it
(``NaVILA-Go2-Rough-Lidar-Gaps-Walls``); ``navila evaluate --terrain thin_walls`` puts any policy of a task with walls
on them, trained there or not."""

TERRAIN_TYPES: tuple[str, ...] = tuple(NAVILA_TERRAINS_CFG.sub_terrains)
"""Sub-terrain names, in generator column order."""


def sub_terrain_of_column(cfg: TerrainGeneratorCfg) -> list[str]:
    """Name of the sub-terrain in each column of a curriculum grid (the rule of Isaac Lab's ``TerrainGenerator``)."""
    proportions = np.array([sub.proportion for sub in cfg.sub_terrains.values()], dtype=float)
    bounds = np.cumsum(proportions / proportions.sum())
    names = list(cfg.sub_terrains)
    return [names[int(np.argmax(col / cfg.num_cols + 0.001 < bounds))] for col in range(cfg.num_cols)]

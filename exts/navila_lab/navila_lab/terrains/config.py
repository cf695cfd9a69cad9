"""The NaVILA terrain mix: flat, rough, slopes, tall discrete obstacles and glass, with a curriculum."""

from __future__ import annotations

import isaaclab.terrains as terrain_gen
import numpy as np
from isaaclab.terrains import TerrainGeneratorCfg

from navila_lab.terrains.flat import FlatSlabTerrainCfg
from navila_lab.terrains.generator import GlassTerrainGeneratorCfg
from navila_lab.terrains.glass import GlassPanelsTerrainCfg

NAVILA_TERRAINS_CFG = GlassTerrainGeneratorCfg(
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
        "obstacles": terrain_gen.HfDiscreteObstaclesTerrainCfg(
            proportion=0.2,
            num_obstacles=10,
            obstacle_height_mode="fixed",
            obstacle_height_range=(0.3, 2.0),
            obstacle_width_range=(0.4, 1.0),
            platform_width=1.5,
            border_width=0.1,  # a ground ring at the tile's edge: walls moved onto the edge leave cracks
            convert_to_heightfield=True,
        ),
        "glass": GlassPanelsTerrainCfg(proportion=0.2, convert_to_heightfield=True),
    },
)
"""Reference mix of NaVILA's locomotion training (docs/reference.md §2) plus glass panels.

Physics collides against the ground as a Newton heightfield sampled at the tiles' own 0.1 m grid (every sub-terrain
sets ``convert_to_heightfield``): the same surface as the mesh except that an obstacle's vertical wall becomes a
0.1 m wide ramp, at a fraction of the mesh's collision cost (``results/bench.md``). The glass stays a mesh, and the
LiDAR and height scanner cast against the meshes.
"""

TERRAIN_TYPES: tuple[str, ...] = tuple(NAVILA_TERRAINS_CFG.sub_terrains)
"""Sub-terrain names, in generator column order."""


def sub_terrain_of_column(cfg: TerrainGeneratorCfg) -> list[str]:
    """Name of the sub-terrain in each column of a curriculum grid (the rule of Isaac Lab's ``TerrainGenerator``)."""
    proportions = np.array([sub.proportion for sub in cfg.sub_terrains.values()], dtype=float)
    bounds = np.cumsum(proportions / proportions.sum())
    names = list(cfg.sub_terrains)
    return [names[int(np.argmax(col / cfg.num_cols + 0.001 < bounds))] for col in range(cfg.num_cols)]

"""Flat sub-terrain as a thin slab: MuJoCo-Warp rejects static meshes without volume, such as a bare plane."""

from __future__ import annotations

import numpy as np
import trimesh
from isaaclab.terrains import SubTerrainBaseCfg
from isaaclab.utils import configclass


def flat_slab_terrain(difficulty: float, cfg: FlatSlabTerrainCfg) -> tuple[list[trimesh.Trimesh], np.ndarray]:
    """Return a box of the tile's size whose top face is the ground at z = 0, and the tile center."""
    slab = trimesh.creation.box((cfg.size[0], cfg.size[1], cfg.thickness))
    slab.apply_translation((0.5 * cfg.size[0], 0.5 * cfg.size[1], -0.5 * cfg.thickness))
    return [slab], np.array([0.5 * cfg.size[0], 0.5 * cfg.size[1], 0.0])


@configclass
class FlatSlabTerrainCfg(SubTerrainBaseCfg):
    """Flat ground (see :func:`flat_slab_terrain`)."""

    function = flat_slab_terrain
    thickness: float = 0.2
    """Slab thickness (m) below the ground surface."""

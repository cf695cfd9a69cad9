"""Several procedural scenes side by side in one world: where each scene lies, and its free space as one grid.

Every env of a vectorized VLN run may start any episode: all scenes of an episode set are built once, each on its
own tile of a grid, and an episode's poses are moved onto its scene's tile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from navila_tasks.vln.navgrid import NavGrid
from navila_tasks.vln.scenes import Scene, SceneCfg, scene_from_id


@dataclass(frozen=True)
class SceneLayout:
    """Scenes on the tiles of a grid, row by row, ``gap`` meters apart."""

    scenes: tuple[Scene, ...]
    offsets: np.ndarray
    """(S, 2) world (x, y) of each scene's origin."""

    @classmethod
    def from_ids(cls, scene_ids: Sequence[str], gap: float = 2.0, cfg: SceneCfg | None = None) -> SceneLayout:
        """Regenerate the scenes of ``scene_ids`` (duplicates dropped, order kept) and lay them out.

        Raises:
            ValueError: If an id does not name a procedural scene.
        """
        scenes = tuple(scene_from_id(scene_id, cfg) for scene_id in dict.fromkeys(scene_ids))
        if not scenes:
            raise ValueError("no scene to lay out")
        pitch = np.max([scene.cfg.size for scene in scenes], axis=0) + gap
        columns = math.ceil(math.sqrt(len(scenes)))
        tiles = np.array([(index % columns, index // columns) for index in range(len(scenes))], dtype=float)
        return cls(scenes, tiles * pitch)

    @cached_property
    def index(self) -> dict[str, int]:
        """Scene id → tile index."""
        return {scene.scene_id: index for index, scene in enumerate(self.scenes)}

    def offset(self, scene_id: str) -> np.ndarray:
        """World (x, y) of a scene's origin."""
        return self.offsets[self.index[scene_id]]

    @cached_property
    def nav_grids(self) -> dict[str, NavGrid]:
        """Scene id → its navigability grid (in the scene's frame)."""
        return {scene.scene_id: scene.nav_grid() for scene in self.scenes}

    @cached_property
    def camera_nav_grids(self) -> dict[str, NavGrid]:
        """Scene id → its navigability grid as a camera sees the scene: glass does not block."""
        return {scene.scene_id: scene.nav_grid(include_glass=False) for scene in self.scenes}

    def free_space(self, clearance: float) -> NavGrid:
        """One grid over the whole world, free where a point keeps ``clearance`` from every box but the floors.

        Between tiles is free too but unreachable: every scene is closed by its outer walls. All scenes must share one
        grid resolution.
        """
        resolutions = {scene.cfg.grid_resolution for scene in self.scenes}
        if len(resolutions) != 1:
            raise ValueError(f"scenes use different grid resolutions: {sorted(resolutions)}")
        resolution = resolutions.pop()
        extent = np.max([scene.cfg.size for scene in self.scenes], axis=0) + self.offsets.max(axis=0)
        footprints = [
            tuple(np.asarray(box.footprint) + np.tile(offset, 2))
            for scene, offset in zip(self.scenes, self.offsets, strict=True)
            for box in scene.obstacles()
        ]
        return NavGrid.from_footprints(footprints, (0.0, 0.0, *extent), resolution, clearance)

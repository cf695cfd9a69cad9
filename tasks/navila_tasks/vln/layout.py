"""Several scenes side by side in one world: where each scene lies, and its free space as one grid.

Every env of a vectorized VLN run may start any episode: all scenes of an episode set are built once, each on its
own tile of a grid, and an episode's poses are moved onto its scene's tile. A scene is procedural
(``procedural_<seed>``, regenerated) or read from a file of a scenes folder
(:mod:`navila_tasks.vln.scene_files`); a file of that name wins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from navila_tasks.vln.navgrid import NavGrid
from navila_tasks.vln.scene_files import DEFAULT_GLASS_PATTERN, MeshScene, load_mesh_scene, resolve_scene_file
from navila_tasks.vln.scenes import Scene, SceneCfg, scene_from_id


@dataclass(frozen=True)
class SceneSource:
    """Where scenes come from besides the procedural generator."""

    scenes_dir: str | None = None
    """Folder of scene files (docs/scenes.md); None: procedural scenes only."""
    glass_pattern: str = DEFAULT_GLASS_PATTERN
    """Regular expression on prim, node or material names that marks glass in scene files."""
    floor_heights: dict[str, float] = field(default_factory=dict)
    """Scene id → height of the floor its episodes start on (m, scene frame; 0 when absent)."""

    def load(self, scene_id: str, cfg: SceneCfg | None = None) -> Scene | MeshScene:
        """The scene of ``scene_id``: its file when the folder has one, else the procedural scene of that id.

        Raises:
            ValueError: If neither exists, or the file cannot be used.
        """
        if self.scenes_dir is not None:
            try:
                resolve_scene_file(self.scenes_dir, scene_id)
            except ValueError:
                if not scene_id.startswith("procedural_"):
                    raise
            else:
                floor = self.floor_heights.get(scene_id, 0.0)
                return load_mesh_scene(scene_id, self.scenes_dir, self.glass_pattern, floor)
        return scene_from_id(scene_id, cfg)


@dataclass(frozen=True)
class SceneLayout:
    """Scenes on the tiles of a grid, row by row, ``gap`` meters apart."""

    scenes: tuple[Scene | MeshScene, ...]
    offsets: np.ndarray
    """(S, 2) world (x, y) of each scene's origin."""

    @classmethod
    def from_ids(
        cls,
        scene_ids: Sequence[str],
        gap: float = 2.0,
        cfg: SceneCfg | None = None,
        source: SceneSource | None = None,
    ) -> SceneLayout:
        """Load the scenes of ``scene_ids`` (duplicates dropped, order kept) and lay them out.

        Tiles are a whole number of grid cells apart, so that the scenes' grids line up in the world's.

        Raises:
            ValueError: If an id names no scene, or the scenes use different grid resolutions.
        """
        source = source or SceneSource()
        scenes = tuple(source.load(scene_id, cfg) for scene_id in dict.fromkeys(scene_ids))
        if not scenes:
            raise ValueError("no scene to lay out")
        resolutions = {scene.cfg.grid_resolution for scene in scenes}
        if len(resolutions) != 1:
            raise ValueError(f"scenes use different grid resolutions: {sorted(resolutions)}")
        resolution = resolutions.pop()
        pitch = np.ceil((np.max([scene.cfg.size for scene in scenes], axis=0) + gap) / resolution - 1e-6) * resolution
        columns = math.ceil(math.sqrt(len(scenes)))
        tiles = np.array([(index % columns, index // columns) for index in range(len(scenes))], dtype=float)
        lower = np.array([scene.bounds[:2] for scene in scenes], dtype=float)
        return cls(scenes, tiles * pitch - lower)

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

    @cached_property
    def blocked(self) -> dict[str, np.ndarray]:
        """Scene id → its blocked cells (H, W) before inflation, glass included (scene frame, over its bounds)."""
        return {scene.scene_id: scene.blocked() for scene in self.scenes}

    def inside_geometry(self, scene_id: str, xy: Sequence[float]) -> bool:
        """Whether a point (x, y) of a scene's frame lies on a blocked cell (inside or on an obstacle)."""
        grid = self.nav_grids[scene_id]
        row, col = grid.to_cell(xy)
        blocked = self.blocked[scene_id]
        return not (0 <= row < blocked.shape[0] and 0 <= col < blocked.shape[1]) or bool(blocked[row, col])

    def free_space(self, clearance: float) -> NavGrid:
        """One grid over the whole world, free where a point keeps ``clearance`` from every obstacle (floors aside).

        Between tiles is free too but unreachable: every scene is closed by its outer walls.
        """
        resolution = self.scenes[0].cfg.grid_resolution
        corners = [
            np.reshape(scene.bounds, (2, 2)) + offset for scene, offset in zip(self.scenes, self.offsets, strict=True)
        ]
        extent = np.max([upper for _, upper in corners], axis=0)
        bounds = (0.0, 0.0, float(extent[0]), float(extent[1]))
        blocked = np.zeros((round(extent[1] / resolution), round(extent[0] / resolution)), dtype=bool)
        for scene, (lower, _) in zip(self.scenes, corners, strict=True):
            tile = self.blocked[scene.scene_id]
            col, row = np.round(lower / resolution).astype(int)
            blocked[row : row + tile.shape[0], col : col + tile.shape[1]] |= tile
        return NavGrid.from_blocked(blocked, bounds, resolution, clearance)


def scene_floor_heights(episodes: Sequence[object], tolerance: float = 0.5) -> dict[str, float]:
    """Scene id → median start height of its episodes (the floor they walk on).

    Raises:
        ValueError: If a scene's episodes start on floors more than ``tolerance`` apart (one floor per scene).
    """
    heights: dict[str, list[float]] = {}
    for episode in episodes:
        heights.setdefault(episode.scene_id, []).append(float(episode.start_position[2]))
    for scene_id, values in heights.items():
        if max(values) - min(values) > tolerance:
            raise ValueError(
                f"episodes of scene '{scene_id}' start on different floors (z {min(values):.2f} to "
                f"{max(values):.2f} m): one floor per scene is supported"
            )
    return {scene_id: float(np.median(values)) for scene_id, values in heights.items()}

"""Terrain generator and importer that keep walls (obstacles, glass) apart from the ground, as their own prims.

The ground is the last imported prim, which Isaac Lab tags for Newton's heightfield collider; each wall kind is a
triangle-mesh collider at ``<terrain prim>/<kind>`` (vertical faces), and the LiDAR and height scanner cast against all
of them. The importer also builds the walls' :class:`~navila_lab.terrains.walls.WallMap`.
"""

from __future__ import annotations

from typing import Any

import isaaclab.sim as sim_utils
import numpy as np
import trimesh
from isaaclab.physics import PhysicsEvent
from isaaclab.terrains import (
    SubTerrainBaseCfg,
    TerrainGenerator,
    TerrainGeneratorCfg,
    TerrainImporter,
    TerrainImporterCfg,
)
from isaaclab.utils import clone, configclass
from pxr import Sdf, Usd, UsdGeom

from navila_lab.terrains.walls import GLASS, WALL_KINDS, WallMap, wall_kind

GLASS_PRIM_NAME = GLASS
"""The glass of all tiles is imported as ``<terrain prim>/glass``."""
WALLS_KEY = "navila_walls"
"""Key under which the generator attaches the walls (kind → world-frame meshes) to ``terrain_mesh.metadata``."""
GLASS_ATTRIBUTE = "navila:glass"
"""Boolean USD attribute set on glass prims (cameras skip them; metrics count contacts with them)."""
HEIGHTFIELD_ATTRIBUTE = "newton:heightfield:resolution"
"""Attribute Isaac Lab's terrain importer sets on a ground prim that Newton is to collide with as a heightfield."""


class WallTerrainGenerator(TerrainGenerator):
    """Terrain generator whose wall meshes end up in :attr:`walls` instead of the terrain mesh."""

    def __init__(self, cfg: WallTerrainGeneratorCfg, device: str = "cpu") -> None:
        self._walls_of_tile: list[trimesh.Trimesh] = []
        self.walls: dict[str, list[trimesh.Trimesh]] = {kind: [] for kind in WALL_KINDS}
        """Wall meshes of each kind, one per wall, in the frame of :attr:`terrain_mesh`."""
        # without a seed of its own the base class seeds from numpy's global state (the env's seed); the walls too
        self._wall_seed = int(np.random.get_state()[1][0]) if cfg.seed is None else cfg.seed
        super().__init__(cfg, device)
        shift = np.eye(4)
        shift[:2, 3] = -0.5 * cfg.size[0] * cfg.num_rows, -0.5 * cfg.size[1] * cfg.num_cols
        for mesh in (mesh for meshes in self.walls.values() for mesh in meshes):
            mesh.apply_transform(shift)
        self.terrain_mesh.metadata[WALLS_KEY] = self.walls

    def _get_terrain_mesh(self, difficulty: float, cfg: SubTerrainBaseCfg) -> tuple[trimesh.Trimesh, np.ndarray]:
        """Like the base class (without its cache), but wall meshes are kept aside for :attr:`walls`."""
        cfg = clone(cfg)
        cfg.difficulty = float(difficulty)
        cfg.seed = self._wall_seed
        meshes, origin = cfg.function(difficulty, cfg)
        center = np.eye(4)
        center[:2, 3] = -0.5 * cfg.size[0], -0.5 * cfg.size[1]
        self._walls_of_tile = [mesh.apply_transform(center) for mesh in meshes if wall_kind(mesh)]
        ground = trimesh.util.concatenate([mesh for mesh in meshes if not wall_kind(mesh)]).apply_transform(center)
        return ground, origin + center[:3, 3]

    def _add_sub_terrain(
        self, mesh: trimesh.Trimesh, origin: np.ndarray, row: int, col: int, sub_terrain_cfg: SubTerrainBaseCfg
    ) -> None:
        super()._add_sub_terrain(mesh, origin, row, col, sub_terrain_cfg)
        tile = np.eye(4)
        tile[:2, 3] = (row + 0.5) * self.cfg.size[0], (col + 0.5) * self.cfg.size[1]
        for wall in self._walls_of_tile:
            self.walls[wall_kind(wall)].append(wall.apply_transform(tile))
        self._walls_of_tile = []


@configclass
class WallTerrainGeneratorCfg(TerrainGeneratorCfg):
    """Terrain generator cfg whose sub-terrains may return walls (see :func:`~navila_lab.terrains.walls.tag_wall`).

    Tiles are always generated afresh: ``use_cache`` is ignored, since cached tiles would lose their walls.
    """

    class_type: type = WallTerrainGenerator


class WallTerrainImporter(TerrainImporter):
    """Imports the walls of a :class:`WallTerrainGenerator` as separate collision meshes, glass marked."""

    def __init__(self, cfg: TerrainImporterCfg) -> None:
        self.wall_meshes: dict[str, trimesh.Trimesh] = {}
        """Each imported wall kind's meshes merged, world frame."""
        self.wall_map: WallMap | None = None
        """Footprints of every wall on the simulation device; None unless a generated terrain was imported."""
        super().__init__(cfg)
        ground = sim_utils.get_current_stage().GetPrimAtPath(self.terrain_prim_paths[-1])
        self._label_handle = None
        if ground.GetAttribute(HEIGHTFIELD_ATTRIBUTE).HasAuthoredValue():
            mesh = next(prim for prim in Usd.PrimRange(ground) if prim.IsA(UsdGeom.Mesh))
            self._heightfield_label = mesh.GetPath().pathString
            self._label_handle = sim_utils.SimulationContext.instance().physics_manager.register_callback(
                self._label_heightfield, PhysicsEvent.MODEL_INIT, name=f"heightfield_label_{cfg.prim_path}"
            )

    def __del__(self) -> None:
        """Unsubscribe the heightfield labelling callback (as Isaac Lab's assets do with theirs)."""
        if getattr(self, "_label_handle", None) is not None:
            self._label_handle.deregister()

    @property
    def glass_mesh(self) -> trimesh.Trimesh | None:
        """All glass panes merged (world frame), or None when the terrain has none."""
        return self.wall_meshes.get(GLASS)

    def _label_heightfield(self, _event: Any) -> None:
        """Label the ground's Newton heightfield with the path of the mesh it replaced.

        Isaac Lab leaves the heightfield unlabelled; with the mesh's label, contact-sensor filters on the terrain prim
        match it as they matched the mesh.
        """
        import newton
        from isaaclab_newton.physics import NewtonCfg
        from isaaclab_newton.physics.newton_manager_cfg import NewtonBuilderCfg

        sim = sim_utils.SimulationContext.instance()
        if not isinstance(sim.cfg.physics, NewtonCfg):
            return
        builder = sim.get_or_create_backend(NewtonBuilderCfg(physics_cfg=sim.cfg.physics))
        for index, kind in enumerate(builder.shape_type):
            if kind == newton.GeoType.HFIELD and builder.shape_body[index] == -1:
                builder.shape_label[index] = self._heightfield_label

    def import_mesh(self, name: str, mesh: trimesh.Trimesh) -> None:
        """Import ``mesh``; each wall kind it carries goes to ``<prim_path>/<kind>`` first (glass marked).

        The walls are imported first so that the ground is the last imported prim: Isaac Lab tags that one for the
        heightfield collider, and walls must stay meshes with vertical faces.
        """
        walls: dict[str, list[trimesh.Trimesh]] = mesh.metadata.get(WALLS_KEY, {})
        self.wall_meshes = {kind: trimesh.util.concatenate(meshes) for kind, meshes in walls.items() if meshes}
        for kind, merged in self.wall_meshes.items():
            super().import_mesh(kind, merged)
            if kind == GLASS:
                prim = sim_utils.get_current_stage().GetPrimAtPath(self.terrain_prim_paths[-1])
                prim.CreateAttribute(GLASS_ATTRIBUTE, Sdf.ValueTypeNames.Bool).Set(True)
        self.wall_map = WallMap.from_meshes([wall for meshes in walls.values() for wall in meshes], device=self.device)
        super().import_mesh(name, mesh)


@configclass
class WallTerrainImporterCfg(TerrainImporterCfg):
    """Terrain importer cfg that keeps walls as their own prims."""

    class_type: type = WallTerrainImporter

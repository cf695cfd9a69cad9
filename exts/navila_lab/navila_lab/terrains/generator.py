"""Terrain generator and importer that keep glass as its own prim (physics and LiDAR see it; it is marked)."""

from __future__ import annotations

from typing import Any

import isaaclab.sim as sim_utils
import numpy as np
import trimesh
from isaaclab.physics import PhysicsEvent
from isaaclab.terrains import TerrainGenerator, TerrainGeneratorCfg, TerrainImporter, TerrainImporterCfg
from isaaclab.utils import clone, configclass
from pxr import Sdf, Usd, UsdGeom

from navila_lab.terrains.glass import is_glass

GLASS_PRIM_NAME = "glass"
"""The glass of all tiles is imported as ``<terrain prim>/glass``."""
GLASS_MESH_KEY = "navila_glass_mesh"
"""Key under which the generator attaches the glass mesh to ``terrain_mesh.metadata`` for the importer."""
GLASS_ATTRIBUTE = "navila:glass"
"""Boolean USD attribute set on glass prims (cameras skip them; metrics count contacts with them)."""
HEIGHTFIELD_ATTRIBUTE = "newton:heightfield:resolution"
"""Attribute Isaac Lab's terrain importer sets on a ground prim that Newton is to collide with as a heightfield."""


class GlassTerrainGenerator(TerrainGenerator):
    """Terrain generator whose glass panels end up in :attr:`glass_mesh` instead of the terrain mesh."""

    def __init__(self, cfg: GlassTerrainGeneratorCfg, device: str = "cpu"):
        self._glass_of_tile: list[trimesh.Trimesh] = []
        self._glass: list[trimesh.Trimesh] = []
        super().__init__(cfg, device)
        self.glass_mesh = trimesh.util.concatenate(self._glass) if self._glass else None
        if self.glass_mesh is not None:
            shift = np.eye(4)
            shift[:2, 3] = -0.5 * cfg.size[0] * cfg.num_rows, -0.5 * cfg.size[1] * cfg.num_cols
            self.glass_mesh.apply_transform(shift)
            self.terrain_mesh.metadata[GLASS_MESH_KEY] = self.glass_mesh

    def _get_terrain_mesh(self, difficulty: float, cfg) -> tuple[trimesh.Trimesh, np.ndarray]:
        """Like the base class (without its cache), but glass meshes are kept aside for :attr:`glass_mesh`."""
        cfg = clone(cfg)
        cfg.difficulty = float(difficulty)
        cfg.seed = self.cfg.seed
        meshes, origin = cfg.function(difficulty, cfg)
        center = np.eye(4)
        center[:2, 3] = -0.5 * cfg.size[0], -0.5 * cfg.size[1]
        self._glass_of_tile = [mesh.apply_transform(center) for mesh in meshes if is_glass(mesh)]
        ground = trimesh.util.concatenate([mesh for mesh in meshes if not is_glass(mesh)]).apply_transform(center)
        return ground, origin + center[:3, 3]

    def _add_sub_terrain(self, mesh, origin, row, col, sub_terrain_cfg) -> None:
        super()._add_sub_terrain(mesh, origin, row, col, sub_terrain_cfg)
        tile = np.eye(4)
        tile[:2, 3] = (row + 0.5) * self.cfg.size[0], (col + 0.5) * self.cfg.size[1]
        self._glass += [panel.apply_transform(tile) for panel in self._glass_of_tile]
        self._glass_of_tile = []


@configclass
class GlassTerrainGeneratorCfg(TerrainGeneratorCfg):
    """Terrain generator cfg whose sub-terrains may return glass meshes (see :func:`~navila_lab.terrains.glass.is_glass`).

    Tiles are always generated afresh: ``use_cache`` is ignored, since cached tiles would lose their glass.
    """

    class_type: type = GlassTerrainGenerator


class GlassTerrainImporter(TerrainImporter):
    """Imports the glass of a :class:`GlassTerrainGenerator` as a separate, marked collision mesh."""

    glass_mesh: trimesh.Trimesh | None = None
    """All glass panels in the world frame, or None when the terrain has none."""

    def __init__(self, cfg: TerrainImporterCfg) -> None:
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
        """Import ``mesh``; its glass (if any) goes to ``<prim_path>/glass`` with :data:`GLASS_ATTRIBUTE` set.

        The glass is imported first so that the ground is the last imported prim: Isaac Lab tags that one for the
        heightfield collider, and glass (vertical panes) must stay a mesh.
        """
        glass = mesh.metadata.get(GLASS_MESH_KEY)
        if glass is not None:
            super().import_mesh(GLASS_PRIM_NAME, glass)
            self.glass_mesh = glass
            prim = sim_utils.get_current_stage().GetPrimAtPath(self.terrain_prim_paths[-1])
            prim.CreateAttribute(GLASS_ATTRIBUTE, Sdf.ValueTypeNames.Bool).Set(True)
        super().import_mesh(name, mesh)


@configclass
class GlassTerrainImporterCfg(TerrainImporterCfg):
    """Terrain importer cfg that keeps glass as its own prim."""

    class_type: type = GlassTerrainImporter

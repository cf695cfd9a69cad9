"""VLN scenes in the simulator: static colliders, glass marked and hidden from cameras, one tile per scene.

A procedural scene's boxes become ``UsdGeom.Cube`` colliders (exact box contacts, volume for MuJoCo-Warp) coloured
through ``displayColor`` (see :class:`~navila_tasks.vln.layout.SceneLayout` for the tiles). Glass carries the
:data:`~navila_lab.terrains.generator.GLASS_ATTRIBUTE` and the ``guide`` purpose: Newton imports it as colliders that
are not drawn, so the warp renderer skips them while physics and the warp-mesh LiDAR still hit them.

A scene from a file keeps its meshes for the camera and the LiDAR (``UsdGeom.Mesh`` without collision: Newton draws
them, glass as guides); physics gets boxes instead, because MuJoCo-Warp collides with a mesh's convex hull: the
blocked cells of the navigability raster, merged into rectangles and extruded over the blocking band, plus a floor
box. The tile is lowered by the scene's floor height, so that every floor is at z = 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from isaaclab.sim import SpawnerCfg, get_current_stage
from isaaclab.utils import configclass
from navila_lab.terrains.generator import GLASS_ATTRIBUTE
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, Vt

from navila_tasks.vln.layout import SceneLayout, SceneSource
from navila_tasks.vln.scene_files import BLOCKING_BAND, DEFAULT_GLASS_PATTERN, MeshScene, merged_rectangles
from navila_tasks.vln.scenes import FLOOR_RGBA, GLASS_RGBA, WALL_RGBA, Box, BoxKind


def tile_path(prim_path: str, index: int) -> str:
    """Prim path of the scene on tile ``index``."""
    return f"{prim_path}/scene_{index:03d}"


def _define_box(stage: Usd.Stage, path: str, box: Box, drawn: bool = True) -> None:
    """Define a box as a coloured, colliding unit cube scaled to size; glass (and boxes not ``drawn``) are guides."""
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    cube.AddTranslateOp().Set(Gf.Vec3d(*box.center))
    cube.AddScaleOp().Set(Gf.Vec3f(*box.size))
    cube.CreateDisplayColorAttr([Gf.Vec3f(*(channel / 255.0 for channel in box.rgba[:3]))])
    cube.CreateDisplayOpacityAttr([box.rgba[3] / 255.0])
    UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
    if box.kind == BoxKind.GLASS or not drawn:
        cube.CreatePurposeAttr(UsdGeom.Tokens.guide)
    if box.kind == BoxKind.GLASS:
        cube.GetPrim().CreateAttribute(GLASS_ATTRIBUTE, Sdf.ValueTypeNames.Bool).Set(True)


def _define_mesh_scene(stage: Usd.Stage, path: str, scene: MeshScene) -> None:
    """A file scene under ``path``: its meshes drawn (glass as guides), and box colliders (module docstring)."""
    for index, part in enumerate(scene.parts):
        mesh = UsdGeom.Mesh.Define(stage, f"{path}/visual_{index:04d}")
        mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(part.vertices.astype(np.float32)))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(part.faces), 3, dtype=np.int32)))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(part.faces.reshape(-1).astype(np.int32)))
        mesh.CreateDisplayColorAttr([Gf.Vec3f(*(channel / 255.0 for channel in part.rgba[:3]))])
        mesh.CreateDisplayOpacityAttr([part.rgba[3] / 255.0])
        if part.glass:
            mesh.CreatePurposeAttr(UsdGeom.Tokens.guide)
            mesh.GetPrim().CreateAttribute(GLASS_ATTRIBUTE, Sdf.ValueTypeNames.Bool).Set(True)
    x_min, y_min, x_max, y_max = scene.bounds
    resolution, floor, height = scene.grid_resolution, scene.floor_z, BLOCKING_BAND[1]
    floor_box = Box(
        "floor",
        BoxKind.FLOOR,
        ((x_min + x_max) / 2, (y_min + y_max) / 2, floor - 0.05),
        (x_max - x_min, y_max - y_min, 0.1),
        FLOOR_RGBA,
    )
    _define_box(stage, f"{path}/floor", floor_box, drawn=False)
    rasters = ((BoxKind.WALL, scene.blocked(include_glass=False)), (BoxKind.GLASS, scene.blocked(glass_only=True)))
    for kind, raster in rasters:
        for index, (row0, col0, row1, col1) in enumerate(merged_rectangles(raster)):
            center = (
                x_min + (col0 + col1) / 2 * resolution,
                y_min + (row0 + row1) / 2 * resolution,
                floor + height / 2,
            )
            size = ((col1 - col0) * resolution, (row1 - row0) * resolution, height)
            box = Box(f"{kind}_{index:04d}", kind, center, size, GLASS_RGBA if kind == BoxKind.GLASS else WALL_RGBA)
            _define_box(stage, f"{path}/{box.name}", box, drawn=False)


def spawn_vln_scenes(
    prim_path: str,
    cfg: VlnScenesCfg,
    translation: tuple[float, float, float] | None = None,
    orientation: tuple[float, float, float, float] | None = None,
    **kwargs: object,
) -> Usd.Prim:
    """Write every scene of ``cfg.scene_ids`` under ``prim_path``, one Xform per tile (see the module docstring)."""
    stage = get_current_stage()
    root = UsdGeom.Xform.Define(stage, prim_path)
    layout = cfg.layout()
    for index, (scene, offset) in enumerate(zip(layout.scenes, layout.offsets, strict=True)):
        tile = UsdGeom.Xform.Define(stage, tile_path(prim_path, index))
        floor = scene.floor_z if isinstance(scene, MeshScene) else 0.0
        tile.AddTranslateOp().Set(Gf.Vec3d(float(offset[0]), float(offset[1]), -floor))
        if isinstance(scene, MeshScene):
            _define_mesh_scene(stage, str(tile.GetPath()), scene)
            continue
        for box in scene.boxes:
            _define_box(stage, f"{tile.GetPath()}/{box.name}", box)
    return root.GetPrim()


@configclass
class VlnScenesCfg(SpawnerCfg):
    """Procedural VLN scenes side by side (see :func:`spawn_vln_scenes`)."""

    func: Callable = spawn_vln_scenes
    scene_ids: list[str] = []
    """Scene ids, e.g. every scene of an episode file: procedural (``procedural_<seed>``) or files of
    :attr:`scenes_dir`."""
    gap: float = 2.0
    """Space between tiles (m)."""
    scenes_dir: str | None = None
    """Folder of scene files (:mod:`navila_tasks.vln.scene_files`); None: procedural scenes only."""
    glass_pattern: str = DEFAULT_GLASS_PATTERN
    """Regular expression on prim, node or material names that marks glass in scene files."""
    floor_heights: dict[str, float] = {}
    """Scene id → floor height of a file scene (m, its frame), e.g. from :func:`scene_floor_heights`."""

    def layout(self) -> SceneLayout:
        """Where each scene lies in the world."""
        if not self.scene_ids:
            raise ValueError("VlnScenesCfg.scene_ids is empty: set the scenes of the episodes to run")
        source = SceneSource(self.scenes_dir, self.glass_pattern, dict(self.floor_heights))
        return SceneLayout.from_ids(self.scene_ids, self.gap, source=source)

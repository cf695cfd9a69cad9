"""VLN scenes in the simulator: each procedural scene's boxes as static colliders, glass marked and hidden from cameras.

Boxes become ``UsdGeom.Cube`` colliders (exact box contacts, volume for MuJoCo-Warp) coloured through
``displayColor``, one tile per scene (see :class:`~navila_tasks.vln.layout.SceneLayout`). Glass boxes carry the
:data:`~navila_lab.terrains.generator.GLASS_ATTRIBUTE` and the ``guide`` purpose: Newton imports them as colliders
that are not drawn, so the warp renderer skips them while physics and the warp-mesh LiDAR still hit them.
"""

from __future__ import annotations

from collections.abc import Callable

from isaaclab.sim import SpawnerCfg, get_current_stage
from isaaclab.utils import configclass
from navila_lab.terrains.generator import GLASS_ATTRIBUTE
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics

from navila_tasks.vln.layout import SceneLayout
from navila_tasks.vln.scenes import Box, BoxKind


def tile_path(prim_path: str, index: int) -> str:
    """Prim path of the scene on tile ``index``."""
    return f"{prim_path}/scene_{index:03d}"


def _define_box(stage: Usd.Stage, path: str, box: Box) -> None:
    """Define a box as a coloured, colliding unit cube scaled to size; glass is marked and drawn only as a guide."""
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    cube.AddTranslateOp().Set(Gf.Vec3d(*box.center))
    cube.AddScaleOp().Set(Gf.Vec3f(*box.size))
    cube.CreateDisplayColorAttr([Gf.Vec3f(*(channel / 255.0 for channel in box.rgba[:3]))])
    cube.CreateDisplayOpacityAttr([box.rgba[3] / 255.0])
    UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
    if box.kind == BoxKind.GLASS:
        cube.CreatePurposeAttr(UsdGeom.Tokens.guide)
        cube.GetPrim().CreateAttribute(GLASS_ATTRIBUTE, Sdf.ValueTypeNames.Bool).Set(True)


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
        tile.AddTranslateOp().Set(Gf.Vec3d(float(offset[0]), float(offset[1]), 0.0))
        for box in scene.boxes:
            _define_box(stage, f"{tile.GetPath()}/{box.name}", box)
    return root.GetPrim()


@configclass
class VlnScenesCfg(SpawnerCfg):
    """Procedural VLN scenes side by side (see :func:`spawn_vln_scenes`)."""

    func: Callable = spawn_vln_scenes
    scene_ids: list[str] = []
    """Procedural scene ids (``procedural_<seed>``), e.g. every scene of an episode file."""
    gap: float = 2.0
    """Space between tiles (m)."""

    def layout(self) -> SceneLayout:
        """Where each scene lies in the world."""
        if not self.scene_ids:
            raise ValueError("VlnScenesCfg.scene_ids is empty: set the scenes of the episodes to run")
        return SceneLayout.from_ids(self.scene_ids, self.gap)

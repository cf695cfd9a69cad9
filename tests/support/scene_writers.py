"""Procedural scenes written as scene files, as users bring them: USD (NaVILA-Bench folder layout) and glTF (GLB)."""

from pathlib import Path

import numpy as np
import trimesh
from navila_tasks.vln.scenes import BoxKind, Scene
from pxr import Gf, Usd, UsdGeom, UsdPhysics, Vt


def write_usd(scene: Scene, path: Path, name: str | None = None, lift: float = 0.0, colliders: bool = True) -> Path:
    """One ``UsdGeom.Mesh`` per box under ``/World``, named after it (glass boxes ``glass_*``), metres, z up.

    Args:
        scene: The procedural scene.
        path: The ``.usd`` file to write.
        name: Prefix of the prim names (default: none).
        lift: Height added to every vertex (a floor above z = 0).
        colliders: Apply ``UsdPhysics.CollisionAPI`` to every mesh.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdGeom.Xform.Define(stage, "/World")
    for box in scene.boxes:
        mesh = box.mesh()
        prim = UsdGeom.Mesh.Define(stage, f"/World/{name or ''}{box.name}")
        prim.CreatePointsAttr(Vt.Vec3fArray.FromNumpy((mesh.vertices + [0.0, 0.0, lift]).astype(np.float32)))
        prim.CreateFaceVertexCountsAttr([3] * len(mesh.faces))
        prim.CreateFaceVertexIndicesAttr(mesh.faces.reshape(-1).tolist())
        prim.CreateDisplayColorAttr([Gf.Vec3f(*(channel / 255.0 for channel in box.rgba[:3]))])
        if colliders:
            UsdPhysics.CollisionAPI.Apply(prim.GetPrim())
    stage.GetRootLayer().Save()
    return path


def write_glb(scene: Scene, path: Path, lift: float = 0.0) -> Path:
    """The scene's boxes as named glTF nodes (glass boxes ``glass_*``), y up as glTF wants."""
    z_up_to_y_up = trimesh.transformations.rotation_matrix(-np.pi / 2, [1.0, 0.0, 0.0])
    export = trimesh.Scene()
    for box in scene.boxes:
        mesh = box.mesh()
        mesh.apply_translation([0.0, 0.0, lift])
        mesh.apply_transform(z_up_to_y_up)
        export.add_geometry(mesh, geom_name=box.name, node_name=box.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    export.export(path)
    return path


def glass_count(scene: Scene) -> int:
    return sum(box.kind == BoxKind.GLASS for box in scene.boxes)

"""Scenes from files (docs/scenes.md): NaVILA-Bench / VLN-CE-Isaac folders of USD, or plain USD, glTF/GLB, OBJ meshes.

An episode's ``scene_id`` (``17DRP5sb8fy``, or R2R-CE's ``mp3d/17DRP5sb8fy/17DRP5sb8fy.glb``) names a file by its stem,
looked up in a scenes folder as ``<stem>/<stem>.usd`` (the NaVILA-Bench layout), ``<stem>.<suffix>`` or
``<stem>/<stem>.<suffix>``. A scene is read into triangle meshes in meters, z up: USD by its stage's up axis and
units, glTF/GLB y up (the glTF convention), OBJ z up. Its collision geometry is every USD prim with
``UsdPhysics.CollisionAPI`` (a USD scene without one is refused), and all of a glTF or OBJ file. Parts whose name or
material matches the glass pattern are glass: the LiDAR sees them, the camera does not (as in the procedural scenes).

The navigability grid comes from the collision triangles that reach into the robot's height band above the floor
(:data:`BLOCKING_BAND`), rasterized exactly; the floor height of a scene is where its episodes start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import trimesh

from navila_tasks.vln.navgrid import NavGrid, rasterize_triangles

USD_SUFFIXES = (".usd", ".usda", ".usdc")
MESH_SUFFIXES = (".glb", ".gltf", ".obj")
DEFAULT_GLASS_PATTERN = r"(?i)glass|window"
"""Prim, node or material names that mark glass (case-insensitive 'glass' or 'window')."""
BLOCKING_BAND = (0.05, 1.0)
"""Heights above the floor (m) where geometry blocks the robot: from a low step to above its camera."""
DEFAULT_RGBA = (180, 180, 180, 255)
GLASS_RGBA = (170, 210, 235, 60)


@dataclass(frozen=True)
class MeshPart:
    """One mesh of a scene file, in the scene frame (m, z up)."""

    name: str
    vertices: np.ndarray
    """(V, 3) float."""
    faces: np.ndarray
    """(F, 3) int triangles."""
    rgba: tuple[int, int, int, int] = DEFAULT_RGBA
    glass: bool = False
    collides: bool = True
    """Whether physics (and the navigability grid) sees it; visual-only parts are drawn and seen by the LiDAR."""

    @property
    def triangles(self) -> np.ndarray:
        """(F, 3, 3) corner positions."""
        return self.vertices[self.faces]


@dataclass(frozen=True)
class MeshSceneCfg:
    """Extent and grid of a scene from a file (the fields a :class:`~navila_tasks.vln.layout.SceneLayout` reads)."""

    size: tuple[float, float]
    """Extent along x and y of :attr:`MeshScene.bounds` (m)."""
    grid_resolution: float = 0.1
    robot_radius: float = 0.3


@dataclass
class MeshScene:
    """A scene read from a file: its meshes, floor height and grid."""

    scene_id: str
    source: Path
    parts: list[MeshPart]
    floor_z: float = 0.0
    """Height of the floor the episodes start on (m, scene frame); the simulator puts it at z = 0."""
    grid_resolution: float = 0.1
    robot_radius: float = 0.3
    _grids: dict[bool, NavGrid] = field(default_factory=dict, repr=False)

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """x-y extent of every part, out to whole grid cells (m)."""
        points = np.concatenate([part.vertices[:, :2] for part in self.parts])
        low = np.floor(points.min(axis=0) / self.grid_resolution) * self.grid_resolution
        high = np.ceil(points.max(axis=0) / self.grid_resolution) * self.grid_resolution
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])

    @property
    def cfg(self) -> MeshSceneCfg:
        """Extent and grid, read like a procedural scene's cfg."""
        x_min, y_min, x_max, y_max = self.bounds
        return MeshSceneCfg((x_max - x_min, y_max - y_min), self.grid_resolution, self.robot_radius)

    def blocked(self, include_glass: bool = True, glass_only: bool = False) -> np.ndarray:
        """(H, W) bool over :attr:`bounds`: cells under collision triangles that reach into :data:`BLOCKING_BAND`.

        Args:
            include_glass: Count glass (without: the scene as a camera sees it).
            glass_only: Count glass only.
        """
        low, high = self.floor_z + BLOCKING_BAND[0], self.floor_z + BLOCKING_BAND[1]
        chosen = [p for p in self.parts if p.collides and (p.glass if glass_only else include_glass or not p.glass)]
        triangles = np.concatenate([part.triangles for part in chosen]) if chosen else np.zeros((0, 3, 3))
        z = triangles[..., 2]
        in_band = (z.max(axis=1) > low) & (z.min(axis=1) < high)
        return rasterize_triangles(triangles[in_band][..., :2], self.bounds, self.grid_resolution)

    def nav_grid(self, include_glass: bool = True) -> NavGrid:
        """Navigability grid: blocked cells inflated by the robot radius; glass only with ``include_glass``."""
        if include_glass not in self._grids:
            blocked = self.blocked(include_glass)
            self._grids[include_glass] = NavGrid.from_blocked(
                blocked, self.bounds, self.grid_resolution, self.robot_radius
            )
        return self._grids[include_glass]


def resolve_scene_file(scenes_dir: str | Path, scene_id: str) -> Path:
    """The file of ``scene_id`` in ``scenes_dir`` (see the module docstring).

    Raises:
        ValueError: Naming the paths tried, when none exists.
    """
    scenes_dir = Path(scenes_dir)
    stem = Path(scene_id).stem
    candidates = [scenes_dir / stem / f"{stem}{suffix}" for suffix in USD_SUFFIXES]
    candidates += [scenes_dir / f"{stem}{suffix}" for suffix in USD_SUFFIXES + MESH_SUFFIXES]
    candidates += [scenes_dir / stem / f"{stem}{suffix}" for suffix in MESH_SUFFIXES]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        raise ValueError(
            f"scene '{scene_id}' not found in {scenes_dir}: expected {stem}/{stem}.usd (NaVILA-Bench layout) or "
            f"{stem}.usd|.glb|.obj"
        )
    return found


def load_mesh_scene(
    scene_id: str, scenes_dir: str | Path, glass_pattern: str = DEFAULT_GLASS_PATTERN, floor_z: float = 0.0
) -> MeshScene:
    """Read the scene file of ``scene_id``.

    Raises:
        ValueError: If the file is missing, unreadable, or has no collision geometry.
    """
    path = resolve_scene_file(scenes_dir, scene_id)
    glass = re.compile(glass_pattern)
    try:
        parts = read_usd(path, glass) if path.suffix in USD_SUFFIXES else read_mesh_file(path, glass)
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise ValueError(f"scene '{scene_id}': cannot read {path} ({error})") from None
    if not any(part.collides and len(part.faces) for part in parts):
        what = "no prim with UsdPhysics.CollisionAPI" if path.suffix in USD_SUFFIXES else "no triangles"
        raise ValueError(f"scene '{scene_id}' ({path}) has no collision geometry ({what})")
    return MeshScene(scene_id, path, parts, floor_z)


def read_mesh_file(path: Path, glass: re.Pattern) -> list[MeshPart]:
    """Parts of a glTF/GLB (y up, turned z up) or OBJ (z up) file: one per node, glass by node or material name."""
    scene = trimesh.load(path, force="scene", process=False)
    y_up = path.suffix in (".glb", ".gltf")
    parts = []
    for node in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[node]
        mesh = scene.geometry[geometry_name]
        if not isinstance(mesh, trimesh.Trimesh) or not len(mesh.faces):
            continue
        vertices = trimesh.transform_points(mesh.vertices, transform)
        if y_up:
            vertices = np.stack((vertices[:, 0], -vertices[:, 2], vertices[:, 1]), axis=-1)
        material = getattr(getattr(mesh.visual, "material", None), "name", None) or ""
        is_glass = bool(glass.search(node) or glass.search(material))
        parts.append(MeshPart(node, vertices, np.asarray(mesh.faces), _mesh_color(mesh, is_glass), is_glass))
    return parts


def _mesh_color(mesh: trimesh.Trimesh, glass: bool) -> tuple[int, int, int, int]:
    """A part's display colour: glass's, else the mean of its face or vertex colours, else the material's."""
    if glass:
        return GLASS_RGBA
    visual = mesh.visual
    if visual.kind in ("face", "vertex"):
        colors = visual.face_colors if visual.kind == "face" else visual.vertex_colors
        return tuple(int(channel) for channel in np.asarray(colors, dtype=float).mean(axis=0).round())
    material = getattr(visual, "material", None)
    color = getattr(material, "baseColorFactor", None) if material is not None else None
    return tuple(int(channel) for channel in color) if color is not None else DEFAULT_RGBA


def read_usd(path: Path, glass: re.Pattern) -> list[MeshPart]:
    """Parts of a USD stage: every mesh and cube, in meters with z up; colliders are prims with CollisionAPI."""
    from pxr import Usd, UsdGeom, UsdPhysics, UsdShade

    stage = Usd.Stage.Open(str(path))
    if stage is None:
        raise ValueError("not a USD stage")
    scale = UsdGeom.GetStageMetersPerUnit(stage)
    y_up = UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    cache = UsdGeom.XformCache()
    parts = []
    for prim in stage.Traverse():
        if prim.IsA(UsdGeom.Mesh):
            vertices, faces = _usd_mesh(UsdGeom.Mesh(prim))
        elif prim.IsA(UsdGeom.Cube):
            box = trimesh.creation.box(extents=[UsdGeom.Cube(prim).GetSizeAttr().Get()] * 3)
            vertices, faces = np.asarray(box.vertices), np.asarray(box.faces)
        else:
            continue
        matrix = np.asarray(cache.GetLocalToWorldTransform(prim), dtype=float)  # row vectors: p' = p · M
        vertices = (np.c_[vertices, np.ones(len(vertices))] @ matrix)[:, :3] * scale
        if y_up:
            vertices = np.stack((vertices[:, 0], -vertices[:, 2], vertices[:, 1]), axis=-1)
        material = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()[0]
        material_name = material.GetPrim().GetName() if material else ""
        is_glass = bool(glass.search(prim.GetName()) or glass.search(material_name))
        collides = any(p.HasAPI(UsdPhysics.CollisionAPI) for p in _self_and_ancestors(prim))
        color = UsdGeom.Gprim(prim).GetDisplayColorAttr().Get()
        rgba = GLASS_RGBA if is_glass else DEFAULT_RGBA
        if color is not None and len(color) and not is_glass:
            rgba = (*(int(round(255 * channel)) for channel in color[0]), 255)
        parts.append(MeshPart(str(prim.GetPath()), vertices, faces, rgba, is_glass, collides))
    return parts


def _self_and_ancestors(prim: object) -> list:
    chain = []
    while prim and prim.IsValid() and str(prim.GetPath()) != "/":
        chain.append(prim)
        prim = prim.GetParent()
    return chain


def _usd_mesh(mesh: object) -> tuple[np.ndarray, np.ndarray]:
    """Points and fan-triangulated faces of a ``UsdGeom.Mesh``."""
    points = np.asarray(mesh.GetPointsAttr().Get() or [], dtype=float).reshape(-1, 3)
    counts = np.asarray(mesh.GetFaceVertexCountsAttr().Get() or [], dtype=int)
    indices = np.asarray(mesh.GetFaceVertexIndicesAttr().Get() or [], dtype=int)
    starts = np.cumsum(counts) - counts
    fans = np.maximum(counts - 2, 0)
    face = np.repeat(np.arange(len(counts)), fans)
    corner = np.arange(fans.sum()) - (np.cumsum(fans) - fans)[face] + 1
    first = starts[face]
    faces = np.stack((indices[first], indices[first + corner], indices[first + corner + 1]), axis=-1)
    return points, faces.reshape(-1, 3)


def merged_rectangles(blocked: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Cover the blocked cells with few axis-aligned rectangles (row0, col0, row1, col1), ends excluded.

    Runs of blocked cells along each row are merged down the rows while they repeat exactly.
    """
    rectangles, open_runs = [], {}
    for row in range(blocked.shape[0] + 1):
        runs = set()
        if row < blocked.shape[0]:
            padded = np.concatenate(([False], blocked[row], [False])).astype(np.int8)
            edges = np.flatnonzero(np.diff(padded))
            runs = set(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
        for run in set(open_runs) - runs:
            rectangles.append((open_runs.pop(run), run[0], row, run[1]))
        for run in runs - set(open_runs):
            open_runs[run] = row
    return rectangles

"""Procedural indoor scenes for VLN: rooms, corridors, doors, glass, furniture landmarks and clutter.

A scene is a list of axis-aligned boxes split recursively into rooms (binary space partitioning): every split wall
has one doorway, so all rooms connect; some splits leave a corridor between two rooms; some walls are glass
partitions whose doorway is a glass door with its glass leaf swung open. Furniture carries a semantic label and a
colour name for the instructions. Physics and LiDAR see every box (glass included, as separately named meshes);
cameras see everything but glass (docs/reference.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import trimesh
from scipy import ndimage

from navila_tasks.vln.navgrid import NavGrid, rasterize_footprints


class BoxKind(StrEnum):
    """What a box is, which decides who sees it."""

    FLOOR = "floor"
    WALL = "wall"
    GLASS = "glass"
    FURNITURE = "furniture"
    CLUTTER = "clutter"


@dataclass(frozen=True)
class Box:
    """An axis-aligned box of the scene."""

    name: str
    """Unique mesh name, e.g. ``wall_03``, ``glass_door_01``, ``furniture_05_red_sofa``."""
    kind: BoxKind
    center: tuple[float, float, float]
    """World position (m); z up, floor at z = 0."""
    size: tuple[float, float, float]
    """Extent along x, y, z (m)."""
    rgba: tuple[int, int, int, int]
    """Display colour."""
    label: str = ""
    """Semantic label: ``sofa``, ``glass door``, ``wall`` ..."""
    color: str = ""
    """Colour name used in instructions (furniture and clutter)."""

    @property
    def footprint(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) in the world (m)."""
        (x, y, _), (sx, sy, _) = self.center, self.size
        return x - sx / 2, y - sy / 2, x + sx / 2, y + sy / 2

    @property
    def description(self) -> str:
        """How an instruction names it, e.g. ``red sofa``."""
        return f"{self.color} {self.label}".strip()

    def mesh(self) -> trimesh.Trimesh:
        """Triangle mesh of the box with its colour."""
        mesh = trimesh.creation.box(
            extents=self.size, transform=trimesh.transformations.translation_matrix(self.center)
        )
        mesh.visual.face_colors = self.rgba
        return mesh


@dataclass(frozen=True)
class Room:
    """A rectangular room or corridor."""

    index: int
    bounds: tuple[float, float, float, float]
    """(x_min, y_min, x_max, y_max) between wall centre lines (m)."""
    is_corridor: bool = False

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """Whether world points (..., 2) lie inside."""
        x_min, y_min, x_max, y_max = self.bounds
        return (xy[..., 0] >= x_min) & (xy[..., 0] <= x_max) & (xy[..., 1] >= y_min) & (xy[..., 1] <= y_max)


@dataclass(frozen=True)
class Doorway:
    """An opening in a wall between two rooms."""

    center: tuple[float, float]
    """World (x, y) of the opening's center (m)."""
    along_x: bool
    """Whether the wall runs along x (the opening spans x)."""
    width: float
    glass: bool
    """Whether the wall is a glass partition (the opening is then a glass door)."""

    def covers(self, coordinate: float, along_x: bool, line: float, margin: float) -> bool:
        """Whether a perpendicular wall at ``coordinate`` meeting this wall's line ``line`` would hit the opening."""
        if along_x != self.along_x:
            return False
        position, wall_line = (self.center[0], self.center[1]) if along_x else (self.center[1], self.center[0])
        return abs(wall_line - line) < 1e-6 and abs(coordinate - position) < self.width / 2 + margin


@dataclass(frozen=True)
class SceneCfg:
    """Sizes and probabilities of the generator."""

    size: tuple[float, float] = (10.0, 10.0)
    """Floor extent along x and y (m)."""
    wall_height: float = 2.5
    wall_thickness: float = 0.1
    door_width: float = 1.2
    min_room_size: float = 3.0
    """Smallest room edge (m)."""
    max_split_depth: int = 2
    corridor_width: float = 1.6
    corridor_probability: float = 0.3
    glass_probability: float = 0.35
    """Chance that a split wall is a glass partition."""
    furniture_per_room: tuple[int, int] = (1, 3)
    clutter_count: tuple[int, int] = (2, 6)
    grid_resolution: float = 0.1
    robot_radius: float = 0.3
    """Clearance kept around obstacles in the navigability grid (m)."""


FURNITURE_SIZES: dict[str, tuple[float, float, float]] = {
    "sofa": (2.0, 0.9, 0.8),
    "table": (1.2, 0.8, 0.75),
    "plant": (0.5, 0.5, 1.2),
    "bed": (2.0, 1.6, 0.55),
    "shelf": (1.0, 0.4, 1.8),
    "chair": (0.55, 0.55, 0.9),
    "cabinet": (0.8, 0.5, 1.0),
    "armchair": (0.9, 0.9, 0.9),
}
"""Semantic label → extent (m) in its default orientation."""
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40),
    "blue": (40, 70, 200),
    "green": (40, 160, 60),
    "yellow": (230, 200, 40),
    "white": (235, 235, 235),
    "black": (30, 30, 30),
    "brown": (120, 80, 40),
    "orange": (240, 140, 30),
}
"""Colour name → RGB of furniture and clutter."""
WALL_RGBA = (200, 196, 186, 255)
GLASS_RGBA = (170, 210, 235, 60)
FLOOR_RGBA = (150, 150, 150, 255)
GLASS_PANEL_THICKNESS = 0.03
GLASS_DOOR_HEIGHT = 2.1
MAX_LAYOUT_ATTEMPTS = 100


@dataclass
class Scene:
    """A generated indoor scene."""

    scene_id: str
    cfg: SceneCfg
    rooms: list[Room] = field(default_factory=list)
    doorways: list[Doorway] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Floor extent (x_min, y_min, x_max, y_max) (m)."""
        return 0.0, 0.0, *self.cfg.size

    @property
    def landmarks(self) -> list[Box]:
        """Furniture: the boxes instructions refer to."""
        return [box for box in self.boxes if box.kind == BoxKind.FURNITURE]

    def obstacles(self, include_glass: bool = True) -> list[Box]:
        """Every box but the floor: what blocks the robot; glass only with ``include_glass`` (without: as seen)."""
        ignored = (BoxKind.FLOOR,) if include_glass else (BoxKind.FLOOR, BoxKind.GLASS)
        return [box for box in self.boxes if box.kind not in ignored]

    def meshes(self, include_glass: bool = True) -> trimesh.Scene:
        """Meshes named after their boxes: all of them for physics and LiDAR, without glass for cameras.

        ``scene.meshes().dump(concatenate=True)`` gives one mesh for ray casting.
        """
        scene = trimesh.Scene()
        for box in self.boxes:
            if include_glass or box.kind != BoxKind.GLASS:
                scene.add_geometry(box.mesh(), geom_name=box.name, node_name=box.name)
        return scene

    def blocked(self, include_glass: bool = True) -> np.ndarray:
        """(H, W) bool over :attr:`bounds`: cells under a box other than the floor (glass with ``include_glass``)."""
        footprints = [box.footprint for box in self.obstacles(include_glass)]
        return rasterize_footprints(footprints, self.bounds, self.cfg.grid_resolution)

    def nav_grid(self, include_glass: bool = True) -> NavGrid:
        """Navigability grid: every box but the floor blocks; glass only with ``include_glass`` (without: as seen)."""
        blocked = self.blocked(include_glass)
        return NavGrid.from_blocked(blocked, self.bounds, self.cfg.grid_resolution, self.cfg.robot_radius)

    def room_of(self, xy: np.ndarray) -> int:
        """Index of the room containing a world point (x, y), or -1."""
        return next((room.index for room in self.rooms if room.contains(np.asarray(xy))), -1)


def scene_id_for_seed(seed: int) -> str:
    """Scene id of a generated scene."""
    return f"procedural_{seed:05d}"


def scene_from_id(scene_id: str, cfg: SceneCfg | None = None) -> Scene:
    """Regenerate the scene of an episode from its id (the generator is deterministic)."""
    prefix, _, number = scene_id.rpartition("_")
    if prefix != "procedural" or not number.isdigit():
        raise ValueError(f"scene id {scene_id!r} is not a procedural scene (expected 'procedural_<seed>')")
    return generate_scene(int(number), cfg)


def generate_scene(seed: int, cfg: SceneCfg | None = None) -> Scene:
    """Generate a scene; the same seed and cfg give the same scene.

    Args:
        seed: Random seed.
        cfg: Sizes and probabilities.
    """
    cfg = cfg or SceneCfg()
    builder = _SceneBuilder(Scene(scene_id_for_seed(seed), cfg), np.random.default_rng(seed))
    builder.build()
    return builder.scene


class _SceneBuilder:
    """Adds boxes to a scene in order: floor, outer walls, split walls with doors, furniture, clutter."""

    def __init__(self, scene: Scene, rng: np.random.Generator) -> None:
        self.scene, self.cfg, self.rng = scene, scene.cfg, rng

    def build(self) -> None:
        for _ in range(MAX_LAYOUT_ATTEMPTS):  # a layout whose free space falls apart is drawn again (rare)
            self._layout()
            if ndimage.label(self.scene.nav_grid().free)[1] == 1:
                break
        else:
            raise RuntimeError(
                f"{self.scene.scene_id}: no connected layout in {MAX_LAYOUT_ATTEMPTS} draws; check SceneCfg"
            )
        for room in self.scene.rooms:
            if not room.is_corridor:
                for _ in range(self.rng.integers(self.cfg.furniture_per_room[0], self.cfg.furniture_per_room[1] + 1)):
                    self._place_furniture(room)
        for _ in range(self.rng.integers(self.cfg.clutter_count[0], self.cfg.clutter_count[1] + 1)):
            self._place_clutter()

    # --- layout ---------------------------------------------------------------------------------------------------

    def _layout(self) -> None:
        """Floor, outer walls, and the recursive split into rooms and corridors (replacing any earlier layout)."""
        self.scene.boxes.clear()
        self.scene.rooms.clear()
        self.scene.doorways.clear()
        width, depth = self.cfg.size
        self._add(BoxKind.FLOOR, "floor", (width / 2, depth / 2, -0.05), (width, depth, 0.1), FLOOR_RGBA)
        for along_x, line in ((True, 0.0), (True, depth), (False, 0.0), (False, width)):
            self._wall_segment(along_x, line, 0.0, width if along_x else depth, glass=False)
        self._split((0.0, 0.0, width, depth), depth=0)

    def _add(self, kind: BoxKind, name: str, center: tuple, size: tuple, rgba: tuple, label: str = "") -> None:
        name = f"{name}_{len(self.scene.boxes):02d}" if kind != BoxKind.FLOOR else name
        self.scene.boxes.append(Box(name, kind, tuple(map(float, center)), tuple(map(float, size)), rgba, label))

    def _wall_segment(self, along_x: bool, line: float, start: float, end: float, glass: bool) -> None:
        """Add a wall (or glass partition) piece on ``y = line`` (``along_x``) or ``x = line`` from start to end."""
        if end - start < 1e-6:
            return
        thickness = GLASS_PANEL_THICKNESS if glass else self.cfg.wall_thickness
        middle, length = (start + end) / 2, end - start
        center = (middle, line, self.cfg.wall_height / 2) if along_x else (line, middle, self.cfg.wall_height / 2)
        size = (length, thickness, self.cfg.wall_height) if along_x else (thickness, length, self.cfg.wall_height)
        if glass:
            self._add(BoxKind.GLASS, "glass_partition", center, size, GLASS_RGBA, "glass partition")
        else:
            self._add(BoxKind.WALL, "wall", center, size, WALL_RGBA, "wall")

    def _wall_with_door(self, along_x: bool, line: float, start: float, end: float, swing: float | None = None) -> None:
        """Add a split wall with one doorway; glass walls get a glass door leaf swung open beside the opening.

        ``swing`` (+1 or -1) is the side of the wall the leaf opens into (toward larger or smaller coordinates);
        random when omitted.
        """
        half = self.cfg.door_width / 2
        door = self.rng.uniform(start + half + 0.4, end - half - 0.4)
        glass = bool(self.rng.random() < self.cfg.glass_probability)
        self._wall_segment(along_x, line, start, door - half, glass)
        self._wall_segment(along_x, line, door + half, end, glass)
        center = (door, line) if along_x else (line, door)
        self.scene.doorways.append(Doorway(center, along_x, self.cfg.door_width, glass))
        if glass:
            self._add_glass_leaf(along_x, line, door - half + GLASS_PANEL_THICKNESS, swing)

    def _add_glass_leaf(self, along_x: bool, line: float, hinge: float, swing: float | None) -> None:
        """Add a glass door's leaf, open perpendicular to its wall; leave it out where it would block the way."""
        leaf = self.cfg.door_width - 0.1
        sides = [swing] if swing is not None else list(self.rng.permutation([-1.0, 1.0]))
        size = (GLASS_PANEL_THICKNESS, leaf) if along_x else (leaf, GLASS_PANEL_THICKNESS)
        for side in sides:
            offset = line + side * (leaf / 2 + self.cfg.wall_thickness)
            center = (hinge, offset, GLASS_DOOR_HEIGHT / 2) if along_x else (offset, hinge, GLASS_DOOR_HEIGHT / 2)
            name = f"glass_door_{len(self.scene.boxes):02d}"
            candidate = Box(name, BoxKind.GLASS, center, (*size, GLASS_DOOR_HEIGHT), GLASS_RGBA, "glass door")
            if self._keeps_connected(candidate):
                self.scene.boxes.append(candidate)
                return

    def _split_position(self, bounds: tuple, along_x: bool, low: float, high: float, corridor: float) -> float | None:
        """Draw a wall position in [low, high] such that neither it nor a corridor's far wall ends in a doorway."""
        x_min, y_min, x_max, y_max = bounds
        ends = (x_min, x_max) if along_x else (y_min, y_max)  # a wall along x ends on walls x = const
        margin = self.cfg.wall_thickness + 0.2
        for _ in range(20):
            position = float(self.rng.uniform(low, high))
            walls = (position, position + corridor) if corridor else (position,)
            doors = self.scene.doorways
            if not any(door.covers(wall, not along_x, end, margin) for door in doors for end in ends for wall in walls):
                return position
        return None

    def _split(self, bounds: tuple[float, float, float, float], depth: int) -> None:
        """Split a region by a wall (or a corridor between two walls) and recurse; a region left whole is a room."""
        x_min, y_min, x_max, y_max = bounds
        width, height = x_max - x_min, y_max - y_min
        along_x = height > width or (height == width and self.rng.random() < 0.5)  # cut the longer side
        extent, low_edge = (height, y_min) if along_x else (width, x_min)
        corridor = self.cfg.corridor_width if self.rng.random() < self.cfg.corridor_probability else 0.0
        room = self.cfg.min_room_size
        position = None
        if depth < self.cfg.max_split_depth and extent >= 2 * room + corridor:
            low, high = low_edge + room, low_edge + extent - room - corridor
            position = self._split_position(bounds, along_x, low, high, corridor)
        if position is None:
            self.scene.rooms.append(Room(len(self.scene.rooms), bounds))
            return
        span = (x_min, x_max) if along_x else (y_min, y_max)
        far = position + corridor
        self._wall_with_door(along_x, position, *span, swing=-1.0 if corridor else None)
        if corridor:
            self._wall_with_door(along_x, far, *span, swing=1.0)
            corridor_bounds = (x_min, position, x_max, far) if along_x else (position, y_min, far, y_max)
            self.scene.rooms.append(Room(len(self.scene.rooms), corridor_bounds, is_corridor=True))
        near_half = (x_min, y_min, x_max, position) if along_x else (x_min, y_min, position, y_max)
        far_half = (x_min, far, x_max, y_max) if along_x else (far, y_min, x_max, y_max)
        self._split(near_half, depth + 1)
        self._split(far_half, depth + 1)

    # --- objects --------------------------------------------------------------------------------------------------

    def _free_space_intact(self, candidate: Box) -> bool:
        """Whether the box stays clear of doorways and other boxes, and cuts no free area off the rest."""
        x0, y0, x1, y1 = candidate.footprint
        clearance = self.cfg.door_width / 2 + 0.5
        for door in self.scene.doorways:
            if x0 - clearance < door.center[0] < x1 + clearance and y0 - clearance < door.center[1] < y1 + clearance:
                return False
        if any(self._overlaps(candidate, box) for box in self.scene.boxes[1:]):
            return False
        return self._keeps_connected(candidate)

    def _keeps_connected(self, candidate: Box) -> bool:
        """Whether adding the box leaves the free space in no more pieces than before."""
        before = self.scene.nav_grid().free
        self.scene.boxes.append(candidate)
        after = self.scene.nav_grid().free
        self.scene.boxes.pop()
        _, components_before = ndimage.label(before)
        _, components_after = ndimage.label(after)
        return components_after <= components_before

    @staticmethod
    def _overlaps(a: Box, b: Box, margin: float = 0.02) -> bool:
        ax0, ay0, ax1, ay1 = a.footprint
        bx0, by0, bx1, by1 = b.footprint
        return ax0 < bx1 + margin and bx0 < ax1 + margin and ay0 < by1 + margin and by0 < ay1 + margin

    def _random_center(self, bounds: tuple, size: tuple) -> tuple[float, float]:
        inset = self.cfg.wall_thickness / 2 + 0.05
        x_min, y_min, x_max, y_max = bounds
        x = self.rng.uniform(x_min + inset + size[0] / 2, max(x_max - inset - size[0] / 2, x_min + inset + size[0] / 2))
        y = self.rng.uniform(y_min + inset + size[1] / 2, max(y_max - inset - size[1] / 2, y_min + inset + size[1] / 2))
        return float(x), float(y)

    def _place_furniture(self, room: Room, attempts: int = 30) -> None:
        """Place one labelled, coloured piece whose description (colour + label) is new to the scene."""
        used = {box.description for box in self.scene.landmarks}
        for _ in range(attempts):
            label = str(self.rng.choice(list(FURNITURE_SIZES)))
            color = str(self.rng.choice(list(COLORS)))
            if f"{color} {label}" in used:
                continue
            sx, sy, sz = FURNITURE_SIZES[label]
            size = (sx, sy, sz) if self.rng.random() < 0.5 else (sy, sx, sz)
            x, y = self._random_center(room.bounds, size)
            rgba = (*COLORS[color], 255)
            name = f"furniture_{len(self.scene.boxes):02d}_{color}_{label.replace(' ', '_')}"
            candidate = Box(name, BoxKind.FURNITURE, (x, y, sz / 2), size, rgba, label, color)
            if self._free_space_intact(candidate):
                self.scene.boxes.append(candidate)
                return

    def _place_clutter(self, attempts: int = 30) -> None:
        """Place one small box on the floor anywhere."""
        for _ in range(attempts):
            size = (*self.rng.uniform(0.2, 0.45, size=2), self.rng.uniform(0.1, 0.4))
            x, y = self._random_center(self.scene.bounds, size)
            color = str(self.rng.choice(list(COLORS)))
            name = f"clutter_{len(self.scene.boxes):02d}"
            candidate = Box(
                name, BoxKind.CLUTTER, (x, y, size[2] / 2), tuple(map(float, size)), (*COLORS[color], 255), "box", color
            )
            if self._free_space_intact(candidate):
                self.scene.boxes.append(candidate)
                return

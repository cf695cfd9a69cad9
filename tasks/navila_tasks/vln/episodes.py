"""VLN episodes: generated in procedural scenes, stored as gzipped JSON in the R2R-CE / VLN-CE-Isaac schema.

File layout (``*.json.gz`` or ``*.json``)::

    {"episodes": [{"episode_id": 0, "trajectory_id": 0, "scene_id": "procedural_00007",
                   "start_position": [x, y, z], "start_rotation": [w, x, y, z],
                   "instruction": {"instruction_text": "..."},
                   "reference_path": [[x, y, z], ...],
                   "goals": [{"position": [x, y, z], "radius": 3.0}],
                   "info": {"geodesic_distance": 7.4}}, ...]}

Positions are in the scene's world frame, z up, on the floor (z = 0); rotations are quaternions (w, x, y, z) about z,
as in Isaac Lab. Other top-level keys (e.g. R2R-CE's ``instruction_vocab``) and unknown episode fields are ignored.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from navila_tasks.vln.instructions import describe_route, distance_to_box
from navila_tasks.vln.navgrid import path_length
from navila_tasks.vln.scenes import Scene

SUCCESS_RADIUS = 3.0
"""An episode succeeds when the agent stops within this distance of the goal (m)."""

START_CLEARANCE = 0.45
"""Distance (m) a start keeps from every box: the Go2 reaches 0.38 m ahead of its center, so its first turn in
place must not sweep its head or hips into furniture (the nav grid's 0.3 m radius is not enough for that)."""

Vector3 = tuple[float, float, float]


@dataclass(frozen=True)
class Goal:
    """Where an episode ends."""

    position: Vector3
    radius: float = SUCCESS_RADIUS
    """Success radius (m)."""


@dataclass(frozen=True)
class Episode:
    """One instruction to follow from a start pose to a goal."""

    episode_id: int | str
    scene_id: str
    start_position: Vector3
    start_rotation: tuple[float, float, float, float]
    """Quaternion (w, x, y, z)."""
    instruction_text: str
    reference_path: list[Vector3]
    goals: list[Goal]
    trajectory_id: int | str | None = None
    info: dict = field(default_factory=dict)
    """Extra data; ``geodesic_distance`` (m) when known."""

    @property
    def start_yaw(self) -> float:
        """Heading (rad) of the start rotation about z."""
        w, x, y, z = self.start_rotation
        return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))

    @property
    def shortest_path_length(self) -> float:
        """d0 of SPL (m): ``info["geodesic_distance"]``, else the reference path's length."""
        return float(self.info.get("geodesic_distance", path_length(np.asarray(self.reference_path))))

    def to_dict(self) -> dict:
        """Return the episode in the file schema."""
        data = {
            "episode_id": self.episode_id,
            "trajectory_id": self.trajectory_id,
            "scene_id": self.scene_id,
            "start_position": list(self.start_position),
            "start_rotation": list(self.start_rotation),
            "instruction": {"instruction_text": self.instruction_text},
            "reference_path": [list(point) for point in self.reference_path],
            "goals": [{"position": list(goal.position), "radius": goal.radius} for goal in self.goals],
            "info": self.info,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: object, index: int) -> Episode:
        """Validate and read one episode of the file schema.

        Args:
            data: The decoded JSON object.
            index: Position in the file, to name episodes without an id.

        Raises:
            ValueError: Naming the episode and the field, on the first malformed field.
        """
        name = f"episode {data['episode_id']!r} (#{index})" if isinstance(data, dict) and "episode_id" in data else ""
        reader = _FieldReader(name or f"episode #{index}")
        data = reader.check(data, dict, "(episode)")
        instruction = reader.check(data.get("instruction", _MISSING), dict, "instruction")
        reference_path = reader.check(data.get("reference_path", _MISSING), list, "reference_path")
        goals = reader.check(data.get("goals", _MISSING), list, "goals")
        if not goals:
            raise ValueError(f"{reader.episode}: field 'goals' is empty")
        return cls(
            episode_id=reader.check(data.get("episode_id", _MISSING), (int, str), "episode_id"),
            scene_id=reader.check(data.get("scene_id", _MISSING), str, "scene_id"),
            start_position=reader.vector(data.get("start_position", _MISSING), 3, "start_position"),
            start_rotation=reader.vector(data.get("start_rotation", _MISSING), 4, "start_rotation"),
            instruction_text=reader.check(
                instruction.get("instruction_text", _MISSING), str, "instruction.instruction_text"
            ),
            reference_path=[reader.vector(point, 3, f"reference_path[{i}]") for i, point in enumerate(reference_path)],
            goals=[reader.goal(goal, f"goals[{i}]") for i, goal in enumerate(goals)],
            trajectory_id=data.get("trajectory_id"),
            info=reader.check(data.get("info") or {}, dict, "info"),
        )


_MISSING = object()
"""Stands for an absent field."""


@dataclass(frozen=True)
class _FieldReader:
    """Checks field values and raises ``ValueError`` naming the episode and the field."""

    episode: str

    def check(self, value: object, kind: type | tuple[type, ...], path: str) -> object:
        """Return ``value`` if it has the expected JSON type."""
        if value is _MISSING:
            raise ValueError(f"{self.episode}: missing field '{path}'")
        if not isinstance(value, kind) or isinstance(value, bool):
            expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise ValueError(f"{self.episode}: field '{path}' must be {expected}, got {value!r:.80}")
        return value

    def vector(self, value: object, length: int, path: str) -> tuple[float, ...]:
        """Return a list of ``length`` numbers as floats."""
        self.check(value, list, path)
        if len(value) != length or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise ValueError(f"{self.episode}: field '{path}' must be {length} numbers, got {value!r:.80}")
        return tuple(float(v) for v in value)

    def goal(self, value: object, path: str) -> Goal:
        """Return a goal object as a :class:`Goal`."""
        value = self.check(value, dict, path)
        position = self.vector(value.get("position", _MISSING), 3, f"{path}.position")
        radius = self.check(value.get("radius", SUCCESS_RADIUS), (int, float), f"{path}.radius")
        return Goal(position, float(radius))


def save_episodes(path: str | Path, episodes: Sequence[Episode]) -> None:
    """Write episodes as ``{"episodes": [...]}``, gzipped when the name ends in ``.gz``."""
    path = Path(path)
    text = json.dumps({"episodes": [episode.to_dict() for episode in episodes]})
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as file:
            file.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def load_episodes(path: str | Path) -> list[Episode]:
    """Read an episode file of the R2R-CE / VLN-CE-Isaac schema (ours or an external one).

    Raises:
        ValueError: One clear message naming the file, and the episode and field when one is malformed.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable JSON episode file ({error})") from error
    if not isinstance(data, dict) or not isinstance(data.get("episodes"), list):
        raise ValueError(f"{path}: expected an object with an 'episodes' list")
    try:
        return [Episode.from_dict(episode, index) for index, episode in enumerate(data["episodes"])]
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def yaw_to_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """Quaternion (w, x, y, z) of a rotation by ``yaw`` about z."""
    return math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)


# --- generation ---------------------------------------------------------------------------------------------------


def generate_episodes(
    scene: Scene,
    num_episodes: int,
    seed: int = 0,
    min_distance: float = 4.0,
    max_distance: float = 15.0,
    goal_clearance: float = 1.0,
    start_clearance: float = START_CLEARANCE,
    max_attempts: int = 200,
) -> list[Episode]:
    """Generate episodes in a scene: random start and heading, a furniture goal, its shortest path and instruction.

    Args:
        scene: The scene.
        num_episodes: Episodes wanted.
        seed: Random seed.
        min_distance: Shortest start-to-goal geodesic distance accepted (m).
        max_distance: Longest start-to-goal geodesic distance accepted (m).
        goal_clearance: The goal point lies at most this far from its furniture's footprint (m).
        start_clearance: The start point keeps at least this distance from every box but the floors (m).
        max_attempts: Draws allowed per episode before giving up.

    Raises:
        RuntimeError: If the scene cannot hold an episode with these constraints.
    """
    rng = np.random.default_rng(seed)
    wording = np.random.default_rng((seed, 1))  # apart, so that the phrasing leaves the geometry unchanged
    grid = scene.nav_grid()
    free_points = grid.to_world(np.argwhere(grid.free))
    roomy = np.min([distance_to_box(free_points, box) for box in scene.obstacles()], axis=0) >= start_clearance
    episodes: list[Episode] = []
    for index in range(num_episodes):
        for _ in range(max_attempts):
            goal_box = scene.landmarks[rng.integers(len(scene.landmarks))]
            near_goal = free_points[distance_to_box(free_points, goal_box) < goal_clearance]
            if not len(near_goal):
                continue
            goal = near_goal[rng.integers(len(near_goal))]
            distances = grid.geodesic_distances(goal)[grid.free]
            candidates = free_points[roomy & (distances >= min_distance) & (distances <= max_distance)]
            if len(candidates):
                break
        else:
            raise RuntimeError(f"{scene.scene_id}: no start {min_distance}–{max_distance} m from a goal")
        start = candidates[rng.integers(len(candidates))]
        path = grid.shortest_path(start, goal)
        yaw = float(rng.uniform(-math.pi, math.pi))
        episodes.append(
            Episode(
                episode_id=index,
                trajectory_id=index,
                scene_id=scene.scene_id,
                start_position=(float(start[0]), float(start[1]), 0.0),
                start_rotation=yaw_to_quaternion(yaw),
                instruction_text=describe_route(scene, path, yaw, goal_box, wording),
                reference_path=[(float(x), float(y), 0.0) for x, y in path],
                goals=[Goal((float(goal[0]), float(goal[1]), 0.0))],
                info={"geodesic_distance": path_length(path), "goal_object": goal_box.name},
            )
        )
    return episodes

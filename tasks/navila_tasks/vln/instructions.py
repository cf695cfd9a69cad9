"""R2R-style instructions for a path through a procedural scene: a few sentences built from what the path passes.

:func:`route_events` reads the path against the scene: the turn at the start, the corners, the doors and glass doors
crossed (and the room entered), corridors, glass walls alongside, furniture passed within reach (by colour, kind and
side) and the furniture to stop by. :func:`describe_route` phrases those events as R2R instructions do, drawing
among several phrasings, joiners and sentence splits with the given random generator, so that two paths rarely read
alike and the same generator state always gives the same text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from navila_tasks.vln.scenes import Box, BoxKind, Scene

LANDMARK_REACH = 1.0
"""Furniture closer than this to the path (m) counts as passed."""
GLASS_WALL_REACH = 0.8
GLASS_WALL_LENGTH = 1.5
"""A glass partition within ``GLASS_WALL_REACH`` (m) of this much path (m) is walked along; crossing it through its
door stays that close for about 1 m only."""
SAMPLE_STEP = 0.1
"""Spacing (m) of the points the path is read at."""
CORNER_ANGLE = 35.0
"""Heading changes at a corner above this (degrees) are turns worth saying."""
MAX_LANDMARKS = 3
MAX_EVENTS = 6
"""Longest instruction, in events besides the stop: the least telling ones go first (turns, then corridors)."""
PRIORITY = {"door": 3, "landmark": 2, "glass_wall": 2, "corridor": 1, "turn": 0}
ROOM_KINDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("bedroom", frozenset({"bed"})),
    ("living room", frozenset({"sofa", "armchair"})),
    ("dining room", frozenset({"table"})),
    ("study", frozenset({"shelf", "cabinet"})),
)
"""A room's name from the furniture in it, first match wins; others are plain rooms."""


@dataclass(frozen=True)
class RouteEvent:
    """Something the path does or passes, at a point along it."""

    position: int
    """Index of the path sample where it happens (events are said in this order)."""
    kind: str
    """``turn``, ``door``, ``corridor``, ``glass_wall`` or ``landmark``."""
    detail: str = ""
    """Turn: ``left``/``right``/``around``/``slightly left``...; door: the room entered; landmark: the side."""
    box: Box | None = None
    """Landmark: the furniture passed; door: the glass door leaf or None."""
    glass: bool = False
    """Door: a glass door."""


def distance_to_box(points: np.ndarray, box: Box) -> np.ndarray:
    """Distance (m) from points (K, 2) to a box's footprint."""
    x_min, y_min, x_max, y_max = box.footprint
    dx = np.maximum(np.maximum(x_min - points[:, 0], 0.0), points[:, 0] - x_max)
    dy = np.maximum(np.maximum(y_min - points[:, 1], 0.0), points[:, 1] - y_max)
    return np.hypot(dx, dy)


def sample_polyline(points: np.ndarray, step: float = 0.1) -> np.ndarray:
    """Points every ``step`` along a polyline (K, 2), both ends included."""
    samples = [points[0]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        count = max(1, math.ceil(np.linalg.norm(b - a) / step))
        samples.extend(a + (b - a) * t for t in np.linspace(0, 1, count + 1)[1:])
    return np.asarray(samples)


def room_name(scene: Scene, index: int) -> str:
    """What to call a room: by its furniture (bedroom, living room, ...), ``hallway`` for corridors, else ``room``."""
    if index < 0:
        return "room"
    room = scene.rooms[index]
    if room.is_corridor:
        return "hallway"
    inside = {box.label for box in scene.landmarks if room.contains(np.asarray(box.center[:2]))}
    return next((name for name, labels in ROOM_KINDS if labels & inside), "room")


def turn_word(angle_deg: float) -> str:
    """``around``, ``left``/``right``, ``slightly left``/``slightly right`` or '' for a heading change (degrees)."""
    side = "left" if angle_deg > 0 else "right"
    if abs(angle_deg) > 135:
        return "around"
    if abs(angle_deg) > 45:
        return side
    if abs(angle_deg) > 20:
        return f"slightly {side}"
    return ""


def route_events(scene: Scene, path: np.ndarray, start_yaw: float, goal: Box) -> list[RouteEvent]:
    """The events along a path, in order (see the module docstring); the goal furniture is never a landmark."""
    path = np.asarray(path, dtype=float)[:, :2]
    samples = sample_polyline(path, SAMPLE_STEP)
    events: list[RouteEvent] = []
    if len(path) > 1 and (direction := path[1] - path[0]).any():
        angle = math.degrees(math.remainder(math.atan2(direction[1], direction[0]) - start_yaw, math.tau))
        if turn := turn_word(angle):
            events.append(RouteEvent(0, "turn", turn))
    for corner in range(1, len(path) - 1):
        before, after = path[corner] - path[corner - 1], path[corner + 1] - path[corner]
        angle = math.degrees(
            math.remainder(math.atan2(after[1], after[0]) - math.atan2(before[1], before[0]), math.tau)
        )
        if abs(angle) > CORNER_ANGLE:
            position = int(np.linalg.norm(samples - path[corner], axis=1).argmin())
            events.append(RouteEvent(position, "turn", turn_word(angle)))
    for door in scene.doorways:
        near = np.linalg.norm(samples - np.asarray(door.center), axis=1) < door.width / 2
        if near.any():
            position = int(near.argmax())
            after = min(len(samples) - 1, int(np.flatnonzero(near).max()) + 5)
            entered = room_name(scene, scene.room_of(samples[after]))
            events.append(RouteEvent(position, "door", entered, glass=door.glass))
    for room in scene.rooms:
        inside = room.contains(samples)
        if room.is_corridor and inside.any() and not inside[0]:
            events.append(RouteEvent(int(inside.argmax()), "corridor"))
    for box in scene.boxes:
        if box.kind == BoxKind.GLASS and box.label == "glass partition":
            near = distance_to_box(samples, box) < GLASS_WALL_REACH
            if near.sum() * SAMPLE_STEP >= GLASS_WALL_LENGTH:  # alongside, not just through its door
                position = int(np.flatnonzero(near).mean())
                events.append(RouteEvent(position, "glass_wall", _side(samples, position, box)))
    landmarks = []
    for box in scene.landmarks:
        distances = distance_to_box(samples, box)
        if box is not goal and distances.min() < LANDMARK_REACH:
            position = int(distances.argmin())
            landmarks.append(RouteEvent(position, "landmark", _side(samples, position, box), box))
    landmarks.sort(key=lambda event: event.position)
    if len(landmarks) > MAX_LANDMARKS:
        landmarks = [landmarks[i] for i in np.linspace(0, len(landmarks) - 1, MAX_LANDMARKS).round().astype(int)]
    return _shorten(_merge_repeats(sorted(events + landmarks, key=lambda event: event.position)))


def _side(samples: np.ndarray, position: int, box: Box) -> str:
    """``left`` or ``right``: where a box lies seen from the path's direction at a sample."""
    ahead = samples[min(position + 1, len(samples) - 1)] - samples[max(position - 1, 0)]
    offset = np.asarray(box.center[:2]) - samples[position]
    return "left" if ahead[0] * offset[1] - ahead[1] * offset[0] > 0 else "right"


def _merge_repeats(events: list[RouteEvent]) -> list[RouteEvent]:
    """Drop a glass wall right after another (a partition is cut in pieces by its door) and a hallway just entered."""
    merged: list[RouteEvent] = []
    for event in events:
        previous = merged[-1] if merged else None
        if previous and event.kind == "glass_wall" and previous.kind == "glass_wall":
            continue
        if previous and event.kind == "corridor" and previous.kind == "door" and previous.detail == "hallway":
            continue
        merged.append(event)
    return merged


def _shorten(events: list[RouteEvent]) -> list[RouteEvent]:
    """Keep at most :data:`MAX_EVENTS` events and the start's turn, dropping the least telling, latest first."""
    events = list(events)
    while len(events) > MAX_EVENTS:
        candidates = [
            i for i, event in enumerate(events) if not (i == 0 and event.kind == "turn" and event.position == 0)
        ]
        events.pop(min(candidates, key=lambda i: (PRIORITY[events[i].kind], -events[i].position)))
    return events


_TURN = {
    "around": ["turn around", "turn all the way around", "turn back"],
    "left": ["turn left", "take a left", "make a left turn", "go left"],
    "right": ["turn right", "take a right", "make a right turn", "go right"],
    "slightly left": ["bear left", "veer slightly left", "keep slightly to the left"],
    "slightly right": ["bear right", "veer slightly right", "keep slightly to the right"],
}
_DOOR = ["go through the {door}", "walk through the {door}", "pass through the {door}", "exit through the {door}"]
_DOOR_INTO = [
    "go through the {door} into the {room}",
    "walk through the {door} and enter the {room}",
    "enter the {room}",
]
_CORRIDOR = ["walk down the hallway", "continue along the hallway", "follow the hallway", "go down the corridor"]
_GLASS_WALL = ["keep the glass wall on your {side}", "walk along the glass wall", "follow the glass partition"]
_LANDMARK = [
    "walk past the {thing}",
    "pass the {thing} on your {side}",
    "go past the {thing}",
    "continue past the {thing} on your {side}",
    "walk by the {thing}",
]
_STOP = [
    "stop next to the {thing}",
    "stop by the {thing}",
    "wait near the {thing}",
    "stop when you reach the {thing}",
    "stop in front of the {thing}",
]
_STOP_SENTENCE = [
    "The {thing} is where you stop.",
    "Your goal is the {thing}.",
    "You are done once you reach the {thing}.",
]
_JOIN = [", then ", " and ", ", and then ", ". Then ", ". After that, ", ". Next, "]
_START = ["", "", "You are in the {room}. ", "Starting in the {room}, "]


def _phrase(event: RouteEvent, rng: np.random.Generator) -> str:
    """One clause for an event."""
    pick = lambda options: options[rng.integers(len(options))]  # noqa: E731 (a local one-liner)
    match event.kind:
        case "turn":
            return pick(_TURN[event.detail])
        case "door":
            door = "glass door" if event.glass else pick(["door", "doorway"])
            template = pick(_DOOR_INTO) if event.detail != "room" else pick(_DOOR)
            return template.format(door=door, room=event.detail)
        case "corridor":
            return pick(_CORRIDOR)
        case "glass_wall":
            return pick(_GLASS_WALL).format(side=event.detail)
        case "landmark":
            return pick(_LANDMARK).format(thing=event.box.description, side=event.detail)
    raise ValueError(f"unknown event kind {event.kind!r}")


def describe_route(scene: Scene, path: np.ndarray, start_yaw: float, goal: Box, rng: np.random.Generator) -> str:
    """An R2R-style instruction for walking ``path`` from heading ``start_yaw`` and stopping by ``goal``.

    Args:
        scene: The scene.
        path: Waypoints (K, 2) from start to goal.
        start_yaw: Heading at the start (rad).
        goal: The furniture the path ends by.
        rng: Chooses among phrasings (the events do not depend on it).

    Returns:
        E.g. "Turn around and walk through the glass door into the hallway. Pass the red sofa on your left, then
        take a right. Stop next to the yellow plant."
    """
    clauses = [_phrase(event, rng) for event in route_events(scene, path, start_yaw, goal)]
    thing = goal.description
    stop_as_sentence = rng.random() < 0.3
    if not stop_as_sentence:
        clauses.append(_STOP[rng.integers(len(_STOP))].format(thing=thing))
    if not clauses:
        clauses = [f"walk to the {thing}"]
    text = clauses[0]
    for clause in clauses[1:]:
        text += _JOIN[rng.integers(len(_JOIN))] + clause
    start_room = room_name(scene, scene.room_of(np.asarray(path)[0, :2]))
    opening = _START[rng.integers(len(_START))].format(room=start_room) if start_room != "room" else ""
    text = _sentences(opening + text if not opening.endswith(". ") else opening + _capitalize(text))
    if stop_as_sentence:
        text += " " + _STOP_SENTENCE[rng.integers(len(_STOP_SENTENCE))].format(thing=thing)
    return text


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentences(text: str) -> str:
    """Capitalize every sentence and end the text with a period."""
    parts = [part.strip() for part in text.split(". ")]
    return ". ".join(_capitalize(part) for part in parts if part).rstrip(".") + "."

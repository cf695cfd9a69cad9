"""The three ways a VLA commands the robot: what an answer looks like, how it is read, how an oracle writes it.

* ``language`` (NaVILA): text naming a mid-level action, e.g. ``"turn left 30 degrees"``
  (:func:`~navila_agents.vla.grammar.parse_action`).
* ``tokens`` (StreamVLN, VLN-R1, Nav-R1): one letter, ``A`` forward 25 cm, ``B`` turn left 15°, ``C`` turn right 15°,
  ``D`` stop (:data:`~navila_agents.vla.grammar.DISCRETE_TOKENS`).
* ``waypoints`` (InternVLA-N1's System 2 feeding NavDP): a list of 1 to :data:`MAX_WAYPOINTS` points
  ``[Δx, Δy, Δyaw]`` (m, m, rad) in the robot frame at the time of the query, tracked in closed loop; an empty list
  or ``"stop"`` stops.

An answer is JSON: a string for ``language`` and ``tokens``, a list of ``[Δx, Δy, Δyaw]`` for ``waypoints``
(docs/vla_interfaces.md). :class:`AnswerDecoder` turns the answers of N envs into :data:`Command` s and applies an
:class:`~navila_agents.vla.grammar.InvalidPolicy` to the ones that cannot be executed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from navila_agents.vla.grammar import (
    DISCRETE_TOKENS,
    Action,
    Forward,
    Invalid,
    InvalidPolicy,
    Stop,
    Turn,
    format_action,
    parse_action,
    parse_token,
)

logger = logging.getLogger(__name__)

MAX_WAYPOINTS = 24
"""Longest waypoint answer accepted (NavDP's 24)."""
MAX_WAYPOINT_STEP = 2.0
"""Largest distance (m) accepted between two consecutive waypoints (the first from the robot)."""

Answer = str | list[list[float]]
"""A VLA's answer to one query, as it travels in JSON."""


class Interface(StrEnum):
    """How a VLA's answer commands the robot."""

    LANGUAGE = "language"
    TOKENS = "tokens"
    WAYPOINTS = "waypoints"


@dataclass(frozen=True)
class Waypoints:
    """A waypoint plan: (Δx, Δy, Δyaw) per point in the robot frame at the query (m, m, rad)."""

    points: tuple[tuple[float, float, float], ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.points) <= MAX_WAYPOINTS:
            raise ValueError(f"a waypoint plan has 1 to {MAX_WAYPOINTS} points, got {len(self.points)}")

    def array(self) -> np.ndarray:
        """(K, 3) float32."""
        return np.asarray(self.points, dtype=np.float32)


Command = Action | Waypoints
"""What an answer asks the robot to do."""

TOKEN_OF: dict[Action, str] = {action: token for token, action in DISCRETE_TOKENS.items()}
"""Action → its discrete token."""


def parse_waypoints(answer: object) -> Waypoints | Stop | Invalid:
    """Read a waypoint answer: a list of ``[Δx, Δy, Δyaw]`` (``[]`` or ``"stop"`` is a stop).

    Invalid when it is not such a list, has more than :data:`MAX_WAYPOINTS` points, a non-finite number, or two
    points more than :data:`MAX_WAYPOINT_STEP` apart (the first counted from the robot).
    """
    if isinstance(answer, str):
        return Stop() if answer.strip().lower() == "stop" else Invalid(answer)
    try:
        points = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return Invalid(str(answer))
    if points.size == 0:
        return Stop()
    if points.ndim != 2 or points.shape[1] != 3 or len(points) > MAX_WAYPOINTS or not np.isfinite(points).all():
        return Invalid(str(answer))
    steps = np.linalg.norm(np.diff(points[:, :2], axis=0, prepend=0.0), axis=1)
    if steps.max() > MAX_WAYPOINT_STEP:
        return Invalid(str(answer))
    return Waypoints(tuple(map(tuple, points.tolist())))


PARSERS: dict[Interface, Callable[[Answer], Command | Invalid]] = {
    Interface.LANGUAGE: lambda answer: parse_action(answer) if isinstance(answer, str) else Invalid(str(answer)),
    Interface.TOKENS: lambda answer: parse_token(answer) if isinstance(answer, str) else Invalid(str(answer)),
    Interface.WAYPOINTS: parse_waypoints,
}
"""Interface → the parser of its answers."""


def parse_answer(interface: Interface | str, answer: Answer) -> Command | Invalid:
    """Read one answer of ``interface`` (never raises)."""
    return PARSERS[Interface(interface)](answer)


def format_answer(interface: Interface | str, command: Command) -> Answer:
    """The canonical answer of a command: action text, a token, or a waypoint list (a stop is ``[]``).

    Raises:
        ValueError: If the interface cannot express the command (e.g. a 45° turn as a token).
    """
    interface = Interface(interface)
    if interface == Interface.WAYPOINTS:
        if isinstance(command, Stop):
            return []
        if isinstance(command, Waypoints):
            return [list(point) for point in command.points]
    elif isinstance(command, Forward | Turn | Stop):
        if interface == Interface.LANGUAGE:
            return format_action(command)
        if command in TOKEN_OF:
            return TOKEN_OF[command]
    raise ValueError(f"the {interface} interface cannot express {command!r}")


def answer_text(answer: Answer) -> str:
    """One-line text of an answer for logs and tables (waypoints rounded to the cm)."""
    if isinstance(answer, str):
        return answer
    return "[" + ", ".join("(" + ", ".join(f"{value:.2f}" for value in point) + ")" for point in answer) + "]"


class AnswerDecoder:
    """Turns the answers of N envs into commands, applying an :class:`InvalidPolicy` to invalid answers.

    :meth:`decode` returns, per answer, a :data:`Command` or ``None``: hold still and query again.
    """

    def __init__(
        self,
        num_envs: int,
        interface: Interface | str = Interface.LANGUAGE,
        policy: InvalidPolicy | str = InvalidPolicy.REQUERY,
        max_requeries: int = 3,
    ) -> None:
        """Create the decoder.

        Args:
            num_envs: Number of envs.
            interface: Format of the answers.
            policy: Handling of invalid answers.
            max_requeries: With :attr:`InvalidPolicy.REQUERY`, invalid answers in a row after which the env stops.
        """
        self.interface = Interface(interface)
        self.policy = InvalidPolicy(policy)
        self.max_requeries = max_requeries
        self._invalid_streak = [0] * num_envs
        self._last: list[Command | None] = [None] * num_envs

    def reset(self, env_ids: Sequence[int]) -> None:
        """Forget the history of these envs (call at episode start)."""
        for env_id in env_ids:
            self._invalid_streak[env_id] = 0
            self._last[env_id] = None

    def decode(self, answers: Sequence[Answer], env_ids: Sequence[int]) -> list[Command | None]:
        """Read one answer per env; ``None`` means hold still and query again."""
        return [self._decode_one(answer, env_id) for answer, env_id in zip(answers, env_ids, strict=True)]

    def _decode_one(self, answer: Answer, env_id: int) -> Command | None:
        result = parse_answer(self.interface, answer)
        if not isinstance(result, Invalid):
            self._invalid_streak[env_id] = 0
            self._last[env_id] = result
            return result
        self._invalid_streak[env_id] += 1
        match self.policy:
            case InvalidPolicy.STOP:
                command = Stop()
            case InvalidPolicy.REPEAT_LAST:
                command = self._last[env_id] or Stop()
            case InvalidPolicy.REQUERY:
                command = Stop() if self._invalid_streak[env_id] > self.max_requeries else None
        logger.warning(
            "env %d: invalid %s answer %.120s → %s", env_id, self.interface, answer_text(answer), command or "re-query"
        )
        return command


def waypoints_along(
    paths: np.ndarray, lengths: np.ndarray, poses: np.ndarray, count: int, spacing: float
) -> np.ndarray:
    """Waypoint answers that follow polylines from where each robot stands.

    Args:
        paths: (M, K, 2) world polylines, the first point where the robot stands (or close), padded past ``lengths``.
        lengths: (M,) points of each polyline.
        poses: (M, 3) robot poses (x, y, yaw).
        count: Waypoints per answer.
        spacing: Distance along the path between waypoints (m); shorter where less path is left, so that the last
            waypoint lands on the path's end.

    Returns:
        (M, count, 3) (Δx, Δy, Δyaw) in each robot's frame; Δyaw is the path's heading at the waypoint.
    """
    slots = np.arange(paths.shape[1])
    points = np.concatenate((poses[:, None, :2], paths), axis=1)
    valid = np.concatenate((np.ones((len(paths), 1), bool), slots[None] < lengths[:, None]), axis=1)
    points = np.where(valid[..., None], points, np.take_along_axis(paths, (lengths - 1)[:, None, None], 1))
    segments = np.diff(points, axis=1)
    cumulative = np.concatenate((np.zeros((len(paths), 1)), np.cumsum(np.linalg.norm(segments, axis=-1), 1)), 1)
    total = cumulative[:, -1:]
    step = np.minimum(spacing, total / count)
    arc = step * np.arange(1, count + 1)[None]
    index = np.stack([np.searchsorted(row, targets) for row, targets in zip(cumulative, arc, strict=True)])
    index = np.clip(index, 1, segments.shape[1])
    start = np.take_along_axis(cumulative, index - 1, 1)
    seg = np.take_along_axis(segments, (index - 1)[..., None], 1)
    seg_length = np.linalg.norm(seg, axis=-1)
    fraction = np.where(seg_length > 0, (arc - start) / np.maximum(seg_length, 1e-9), 0.0)
    xy = np.take_along_axis(points, (index - 1)[..., None], 1) + fraction[..., None] * seg
    heading = np.where(seg_length > 0, np.arctan2(seg[..., 1], seg[..., 0]), poses[:, 2:3])
    offset = xy - poses[:, None, :2]
    cos, sin = np.cos(poses[:, 2:3]), np.sin(poses[:, 2:3])
    dx, dy = cos * offset[..., 0] + sin * offset[..., 1], -sin * offset[..., 0] + cos * offset[..., 1]
    dyaw = np.remainder(heading - poses[:, 2:3] + math.pi, 2 * math.pi) - math.pi
    return np.stack((dx, dy, dyaw), axis=-1)

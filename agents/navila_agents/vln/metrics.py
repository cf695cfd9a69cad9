"""VLN metrics (docs/reference.md §4): NE, OS, SR, SPL, plus safety counts, per episode and aggregated.

SPL follows Anderson et al., "On Evaluation of Embodied Navigation Agents" (2018): S · d0 / max(d0, path length).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from navila_tasks.vln.episodes import SUCCESS_RADIUS


@dataclass(frozen=True)
class EpisodeRecord:
    """What one finished episode measured."""

    episode_id: int | str
    distance_to_goal: float
    """Distance to the goal when the episode ended (m): NE."""
    min_distance_to_goal: float
    """Closest the agent came to the goal (m): decides OS."""
    path_length: float
    """Distance the base travelled (m)."""
    shortest_path_length: float
    """Shortest-path distance from start to goal (m): d0."""
    stopped: bool
    """Whether the agent ended the episode by calling stop (not a fall, timeout or step limit)."""
    falls: int = 0
    collisions: int = 0
    """Contact onsets with obstacles other than glass."""
    glass_contacts: int = 0
    """Contact onsets with glass."""
    steps: int = 0

    def success(self, radius: float = SUCCESS_RADIUS) -> bool:
        """SR term: stopped within the radius."""
        return self.stopped and self.distance_to_goal <= radius

    def oracle_success(self, radius: float = SUCCESS_RADIUS) -> bool:
        """OS term: ever within the radius."""
        return self.min_distance_to_goal <= radius

    def spl(self, radius: float = SUCCESS_RADIUS) -> float:
        """Success weighted by path length: S · d0 / max(d0, path length)."""
        if not self.success(radius):
            return 0.0
        return self.shortest_path_length / max(self.shortest_path_length, self.path_length, 1e-9)


METRIC_COLUMNS = ("episodes", "NE", "OS", "SR", "SPL", "falls", "collisions", "glass_contacts")
"""Keys of :func:`aggregate`, in table order."""


def aggregate(records: Sequence[EpisodeRecord], radius: float = SUCCESS_RADIUS) -> dict[str, float]:
    """Benchmark summary: mean NE (m); OS, SR, SPL in percent; totals of falls, collisions and glass contacts."""
    if not records:
        raise ValueError("no episodes to aggregate")
    count = len(records)
    return {
        "episodes": count,
        "NE": sum(record.distance_to_goal for record in records) / count,
        "OS": 100.0 * sum(record.oracle_success(radius) for record in records) / count,
        "SR": 100.0 * sum(record.success(radius) for record in records) / count,
        "SPL": 100.0 * sum(record.spl(radius) for record in records) / count,
        "falls": sum(record.falls for record in records),
        "collisions": sum(record.collisions for record in records),
        "glass_contacts": sum(record.glass_contacts for record in records),
    }


def format_table(summaries: Mapping[str, Mapping[str, float]]) -> str:
    """Markdown table with one row per method (e.g. ``{"LiDAR policy": aggregate(...), ...}``)."""
    header = "| method | " + " | ".join(METRIC_COLUMNS) + " |"
    rows = [header, "|" + "---|" * (len(METRIC_COLUMNS) + 1)]
    for method, summary in summaries.items():
        cells = [
            f"{summary[key]:.2f}" if isinstance(summary[key], float) else str(summary[key]) for key in METRIC_COLUMNS
        ]
        rows.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


class EpisodeTracker:
    """Accumulates the per-episode measurements of N envs, each in its own episode, from per-step tensors."""

    def __init__(self, num_envs: int, device: str | torch.device = "cpu") -> None:
        """Create the tracker; call :meth:`reset` when an env starts an episode."""
        self.device = torch.device(device)
        zeros = torch.zeros(num_envs, device=self.device)
        self._position = torch.zeros(num_envs, 2, device=self.device)
        self._path_length, self._distance, self._min_distance, self._d0 = (zeros.clone() for _ in range(4))
        self._falls, self._collisions, self._glass_contacts, self._steps = (zeros.long() for _ in range(4))
        self._in_collision = torch.zeros(num_envs, dtype=torch.bool, device=self.device)
        self._on_glass = torch.zeros_like(self._in_collision)
        self._fallen = torch.zeros_like(self._in_collision)

    def reset(
        self,
        env_ids: Sequence[int] | torch.Tensor,
        positions: torch.Tensor,
        distances_to_goal: torch.Tensor,
        shortest_path_lengths: torch.Tensor,
    ) -> None:
        """Start episodes in these envs.

        Args:
            env_ids: The M envs.
            positions: Start (x, y) (M, 2).
            distances_to_goal: Distance to the goal at the start (M,) (m).
            shortest_path_lengths: d0 of each episode (M,) (m).
        """
        env_ids = torch.as_tensor(env_ids, dtype=torch.long, device=self.device)
        self._position[env_ids] = positions.to(self.device, torch.float32)
        self._distance[env_ids] = distances_to_goal.to(self.device, torch.float32)
        self._min_distance[env_ids] = self._distance[env_ids]
        self._d0[env_ids] = shortest_path_lengths.to(self.device, torch.float32)
        for buffer in (self._path_length, self._falls, self._collisions, self._glass_contacts, self._steps):
            buffer[env_ids] = 0
        for flag in (self._in_collision, self._on_glass, self._fallen):
            flag[env_ids] = False

    def update(
        self,
        positions: torch.Tensor,
        distances_to_goal: torch.Tensor,
        in_collision: torch.Tensor,
        on_glass: torch.Tensor,
        fallen: torch.Tensor,
    ) -> None:
        """Add one step of all envs; contacts and falls count once per onset.

        Args:
            positions: Base (x, y) (N, 2).
            distances_to_goal: (N,) (m), geodesic or Euclidean as the caller decides.
            in_collision: (N,) bool, touching a non-glass obstacle.
            on_glass: (N,) bool, touching glass.
            fallen: (N,) bool, fallen or terminated.
        """
        positions = positions.to(self.device, torch.float32)
        self._path_length += (positions - self._position).norm(dim=-1)
        self._position = positions
        self._distance = distances_to_goal.to(self.device, torch.float32)
        self._min_distance = torch.minimum(self._min_distance, self._distance)
        self._steps += 1
        for count, state, now in (
            (self._collisions, self._in_collision, in_collision),
            (self._glass_contacts, self._on_glass, on_glass),
            (self._falls, self._fallen, fallen),
        ):
            now = now.to(self.device, torch.bool)
            count += now & ~state
            state.copy_(now)

    def finish(
        self, env_ids: Sequence[int], episode_ids: Sequence[int | str], stopped: Sequence[bool]
    ) -> list[EpisodeRecord]:
        """Return the records of the episodes ending in these envs.

        Args:
            env_ids: Envs whose episode ends.
            episode_ids: Their episode ids.
            stopped: Whether each ended by the agent calling stop.
        """
        return [
            EpisodeRecord(
                episode_id=episode_id,
                distance_to_goal=float(self._distance[env_id]),
                min_distance_to_goal=float(self._min_distance[env_id]),
                path_length=float(self._path_length[env_id]),
                shortest_path_length=float(self._d0[env_id]),
                stopped=bool(did_stop),
                falls=int(self._falls[env_id]),
                collisions=int(self._collisions[env_id]),
                glass_contacts=int(self._glass_contacts[env_id]),
                steps=int(self._steps[env_id]),
            )
            for env_id, episode_id, did_stop in zip(env_ids, episode_ids, stopped, strict=True)
        ]

"""A privileged backend: follows each env's shortest path and answers in the canonical form of its interface.

It ignores the frames and the instruction; it reads the robot poses from a callable (the simulator's odometry) and the
shortest paths given at episode start (and, in the VLN loop, before every query). It bounds what a perfect VLA could
reach with a given low level and interface: language actions, discrete tokens or waypoint sequences.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from navila_lab.tensors import wrap_to_pi

from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.grammar import DISCRETE_TOKENS, FORWARD_CM, TURN_DEG, Forward, Stop, Turn, snap
from navila_agents.vla.interfaces import Answer, Command, Interface, Waypoints, format_answer, waypoints_along

TOKEN_FORWARD_CM = tuple(sorted({a.cm for a in DISCRETE_TOKENS.values() if isinstance(a, Forward)}))
"""Forward distances the token vocabulary has (cm)."""
TOKEN_TURN_DEG = tuple(sorted({abs(a.degrees) for a in DISCRETE_TOKENS.values() if isinstance(a, Turn)}))
"""Turn angles the token vocabulary has (degrees, each way)."""
ORACLE_WAYPOINT_RADIUS = 0.15
"""Waypoint radius (m) of the oracle in the VLN loop: its paths start where the robot stands (replanned every query),
so corners count as passed only close."""


class ShortestPathOracle(VLABackend):
    """Follows each env's shortest path in the words of an interface.

    Language: turns toward the next path point in 15/30/45 degree steps and walks 25/50/75 cm toward it; tokens: the
    same with 15 degrees and 25 cm only; waypoints: ``num_waypoints`` points ``waypoint_spacing`` apart along the path
    ahead. Every interface stops once the goal (the path's last point) is within ``stop_radius``.
    """

    privileged = True

    def __init__(
        self,
        num_envs: int,
        pose_source: Callable[[], torch.Tensor],
        stop_radius: float = 1.0,
        waypoint_radius: float = 0.3,
        max_waypoints: int = 256,
        device: str | torch.device = "cpu",
        interface: Interface | str = Interface.LANGUAGE,
        num_waypoints: int = 16,
        waypoint_spacing: float = 0.15,
        turn_threshold_deg: float | None = None,
    ) -> None:
        """Create the oracle; give it paths with :meth:`set_paths` before querying.

        Args:
            num_envs: Number of envs N.
            pose_source: Returns the poses (N, 3) of all envs as (x, y, yaw) in the paths' frame.
            stop_radius: Distance to the goal under which the answer is "stop" (m); keep it inside the benchmark's
                success radius.
            waypoint_radius: A waypoint within this distance counts as passed (m).
            max_waypoints: Longest path accepted.
            device: Device of the path tensors.
            interface: How it answers.
            num_waypoints: Waypoints per answer of the waypoint interface (8 to 24).
            waypoint_spacing: Distance between them along the path (m).
            turn_threshold_deg: Language and tokens: turn only when the heading error to the next path point reaches
                this (degrees), else walk; None: half the smallest turn. A larger one makes labels coarser.
        """
        if not 8 <= num_waypoints <= 24:
            raise ValueError(f"num_waypoints must be 8 to 24, got {num_waypoints}")
        self.interface = Interface(interface)
        self.num_waypoints, self.waypoint_spacing = num_waypoints, waypoint_spacing
        tokens = self.interface == Interface.TOKENS
        self.forward_choices = TOKEN_FORWARD_CM if tokens else FORWARD_CM
        self.turn_choices = TOKEN_TURN_DEG if tokens else TURN_DEG
        self.turn_threshold_deg = self.turn_choices[0] / 2 if turn_threshold_deg is None else turn_threshold_deg
        self.pose_source = pose_source
        self.stop_radius = stop_radius
        self.waypoint_radius = waypoint_radius
        self.device = torch.device(device)
        self._paths = torch.zeros(num_envs, max_waypoints, 2, device=self.device)
        self._path_lengths = torch.ones(num_envs, dtype=torch.long, device=self.device)
        self._next_waypoint = torch.zeros(num_envs, dtype=torch.long, device=self.device)

    def set_paths(self, env_ids: Sequence[int], paths: Sequence[np.ndarray | torch.Tensor]) -> None:
        """Give these envs their shortest paths (call at episode start).

        Args:
            env_ids: Envs starting an episode.
            paths: Per env, waypoints (K, 2) or (K, 3) from start to goal; only x and y are used.
        """
        for env_id, path in zip(env_ids, paths, strict=True):
            points = torch.as_tensor(np.asarray(path), dtype=torch.float32, device=self.device)[:, :2]
            if not 1 <= len(points) <= self._paths.shape[1]:
                raise ValueError(f"env {env_id}: a path needs 1 to {self._paths.shape[1]} waypoints, got {len(points)}")
            self._paths[env_id] = points[-1]
            self._paths[env_id, : len(points)] = points
            self._path_lengths[env_id] = len(points)
            self._next_waypoint[env_id] = 0

    def plan(self, poses: torch.Tensor, env_ids: Sequence[int] | torch.Tensor) -> list[Command]:
        """Choose the next command of some envs and mark the path points they have passed.

        Args:
            poses: Poses (M, 3) of these envs as (x, y, yaw).
            env_ids: The M envs.

        Returns:
            One command per env: an action, or a waypoint plan for the waypoint interface.
        """
        env_ids = torch.as_tensor(env_ids, dtype=torch.long, device=self.device)
        poses = poses.to(self.device)
        paths, lengths = self._paths[env_ids], self._path_lengths[env_ids]
        distances = (paths - poses[:, None, :2]).norm(dim=-1)
        slots = torch.arange(paths.shape[1], device=self.device)
        passed = (
            (distances < self.waypoint_radius)
            & (slots < lengths[:, None])
            & (slots >= self._next_waypoint[env_ids, None])
        )
        last_passed = torch.where(passed, slots, -1).amax(dim=1)
        next_waypoint = torch.maximum(self._next_waypoint[env_ids], last_passed + 1).clamp(max=lengths - 1)
        self._next_waypoint[env_ids] = next_waypoint

        rows = torch.arange(len(env_ids), device=self.device)
        goal_distance = distances[rows, lengths - 1]
        if self.interface == Interface.WAYPOINTS:
            return self._waypoints(paths, lengths, next_waypoint, poses, goal_distance)
        target = paths[rows, next_waypoint]
        offset = target - poses[:, :2]
        heading_error = torch.rad2deg(wrap_to_pi(torch.atan2(offset[:, 1], offset[:, 0]) - poses[:, 2]))
        return [
            self._choose(float(goal), float(error), float(distance))
            for goal, error, distance in zip(goal_distance, heading_error, offset.norm(dim=-1), strict=True)
        ]

    def _choose(self, goal_distance: float, heading_error_deg: float, target_distance: float) -> Command:
        if goal_distance < self.stop_radius:
            return Stop()
        if abs(heading_error_deg) >= self.turn_threshold_deg:
            return Turn(int(math.copysign(snap(abs(heading_error_deg), self.turn_choices), heading_error_deg)))
        reachable = [cm for cm in self.forward_choices if cm <= 100 * target_distance]
        return Forward(max(reachable, default=self.forward_choices[0]))

    def _waypoints(
        self,
        paths: torch.Tensor,
        lengths: torch.Tensor,
        next_waypoint: torch.Tensor,
        poses: torch.Tensor,
        goal_distance: torch.Tensor,
    ) -> list[Command]:
        """Waypoint plans along each path from its next point on; a stop within ``stop_radius`` of the goal."""
        slots = torch.arange(paths.shape[1], device=self.device)
        ahead = torch.minimum(next_waypoint[:, None] + slots, lengths[:, None] - 1)
        remaining = torch.gather(paths, 1, ahead[..., None].expand(-1, -1, 2))
        plans = waypoints_along(
            remaining.cpu().numpy().astype(float),
            (lengths - next_waypoint).cpu().numpy(),
            poses.cpu().numpy().astype(float),
            self.num_waypoints,
            self.waypoint_spacing,
        )
        return [
            Stop() if goal < self.stop_radius else Waypoints(tuple(map(tuple, plan.tolist())))
            for goal, plan in zip(goal_distance.tolist(), plans, strict=True)
        ]

    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[Answer]:
        """Answer in the interface's canonical form from the privileged poses and paths; frames and text are unused."""
        env_ids = list(range(len(frames))) if env_ids is None else list(env_ids)
        poses = self.pose_source()[env_ids]
        return [format_answer(self.interface, command) for command in self.plan(poses, env_ids)]

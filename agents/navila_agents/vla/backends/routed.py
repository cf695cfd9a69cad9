"""Several VLAs in one VLN run: each env answers with its own backend, or with the shortest-path oracle.

Scoring runs many methods at once, one env per (method, episode): a :class:`RoutedBackend` is the loop's oracle
(so the loop gives it every env's shortest path and replans it at every query) and sends each env's queries to the
backend routed to that env, batching the envs that share a backend. :class:`BlackFrames` is the ablation that shows
a VLA nothing; :class:`ExpertStops` the diagnostic that gives a VLA the oracle's stops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.backends.oracle import ShortestPathOracle
from navila_agents.vla.grammar import action_kind, premature_stops


class BlackFrames(VLABackend):
    """Asks ``backend`` with every frame black: what a VLA does from the instruction alone."""

    def __init__(self, backend: VLABackend) -> None:
        """Wrap ``backend``."""
        self.backend = backend
        self.action_history = backend.action_history

    def set_history(self, env_ids: Sequence[int], executed: Sequence[Sequence[str]]) -> None:
        """Pass the history on."""
        self.backend.set_history(env_ids, executed)

    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[str]:
        """Answer with the frames replaced by zeros of the same shape."""
        return self.backend.act_batch([np.zeros_like(query) for query in frames], instructions, env_ids)


class ExpertStops(VLABackend):
    """Diagnostic: ``backend`` moves, the oracle decides when to stop (routed by a :class:`RoutedBackend`).

    Where the oracle stops, the answer is "stop"; where ``backend`` stops and the oracle does not, the answer is
    ``moves``' (the same model ranking only the moves). What a VLA would score if it knew when to stop.
    """

    def __init__(self, backend: VLABackend, moves: VLABackend) -> None:
        """Wrap ``backend``; ``moves`` answers in its place where it stops too early."""
        self.backend, self.moves = backend, moves
        self.action_history = backend.action_history or moves.action_history

    def set_history(self, env_ids: Sequence[int], executed: Sequence[Sequence[str]]) -> None:
        """Pass the history on to both models."""
        for model in (self.backend, self.moves):
            if model.action_history:
                model.set_history(env_ids, executed)

    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[str]:
        """The wrapped backend's answers (the routing replaces its stops by :meth:`with_expert_stops`)."""
        return self.backend.act_batch(frames, instructions, env_ids)

    def with_expert_stops(
        self,
        answers: Sequence[str],
        expert: Sequence[str],
        frames: Sequence[np.ndarray],
        instructions: Sequence[str],
        env_ids: Sequence[int],
    ) -> list[str]:
        """``answers`` with the oracle's stops: stop where ``expert`` does, a move where only ``answers`` does."""
        early = [i for i, premature in enumerate(premature_stops(answers, expert)) if premature]
        replies = []
        if early:
            replies = self.moves.act_batch(
                [frames[i] for i in early], [instructions[i] for i in early], [env_ids[i] for i in early]
            )
        merged = [e if action_kind(e) == "stop" else a for a, e in zip(answers, expert, strict=True)]
        for i, reply in zip(early, replies, strict=True):
            merged[i] = reply
        return merged


class RoutedBackend(ShortestPathOracle):
    """Per env a backend, or None for the oracle itself (which the VLN loop keeps replanned)."""

    def __init__(
        self,
        routes: Sequence[VLABackend | None],
        pose_source: Callable[[], torch.Tensor],
        **oracle_kwargs: object,
    ) -> None:
        """Route env ``i``'s queries to ``routes[i]``.

        Args:
            routes: One entry per env: a backend, or None to answer as the shortest-path oracle.
            pose_source: Returns the poses (N, 3) of all envs (for the oracle).
            **oracle_kwargs: Passed to :class:`~navila_agents.vla.backends.oracle.ShortestPathOracle`.
        """
        super().__init__(len(routes), pose_source, **oracle_kwargs)
        self.routes = list(routes)
        self.action_history = any(route is not None and route.action_history for route in self.routes)

    def set_history(self, env_ids: Sequence[int], executed: Sequence[Sequence[str]]) -> None:
        """Pass each env's history on to its backend, if that one reads it."""
        for env_id, answers in zip(env_ids, executed, strict=True):
            route = self.routes[int(env_id)]
            if route is not None and route.action_history:
                route.set_history([env_id], [answers])

    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[str]:
        """Answer every query with its env's backend, one batch per backend."""
        env_ids = list(range(len(frames))) if env_ids is None else [int(env_id) for env_id in env_ids]
        groups: dict[int, list[int]] = {}
        for position, env_id in enumerate(env_ids):
            groups.setdefault(id(self.routes[env_id]), []).append(position)
        answers: list[str] = [""] * len(env_ids)
        for positions in groups.values():
            backend = self.routes[env_ids[positions[0]]]
            ask = super().act_batch if backend is None else backend.act_batch
            query = (
                [frames[p] for p in positions],
                [instructions[p] for p in positions],
                [env_ids[p] for p in positions],
            )
            replies = ask(*query)
            if isinstance(backend, ExpertStops):
                replies = backend.with_expert_stops(replies, super().act_batch(*query), *query)
            for position, reply in zip(positions, replies, strict=True):
                answers[position] = reply
        return answers

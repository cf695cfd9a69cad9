"""Expert labels for the queries of VLN runs: what data generation and DAgger record.

A :class:`LabellingOracle` is the VLN loop's shortest-path oracle (the loop replans it from the robot's pose at every
query, on the full-view grid: it knows the glass), so at every query it has the expert's answer. Without a learner it
also executes that answer (expert rollouts, for supervised data); with one, the robot executes the learner's answer
(DAgger: the states are the learner's, the labels the expert's). Either way a :class:`QueryRecorder` keeps the query:
the current frame, the expert's answer and the answer executed. A :class:`RecordingSim` wrapped around the simulator
tells the recorder which episode each env runs, from the starts the loop sets and the resets the simulator reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from navila_tasks.vln.episodes import Episode
from navila_tasks.vln.layout import SceneLayout

from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.backends.oracle import ShortestPathOracle
from navila_agents.vla.frames import sample_frame_indices
from navila_agents.vla.grammar import premature_stops
from navila_agents.vla.training.dataset import QueryRow, encode_png
from navila_agents.vln.rollout import StepResult, VlnSim


class _OpenEpisode:
    """The queries of one episode an env is running."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.frames: list[np.ndarray] = []
        self.rows: list[QueryRow] = []


class QueryRecorder:
    """Collects one :class:`QueryRow` per labelled query, grouped by episode (rows of an episode contiguous)."""

    def __init__(self, episodes: Sequence[Episode], layout: SceneLayout, num_envs: int, source: str) -> None:
        """Prepare for a run of ``episodes`` (whose scenes lie in ``layout``) on ``num_envs`` envs.

        Args:
            episodes: The episodes of the run, in the loop's order.
            layout: Where each scene lies in the world.
            num_envs: Number of envs.
            source: Tag of every row (e.g. ``expert``, ``dagger_1``); also prefixes the episode names.
        """
        self.episodes, self.source = list(episodes), source
        starts = [layout.offset(episode.scene_id) + episode.start_position[:2] for episode in self.episodes]
        self._starts = np.array(starts).reshape(-1, 2)
        self._assigned = np.zeros(len(self.episodes), dtype=bool)
        self._pending: list[int | None] = [None] * num_envs
        self._open: list[_OpenEpisode | None] = [None] * num_envs
        self._finished: list[QueryRow] = []

    def assign(self, env_ids: Sequence[int], poses: torch.Tensor) -> None:
        """Note the episodes these envs start at their next reset, from their start poses (M, 3) in the world.

        The first episode in the run's order not yet assigned that starts there (within 1 mm) is the env's.
        """
        for env_id, pose in zip(env_ids, poses[:, :2].cpu().numpy(), strict=True):
            matches = np.flatnonzero((np.abs(self._starts - pose).max(axis=1) < 1e-3) & ~self._assigned)
            if not len(matches):
                raise ValueError(f"env {env_id}: no episode of this run starts at {pose.tolist()}")
            self._assigned[matches[0]] = True
            self._pending[env_id] = int(matches[0])

    def begin(self, env_ids: Sequence[int]) -> None:
        """Close the episodes of these just-reset envs and open the ones assigned to them (if any)."""
        for env_id in env_ids:
            self._close(env_id)
            index, self._pending[env_id] = self._pending[env_id], None
            self._open[env_id] = None if index is None else _OpenEpisode(index)

    def _close(self, env_id: int) -> None:
        if self._open[env_id] is not None:
            self._finished += self._open[env_id].rows
            self._open[env_id] = None

    def record(
        self, env_ids: Sequence[int], frames: Sequence[np.ndarray], answers: Sequence[str], executed: Sequence[str]
    ) -> None:
        """Keep one query per env: the frames it was given (T, H, W, 3), the expert's and the executed answer.

        Raises:
            RuntimeError: If the frames are not the current one after the episode's earlier ones, sampled as
                :func:`~navila_agents.vla.frames.sample_frame_indices` does (the recorder lost track of the loop).
        """
        for env_id, query, answer, done in zip(env_ids, frames, answers, executed, strict=True):
            episode = self._open[env_id]
            if episode is None:
                raise RuntimeError(f"env {env_id} was queried outside an episode of this run")
            step = len(episode.frames)
            episode.frames.append(np.asarray(query[-1]))
            indices = sample_frame_indices(step + 1, len(query))
            for index, frame in zip(indices, query, strict=True):
                expected = np.zeros_like(frame) if index is None else episode.frames[index]
                if not np.array_equal(frame, expected):
                    raise RuntimeError(f"env {env_id}: query {step}'s frames are not the episode's history")
            source = self.episodes[episode.index]
            episode.rows.append(
                QueryRow(
                    frame=encode_png(query[-1]),
                    frame_offsets=[index - step for index in indices if index is not None],
                    instruction=source.instruction_text,
                    answer=answer,
                    executed=done,
                    episode=f"{self.source}/{episode.index}:{source.episode_id}",
                    scene_id=source.scene_id,
                    step=step,
                    source=self.source,
                )
            )

    def rows(self) -> list[QueryRow]:
        """Every recorded row, episode by episode (episodes still open are closed)."""
        for env_id in range(len(self._open)):
            self._close(env_id)
        return list(self._finished)


class RecordingSim:
    """A :class:`~navila_agents.vln.rollout.VlnSim` that tells a :class:`QueryRecorder` which episode each env runs."""

    def __init__(self, sim: VlnSim, recorder: QueryRecorder) -> None:
        """Wrap ``sim``; everything but starts and resets passes through."""
        self.sim, self.recorder = sim, recorder
        self.num_envs, self.device, self.step_dt = sim.num_envs, sim.device, sim.step_dt
        self.termination_terms = sim.termination_terms

    def reset(self) -> None:
        """Reset every env; each begins its assigned episode."""
        self.sim.reset()
        self.recorder.begin(range(self.num_envs))

    def poses(self) -> torch.Tensor:
        """(N, 3) base poses of the wrapped simulator."""
        return self.sim.poses()

    def frames(self, env_ids: Sequence[int]) -> np.ndarray:
        """Camera frames of the wrapped simulator."""
        return self.sim.frames(env_ids)

    def contacts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Contacts of the wrapped simulator."""
        return self.sim.contacts()

    def set_next_starts(self, env_ids: Sequence[int], poses: torch.Tensor) -> None:
        """Assign the episodes starting at these poses, then pass the starts on."""
        self.recorder.assign(env_ids, poses)
        self.sim.set_next_starts(env_ids, poses)

    def request_reset(self, env_ids: Sequence[int]) -> None:
        """Pass the request on."""
        self.sim.request_reset(env_ids)

    def step(self, commands: torch.Tensor) -> StepResult:
        """Step the wrapped simulator; the envs it reset begin their next episodes."""
        result = self.sim.step(commands)
        self.recorder.begin(torch.nonzero(result.reset).flatten().tolist())
        return result


EXPERT_TURN_THRESHOLD_DEG = 20.0
"""The expert turns only when the next path point is this far off its heading (degrees), else walks: coarser than the
VLN oracle's 7.5, so its turn-or-walk choice shows in small frames (a learner cannot see 8 degrees in 96 pixels)."""


class LabellingOracle(ShortestPathOracle):
    """The shortest-path oracle, recording its answer at every query; optionally a learner acts instead (DAgger)."""

    def __init__(
        self,
        num_envs: int,
        pose_source: object,
        recorder: QueryRecorder,
        learner: VLABackend | None = None,
        expert_probability: float = 0.0,
        seed: int = 0,
        keep_going: bool = False,
        **oracle_kwargs: object,
    ) -> None:
        """Create the labelling oracle.

        Args:
            num_envs: Number of envs.
            pose_source: Returns the poses (N, 3) of all envs (the simulator's odometry).
            recorder: Receives every query with the expert's answer.
            learner: The policy that acts (DAgger); the expert acts when None.
            expert_probability: With a learner, chance that a query executes the expert's answer instead (DAgger's β).
            seed: Seed of those draws.
            keep_going: With a learner, a stop of the learner where the expert does not stop executes the expert's
                answer: the episode goes on into the states where the learner loses its way, instead of ending there.
            **oracle_kwargs: Passed to :class:`~navila_agents.vla.backends.oracle.ShortestPathOracle`.
        """
        super().__init__(num_envs, pose_source, **{"turn_threshold_deg": EXPERT_TURN_THRESHOLD_DEG, **oracle_kwargs})
        self.recorder, self.learner = recorder, learner
        self.action_history = learner is not None and learner.action_history
        self.expert_probability, self.keep_going = expert_probability, keep_going
        self._rng = np.random.default_rng(seed)

    def set_history(self, env_ids: Sequence[int], executed: Sequence[Sequence[str]]) -> None:
        """Pass the history on to the learner."""
        self.learner.set_history(env_ids, executed)

    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[str]:
        """Record the expert's answers; return the ones to execute (the expert's, or the learner's)."""
        env_ids = list(range(len(frames))) if env_ids is None else list(env_ids)
        expert = super().act_batch(frames, instructions, env_ids)
        executed = expert
        if self.learner is not None:
            learned = self.learner.act_batch(frames, instructions, env_ids)
            use_expert = self._rng.random(len(frames)) < self.expert_probability
            if self.keep_going:
                use_expert |= np.array(premature_stops(learned, expert), dtype=bool)
            executed = [e if pick else a for e, a, pick in zip(expert, learned, use_expert, strict=True)]
        self.recorder.record(env_ids, frames, expert, executed)
        return executed

"""The nested VLN loop: many envs, each in its own episode, a frozen VLA above a locomotion policy.

Every policy step (50 Hz) the :class:`~navila_agents.vla.executor.ActionExecutor` turns each env's current action
or waypoint plan into a velocity command for the simulator. An env whose plan is done asks the VLA again at the next
tick of a ``query_period`` clock (0.5 s of simulated time in the reference benchmark), with its sampled camera frames
and instruction; the answer is read in the backend's interface (:class:`~navila_agents.vla.interfaces.AnswerDecoder`).
The clock is shared by all envs, so the cameras render only on its ticks: an episode that starts between two ticks
stands until the next one (at most ``query_period``) before its first query.

Episodes end as in docs/reference.md §4: on stop, on a fall (the env's termination; its cause is the names of the
termination terms that fired), after ``max_steps`` steps, or after ``max_still_steps`` steps without moving. Each
env then starts the next episode of the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import NamedTuple, Protocol

import numpy as np
import torch
from navila_lab.progress import progress as progress_bar
from navila_tasks.vln.episodes import SUCCESS_RADIUS, Episode
from navila_tasks.vln.layout import SceneLayout

from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.executor import ActionExecutor, ExecutorCfg
from navila_agents.vla.frames import FrameHistory
from navila_agents.vla.grammar import InvalidPolicy, Stop
from navila_agents.vla.interfaces import Answer, AnswerDecoder, Waypoints
from navila_agents.vln.goal_distance import GoalDistances
from navila_agents.vln.metrics import EpisodeRecord, EpisodeTracker

PROGRESS_STEPS = 50
"""Policy steps between two updates of the progress bar's step count."""


class StepResult(NamedTuple):
    """What one simulator step reports per env."""

    reset: torch.Tensor
    """(N,) bool: the env was reset during the step (it now stands at its next start)."""
    terminations: torch.Tensor
    """(N, T) bool: which termination terms (:attr:`VlnSim.termination_terms`) fired during the step."""

    @property
    def fell(self) -> torch.Tensor:
        """(N,) bool: the reset was a termination (fall, illegal contact), not a requested one."""
        return self.terminations.any(dim=1)


class VlnSim(Protocol):
    """The simulator as the loop sees it: N robots on the tiles of a :class:`SceneLayout`."""

    num_envs: int
    device: torch.device
    step_dt: float
    """Policy period (s)."""
    termination_terms: tuple[str, ...]
    """Names of the env's termination terms (time-outs excluded), in the termination manager's order."""

    def reset(self) -> None:
        """Reset every env; each stands at its next start afterwards."""

    def poses(self) -> torch.Tensor:
        """(N, 3) base poses (x, y, yaw) in the world."""

    def frames(self, env_ids: Sequence[int]) -> np.ndarray:
        """(M, H, W, 3) uint8 current camera images of these envs."""

    def contacts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,) bool touching an obstacle other than glass, (N,) bool touching glass."""

    def set_next_starts(self, env_ids: Sequence[int], poses: torch.Tensor) -> None:
        """Where these envs stand (x, y, yaw in the world, (M, 3)) after their next reset."""

    def request_reset(self, env_ids: Sequence[int]) -> None:
        """Reset these envs during the next step."""

    def step(self, commands: torch.Tensor) -> StepResult:
        """Advance one policy step with velocity commands (N, 3) as (vx, vy, wz) in the base frame."""


class EpisodeRecorder(Protocol):
    """Receives the frames of chosen episodes (e.g. to write videos)."""

    def wants(self, episode_index: int) -> bool:
        """Whether episode number ``episode_index`` (position in the episode list) is recorded."""

    def begin(self, env_id: int, episode: Episode) -> None:
        """Start recording the episode an env begins."""

    def add(self, env_id: int, frame: np.ndarray, pose: np.ndarray) -> None:
        """Take the env's camera frame (H, W, 3) and base pose (x, y, yaw) in the episode's scene frame."""

    def end(self, env_id: int, result: EpisodeResult) -> None:
        """Close the env's recorded episode."""


class EndReason(StrEnum):
    """Why an episode ended."""

    STOP = "stop"
    FALL = "fall"
    MAX_STEPS = "max_steps"
    NO_PROGRESS = "no_progress"


@dataclass(frozen=True)
class VlnRunCfg:
    """Timing and end conditions of the loop (reference values of docs/reference.md §1 and §4)."""

    query_period: float = 0.5
    """Simulated time between two VLA queries of an env whose action is done (s)."""
    max_steps: int = 2500
    """Policy steps after which an episode ends."""
    max_still_steps: int = 1000
    """Policy steps without moving after which an episode ends."""
    still_radius: float = 0.1
    """The base counts as moving once it is this far from where it was last seen moving (m)."""
    success_radius: float = SUCCESS_RADIUS
    invalid_policy: InvalidPolicy = InvalidPolicy.REQUERY
    max_requeries: int = 3
    executor: ExecutorCfg = field(default_factory=ExecutorCfg)
    """Execution of actions; its ``policy_dt`` is replaced by the simulator's."""
    video_stride: int = 5
    """Policy steps between two frames of a recorded episode."""
    oracle_sees_glass: bool = True
    """Whether the oracle plans around glass (privileged) or on the scene as the camera sees it, as a camera-only VLA
    would: then its paths may run into glass that only the low level's LiDAR can notice."""


@dataclass(frozen=True)
class EpisodeResult:
    """One finished episode: its measurements and what happened."""

    record: EpisodeRecord
    scene_id: str
    instruction: str
    end_reason: EndReason
    answers: list[Answer]
    """The VLA's answers, in order."""
    path: list[tuple[float, float]]
    """Base positions in the scene frame at every query and at the end (m)."""
    fall_cause: str | None = None
    """On a fall, the termination terms that fired, joined with "+" (e.g. ``head_contact``); None otherwise."""

    def to_dict(self, radius: float = SUCCESS_RADIUS) -> dict:
        """JSON-ready record with the per-episode metric terms."""
        return {
            **asdict(self.record),
            "success": self.record.success(radius),
            "oracle_success": self.record.oracle_success(radius),
            "spl": self.record.spl(radius),
            "scene_id": self.scene_id,
            "instruction": self.instruction,
            "end_reason": str(self.end_reason),
            "answers": self.answers,
            "path": [[round(x, 3), round(y, 3)] for x, y in self.path],
            "fall_cause": self.fall_cause,
        }


class VlnRunner:
    """Runs a list of episodes on a :class:`VlnSim`, as many at a time as it has envs."""

    def __init__(
        self,
        sim: VlnSim,
        backend: VLABackend,
        episodes: Sequence[Episode],
        layout: SceneLayout,
        cfg: VlnRunCfg | None = None,
        recorder: EpisodeRecorder | None = None,
    ) -> None:
        """Prepare the loop; :meth:`run` plays every episode once.

        Args:
            sim: The simulator.
            backend: The VLA; a privileged backend (the oracle) gets the shortest path from where the env stands at
                every query.
            episodes: Episodes to run, whose scenes are all in ``layout``.
            layout: Where each scene lies in the simulator's world.
            cfg: Timing and end conditions.
            recorder: Receives the frames of the episodes it wants.
        """
        self.sim, self.backend, self.episodes, self.layout = sim, backend, list(episodes), layout
        self.cfg = cfg or VlnRunCfg()
        self.recorder = recorder
        n, device = sim.num_envs, sim.device
        self.query_steps = max(1, round(self.cfg.query_period / sim.step_dt))
        self.decoder = AnswerDecoder(n, backend.interface, self.cfg.invalid_policy, self.cfg.max_requeries)
        self.executor = ActionExecutor(n, replace(self.cfg.executor, policy_dt=sim.step_dt), device)
        self.history = FrameHistory(n)
        self.tracker = EpisodeTracker(n, device)
        self.goal_distances = GoalDistances(n, device)
        self._clock = 0
        """Policy steps since the run began: queries happen when it is a multiple of ``query_steps``."""
        self._queue = iter(range(len(self.episodes)))
        self._current = [-1] * n
        """Per env: index of the episode it runs, or -1."""
        self._pending = [-1] * n
        """Per env: index of the episode it starts at its next reset, or -1."""
        self._running = torch.zeros(n, dtype=torch.bool, device=device)
        """Envs in an episode that has not ended yet."""
        self._steps = torch.zeros(n, dtype=torch.long, device=device)
        self._still_steps = torch.zeros(n, dtype=torch.long, device=device)
        self._anchor = torch.zeros(n, 2, device=device)
        self._last_xy = torch.zeros(n, 2, device=device)
        self._distance = torch.zeros(n, device=device)
        """Per env: geodesic distance to the goal at the last step (m)."""
        self._answers: list[list[Answer]] = [[] for _ in range(n)]
        self._paths: list[list[tuple[float, float]]] = [[] for _ in range(n)]
        self._results: dict[int, EpisodeResult] = {}

    # --- episode bookkeeping ------------------------------------------------------------------------------------

    def _episode(self, env_id: int) -> Episode:
        return self.episodes[self._current[env_id]]

    def _to_world(self, episode: Episode, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=float)[..., :2] + self.layout.offset(episode.scene_id)

    def _queue_next(self, env_ids: Sequence[int]) -> None:
        """Give these envs the next episodes of the queue, to start at their next reset."""
        starts = {}
        for env_id in env_ids:
            self._pending[env_id] = next(self._queue, -1)
            if self._pending[env_id] >= 0:
                episode = self.episodes[self._pending[env_id]]
                starts[env_id] = (*self._to_world(episode, episode.start_position), episode.start_yaw)
        if starts:
            poses = torch.tensor(list(starts.values()), dtype=torch.float32, device=self.sim.device)
            self.sim.set_next_starts(list(starts), poses)

    def _begin(self, env_ids: Sequence[int], poses: torch.Tensor) -> None:
        """Start the pending episodes of these just-reset envs (or let them idle) and queue the ones after."""
        starting = [env_id for env_id in env_ids if self._pending[env_id] >= 0]
        for env_id in env_ids:
            self._current[env_id] = self._pending[env_id]
            self._running[env_id] = self._pending[env_id] >= 0
        self._queue_next(env_ids)
        if not starting:
            return
        ids = torch.tensor(starting, dtype=torch.long, device=self.sim.device)
        xy = poses[ids, :2]
        self.decoder.reset(starting)
        self.history.reset(starting)
        self.executor.start(ids, [None] * len(starting), poses)
        self._steps[ids] = 0
        self._still_steps[ids] = 0
        self._anchor[ids] = xy
        self._last_xy[ids] = xy
        episodes = [self._episode(env_id) for env_id in starting]
        self.goal_distances.set_goals(
            starting,
            [self.layout.nav_grids[episode.scene_id] for episode in episodes],
            [np.asarray(episode.goals[0].position[:2]) for episode in episodes],
            np.stack([self.layout.offset(episode.scene_id) for episode in episodes]),
        )
        self._distance[ids] = self.goal_distances(poses[:, :2])[ids]
        d0 = torch.tensor([episode.shortest_path_length for episode in episodes])
        self.tracker.reset(ids, xy, self._distance[ids], d0)
        if self.backend.privileged:
            self.backend.set_paths(starting, [self._to_world(e, e.reference_path) for e in episodes])
        for env_id, episode in zip(starting, episodes, strict=True):
            self._answers[env_id] = []
            self._paths[env_id] = []
            if self.recorder is not None and self.recorder.wants(self._current[env_id]):
                self.recorder.begin(env_id, episode)

    def _finish(self, env_ids: Sequence[int], reason: EndReason, terminations: torch.Tensor | None = None) -> None:
        """Record the episodes of these envs; those still standing are reset at the next step.

        Args:
            env_ids: Envs whose episode ends.
            reason: Why they end.
            terminations: On a fall, the step's (N, T) :attr:`StepResult.terminations`, naming each fall's cause.
        """
        if not env_ids:
            return
        episodes = [self._episode(env_id) for env_id in env_ids]
        records = self.tracker.finish(
            env_ids, [e.episode_id for e in episodes], [reason == EndReason.STOP] * len(env_ids)
        )
        causes = [None] * len(env_ids) if terminations is None else self._fall_causes(terminations[env_ids])
        for env_id, episode, record, cause in zip(env_ids, episodes, records, causes, strict=True):
            self._paths[env_id].append(self._scene_xy(env_id))
            result = EpisodeResult(
                record,
                episode.scene_id,
                episode.instruction_text,
                reason,
                self._answers[env_id],
                self._paths[env_id],
                fall_cause=cause,
            )
            self._results[self._current[env_id]] = result
            if self.recorder is not None and self.recorder.wants(self._current[env_id]):
                self.recorder.end(env_id, result)
            self._running[env_id] = False
        if reason != EndReason.FALL:
            self.sim.request_reset(list(env_ids))

    def _fall_causes(self, terminations: torch.Tensor) -> list[str]:
        """Per row of (M, T) fired termination terms, their names joined with "+"."""
        return [
            "+".join(name for name, fired in zip(self.sim.termination_terms, row, strict=True) if fired)
            for row in terminations.tolist()
        ]

    def _scene_xy(self, env_id: int) -> tuple[float, float]:
        x, y = self._last_xy[env_id].tolist() - self.layout.offset(self._episode(env_id).scene_id)
        return float(x), float(y)

    # --- the loop -----------------------------------------------------------------------------------------------

    def _replan(self, env_ids: list[int]) -> None:
        """Give the oracle the shortest path from where each env stands now (a shortest-path follower).

        An env off the free cells (closer to an obstacle than the grid's clearance) starts from the nearest free cell;
        one whose goal cannot be reached from there keeps its current path. Without ``oracle_sees_glass`` the grid is
        the camera's (glass does not block).
        """
        grids = self.layout.nav_grids if self.cfg.oracle_sees_glass else self.layout.camera_nav_grids
        env_paths = {}
        for env_id in env_ids:
            episode = self._episode(env_id)
            grid = grids[episode.scene_id]
            start = grid.nearest_free(np.asarray(self._scene_xy(env_id)))[0]
            try:
                path = grid.shortest_path(start, episode.goals[0].position[:2])
            except ValueError:
                continue
            env_paths[env_id] = self._to_world(episode, path)
        if env_paths:
            self.backend.set_paths(list(env_paths), list(env_paths.values()))

    def _query(self, env_ids: list[int], poses: torch.Tensor) -> None:
        """Ask the VLA for the next action of these envs and start executing it (or end on stop)."""
        if self.backend.privileged:
            self._replan(env_ids)
        self.history.append(self.sim.frames(env_ids), env_ids)
        frames = [self.history.sample(env_id) for env_id in env_ids]
        instructions = [self._episode(env_id).instruction_text for env_id in env_ids]
        if self.backend.action_history:
            self.backend.set_history(env_ids, [self._answers[env_id] for env_id in env_ids])
        answers = self.backend.act_batch(frames, instructions, env_ids)
        commands = self.decoder.decode(answers, env_ids)
        for env_id, answer in zip(env_ids, answers, strict=True):
            self._answers[env_id].append(answer)
            self._paths[env_id].append(self._scene_xy(env_id))
        stopped, actions, plans = [], {}, {}
        for env_id, command in zip(env_ids, commands, strict=True):
            if isinstance(command, Stop):
                stopped.append(env_id)
            elif isinstance(command, Waypoints):
                plans[env_id] = command.array()
            else:
                actions[env_id] = command
        if actions:
            self.executor.start(list(actions), list(actions.values()), poses)
        if plans:
            counts = torch.tensor([len(plan) for plan in plans.values()], device=self.sim.device)
            padded = np.zeros((len(plans), int(counts.max()), 3), dtype=np.float32)
            for row, plan in enumerate(plans.values()):
                padded[row, : len(plan)] = plan
            self.executor.start_waypoints(list(plans), torch.as_tensor(padded), poses, counts)
        self._finish(stopped, EndReason.STOP)

    def _record_frames(self) -> None:
        recorded = [
            env_id
            for env_id in torch.nonzero(self._running).flatten().tolist()
            if self.recorder.wants(self._current[env_id]) and self._steps[env_id] % self.cfg.video_stride == 0
        ]
        if not recorded:
            return
        poses = self.sim.poses()[recorded].cpu().numpy()
        for env_id, frame, pose in zip(recorded, self.sim.frames(recorded), poses, strict=True):
            local = np.array([*(pose[:2] - self.layout.offset(self._episode(env_id).scene_id)), pose[2]])
            self.recorder.add(env_id, frame, local)

    def step(self) -> None:
        """One policy step of every env: queries, commands, simulation, metrics, episode ends and starts."""
        poses = self.sim.poses()
        due = self._running & self.executor.done
        if self._clock % self.query_steps == 0 and due.any():
            self._query(torch.nonzero(due).flatten().tolist(), poses)
        if self.recorder is not None:
            self._record_frames()
        commands = self.executor.step(poses) * self._running[:, None]
        result = self.sim.step(commands)
        self._clock += 1
        running = self._running & ~result.reset
        poses = self.sim.poses()
        xy = torch.where(running[:, None], poses[:, :2], self._last_xy)
        self._distance = torch.where(running, self.goal_distances(xy), self._distance)
        in_collision, on_glass = self.sim.contacts()
        fell = result.fell & self._running
        self.tracker.update(xy, self._distance, in_collision & running, on_glass & running, fell)
        self._last_xy = xy
        self._steps += running.long()
        moved = (xy - self._anchor).norm(dim=-1) > self.cfg.still_radius
        self._anchor = torch.where(moved[:, None], xy, self._anchor)
        self._still_steps = torch.where(moved, 0, self._still_steps + running.long())

        self._finish(torch.nonzero(fell).flatten().tolist(), EndReason.FALL, result.terminations)
        self._finish(
            torch.nonzero(running & (self._steps >= self.cfg.max_steps)).flatten().tolist(), EndReason.MAX_STEPS
        )
        still = running & self._running & (self._still_steps >= self.cfg.max_still_steps)
        self._finish(torch.nonzero(still).flatten().tolist(), EndReason.NO_PROGRESS)
        if result.reset.any():
            self._begin(torch.nonzero(result.reset).flatten().tolist(), poses)

    def run(self, progress: bool = True) -> list[EpisodeResult]:
        """Play every episode once; return the results in episode order."""
        self._queue_next(range(self.sim.num_envs))
        self.sim.reset()
        self._begin(list(range(self.sim.num_envs)), self.sim.poses())
        with progress_bar(total=len(self.episodes), desc="vln", unit="episode", disable=not progress) as bar:
            while any(index >= 0 for index in self._current):
                done = len(self._results)
                self.step()
                if len(self._results) > done:
                    bar.update(len(self._results) - done)
                if self._clock % PROGRESS_STEPS == 0:
                    bar.set_postfix(step=self._clock, simulated=f"{self._clock * self.sim.step_dt:.0f}s")
                if not self._running.any() and all(index < 0 for index in self._pending):
                    break
        return [self._results[index] for index in sorted(self._results)]

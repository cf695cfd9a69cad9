"""Labelled queries from VLN rollouts in the Isaac Lab VLN task: episode splits by scene seed, expert and DAgger runs.

Splits never share a scene: each draws its scenes from its own range of seeds (``first_seed`` upward), keeping the
scenes that fit (with or without glass) and drawing ``per_scene`` episodes in each. The same seeds give the same
scenes, episodes and instructions, and (with :class:`~navila_agents.vln.render_sim.RenderSim`) the same rows.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
from navila_lab.errors import UserError
from navila_tasks.commands.vln_episodes import episodes_of_scenes
from navila_tasks.vln.episodes import Episode, save_episodes
from navila_tasks.vln.layout import SceneLayout

from navila_agents.commands.vln import ORACLE_WAYPOINT_RADIUS
from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.training.dataset import QueryRow
from navila_agents.vln.labelling import LabellingOracle, QueryRecorder, RecordingSim
from navila_agents.vln.rollout import EpisodeResult, VlnRunCfg, VlnRunner, VlnSim

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnvCfg

    from navila_agents.locomotion.policy import PolicySource

VLN_TASK = "NaVILA-Go2-VLN"


@dataclass(frozen=True)
class SplitSpec:
    """Where a split's scenes come from and how many episodes it has."""

    name: str
    first_seed: int
    """Scene seeds are tried from this one upward."""
    scenes: int
    per_scene: int
    glass: bool | None = None
    """True: only scenes with glass, and episodes whose path passes within ``near_glass`` of it; False: only scenes
    without glass; None: any scene."""


def default_splits(train: int, validation: int, test: int, per_scene: int, seed: int = 0) -> list[SplitSpec]:
    """Train and validation scenes of any kind; test scenes without glass and, apart, with glass near the paths.

    Seed ranges are 10,000 apart (``seed`` shifts them all), so the splits are disjoint and also avoid the scenes of
    the shipped episode sets (seeds below 100).
    """
    base = 10_000 * (1 + 5 * seed)
    return [
        SplitSpec("train", base, train, per_scene),
        SplitSpec("validation", base + 10_000, validation, per_scene),
        SplitSpec("test_clear", base + 20_000, test, per_scene, glass=False),
        SplitSpec("test_glass", base + 30_000, test, per_scene, glass=True),
    ]


def dataset_split(name: str) -> str:
    """Return the dataset split an episode split's rows go to (both test sets go to ``test``)."""
    return "test" if name.startswith("test") else name


def split_episodes(
    spec: SplitSpec,
    seed: int = 0,
    min_distance: float = 4.0,
    max_distance: float = 15.0,
    near_glass: float = 1.0,
    max_seeds: int = 10_000,
) -> list[Episode]:
    """Draw the episodes of one split, numbered from 0 (see :class:`SplitSpec`).

    Raises:
        UserError: If fewer than ``spec.scenes`` scenes in ``max_seeds`` seeds fit.
    """
    episodes, fitted = episodes_of_scenes(
        spec.first_seed,
        spec.scenes,
        spec.per_scene,
        seed=seed,
        min_distance=min_distance,
        max_distance=max_distance,
        glass_scenes=spec.glass,
        near_glass=near_glass if spec.glass else None,
        max_seeds=max_seeds,
    )
    if fitted < spec.scenes:
        raise UserError(f"split {spec.name}: only {fitted} of {spec.scenes} scenes in {max_seeds} seeds fit")
    return episodes


def add_env_args(parser: argparse.ArgumentParser, num_envs: int) -> None:
    """Arguments of the commands that roll out VLN episodes."""
    from navila_agents.locomotion import runtime

    runtime.add_common_args(parser, task_default=VLN_TASK)
    parser.set_defaults(num_envs=num_envs)
    parser.add_argument("--camera-size", type=int, default=96, help="camera width and height (pixels)")
    parser.add_argument("--max-steps", type=int, default=2500, help="policy steps after which an episode ends")


def vln_env_cfg(
    args: argparse.Namespace,
    scene_ids: Sequence[str],
    num_episodes: int,
    governed: bool = False,
    policy: PolicySource | None = None,
) -> ManagerBasedRLEnvCfg:
    """The VLN task's env cfg with these scenes, ``args.camera_size`` cameras and at most one env per episode.

    ``governed``: the locomotion policy's commands are capped by the robot-side height-map governor. ``policy``: the
    locomotion policy it will host (its height map is built).
    """
    from navila_agents.locomotion import runtime
    from navila_agents.locomotion.policy import host_height_map

    if args.camera_size <= 0:
        raise UserError(f"--camera-size must be positive, got {args.camera_size}")
    env_cfg, agent_cfg = runtime.load_cfgs(args.task, args.overrides)
    runtime.configure(env_cfg, agent_cfg, args)
    host_height_map(policy, env_cfg)
    if governed:
        env_cfg.govern_commands()
    env_cfg.scene.num_envs = min(env_cfg.scene.num_envs, num_episodes)
    env_cfg.scene.vln_scenes.spawn.scene_ids = list(dict.fromkeys(scene_ids))
    env_cfg.scene.camera.width = env_cfg.scene.camera.height = args.camera_size
    return env_cfg


@contextlib.contextmanager
def open_vln_env(
    args: argparse.Namespace,
    scene_ids: Sequence[str],
    num_episodes: int,
    governed: bool = False,
    policy: PolicySource | None = None,
) -> Iterator[gym.Env]:
    """The VLN task of :func:`vln_env_cfg`, closed on exit."""
    from navila_agents.locomotion import runtime

    env_cfg = vln_env_cfg(args, scene_ids, num_episodes, governed, policy)
    with runtime.open_env(args.task, env_cfg) as env:
        yield env


@dataclass(frozen=True)
class Rollouts:
    """What a labelled run produced."""

    rows: list[QueryRow]
    results: list[EpisodeResult]
    wall_time: float
    """Seconds the run took (simulation, rendering and models)."""

    @property
    def queries_per_second(self) -> float:
        """Labelled queries per second of wall time."""
        return len(self.rows) / max(self.wall_time, 1e-9)


def collect(
    sim: VlnSim,
    layout: SceneLayout,
    episodes: Sequence[Episode],
    source: str,
    run_cfg: VlnRunCfg,
    learner: VLABackend | None = None,
    expert_probability: float = 0.0,
    seed: int = 0,
    progress: bool = True,
) -> Rollouts:
    """Run the episodes with the full-view oracle as expert (and ``learner`` acting, for DAgger); label every query.

    Args:
        sim: The simulator (its scenes must hold the episodes').
        layout: Where each scene lies.
        episodes: Episodes to run.
        source: Tag of the rows (``expert``, ``dagger_1``, ...).
        run_cfg: Timing and end conditions; the oracle always sees glass.
        learner: The VLA that acts instead of the expert (DAgger), or None.
        expert_probability: With a learner, chance that a query executes the expert's answer instead.
        seed: Seed of those draws.
        progress: Show a progress bar.
    """
    recorder = QueryRecorder(episodes, layout, sim.num_envs, source)
    oracle = LabellingOracle(
        sim.num_envs,
        sim.poses,
        recorder,
        learner,
        expert_probability,
        seed,
        waypoint_radius=ORACLE_WAYPOINT_RADIUS,
        device=sim.device,
    )
    run_cfg = dataclasses.replace(run_cfg, oracle_sees_glass=True)
    start = time.perf_counter()
    results = VlnRunner(RecordingSim(sim, recorder), oracle, episodes, layout, run_cfg).run(progress)
    return Rollouts(recorder.rows(), results, time.perf_counter() - start)


def split_summary(rows: Sequence[QueryRow]) -> dict[str, object]:
    """Rows, episodes, scenes and answer counts of a split (for dataset cards)."""
    return {
        "rows": len(rows),
        "episodes": len({row.episode for row in rows}),
        "scenes": len({row.scene_id for row in rows}),
        "answers": dict(Counter(row.answer for row in rows).most_common()),
    }


def dataset_card(title: str, command: str, splits: Mapping[str, Sequence[QueryRow]], facts: Mapping[str, str]) -> str:
    """Write a dataset card (YAML header and markdown) with the splits' sizes, the generating command and run facts."""
    summaries = {name: split_summary(rows) for name, rows in splits.items()}
    header = ["---", f"pretty_name: {title}", "task_categories:", "- image-text-to-text", "dataset_info:", "  splits:"]
    header += [f"  - name: {name}\n    num_examples: {summary['rows']}" for name, summary in summaries.items()]
    lines = [*header, "---", "", f"# {title}", "", "Generated with:", "", f"    {command}", ""]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    lines += ["", "| split | rows | episodes | scenes | answers |", "|---|---|---|---|---|"]
    for name, summary in summaries.items():
        answers = ", ".join(f"{answer}: {count}" for answer, count in summary["answers"].items())
        lines.append(f"| {name} | {summary['rows']} | {summary['episodes']} | {summary['scenes']} | {answers} |")
    lines += [
        "",
        "One row per VLA query: `frame` (the current camera frame, PNG), `frame_offsets` (rows of the frames the VLA",
        "saw, oldest first, black frames in front), `instruction`, `answer` (the full-view oracle's action, the",
        "training target), `executed` (the action the robot took), `episode`, `scene_id`, `step`, `source`.",
        "Load with `datasets.load_from_disk`; `navila vla-train --data <this folder>` trains on it.",
    ]
    return "\n".join(lines) + "\n"


def save_episode_files(folder: Path, episodes: Mapping[str, Sequence[Episode]]) -> None:
    """Write each split's episodes as ``<folder>/episodes/<split>.json.gz``."""
    for name, split in episodes.items():
        save_episodes(folder / "episodes" / f"{name}.json.gz", split)

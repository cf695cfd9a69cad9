"""Labelled queries from VLN rollouts in the Isaac Lab VLN task: episode splits by scene seed, expert and DAgger runs.

Splits never share a scene: each draws its scenes from its own range of seeds (``first_seed`` upward), keeping the
scenes that fit (with or without glass) and drawing ``per_scene`` episodes in each. The same seeds give the same
scenes, episodes and instructions, and (with :class:`~navila_agents.vln.render_sim.RenderSim`) the same rows.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from navila_lab.errors import UserError
from navila_tasks.commands.vln_episodes import episodes_of_scenes
from navila_tasks.vln.episodes import Episode, save_episodes
from navila_tasks.vln.layout import SceneLayout

from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.backends.oracle import ORACLE_WAYPOINT_RADIUS
from navila_agents.vla.training.dataset import QueryRow
from navila_agents.vln.labelling import LabellingOracle, QueryRecorder, RecordingSim
from navila_agents.vln.rollout import EpisodeResult, VlnRunCfg, VlnRunner, VlnSim


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
    keep_going: bool = False,
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
        keep_going: With a learner, its stops where the expert does not stop execute the expert's answer.
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
        keep_going,
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

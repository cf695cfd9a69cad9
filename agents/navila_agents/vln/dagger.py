"""DAgger rounds for the VLA: the learner drives, the expert labels every state it visits.

DAgger: Ross, Gordon and Bagnell, "A Reduction of Imitation Learning and Structured Prediction to No-Regret Online
Learning", AISTATS 2011. Each round draws new episodes in the training scenes of a ``navila vla-data`` dataset, rolls
them out with the current VLA acting (teleported low level, or a locomotion policy), labels every query with the
full-view oracle replanned from the learner's pose (:func:`~navila_agents.vln.datagen.collect`) and writes the rows
as a dataset whose ``train`` split is aggregated with the earlier ones by ``navila vla-train --data base round_1 ...``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from navila_lab.errors import UserError
from navila_tasks.vln.episodes import Episode, generate_episodes, load_episodes
from navila_tasks.vln.scenes import scene_from_id

TRAIN_EPISODES = Path("episodes") / "train.json.gz"
"""Where a ``navila vla-data`` dataset keeps its training episodes."""
ROUND_SEED_STRIDE = 1_000_003
"""Episode seeds of round r start at r times this, away from the dataset's own."""


def training_scenes(dataset: Path) -> list[str]:
    """Return the scene ids of a dataset's train split, in order.

    Raises:
        UserError: If the dataset has no training episode file.
    """
    path = Path(dataset) / TRAIN_EPISODES
    if not path.is_file():
        raise UserError(f"dataset '{dataset}' has no {TRAIN_EPISODES} (not written by navila vla-data)")
    try:
        episodes = load_episodes(path)
    except ValueError as error:
        raise UserError(str(error)) from None
    return list(dict.fromkeys(episode.scene_id for episode in episodes))


def round_episodes(scene_ids: list[str], round_index: int, per_scene: int, seed: int = 0) -> list[Episode]:
    """Draw new episodes for DAgger round ``round_index`` (≥ 1): ``per_scene`` in each scene, numbered from 0."""
    if round_index < 1:
        raise UserError(f"--round must be 1 or more, got {round_index}")
    episodes: list[Episode] = []
    for index, scene_id in enumerate(scene_ids):
        round_seed = round_index * ROUND_SEED_STRIDE + seed * 7_919 + index
        try:
            drawn = generate_episodes(scene_from_id(scene_id), per_scene, round_seed)
        except RuntimeError:  # no start far enough from a goal in this scene
            continue
        episodes += [
            dataclasses.replace(episode, episode_id=len(episodes) + i, trajectory_id=len(episodes) + i)
            for i, episode in enumerate(drawn)
        ]
    return episodes

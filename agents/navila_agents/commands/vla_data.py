"""``navila vla-data``: VLN rollouts of the full-view oracle in procedural scenes, every query labelled, as a dataset.

Draws train, validation and test episodes in disjoint scenes (test: scenes without glass and, apart, with glass near
the paths), runs them all at once in the Isaac Lab VLN task with the teleported low level (kinematic motion, frames
rendered at the queries only) and writes a Hugging Face ``datasets`` folder with a dataset card, plus the episodes of
every split under ``episodes/`` (``test_clear`` and ``test_glass``: the scoring sets of ``benchmarks/vla_results.py``).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from navila_lab.errors import UserError

from navila_agents.vln.datagen import default_splits
from navila_agents.vln.env import add_env_args


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="navila vla-data", description=__doc__)
    add_env_args(parser, num_envs=256)
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to create")
    parser.add_argument("--train-scenes", type=int, default=200, help="scenes of the train split")
    parser.add_argument("--val-scenes", type=int, default=20, help="scenes of the validation split")
    parser.add_argument("--test-scenes", type=int, default=20, help="scenes of each test set (clear, glass)")
    parser.add_argument("--per-scene", type=int, default=5, help="episodes per scene")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Generate the episodes, roll them out, write the dataset."""
    args = parse_args(argv)
    counts = {"--train-scenes": args.train_scenes, "--val-scenes": args.val_scenes, "--per-scene": args.per_scene}
    for flag, value in counts.items():
        if value <= 0:
            raise UserError(f"{flag} must be positive, got {value}")
    if args.test_scenes < 0:
        raise UserError(f"--test-scenes must be 0 or more, got {args.test_scenes}")
    if args.out.exists():
        raise UserError(f"'{args.out}' exists already: choose a new --out or remove it")
    seed = args.seed or 0
    specs = default_splits(args.train_scenes, args.val_scenes, args.test_scenes, args.per_scene, seed)
    specs = [spec for spec in specs if spec.scenes]

    from navila_lab.provenance import stamp
    from navila_tasks.vln.layout import SceneLayout

    from navila_agents.vla.training.dataset import SPLITS, write_dataset
    from navila_agents.vln.datagen import (
        collect,
        dataset_card,
        dataset_split,
        save_episode_files,
        split_episodes,
    )
    from navila_agents.vln.env import open_vln_env
    from navila_agents.vln.render_sim import RenderSim
    from navila_agents.vln.rollout import VlnRunCfg

    episodes = {spec.name: split_episodes(spec, seed) for spec in specs}
    everything = [episode for split in episodes.values() for episode in split]
    layout = SceneLayout.from_ids([episode.scene_id for episode in everything])
    split_of_scene = {episode.scene_id: dataset_split(name) for name, split in episodes.items() for episode in split}
    with open_vln_env(args, [scene.scene_id for scene in layout.scenes], len(everything)) as env:
        sim = RenderSim(env, layout)
        rollouts = collect(sim, layout, everything, "expert", VlnRunCfg(max_steps=args.max_steps))
        device = str(env.unwrapped.device)
    splits = {name: [row for row in rollouts.rows if split_of_scene[row.scene_id] == name] for name in SPLITS}
    splits = {name: rows for name, rows in splits.items() if rows}
    facts = {
        **stamp(device),
        "camera": f"{args.camera_size}x{args.camera_size} RGB (Newton warp renderer; glass invisible)",
        "expert": "shortest-path oracle on the full-view grid (it knows the glass), teleported low level",
        "parallel envs": str(sim.num_envs),
        "labelled queries per second": f"{rollouts.queries_per_second:.0f} ({rollouts.wall_time:.0f} s)",
        "episode splits": ", ".join(f"{name}: {len(split)}" for name, split in episodes.items()),
    }
    command = "navila vla-data " + shlex.join(argv)
    card = dataset_card("navila VLA queries", command, splits, facts)
    write_dataset(args.out, splits, card, lambda folder: save_episode_files(folder, episodes))
    print(f"[navila] {len(rollouts.rows)} queries ({rollouts.queries_per_second:.0f}/s) -> {args.out}")
    return 0

"""``navila vln-episodes``: generate an episode file in procedural scenes (R2R-CE / VLN-CE-Isaac schema)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from navila_lab.errors import UserError

from navila_tasks.vln.episodes import Episode, generate_episodes, save_episodes
from navila_tasks.vln.navgrid import NavGrid
from navila_tasks.vln.scenes import BoxKind, Scene, generate_scene

CANDIDATES_PER_EPISODE = 8
"""With ``--near-glass``, episodes drawn per episode kept."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="navila vln-episodes", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="episode file to write (.json.gz or .json)")
    parser.add_argument("--scenes", type=int, default=20, help="number of scenes")
    parser.add_argument("--per-scene", type=int, default=5, help="episodes per scene")
    parser.add_argument("--first-seed", type=int, default=0, help="scene seeds are tried from this one on")
    parser.add_argument("--with-glass", action="store_true", help="keep only scenes that have glass")
    parser.add_argument(
        "--near-glass",
        type=float,
        default=None,
        metavar="M",
        help="keep only episodes whose path passes within M m of glass",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the start and goal draws")
    parser.add_argument("--min-distance", type=float, default=4.0, help="shortest start-goal geodesic distance (m)")
    parser.add_argument("--max-distance", type=float, default=15.0, help="longest start-goal geodesic distance (m)")
    return parser.parse_args(argv)


def passes_glass(scene: Scene, episode: Episode, distance: float) -> bool:
    """Whether the episode's reference path comes within ``distance`` of a glass box."""
    glass = [box.footprint for box in scene.boxes if box.kind == BoxKind.GLASS]
    x_min, y_min, x_max, y_max = scene.bounds
    margin = distance + 1.0  # keep the grid's blocked border away from the scene
    bounds = (x_min - margin, y_min - margin, x_max + margin, y_max + margin)
    grid = NavGrid.from_footprints(glass, bounds, scene.cfg.grid_resolution, distance)
    path = np.asarray(episode.reference_path)[:, :2]
    return not all(grid.line_is_free(a, b) for a, b in zip(path[:-1], path[1:], strict=True))


def episodes_of_scenes(
    first_seed: int,
    scenes: int,
    per_scene: int,
    *,
    seed: int,
    min_distance: float,
    max_distance: float,
    glass_scenes: bool | None = None,
    near_glass: float | None = None,
    max_seeds: int = 10_000,
) -> tuple[list[Episode], int]:
    """``per_scene`` episodes in each of the first ``scenes`` scenes that fit from seed ``first_seed`` on (ids from 0).

    ``glass_scenes``: True keeps only scenes with glass, False only scenes without, None any. ``near_glass``: keep only
    episodes whose path passes within that distance of glass (drawing :data:`CANDIDATES_PER_EPISODE` per one kept).
    A scene fits when it has ``per_scene`` such episodes within the distances (start-goal draws seeded
    ``seed + scene seed``).

    Returns:
        The episodes and the number of scenes that fit (fewer than ``scenes`` if ``max_seeds`` seeds ran out).
    """
    episodes: list[Episode] = []
    fitted = 0
    for scene_seed in range(first_seed, first_seed + max_seeds):
        if fitted == scenes:
            break
        scene = generate_scene(scene_seed)
        if glass_scenes is not None and any(box.kind == BoxKind.GLASS for box in scene.boxes) != glass_scenes:
            continue
        count = per_scene * (CANDIDATES_PER_EPISODE if near_glass else 1)
        try:
            drawn = generate_episodes(scene, count, seed + scene_seed, min_distance, max_distance)
        except RuntimeError:  # no start at that distance in this scene
            continue
        if near_glass:
            drawn = [episode for episode in drawn if passes_glass(scene, episode, near_glass)]
        if len(drawn) < per_scene:
            continue
        fitted += 1
        episodes += [
            dataclasses.replace(episode, episode_id=len(episodes) + i, trajectory_id=len(episodes) + i)
            for i, episode in enumerate(drawn[:per_scene])
        ]
    return episodes, fitted


def make_episodes(args: argparse.Namespace, max_seeds: int = 10_000) -> list[Episode]:
    """Episodes of ``args.scenes`` scenes, numbered 0, 1, ... across scenes."""
    episodes, fitted = episodes_of_scenes(
        args.first_seed,
        args.scenes,
        args.per_scene,
        seed=args.seed,
        min_distance=args.min_distance,
        max_distance=args.max_distance,
        glass_scenes=True if args.with_glass else None,
        near_glass=args.near_glass,
        max_seeds=max_seeds,
    )
    if fitted < args.scenes:
        raise UserError(f"only {fitted} of {args.scenes} scenes in {max_seeds} seeds fit the constraints")
    return episodes


def main(argv: list[str]) -> int:
    """Generate and save the episodes."""
    args = parse_args(argv)
    if args.scenes < 1 or args.per_scene < 1:
        raise UserError(f"--scenes and --per-scene must be positive, got {args.scenes} and {args.per_scene}")
    if not 0 < args.min_distance <= args.max_distance:
        raise UserError(f"need 0 < --min-distance <= --max-distance, got {args.min_distance} and {args.max_distance}")
    episodes = make_episodes(args)
    save_episodes(args.out, episodes)
    print(f"[navila] {len(episodes)} episodes in {args.scenes} scenes -> {args.out}")
    return 0

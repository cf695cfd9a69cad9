"""``navila demo``: a few VLN episodes past glass, end to end, on CPU in a few minutes.

Draws short episodes (4-5.5 m, each passing within 1 m of glass) in a procedural scene, runs them in parallel with the
shipped LiDAR locomotion policy under the shipped VLA (``policies/vla_small`` when it exists, else the privileged
full-view oracle), prints NE/OS/SR/SPL and writes into ``--out``: ``demo.mp4`` (per episode: the camera, which does
not see glass; a top-down map with the reference and driven paths; the live LiDAR height map), ``summary.png``, and
the files of ``navila vln`` (``episodes.json``, ``summary.json``, ``videos/``, ``setup.log``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from navila_lab.errors import UserError
from navila_lab.provenance import REPO_ROOT
from navila_tasks.commands import vln_episodes
from navila_tasks.vln.episodes import save_episodes

from navila_agents.commands import vln
from navila_agents.vla.interfaces import Interface

POLICY = REPO_ROOT / "policies" / "go2_rough_lidar"
"""The shipped LiDAR locomotion policy."""
LEARNED_VLA = REPO_ROOT / "policies" / "vla_small"
"""Where a shipped learned VLA lives; the demo uses it when it is there."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="navila demo", description=__doc__)
    parser.add_argument("--episodes", type=int, default=3, help="episodes to run, all in parallel (1-8)")
    parser.add_argument("--scene-seed", type=int, default=0, help="the first glass scene from this seed on is used")
    parser.add_argument("--policy", type=Path, default=POLICY, help="locomotion policy (default: shipped LiDAR)")
    parser.add_argument(
        "--vla",
        default="auto",
        help=f"'auto' ({LEARNED_VLA.relative_to(REPO_ROOT)} if present, else the oracle), 'oracle', or a model folder",
    )
    parser.add_argument(
        "--interface", choices=[str(i) for i in Interface], default="language", help="the oracle's interface"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    parser.add_argument("--camera-size", type=int, default=128, help="camera width and height (pixels)")
    parser.add_argument("--max-steps", type=int, default=1500, help="policy steps after which an episode ends")
    parser.add_argument("--out", type=Path, default=Path("demo"), help="output folder (default: ./demo)")
    args = parser.parse_args(argv)
    if not 1 <= args.episodes <= 8:
        raise UserError(f"--episodes must be 1 to 8, got {args.episodes}")
    return args


def vla_flags(choice: str, interface: str) -> list[str]:
    """``navila vln`` flags of the demo's VLA: a learned model folder, or the full-view oracle."""
    model = LEARNED_VLA if choice == "auto" else None if choice == "oracle" else Path(choice)
    if model is not None and not (model / "config.json").is_file():
        if choice != "auto":
            raise UserError(f"--vla {choice}: no transformers model there (config.json missing)")
        model = None
    if model is None:
        return ["--vla", "oracle", "--interface", interface]
    if interface != Interface.LANGUAGE:
        raise UserError(f"the learned VLA {model} answers in language; --interface {interface} needs --vla oracle")
    return ["--vla", "hf", "--vla-model", str(model)]


def write_episodes(count: int, scene_seed: int, path: Path) -> None:
    """Draw ``count`` short episodes past glass in the first glass scene from ``scene_seed`` on (as vln-episodes)."""
    flags = ["--out", str(path), "--scenes", "1", "--per-scene", str(count), "--first-seed", str(scene_seed)]
    flags += ["--with-glass", "--near-glass", "1", "--min-distance", "4", "--max-distance", "5.5"]
    save_episodes(path, vln_episodes.make_episodes(vln_episodes.parse_args(flags)))


def concatenate(videos: list[Path], path: Path, fps: int = 10) -> None:
    """Write the videos one after the other into one mp4 (frames padded to the largest size)."""
    import imageio.v2 as imageio
    from navila_lab.video import mp4_writer

    clips = [np.stack(imageio.mimread(video, memtest=False)) for video in videos]
    height, width = max(clip.shape[1] for clip in clips), max(clip.shape[2] for clip in clips)
    with mp4_writer(path, fps) as writer:
        for clip in clips:
            padded = np.full((len(clip), height, width, 3), 255, dtype=np.uint8)
            padded[:, : clip.shape[1], : clip.shape[2]] = clip
            for frame in padded:
                writer.append_data(frame)


def main(argv: list[str]) -> int:
    """Draw the episodes, run them with ``navila vln``, write the video and the summary image."""
    args = parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    episodes_file = args.out / "episodes.json.gz"
    write_episodes(args.episodes, args.scene_seed, episodes_file)
    flags = ["--episodes", str(episodes_file), "--policy", str(args.policy), "--device", args.device]
    flags += ["--camera-size", str(args.camera_size), "--max-steps", str(args.max_steps), "--video", str(args.episodes)]
    flags += [*vla_flags(args.vla, args.interface), "--label", "demo", "--out", str(args.out)]
    print(f"[navila] demo: {args.episodes} episodes past glass -> navila vln {' '.join(flags)}", flush=True)
    vln_args = vln.parse_args(flags)
    results, summary, layout = vln.run(vln_args)

    from navila_agents.vln.metrics import format_table
    from navila_agents.vln.summary_image import summary_image

    videos = [args.out / "videos" / f"episode_{result.record.episode_id}.mp4" for result in results]
    concatenate(videos, args.out / "demo.mp4")
    episodes = vln.read_episodes(episodes_file, None)
    summary_image(results, episodes, layout, summary, args.out / "summary.png")
    print(format_table({f"demo ({summary['config']['vla']})": summary["metrics"]}))
    print(
        f"[navila] demo done in {time.perf_counter() - start:.0f} s: {args.out / 'demo.mp4'}, "
        f"{args.out / 'summary.png'}, per-episode results in {args.out / 'episodes.json'}"
    )
    return 0

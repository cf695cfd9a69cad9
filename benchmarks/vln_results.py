"""Oracle VLA × {LiDAR policy, blind policy, perfect low level} on the fixed glass episode set → results/vln.md.

Runs ``navila vln`` once per low level, each in its own process, into ``results/vln/<method>/`` (per-episode JSON,
summary, videos of the first episodes), then writes the markdown table (NE, OS, SR, SPL, falls, collisions, glass
contacts) to ``results/vln.md``. On a GPU machine, with the shipped policies::

    .venv/bin/python benchmarks/vln_results.py --lidar policies/go2_rough_lidar --blind policies/go2_rough_blind

With ``--oracle-view camera`` the oracle plans on the scene as the camera sees it (glass does not block), as a
camera-only VLA would, so its paths can run into glass: the setting of the reference's LiDAR-vs-blind comparison.
Results then go to ``results/vln_camera_oracle/<method>/`` and ``results/vln_camera_oracle.md``.

The episode set (``benchmarks/data/vln_glass_v2.json.gz``: 100 episodes in 20 procedural scenes with glass, every
reference path within 1 m of glass, every start ``START_CLEARANCE`` = 0.45 m clear of walls, glass and furniture, so
that its first turn touches nothing) was made with::

    navila vln-episodes --out benchmarks/data/vln_glass_v2.json.gz --scenes 20 --per-scene 5 --with-glass --near-glass 1

``vln_glass_v1.json.gz`` (the same command before starts kept that clearance: 16 of its starts are within 0.15 m of
furniture) is the set of the earlier runs in ``results/vln_v1.md`` and ``results/vln_camera_oracle_v1.md``.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from navila_agents.vln.report import markdown_report
from navila_lab.errors import run_command

ROOT = Path(__file__).resolve().parents[1]
EPISODES = ROOT / "benchmarks" / "data" / "vln_glass_v2.json.gz"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lidar", type=Path, default=ROOT / "policies" / "go2_rough_lidar", help="LiDAR policy dir")
    parser.add_argument("--blind", type=Path, default=ROOT / "policies" / "go2_rough_blind", help="blind policy dir")
    parser.add_argument(
        "--methods", nargs="+", choices=("lidar", "blind", "perfect"), default=["lidar", "blind", "perfect"]
    )
    parser.add_argument("--episodes", type=Path, default=EPISODES, help="episode file")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--num_envs", type=int, default=32, help="episodes run in parallel")
    parser.add_argument("--camera-size", type=int, default=512, help="camera width and height (pixels)")
    parser.add_argument("--video", type=int, default=3, help="mp4s of the first N episodes per method")
    parser.add_argument("--limit", type=int, default=None, help="first N episodes only (smoke test)")
    parser.add_argument(
        "--oracle-view",
        choices=("full", "camera"),
        default="full",
        help="oracle plans around glass (full) or only around what the camera sees (camera), as an RGB VLA would",
    )
    parser.add_argument("--out-dir", type=Path, default=None, help="per-method output folders (default: by view)")
    parser.add_argument("--report", type=Path, default=None, help="markdown table to write (default: by view)")
    args = parser.parse_args(argv)
    name = "vln" if args.oracle_view == "full" else "vln_camera_oracle"
    args.out_dir = args.out_dir or ROOT / "results" / name
    args.report = args.report or ROOT / "results" / f"{name}.md"
    return args


def main(argv: list[str]) -> int:
    """Run every chosen method, then write the report."""
    args = parse_args(argv)
    low_levels = {
        "lidar": ("LiDAR policy", ["--policy", str(args.lidar)]),
        "blind": ("blind policy", ["--policy", str(args.blind)]),
        "perfect": ("perfect low level", ["--perfect-low-level"]),
    }
    common = ["--episodes", str(args.episodes), "--device", args.device, "--num_envs", str(args.num_envs)]
    common += ["--camera-size", str(args.camera_size), "--video", str(args.video), "--vla", "oracle"]
    common += ["--oracle-view", args.oracle_view]
    common += ["--limit", str(args.limit)] if args.limit is not None else []
    run_dirs = []
    for method in args.methods:
        label, flags = low_levels[method]
        run_dir = args.out_dir / method
        command = [
            sys.executable,
            "-m",
            "navila_cli",
            "vln",
            *common,
            *flags,
            "--label",
            label,
            "--out",
            str(run_dir),
        ]
        print("[vln_results]", shlex.join(command), flush=True)
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            print(f"[vln_results] {method} failed; no report written", file=sys.stderr)
            return 1
        run_dirs.append(run_dir)
    view = "" if args.oracle_view == "full" else " that sees only what the camera sees (glass does not block its plans)"
    report = markdown_report(run_dirs, f"VLN: oracle VLA{view} over three low levels (procedural scenes with glass)")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vln_results.py"))

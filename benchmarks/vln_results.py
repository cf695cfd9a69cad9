"""Oracle VLA × {LiDAR policy, blind policy, perfect low level} × VLA interfaces on the glass episode set.

Runs ``navila vln`` once per (interface, low level), each in its own process, into ``<out-dir>/<interface>_<method>/``
(per-episode JSON, summary, videos of the first episodes), then writes a markdown report: NE, OS, SR, SPL, falls,
collisions, glass contacts, and the throughput of each run (episodes in parallel, camera size, episodes per hour).

On a GPU machine, with the shipped policies (all 100 episodes in parallel per run):

* the language interface over the low levels (the LiDAR policy also with the height-map governor) (``results/vln.md``)::

      .venv/bin/python benchmarks/vln_results.py --video 0

* the three interfaces (language actions, tokens A-D, waypoint sequences) × the three low levels
  (``results/vln_interfaces.md``; ``--skip-done`` lets the same command finish the nine runs over several calls)::

      .venv/bin/python benchmarks/vln_results.py --interfaces language tokens waypoints --video 0 --skip-done

* throughput at scale: 512 glass episodes, 256 in parallel, LiDAR policy, 512 × 512 camera
  (``results/vln_scale.md``)::

      .venv/bin/python benchmarks/vln_results.py --scale --video 0

With ``--oracle-view camera`` the oracle plans on the scene as the camera sees it (glass does not block), as a
camera-only VLA would, so its paths can run into glass: the setting of the reference's LiDAR-vs-blind comparison.

Episode sets: ``benchmarks/data/vln_glass_v2.json.gz`` (100 episodes in 20 procedural scenes with glass, every
reference path within 1 m of glass, every start ``START_CLEARANCE`` = 0.45 m clear of every box) was made with::

    navila vln-episodes --out benchmarks/data/vln_glass_v2.json.gz --scenes 20 --per-scene 5 --with-glass --near-glass 1

and ``vln_glass_512.json.gz`` (the scale set: 64 scenes × 8) with ``--scenes 64 --per-scene 8``. ``vln_glass_v1``
(before starts kept that clearance) is the set of the earlier runs in ``results/vln_v1.md``.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from navila_agents.vln.report import SUMMARY_FILE, load_summary, markdown_report
from navila_lab.errors import run_command
from navila_lab.provenance import stamp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
EPISODES = DATA / "vln_glass_v2.json.gz"
SCALE_EPISODES = DATA / "vln_glass_512.json.gz"
SCALE_ENVS = 256
INTERFACES = ("language", "tokens", "waypoints")
LOW_LEVELS = {
    "lidar": "LiDAR policy",
    "lidar_governed": "LiDAR policy + governor",
    "blind": "blind policy",
    "perfect": "perfect low level",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lidar", type=Path, default=ROOT / "policies" / "go2_rough_lidar", help="LiDAR policy dir")
    parser.add_argument("--blind", type=Path, default=ROOT / "policies" / "go2_rough_blind", help="blind policy dir")
    parser.add_argument("--methods", nargs="+", choices=tuple(LOW_LEVELS), default=list(LOW_LEVELS))
    parser.add_argument("--interfaces", nargs="+", choices=INTERFACES, default=["language"], help="VLA interfaces")
    parser.add_argument("--scale", action="store_true", help=f"{SCALE_EPISODES.name}, {SCALE_ENVS} envs, LiDAR only")
    parser.add_argument("--episodes", type=Path, default=None, help=f"episode file (default: {EPISODES.name})")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--num_envs", type=int, default=None, help="episodes in parallel (default: navila vln's)")
    parser.add_argument("--camera-size", type=int, default=512, help="camera width and height (pixels)")
    parser.add_argument("--video", type=int, default=3, help="mp4s of the first N episodes per run")
    parser.add_argument("--limit", type=int, default=None, help="first N episodes only (smoke test)")
    parser.add_argument("--max-steps", type=int, default=None, help="episode step limit (default: navila vln's)")
    parser.add_argument(
        "--oracle-view",
        choices=("full", "camera"),
        default="full",
        help="oracle plans around glass (full) or only around what the camera sees (camera), as an RGB VLA would",
    )
    parser.add_argument(
        "--skip-done", action="store_true", help="reuse runs whose summary.json exists (finish a table in chunks)"
    )
    parser.add_argument("--out-dir", type=Path, default=None, help="per-run output folders (default: by setting)")
    parser.add_argument("--report", type=Path, default=None, help="markdown report to write (default: by setting)")
    args = parser.parse_args(argv)
    if args.scale:
        args.methods = ["lidar"]
        args.episodes = args.episodes or SCALE_EPISODES
        args.num_envs = args.num_envs or SCALE_ENVS
    args.episodes = args.episodes or EPISODES
    name = "vln_scale" if args.scale else "vln" if args.interfaces == ["language"] else "vln_interfaces"
    name += "" if args.oracle_view == "full" else "_camera_oracle"
    args.out_dir = args.out_dir or ROOT / "results" / name
    args.report = args.report or ROOT / "results" / f"{name}.md"
    return args


def run_label(interface: str, method: str, interfaces: list[str]) -> tuple[str, str]:
    """Table label and output folder name of one run (the interface named only when several are compared)."""
    if len(interfaces) == 1 and interface == "language":
        return LOW_LEVELS[method], method
    return f"{interface}, {LOW_LEVELS[method]}", f"{interface}_{method}"


def main(argv: list[str]) -> int:
    """Run every chosen (interface, low level), then write the report."""
    args = parse_args(argv)
    low_levels = {
        "lidar": ["--policy", str(args.lidar)],
        "lidar_governed": ["--policy", str(args.lidar), "--governor"],
        "blind": ["--policy", str(args.blind)],
        "perfect": ["--perfect-low-level"],
    }
    common = ["--episodes", str(args.episodes), "--device", args.device, "--camera-size", str(args.camera_size)]
    common += ["--video", str(args.video), "--vla", "oracle", "--oracle-view", args.oracle_view]
    common += ["--num_envs", str(args.num_envs)] if args.num_envs is not None else []
    common += ["--limit", str(args.limit)] if args.limit is not None else []
    common += ["--max-steps", str(args.max_steps)] if args.max_steps is not None else []
    run_dirs = []
    for interface in args.interfaces:
        for method in args.methods:
            label, folder = run_label(interface, method, args.interfaces)
            run_dir = args.out_dir / folder
            run_dirs.append(run_dir)
            if args.skip_done and (run_dir / SUMMARY_FILE).is_file():
                print(f"[vln_results] {label}: reusing {run_dir}", flush=True)
                continue
            command = [sys.executable, "-m", "navila_cli", "vln", *common, *low_levels[method]]
            command += ["--interface", interface, "--label", label, "--out", str(run_dir)]
            print("[vln_results]", shlex.join(command), flush=True)
            if subprocess.run(command, cwd=ROOT).returncode != 0:
                print(f"[vln_results] {label} failed; no report written", file=sys.stderr)
                return 1
    view = "" if args.oracle_view == "full" else " that sees only what the camera sees (glass does not block its plans)"
    what = "interfaces × low levels" if len(args.interfaces) > 1 else "low levels"
    title = f"VLN: oracle VLA{view}, {what} (procedural scenes with glass)"
    run = stamp(load_summary(run_dirs[0])["config"]["device"])
    command = shlex.join(["benchmarks/vln_results.py", *argv])
    report = markdown_report(run_dirs, title, f"{run['device']}, {run['date']}, tree `{run['commit']}`: `{command}`")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vln_results.py"))

"""Sim2sim walk of exported policies: ``navila deploy`` against ``navila sim2sim`` over DDS loopback.

For each policy and repeat, runs :func:`navila_sim2real.sim2sim.walk.run_walk`: the simulated remote walks the FSM
PASSIVE → STAND → POLICY, holds the left stick at the commanded forward speed, the speed is measured from MuJoCo's
ground truth over a window of simulated time, then L2+B must put the FSM in DAMP with only damping commands after.
Prints each run, then a markdown table (with date, commit and machine) for results/sim2real.md.

Usage: python benchmarks/sim2sim_walk.py [--policies DIR ...] [--speed 0.5] [--warmup 3] [--duration 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

import numpy as np
from navila_sim2real.sim2sim.walk import MAX_SPEED_ERROR, WalkResult, run_walk
from navila_tasks.bench import device_name, git_commit

ROOT = Path(__file__).resolve().parents[1]
POLICIES = [ROOT / "policies" / "go2_rough_lidar", ROOT / "policies" / "go2_rough_blind"]
HEADER = (
    "| policy | runs | forward speed m/s (mean, min–max) | speed error | lateral m/s | yaw rate rad/s "
    "| e-stop → DAMP | damping after e-stop ms (max) | active after damping | passed |\n"
    "|---|---:|---|---:|---:|---:|---|---:|---|---:|"
)


def table_row(name: str, runs: list[WalkResult]) -> str:
    """One markdown row summarizing the runs of one policy."""
    speeds = np.array([run.velocity[0] for run in runs])
    latencies = [run.damping_latency for run in runs if run.damping_latency is not None]
    cells = [
        name,
        str(len(runs)),
        f"{speeds.mean():.3f} ({speeds.min():.3f}–{speeds.max():.3f})",
        f"{np.mean([run.speed_error for run in runs]):.1%}",
        f"{np.mean([run.velocity[1] for run in runs]):+.3f}",
        f"{np.mean([run.yaw_rate for run in runs]):+.3f}",
        f"{sum(run.damped for run in runs)}/{len(runs)}",
        f"{max(latencies) * 1e3:.1f}" if latencies else "never",
        "yes" if any(run.active_after_damping for run in runs) else "none",
        f"{sum(run.passed for run in runs)}/{len(runs)}",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    """Run the walks, print them and the summary table; exit 1 if any run failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=Path, nargs="+", default=POLICIES)
    parser.add_argument("--speed", type=float, default=0.5, help="commanded forward speed (m/s)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds walked before the window")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of the measurement window")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, list[WalkResult]] = {}
    for policy in args.policies:
        for repeat in range(args.repeats):
            print(f"--- {policy.name}, run {repeat + 1}/{args.repeats}", flush=True)
            result = run_walk(policy, (args.speed, 0.0, 0.0), args.warmup, args.duration)
            print(result.summary(), flush=True)
            results.setdefault(policy.name, []).append(result)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"\n{date}, commit {git_commit()}, {device_name('cpu')}, load (1 min) {os.getloadavg()[0]:.2f}; "
        f"command {args.speed} m/s forward, {args.warmup:g} s warm-up + {args.duration:g} s window; "
        f"pass: error < {MAX_SPEED_ERROR:.0%}, e-stop → DAMP, only damping after\n"
    )
    print(HEADER)
    for name, runs in results.items():
        print(table_row(name, runs))
    return 0 if all(run.passed for runs in results.values() for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

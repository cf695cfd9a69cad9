"""Sim2sim walk of exported policies: ``navila deploy`` against ``navila sim2sim`` over DDS loopback.

For each policy and repeat, runs :func:`navila_sim2real.sim2sim.walk.run_walk`: the simulated remote walks the FSM
PASSIVE → STAND → POLICY, holds the left stick at the commanded forward speed for 25 s (3 s warm-up + 22 s
measured by default: about 12 m at 0.5 m/s, past where the LiDAR once went blind), the speed is measured from
MuJoCo's ground truth over the window, then L2+B must put the FSM in DAMP with only damping commands after. A LiDAR
policy's height map must never empty: every sweep reaches the robot with points (``cloud_min_points``) and no
perception fault cuts the walk. Prints each run, then a markdown table (with date, commit and machine) for
results/sim2real.md.

``--lockstep`` adds the same policies on the same MuJoCo model without DDS, threads or clocks
(:mod:`navila_sim2real.sim2sim.lockstep`), as shipped and with Isaac Lab's actuator delay and contact solver: it
separates model and solver differences from the link's timing.

``--without-heading-hold`` adds, for each policy, the same walks with the deploy's heading hold off
(``navila deploy --heading-hold 0``): the policy's own heading drift, measured in the same run.

Usage: python benchmarks/sim2sim_walk.py [--policies DIR ...] [--speed 0.5] [--warmup 3] [--duration 22]
       [--repeats 1] [--domain 1] [--lockstep] [--without-heading-hold]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import mujoco
import numpy as np
import torch
from navila_lab.assets.go2 import ACTUATOR_DELAY, PHYSICS_DT
from navila_lab.errors import run_command
from navila_lab.provenance import stamp
from navila_sim2real.policy import load_policy_dir
from navila_sim2real.sim2sim.lockstep import lockstep_walk
from navila_sim2real.sim2sim.physics import MujocoGo2
from navila_sim2real.sim2sim.walk import MAX_SPEED_ERROR, WalkResult, run_walk

ROOT = Path(__file__).resolve().parents[1]
POLICIES = [ROOT / "policies" / "go2_rough_lidar", ROOT / "policies" / "go2_rough_blind"]
HEADER = (
    "| policy | runs | forward speed m/s (mean, min–max) | speed error | lateral m/s | yaw rate rad/s "
    "| heading change ° | distance from origin m | fewest points in a sweep | e-stop → DAMP "
    "| damping after e-stop ms (max) | active after damping | passed |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|"
)


def table_row(name: str, runs: list[WalkResult], window: float) -> str:
    """One markdown row summarizing the runs of one policy over a ``window`` of seconds."""
    speeds = np.array([run.velocity[0] for run in runs])
    latencies = [run.damping_latency for run in runs if run.damping_latency is not None]
    cells = [
        name,
        str(len(runs)),
        f"{speeds.mean():.3f} ({speeds.min():.3f}–{speeds.max():.3f})",
        f"{np.mean([run.speed_error for run in runs]):.1%}",
        f"{np.mean([run.velocity[1] for run in runs]):+.3f}",
        f"{np.mean([run.yaw_rate for run in runs]):+.3f}",
        f"{np.degrees(np.mean([run.yaw_rate for run in runs]) * window):+.1f}",
        f"{min(run.distance_from_origin for run in runs):.1f}",
        str(min(run.link.get("cloud_min_points", 0) for run in runs)),
        f"{sum(run.damped for run in runs)}/{len(runs)}",
        f"{max(latencies) * 1e3:.1f}" if latencies else "never",
        "yes" if any(run.active_after_damping for run in runs) else "none",
        f"{sum(run.passed for run in runs)}/{len(runs)}",
    ]
    return "| " + " | ".join(cells) + " |"


LOCKSTEP_VARIANTS = {
    "MJCF as shipped (2 ms, elliptic cone, impratio 100), no delay": (0.0, False),
    "+ Isaac Lab's 20 ms actuator delay": (ACTUATOR_DELAY, False),
    "+ Isaac Lab's solver (5 ms step = PD at 200 Hz, pyramidal cone, impratio 1)": (ACTUATOR_DELAY, True),
}
"""Lock-step variant → (command delay in s, whether to use Isaac Lab's step and contact solver)."""


def lockstep_speed(policy_dir: Path, speed: float, delay: float, isaac_solver: bool) -> float:
    """Mean forward speed (m/s) over the second half of an 8 s lock-step walk from the standing pose."""
    physics = MujocoGo2()
    if isaac_solver:
        physics.model.opt.timestep = PHYSICS_DT
        physics.model.opt.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
        physics.model.opt.impratio = 1.0
    bundle = load_policy_dir(policy_dir)
    return lockstep_walk(bundle, (speed, 0.0, 0.0), 4.0, 4.0, physics, delay).forward_speed


def map_never_emptied(run: WalkResult, policy: Path) -> bool:
    """Whether a LiDAR policy's robot got points in every sweep and no perception fault ended its walk."""
    if load_policy_dir(policy).spec.height_map is None:
        return True
    return run.link.get("cloud_min_points", 0) > 0 and run.walk_fault is None


def main(argv: list[str]) -> int:
    """Run the walks, print them and the summary table; exit 1 if any run failed or a height map emptied."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=Path, nargs="+", default=POLICIES)
    parser.add_argument("--speed", type=float, default=0.5, help="commanded forward speed (m/s)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds walked before the window")
    parser.add_argument("--duration", type=float, default=22.0, help="seconds of the measurement window")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--domain", type=int, default=1, help="DDS domain (one no other simulator on lo uses)")
    parser.add_argument("--lockstep", action="store_true", help="also walk in lock step without DDS (model check)")
    parser.add_argument(
        "--without-heading-hold", action="store_true", help="also walk each policy with the deploy's heading hold off"
    )
    args = parser.parse_args(argv)
    provenance = stamp("cpu")
    results: dict[str, list[WalkResult]] = {}
    emptied = []
    variants = {"": ()} | ({", no heading hold": ("--heading-hold", "0")} if args.without_heading_hold else {})
    for policy in args.policies:
        for label, options in variants.items():
            name = policy.name + label
            for repeat in range(args.repeats):
                print(f"--- {name}, run {repeat + 1}/{args.repeats}", flush=True)
                command = (args.speed, 0.0, 0.0)
                result = run_walk(
                    policy, command, args.warmup, args.duration, domain=args.domain, deploy_options=options
                )
                print(result.summary(), flush=True)
                results.setdefault(name, []).append(result)
                if not map_never_emptied(result, policy):
                    emptied.append(f"{name} run {repeat + 1}")
    print(
        f"\n{provenance['date']}, commit {provenance['commit']}, {provenance['device']}, load (1 min) "
        f"{os.getloadavg()[0]:.2f}; command {args.speed} m/s forward, {args.warmup:g} s warm-up + {args.duration:g} s "
        f"window; pass: error < {MAX_SPEED_ERROR:.0%}, e-stop → DAMP, only damping after; height map emptied in: "
        f"{', '.join(emptied) or 'no run'}\n"
    )
    print(HEADER)
    for name, runs in results.items():
        print(table_row(name, runs, args.duration))
    if args.lockstep:
        torch.set_num_threads(1)  # the height map's small ops run 4x faster on one thread
        names = [policy.name for policy in args.policies]
        print("\n| lock step, no DDS (8 s from standing, second half) | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        for variant, (delay, isaac_solver) in LOCKSTEP_VARIANTS.items():
            speeds = [lockstep_speed(policy, args.speed, delay, isaac_solver) for policy in args.policies]
            print(f"| {variant} | " + " | ".join(f"{speed:.3f}" for speed in speeds) + " |", flush=True)
    passed = all(run.passed for runs in results.values() for run in runs)
    return 0 if passed and not emptied else 1


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/sim2sim_walk.py"))

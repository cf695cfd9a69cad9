"""Robustness of exported policies to robot-model error, in lock-step sim2sim (MuJoCo + ONNX Runtime, no DDS).

For each policy, the nominal model (the sim2sim MJCF as shipped, 2 ms PD steps, the contract's 20 ms actuator delay)
and ``--draws`` robot models drawn from :class:`~navila_sim2real.sim2sim.lockstep.ModelErrorRanges` (mass and inertia
±15% per body, joint friction loss 0-1.5 N·m, armature ±30%, motor strength ±10%, foot friction 0.4-1.2, 0-30 ms
extra command delay) walk from standing at ``--speed`` m/s with a zero yaw command: ``--warmup`` s, then a measured
window. Draw ``i`` uses ``numpy.random.default_rng([seed, i])``, the same models for every policy. The robot side's
observation builder, ONNX policy and cloud height map run in lock step with the physics, faster than real time.

Reports per policy the speed error, the heading drift and the falls (tilt beyond 0.8 rad or base below 0.15 m), with
their spread; appends a section to results/sim2sim_robustness.md and writes every draw to
results/sim2sim_robustness.json.

Usage: python benchmarks/sim2sim_robustness.py [--draws 50] [--seed 0] [--speed 0.5] [--warmup 2] [--window 8]
       [--policies DIR ...] [--no-write]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import mujoco
import numpy as np
import torch
from navila_lab.errors import run_command
from navila_lab.provenance import append_markdown, stamp
from navila_sim2real.policy import load_policy_dir
from navila_sim2real.sim2sim.lockstep import (
    LockstepWalk,
    ModelError,
    ModelErrorRanges,
    apply_model_error,
    draw_model_error,
    lockstep_walk,
    robot_bodies,
)
from navila_sim2real.sim2sim.physics import MujocoGo2

ROOT = Path(__file__).resolve().parents[1]
POLICIES = [ROOT / "policies" / "go2_rough_lidar", ROOT / "policies" / "go2_rough_blind"]
RESULTS = ROOT / "results" / "sim2sim_robustness.md"
HEADER = "# Robustness to robot-model error (benchmarks/sim2sim_robustness.py)\n"
MAX_SPEED_ERROR = 0.2
"""Relative speed error counted as tracking the command (the sim2sim walk's pass mark)."""


def walk(policy: Path, error: ModelError | None, args: argparse.Namespace) -> LockstepWalk:
    """One lock-step walk of ``policy`` on the nominal model (``error`` None) or with ``error`` applied."""
    physics = MujocoGo2()
    if error is not None:
        apply_model_error(physics, error)
    bundle = load_policy_dir(policy)
    delay = bundle.spec.actuator.delay + (error.extra_delay if error is not None else 0.0)
    return lockstep_walk(bundle, (args.speed, 0.0, 0.0), args.warmup, args.window, physics, delay)


def spread(values: np.ndarray, unit: str, digits: int = 3) -> str:
    """'mean ± std (p5 / p50 / p95, max)' of ``values``."""
    if len(values) == 0:
        return "n/a"
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    numbers = f"{values.mean():.{digits}f} ± {values.std():.{digits}f} ({p5:.{digits}f} / {p50:.{digits}f} / "
    return numbers + f"{p95:.{digits}f}, max {values.max():.{digits}f}) {unit}"


def summary(name: str, nominal: LockstepWalk, draws: list[LockstepWalk], speed: float) -> list[str]:
    """Markdown lines of one policy: the nominal walk and the distribution over the draws."""
    standing = [d for d in draws if d.fell_at is None]
    errors = np.array([abs(d.forward_speed - speed) / speed for d in standing])
    drift = np.degrees([d.heading_drift for d in standing])
    faults = sum(d.perception_faults for d in draws)
    nominal_error = abs(nominal.forward_speed - speed) / speed
    return [
        f"| {name} | nominal | {nominal.forward_speed:.3f} m/s ({nominal_error:.1%}) "
        f"| {np.degrees(nominal.heading_drift):+.1f}° | {'fell' if nominal.fell_at else 'no'} "
        f"| {nominal.perception_faults} |",
        f"| {name} | {len(draws)} draws | {spread(errors * 100, '%', 1)}; within {MAX_SPEED_ERROR:.0%}: "
        f"{np.sum(errors < MAX_SPEED_ERROR)}/{len(standing)} | {spread(drift, '°', 1)}; abs. p95 "
        f"{np.percentile(np.abs(drift), 95) if len(drift) else float('nan'):.1f}° "
        f"| {len(draws) - len(standing)}/{len(draws)} | {faults} |",
    ]


def main(argv: list[str]) -> int:
    """Walk the nominal model and the drawn ones for each policy; print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=Path, nargs="+", default=POLICIES)
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed", type=float, default=0.5, help="commanded forward speed (m/s), zero yaw rate")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds walked before the window")
    parser.add_argument("--window", type=float, default=8.0, help="seconds measured")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the height map's small ops run 4x faster on one thread than on idle-spinning workers
    ranges, num_bodies = ModelErrorRanges(), len(robot_bodies(MujocoGo2()))
    errors = [draw_model_error(ranges, np.random.default_rng([args.seed, i]), num_bodies) for i in range(args.draws)]
    started, provenance = time.monotonic(), stamp("cpu")
    runs: dict[str, dict] = {}
    for policy in args.policies:
        nominal = walk(policy, None, args)
        draws = []
        for i, error in enumerate(errors):
            draws.append(walk(policy, error, args))
            print(f"{policy.name} draw {i}: {draws[-1]}", flush=True)
        runs[policy.name] = {"nominal": nominal, "draws": draws}
    simulated = len(args.policies) * (args.draws + 1) * (args.warmup + args.window)
    elapsed = time.monotonic() - started
    lines = [
        f"\n## {provenance['date']}, commit `{provenance['commit']}`, {provenance['device']}\n",
        f"Command: `python benchmarks/sim2sim_robustness.py --draws {args.draws} --seed {args.seed} --speed "
        f"{args.speed:g} --warmup {args.warmup:g} --window {args.window:g}`. Lock step, no DDS: MuJoCo "
        f"{mujoco.__version__} (CPU) stepped with the robot side's observation builder, ONNX policy and cloud height "
        f"map, faster than real time ({simulated:.0f} s simulated in {elapsed:.0f} s wall). Command "
        f"{args.speed:g} m/s forward, zero yaw rate, from standing; {args.warmup:g} s warm-up, {args.window:g} s "
        f"measured. Draw i: `default_rng([{args.seed}, i])`, the same {args.draws} models for every policy. Ranges: "
        f"{json.dumps(dataclasses.asdict(ranges))}. Speed error over the draws that did not fall; spread as "
        "mean ± std (p5 / p50 / p95, max).\n",
        "| policy | model | speed error | heading drift over the window | falls | LiDAR sweeps refused |",
        "|---|---|---|---|---:|---:|",
    ]
    for name, run in runs.items():
        lines += summary(name, run["nominal"], run["draws"], args.speed)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        append_markdown(RESULTS, HEADER, text)
        draws = {name: [dataclasses.asdict(d) for d in run["draws"]] for name, run in runs.items()}
        record = {
            **provenance,
            "args": vars(args),
            "ranges": dataclasses.asdict(ranges),
            "models": [{key: np.asarray(v).tolist() for key, v in dataclasses.asdict(e).items()} for e in errors],
            "runs": {
                name: {"nominal": dataclasses.asdict(runs[name]["nominal"]), "draws": draws[name]} for name in runs
            },
        }
        RESULTS.with_suffix(".json").write_text(json.dumps(record, indent=1, default=str) + "\n")
        print(f"appended to {RESULTS}; every draw in {RESULTS.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/sim2sim_robustness.py"))

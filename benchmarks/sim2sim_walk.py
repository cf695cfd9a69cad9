"""Sim2sim walk of exported policies: ``navila deploy`` against ``navila sim2sim`` over DDS loopback.

For each policy and repeat, runs :func:`navila_sim2real.sim2sim.walk.run_walk`: the simulated remote walks the FSM
PASSIVE → STAND → POLICY, holds the left stick at the commanded forward speed, the speed is measured from MuJoCo's
ground truth over a window of simulated time, then L2+B must put the FSM in DAMP with only damping commands after.
Prints each run, then a markdown table (with date, commit and machine) for results/sim2real.md.

``--lockstep`` adds the same policies on the same MuJoCo model without DDS, threads or clocks (observation builder,
ONNX policy and height map of the robot side, stepped in lock step), as shipped and with Isaac Lab's actuator delay
and contact solver: it separates model and solver differences from the link's timing.

Usage: python benchmarks/sim2sim_walk.py [--policies DIR ...] [--speed 0.5] [--warmup 3] [--duration 5] [--repeats 3]
       [--domain 1] [--lockstep]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import sys
from collections import deque
from pathlib import Path

import mujoco
import numpy as np
from navila_lab.assets.go2 import ACTUATOR_DELAY, PHYSICS_DT
from navila_lab.errors import run_command
from navila_lab.provenance import device_name, git_commit
from navila_sim2real.cloud_height_map import LIDAR_FRAME_ID, CloudHeightMap
from navila_sim2real.observation import ObservationBuilder
from navila_sim2real.policy import load_policy_dir
from navila_sim2real.sim2sim.physics import SERVO_MODE, MotorTargets, MujocoGo2
from navila_sim2real.sim2sim.walk import MAX_SPEED_ERROR, WalkResult, run_walk
from navila_sim2real.state import LowState

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


LOCKSTEP_VARIANTS = {
    "MJCF as shipped (2 ms, elliptic cone, impratio 100), no delay": (0.0, False),
    "+ Isaac Lab's 20 ms actuator delay": (ACTUATOR_DELAY, False),
    "+ Isaac Lab's solver (5 ms step = PD at 200 Hz, pyramidal cone, impratio 1)": (ACTUATOR_DELAY, True),
}
"""Lock-step variant → (command delay in s, whether to use Isaac Lab's step and contact solver)."""


def lockstep_speed(policy_dir: Path, speed: float, seconds: float, delay: float, isaac_solver: bool) -> float:
    """Mean forward speed (m/s) over the second half of ``seconds`` of a lock-step walk from the standing pose."""
    bundle = load_policy_dir(policy_dir)
    spec, physics = bundle.spec, MujocoGo2()
    if isaac_solver:
        physics.model.opt.timestep = PHYSICS_DT
        physics.model.opt.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
        physics.model.opt.impratio = 1.0
    mujoco.mj_resetDataKeyframe(physics.model, physics.data, 0)
    mujoco.mj_forward(physics.model, physics.data)  # sensors of the standing pose
    builder = ObservationBuilder(spec)
    height_map = CloudHeightMap(spec.height_map, spec.lidar_pos, spec.lidar_quat_wxyz) if spec.height_map else None
    kp, kd, servo = builder.to_sdk_order(spec.stiffness), builder.to_sdk_order(spec.damping), np.full(12, SERVO_MODE)
    zeros = np.zeros(12)
    pending = deque([(0, MotorTargets(servo, builder.to_sdk_order(spec.default_joint_pos), zeros, kp, kd, zeros))])
    decimation, lidar_every = round(spec.step_dt / physics.dt), round(physics.lidar.update_period / physics.dt)
    steps, delay_steps = round(seconds / physics.dt), round(delay / physics.dt)
    odometry = []
    for step in range(steps):
        if height_map is not None and step % lidar_every == 0:
            height_map.update(physics.lidar_points(physics.data.qpos.copy()), LIDAR_FRAME_ID, physics.time)
        if step % decimation == 0:
            quat, gyro, _, rpy = physics.imu()
            low = LowState.at_rest(physics.time, physics.joint_pos())
            low = dataclasses.replace(low, quat=quat, gyro=gyro, rpy=rpy, dq=physics.joint_vel())
            obs = builder.build(low, np.array([speed, 0.0, 0.0]), height_map.latest()[0] if height_map else None)
            q = builder.targets(bundle.policy(obs))
            pending.append((step + delay_steps, MotorTargets(servo, q, zeros, kp, kd, zeros)))
        while len(pending) > 1 and pending[1][0] <= step:
            pending.popleft()
        physics.step(pending[0][1])
        odometry.append(physics.odometry[0])
    half = steps // 2
    return (odometry[-1] - odometry[half]) / ((steps - 1 - half) * physics.dt)


def main(argv: list[str]) -> int:
    """Run the walks, print them and the summary table; exit 1 if any run failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=Path, nargs="+", default=POLICIES)
    parser.add_argument("--speed", type=float, default=0.5, help="commanded forward speed (m/s)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds walked before the window")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of the measurement window")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--domain", type=int, default=1, help="DDS domain (one no other simulator on lo uses)")
    parser.add_argument("--lockstep", action="store_true", help="also walk in lock step without DDS (model check)")
    args = parser.parse_args(argv)
    results: dict[str, list[WalkResult]] = {}
    for policy in args.policies:
        for repeat in range(args.repeats):
            print(f"--- {policy.name}, run {repeat + 1}/{args.repeats}", flush=True)
            result = run_walk(policy, (args.speed, 0.0, 0.0), args.warmup, args.duration, domain=args.domain)
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
    if args.lockstep:
        print("\n| lock step, no DDS (8 s from standing, second half) | " + " | ".join(results) + " |")
        print("|---|" + "---:|" * len(results))
        for variant, (delay, isaac_solver) in LOCKSTEP_VARIANTS.items():
            speeds = [lockstep_speed(policy, args.speed, 8.0, delay, isaac_solver) for policy in args.policies]
            print(f"| {variant} | " + " | ".join(f"{speed:.3f}" for speed in speeds) + " |", flush=True)
    return 0 if all(run.passed for runs in results.values() for run in runs) else 1


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/sim2sim_walk.py"))

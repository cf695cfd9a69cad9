"""``navila sim2sim``: the MuJoCo Go2 on the robot's DDS topics, alone or driven by a policy in one command.

* ``navila sim2sim`` runs the simulator (domain 1 on ``lo`` by default) until Ctrl-C; JSON control lines on stdin
  (see :mod:`navila_sim2real.sim2sim.node`) press remote keys and inject faults. Drive it with
  ``navila deploy --iface lo --domain 1 --sim --policy DIR``.
* ``navila sim2sim --policy DIR --command 0.5 0 0`` starts the simulator in a child process, deploys the policy
  against it with a constant velocity command, presses Start then A, and reports the base velocity reached.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from navila_lab.cli import UserError

from navila_sim2real.errors import RobotError
from navila_sim2real.safety import Fault
from navila_sim2real.sim2sim.client import SimProcess

STAND_WAIT = 0.5
"""Seconds given after the stand ramp before A is pressed."""


def parser() -> argparse.ArgumentParser:
    """Build the parser of ``navila sim2sim``."""
    p = argparse.ArgumentParser(prog="navila sim2sim", description=__doc__.split("\n\n")[0])
    p.add_argument("--iface", default="lo", help="network interface for DDS (default: lo)")
    p.add_argument("--domain", type=int, default=1, help="DDS domain (default: 1)")
    p.add_argument("--standing", action="store_true", help="start standing in the default pose, not lying")
    p.add_argument("--policy", default=None, help="deploy this exported policy against the simulator")
    p.add_argument("--command", type=float, nargs=3, default=(0.5, 0.0, 0.0), metavar=("VX", "VY", "WZ"))
    p.add_argument("--duration", type=float, default=20.0, help="seconds of policy control (with --policy)")
    return p


def main(argv: list[str]) -> int:
    """Entry point of ``navila sim2sim``."""
    args = parser().parse_args(argv)
    try:
        return run_policy(args) if args.policy else run_simulator(args)
    except RobotError as error:
        raise UserError(str(error)) from None


def run_simulator(args: argparse.Namespace) -> int:
    """Run the simulator in this process with JSON control on stdin."""
    from navila_sim2real.sim2sim.node import main as node_main

    return node_main(["--iface", args.iface, "--domain", str(args.domain)] + (["--standing"] if args.standing else []))


def run_policy(args: argparse.Namespace) -> int:
    """Run the simulator in a child process and the deploy here; return 1 if the robot ended damped."""
    from navila_sim2real.app import deploy
    from navila_sim2real.commands import ConstantVelocity
    from navila_sim2real.fsm import StandCfg
    from navila_sim2real.policy import PolicyError, load_policy_dir
    from navila_sim2real.robot import RobotConfig

    try:
        bundle = load_policy_dir(args.policy)
    except PolicyError as error:
        raise UserError(str(error)) from None
    commands = ConstantVelocity(tuple(args.command), bundle.spec.command_ranges)
    config = RobotConfig(iface=args.iface, domain=args.domain, release_sport_mode=False, tag_commands=True)
    stand = StandCfg()
    with (
        SimProcess(args.iface, args.domain, standing=args.standing) as sim,
        deploy(args.policy, config, commands, stand=stand) as deployment,
    ):
        press(sim, "START")
        time.sleep(stand.duration + STAND_WAIT)
        press(sim, "A")
        time.sleep(0.1)
        print(f"entered {deployment.runner.state}", flush=True)
        sim.call("reset_stats")
        samples = []
        start = time.monotonic()
        while time.monotonic() - start < args.duration and deployment.runner.state == "POLICY":
            time.sleep(0.5)
            samples.append(sim.call("stats")["base_velocity"])
        stats = sim.call("stats")
        state, fault = deployment.runner.state, deployment.robot.safety.fault
    report(commands.command, samples, stats, state, fault)
    return 0 if state == "POLICY" else 1


def press(sim: SimProcess, key: str) -> None:
    """Press and release a remote key in the simulator."""
    sim.call("remote", keys=[key])
    time.sleep(0.1)
    sim.call("remote", keys=[])


def report(command: np.ndarray, samples: list, stats: dict, state: str, fault: Fault | None) -> None:
    """Print the run's outcome: state, fault, commanded and reached velocity, link statistics."""
    reached = np.mean(samples[len(samples) // 2 :], axis=0) if samples else np.zeros(3)
    print(f"final state {state}" + (f" (fault: {fault.value})" if fault else ""))
    print(f"commanded (vx, vy, wz) = {np.round(command, 3).tolist()}, base velocity (second half) = {reached.round(3)}")
    keys = ("lowcmd_rate", "lowstate_rate", "cloud_rate", "crc_errors", "rtt_p50_ms", "rtt_p99_ms")
    print(json.dumps({key: round(stats[key], 3) for key in keys}))

"""``navila deploy``: run an exported policy on the Go2 (or on ``navila sim2sim``) through unitree_sdk2py."""

from __future__ import annotations

import argparse
import logging
import time
from typing import TYPE_CHECKING

import numpy as np
from navila_lab.errors import UserError

from navila_sim2real.command_sources import CommandSource, Governed, HeadingHold, RemoteSticks, height_map_governor
from navila_sim2real.deps import check_interface
from navila_sim2real.errors import RobotError
from navila_sim2real.policy import PolicyBundle, PolicyError, load_policy_dir
from navila_sim2real.remote import __doc__ as REMOTE_HELP

if TYPE_CHECKING:
    from navila_sim2real.app import Deployment

STATUS_PERIOD = 5.0
"""Seconds between two status lines."""


def parser() -> argparse.ArgumentParser:
    """Build the parser of ``navila deploy``."""
    p = argparse.ArgumentParser(
        prog="navila deploy",
        description="Deploy an exported policy (policy.onnx + deploy.yaml) on the Go2 over DDS.",
        epilog=REMOTE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--iface", required=True, help="network interface facing the robot (lo for sim2sim)")
    p.add_argument("--policy", required=True, help="directory written by 'navila export'")
    p.add_argument("--domain", type=int, default=0, help="DDS domain (0 on the robot; 1 with 'navila sim2sim')")
    p.add_argument("--dry-run", action="store_true", help="build everything, print the first commands, publish nothing")
    p.add_argument("--sim", action="store_true", help="the robot is 'navila sim2sim': keep sport mode, tag commands")
    p.add_argument("--duration", type=float, default=None, help="stop (damped) after this many seconds")
    p.add_argument(
        "--vla-server",
        default=None,
        help="commands from a VLA: the URL of a 'navila vla-serve', or a local VLA model folder run on this CPU",
    )
    p.add_argument("--instruction", default=None, help="navigation instruction for the VLA")
    p.add_argument(
        "--heading-hold",
        type=float,
        default=1.0,
        metavar="GAIN",
        help="while commanded to walk without turning, steer back to the heading the walk began with at GAIN rad/s "
        "per rad (IMU yaw rate integrated; at most 0.3 rad/s); 0 turns it off (default: 1.0)",
    )
    p.add_argument(
        "--governor",
        action="store_true",
        help="cap every command at the speed that stops the robot before what the newest LiDAR sweep shows ahead "
        "(LiDAR policies; docs/deploy_contract.md)",
    )
    return p


def command_source(args: argparse.Namespace, bundle: PolicyBundle) -> CommandSource:
    """The source of :func:`base_command_source` in a heading hold (unless ``--heading-hold 0``), governed if asked."""
    if args.heading_hold < 0:
        raise UserError(f"--heading-hold must be 0 (off) or positive, got {args.heading_hold}")
    if args.governor and bundle.spec.height_map is None:
        raise UserError(f"--governor reads the LiDAR height map; the policy of {args.policy} has none")
    source = base_command_source(args, bundle)
    source = HeadingHold(source, args.heading_hold) if args.heading_hold > 0 else source
    return Governed(source, height_map_governor(bundle.spec)) if args.governor else source


def base_command_source(args: argparse.Namespace, bundle: PolicyBundle) -> CommandSource:
    """The remote's sticks, or the VLA when ``--vla-server`` is given."""
    if args.vla_server is None:
        return RemoteSticks(bundle.spec.command_ranges)
    if not args.instruction:
        raise UserError('--vla-server needs --instruction "..."')
    if args.sim:
        raise UserError("--vla-server needs the robot's front camera, which 'navila sim2sim' does not simulate yet")
    from navila_sim2real.robot import start_dds
    from navila_sim2real.vla import Go2FrontCamera, vla_command_source

    source = vla_command_source(args.vla_server, args.instruction, Go2FrontCamera(), bundle.spec.step_dt)
    if not args.dry_run:  # the dry run shows the commands before the first answer: zero velocity
        start_dds(args.iface, args.domain)
        source.start()
    return source


def main(argv: list[str]) -> int:
    """Entry point of ``navila deploy``."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        check_interface(args.iface)
        bundle = load_policy_dir(args.policy)
    except (RobotError, PolicyError) as error:
        raise UserError(str(error)) from None
    spec = bundle.spec
    print(f"policy {bundle.directory}: {spec.task}, obs {spec.obs_dim} → 12 at {1 / spec.step_dt:.0f} Hz")
    commands = command_source(args, bundle)
    if args.dry_run:
        from navila_sim2real.dry_run import first_policy_commands, format_commands

        print("dry run: nothing is published; first commands after the safety layer (SDK motor order):")
        print(format_commands(first_policy_commands(bundle, commands)))
        commands.close()
        return 0
    return run(args, commands)


def run(args: argparse.Namespace, commands: CommandSource) -> int:
    """Connect, run until Ctrl-C or ``--duration``, print state changes and faults; leave the robot damped."""
    from navila_sim2real.app import deploy
    from navila_sim2real.robot import RobotConfig

    config = RobotConfig(iface=args.iface, domain=args.domain, release_sport_mode=not args.sim, tag_commands=args.sim)
    try:
        deployment = deploy(args.policy, config, commands)
    except RobotError as error:
        raise UserError(str(error)) from None
    start, last_status, state, fault = time.monotonic(), time.monotonic(), None, None
    with deployment:
        print("connected: PASSIVE. Start = stand, A = policy, L2+B = damp, Select = re-arm after DAMP, Ctrl-C = quit")
        while args.duration is None or time.monotonic() - start < args.duration:
            if deployment.status != (state, fault):
                state, fault = deployment.status
                print(f"state {state}" + (f" (fault: {fault.value})" if fault else ""), flush=True)
            if time.monotonic() - last_status > STATUS_PERIOD:
                last_status = time.monotonic()
                print(status_line(deployment), flush=True)
            time.sleep(0.05)
    print("stopped: robot left in damping")
    return 0


def status_line(deployment: Deployment) -> str:
    """Summarize the writer rate and jitter and the policy latency."""
    periods = np.array(deployment.robot.writer_periods or [0.0]) * 1e3
    latency = np.array(deployment.controller.policy_latencies or [0.0]) * 1e3
    return (
        f"lowcmd {1e3 / max(periods.mean(), 1e-9):.0f} Hz (period p99 {np.percentile(periods, 99):.2f} ms), "
        f"policy step p99 {np.percentile(latency, 99):.2f} ms"
    )

"""``navila sim2sim``: the MuJoCo Go2 on the robot's DDS topics, alone or driven by a policy in one command.

* ``navila sim2sim`` runs the simulator (domain 1 on ``lo`` by default) until Ctrl-C; JSON control lines on stdin
  (see :mod:`navila_sim2real.sim2sim.node`) press remote keys and inject faults. Drive it with
  ``navila deploy --iface lo --domain 1 --sim --policy DIR``.
* ``navila sim2sim --policy DIR --command 0.5 0 0`` runs the sim2sim walk of :mod:`navila_sim2real.sim2sim.walk`:
  the simulator and ``navila deploy`` as child processes, the remote presses Start, A, holds the sticks at the
  command, the speed is measured from MuJoCo's ground truth, then L2+B must damp the robot. Exit code 0 if it
  walked within 20% of the commanded speed and stopped on the e-stop.
"""

from __future__ import annotations

import argparse

from navila_lab.errors import UserError

from navila_sim2real.errors import RobotError


def parser() -> argparse.ArgumentParser:
    """Build the parser of ``navila sim2sim``."""
    p = argparse.ArgumentParser(prog="navila sim2sim", description=__doc__.split("\n\n")[0])
    p.add_argument("--iface", default="lo", help="network interface for DDS (default: lo)")
    p.add_argument("--domain", type=int, default=1, help="DDS domain (default: 1)")
    p.add_argument("--standing", action="store_true", help="start standing in the default pose, not lying")
    p.add_argument("--policy", default=None, help="deploy this exported policy against the simulator")
    p.add_argument("--command", type=float, nargs=3, default=(0.5, 0.0, 0.0), metavar=("VX", "VY", "WZ"))
    p.add_argument("--warmup", type=float, default=3.0, help="seconds walked before the measurement (with --policy)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds walked and measured (with --policy)")
    p.add_argument("--verbose", action="store_true", help="echo the deploy's output (with --policy)")
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
    """Run the sim2sim walk (simulator + ``navila deploy`` children); return 0 if it passed, else 1."""
    from navila_sim2real.policy import PolicyError, load_policy_dir
    from navila_sim2real.sim2sim.walk import run_walk

    try:
        load_policy_dir(args.policy)
    except PolicyError as error:
        raise UserError(str(error)) from None
    echo = (lambda line: print(f"  deploy | {line}", flush=True)) if args.verbose else None
    result = run_walk(args.policy, tuple(args.command), args.warmup, args.duration, args.iface, args.domain, echo)
    print(result.summary())
    print(result.to_json())
    return 0 if result.passed else 1

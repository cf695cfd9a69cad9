"""``navila evaluate``: locomotion metrics of a policy (or two, side by side) per terrain type and commanded speed.

The task defaults to the exported policy's (deploy.yaml), else NaVILA-Go2-Rough-Lidar; the seed defaults to 0, the
number of envs to 2 per (terrain column, speed) on CPU and 16 on CUDA, with 1 (CPU) or 4 (CUDA) columns of distinct
layouts per terrain type (``--layouts``). With ``--seeds A B C`` every seed is a run of
its own and the table and results file give the mean over seeds and its spread (sample standard deviation).
``--governor`` puts the robot-side height-map governor in front of a LiDAR policy (``navila_lab.barrier``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from navila_lab.mdp.locomotion_metrics import SPEED_BINS

from navila_agents.locomotion import runtime
from navila_agents.locomotion.eval_report import ALL, TERRAIN_GROUPS, results_table

if TYPE_CHECKING:
    from navila_agents.locomotion.evaluation import EvalSet


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options of ``navila evaluate``."""
    parser = argparse.ArgumentParser(prog="navila evaluate", description=__doc__)
    policy = parser.add_mutually_exclusive_group(required=True)
    policy.add_argument("--policy", help="exported policy dir (policy.pt + deploy.yaml), model_*.pt or run dir")
    policy.add_argument("--compare", nargs=2, metavar=("A", "B"), help="two policies on the same evaluation set")
    runtime.add_common_args(parser, task_default=None)
    parser.set_defaults(seed=0)
    terrains = ", ".join([*TERRAIN_GROUPS, ALL])
    parser.add_argument("--terrain", default=ALL, help=f"comma-separated terrain types: {terrains} (default: all)")
    parser.add_argument("--speeds", default=",".join(map(str, SPEED_BINS)), help="commanded forward speeds (m/s)")
    parser.add_argument("--yaw_rate", type=float, default=0.0, help="commanded yaw rate (rad/s) of every env")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, default=None, help="policy steps to run (50 per simulated second)")
    length.add_argument("--episodes", type=int, default=1, help="episodes per env (default: 1)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="one run per seed, reported as mean and spread (over --seed)"
    )
    parser.add_argument(
        "--layouts",
        type=int,
        default=None,
        help="terrain columns (distinct layouts) per terrain type (default: CPU 1, CUDA 4)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="runs (policy × seed) at once, each in a fresh process (default: CPU 1, CUDA 6)",
    )
    parser.add_argument(
        "--governor",
        action="store_true",
        help="cap every command with the robot-side height-map governor (LiDAR policies; see docs/deploy_contract.md)",
    )
    parser.add_argument("--out", default="eval.json", help="results file (default: eval.json)")
    return parser.parse_args(argv)


def eval_set_of(args: argparse.Namespace) -> EvalSet:
    """The evaluation set of the command line, with its mistakes reported as one line."""
    from navila_agents.locomotion.evaluation import EvalSet

    terrains = [name.strip() for name in args.terrain.split(",") if name.strip()]
    unknown = [name for name in terrains if name not in (*TERRAIN_GROUPS, ALL)]
    if unknown or not terrains:
        raise runtime.UserError(
            f"unknown terrain '{unknown[0] if unknown else args.terrain}' "
            f"(choose from: {', '.join([*TERRAIN_GROUPS, ALL])})"
        )
    try:
        speeds = tuple(float(speed) for speed in args.speeds.split(","))
    except ValueError:
        raise runtime.UserError(f"--speeds must be comma-separated numbers, got '{args.speeds}'") from None
    for name, value in (
        ("--steps", args.steps),
        ("--episodes", args.episodes),
        ("--num_envs", args.num_envs),
        ("--layouts", args.layouts),
        ("--jobs", args.jobs),
    ):
        if value is not None and value < 1:
            raise runtime.UserError(f"{name} must be positive, got {value}")
    seeds = tuple(args.seeds) if args.seeds else (args.seed,)
    if len(set(seeds)) != len(seeds):
        raise runtime.UserError(f"--seeds lists a seed twice: {' '.join(map(str, seeds))}")
    return EvalSet(
        terrains=terrains,
        speeds=speeds,
        yaw_rate=args.yaw_rate,
        num_envs=args.num_envs,
        layouts=args.layouts,
        steps=args.steps,
        episodes=args.episodes,
        seeds=seeds,
        device=args.device,
        overrides=tuple(args.overrides),
        governor=args.governor,
    )


def main(argv: list[str]) -> int:
    """Evaluate one policy (``--policy``) or two (``--compare A B``), print the table and write the results file."""
    args = parse_args(argv)
    from rich.console import Console

    from navila_agents.locomotion.evaluation import evaluate, report
    from navila_agents.locomotion.policy import resolve_policy

    eval_set = eval_set_of(args)
    sources = [resolve_policy(path, args.task) for path in (args.compare or [args.policy])]
    results = evaluate(sources, eval_set, jobs=args.jobs)
    Console(width=None if sys.stdout.isatty() else 160).print(results_table(results))
    Path(args.out).write_text(json.dumps(report(results, eval_set), indent=2))
    print(f"[navila] results -> {args.out}")
    return 0

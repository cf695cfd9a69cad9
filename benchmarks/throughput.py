"""``navila bench``: env-steps/s of NaVILA-Go2-Rough-Lidar vs the stock Isaac Lab Go2 rough task, and the LiDAR share.

Each task runs in its own subprocess (Isaac Lab allows one simulation per process) on the same device with the same
number of envs; the table is printed and a row is appended to ``results/bench.md``.
"""

from __future__ import annotations

import argparse
import sys

from navila_agents.locomotion import runtime
from navila_benchmarks import step_timing as bench
from navila_lab import provenance
from navila_lab.errors import UserError, run_command


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options of ``navila bench``."""
    parser = argparse.ArgumentParser(prog="navila bench", description=__doc__)
    parser.add_argument(
        "--tasks",
        default=",".join(bench.DEFAULT_TASKS),
        help="comma-separated task ids or aliases ours, stock, blind (default: ours,stock)",
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    parser.add_argument(
        "--num_envs",
        type=int,
        default=None,
        help=f"parallel environments (default: 4096 on GPU, {runtime.CPU_NUM_ENVS} on CPU)",
    )
    parser.add_argument("--steps", type=int, default=200, help="timed env steps per pass (default: 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed env steps before timing (default: 20)")
    parser.add_argument("--actions", choices=("random", "zero"), default="random", help="actions fed to the envs")
    parser.add_argument("--seed", type=int, default=42, help="env seed (default: 42)")
    parser.add_argument("--results", default="results/bench.md", help="markdown file the run's row is appended to")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time each part of the step and each term (ms per step, per task)"
    )
    parser.add_argument(
        "--breakdown-results", default="results/bench_breakdown.md", help="markdown file the breakdown is appended to"
    )
    parser.add_argument("--no-record", action="store_true", help="print the table only, append nothing")
    parser.add_argument("--worker", default=None, metavar="JSON", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Measure each task in a subprocess, print the comparison, record it."""
    args = parse_args(argv)
    tasks = bench.parse_tasks(args.tasks)
    device = runtime.resolve_device(args.device)
    num_envs = args.num_envs if args.num_envs is not None else (runtime.CPU_NUM_ENVS if device == "cpu" else 4096)
    for name, value, low in (("--num_envs", num_envs, 1), ("--steps", args.steps, 1), ("--warmup", args.warmup, 0)):
        if value < low:
            raise UserError(f"{name} must be at least {low}, got {value}")

    if args.worker:
        if len(tasks) != 1:
            raise UserError("--worker measures exactly one task")
        result = bench.measure(
            tasks[0], device, num_envs, args.steps, args.warmup, args.actions, args.seed, breakdown=args.breakdown
        )
        bench.write_result(args.worker, result)
        return 0

    load_before = bench.load_average()
    results = []
    for task in tasks:
        print(f"[navila bench] {task}: {num_envs} envs on {device}, {args.warmup} warm-up + 2 × {args.steps} steps")
        results.append(
            bench.measure_in_subprocess(
                task, device, num_envs, args.steps, args.warmup, args.actions, args.seed, args.breakdown
            )
        )
    meta = provenance.stamp(device) | {"envs": str(num_envs), "load": f"{load_before} / {bench.load_average()}"}
    bench.print_summary(results, meta)
    if not args.no_record:
        bench.append_results(args.results, results, meta)
        print(f"[navila bench] appended to {args.results}")
        if args.breakdown:
            bench.append_breakdown(args.breakdown_results, results, meta)
            print(f"[navila bench] breakdown appended to {args.breakdown_results}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/throughput.py"))

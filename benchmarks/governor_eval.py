"""A LiDAR policy with and without the robot-side height-map governor, on the same evaluation set.

The governor (:class:`navila_lab.barrier.HeightMapGovernor`) caps each velocity command at the control-barrier speed
for the free distance the newest LiDAR sweep shows ahead of the footprint, before the policy reads it (as the robot
side does, ``docs/deploy_contract.md``). Both runs are ``navila evaluate`` runs of one policy on the same terrains,
spawns and commands (one fresh process per seed); the table gives per terrain type the collision and fall rates
(mean ± sample sd over seeds), the forward speed and the velocity error, and the ratio governed / alone. Free
terrains show what the governor costs (false stops), walls what it buys.

usage: python benchmarks/governor_eval.py [--policy policies/go2_rough_lidar] [--terrain all] [--device cpu]
       [--num_envs 200] [--seeds 0 1 2] [--jobs 2]   (appends to results/governor.md, writes results/governor.json)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from navila_agents.locomotion.eval_report import ALL, mean_sd, metric, results_table
from navila_agents.locomotion.evaluation import EvalSet, evaluate, report
from navila_agents.locomotion.policy import resolve_policy
from navila_lab.errors import run_command
from navila_lab.provenance import append_markdown, run_heading
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "governor.md"
HEADER = "# The height-map governor in front of a LiDAR policy (`benchmarks/governor_eval.py`)\n"
METRICS = (
    ("collisions (%)", "collision_rate", 100.0),
    ("falls (%)", "fall_rate", 100.0),
    ("forward speed (m/s)", "forward_speed", 1.0),
    ("lin. vel. error (m/s)", "lin_vel_error", 1.0),
)


def cell(result: dict, terrain: str, key: str, scale: float) -> tuple[str, float | None]:
    """'mean ± sd' of one metric of one terrain, and the mean."""
    mean, spread = metric(result, terrain, key)
    if mean is None:
        return "—", None
    return mean_sd(mean, spread, scale=scale), mean


def table(alone: dict, governed: dict) -> str:
    """Markdown table: terrain × metric, the policy alone, governed, and their ratio."""
    lines = ["| terrain | metric | policy alone | with governor | governed / alone |", "|---|---|---:|---:|---:|"]
    for terrain in alone["terrains"]:
        for label, key, scale in METRICS:
            (text_a, mean_a), (text_b, mean_b) = cell(alone, terrain, key, scale), cell(governed, terrain, key, scale)
            ratio = f"{mean_b / mean_a:.2f}×" if mean_a and mean_b is not None else "—"
            lines.append(f"| {terrain} | {label} | {text_a} | {text_b} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Evaluate the policy alone and governed, print both, append the table and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", default=str(ROOT / "policies" / "go2_rough_lidar"))
    parser.add_argument("--terrain", default=ALL, help="comma-separated terrain types (default: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--num_envs", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=None, help="runs at once (default: CPU 1, CUDA 6)")
    args = parser.parse_args(argv)
    source = resolve_policy(args.policy)
    plain = EvalSet(
        terrains=args.terrain.split(","), num_envs=args.num_envs, seeds=tuple(args.seeds), device=args.device
    )
    governed = dataclasses.replace(plain, governor=True)
    alone, capped = (evaluate([source], eval_set, jobs=args.jobs)[0] for eval_set in (plain, governed))
    capped["name"] = f"{alone['name']} + governor"
    Console(width=160).print(results_table([alone, capped]))
    command = " ".join(["python benchmarks/governor_eval.py", *argv])
    text = (
        f"{run_heading(args.device, command)}\n\n{args.num_envs} envs per run, seeds {' '.join(map(str, args.seeds))}"
        f" (mean ± sample sd over seeds), one 20 s episode per env.\n\n{table(alone, capped)}\n"
    )
    print(text)
    append_markdown(RESULTS, HEADER, text)
    runs = {"alone": report([alone], plain), "governed": report([capped], governed)}
    RESULTS.with_suffix(".json").write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/governor_eval.py"))

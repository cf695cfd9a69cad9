"""Does the LiDAR policy track slopes worse because of what its map shows there? Ablation with a flat-ground reading.

On slopes the LiDAR policy reaches less of a forward command than on flat ground and than the blind policy
(``results/locomotion.md``). A rising slope ahead reads, in the height map, as surfaces nearer the sensor, as the
near face of a wall does. Zeroing the map tests nothing (a 0 cell reads as a surface at the sensor's height: a wall
all around, and the policy stands still), so this benchmark shows the policy flat ground instead:

1. it runs the LiDAR policy on flat terrain and keeps its height-map observation (before noise) every 10th step; the
   per-cell median is the *flat-ground reading*;
2. it evaluates the LiDAR policy on flat and sloped terrain with its own map and with the flat-ground reading in its
   place (the observation noise still added), and the blind policy as the reference, on the same seeds, terrains,
   spawns and commands (``navila evaluate`` runs, one fresh process each).

If the flat-ground reading brings the slopes' tracking to the blind policy's, the map is why; if not, the gait is.
The flat-terrain rows check the substitute: there it should change little.

usage: python benchmarks/slope_map_ablation.py [--lidar policies/go2_rough_lidar] [--blind policies/go2_rough_blind]
       [--device cpu] [--num_envs 48] [--seeds 0 1 2]   (appends to results/slope_map.md, writes results/slope_map.json)
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from isaaclab.utils.modifiers import ModifierBase, ModifierCfg
from navila_agents.locomotion.eval_report import mean_sd, metric, results_table
from navila_agents.locomotion.evaluation import EvalSet, evaluate, evaluate_seed, report
from navila_agents.locomotion.policy import resolve_policy
from navila_lab.errors import UserError, run_command
from navila_lab.provenance import append_markdown, run_heading
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "slope_map.md"
HEADER = "# Slope tracking with the flat-ground map reading (`benchmarks/slope_map_ablation.py`)\n"
TERRAINS = ["flat", "slopes"]
SPEEDS = (0.5, 1.0)
"""Commanded forward speeds (m/s): the slopes' shortfall is largest at the top speed."""
RECORD_EVERY = 10
"""Steps between kept height-map observations of the flat run."""
RECORDED: list[torch.Tensor] = []
"""Height-map observations kept by :class:`KeepMaps` in this process."""
METRICS = (
    ("lin. vel. error (m/s)", "lin_vel_error", None),
    ("forward speed at 1.0 m/s", "forward_speed", "1.00"),
    ("falls (%)", "fall_rate", None),
)


class KeepMaps(ModifierBase):
    """Passes the height map through and keeps every :data:`RECORD_EVERY`-th one in :data:`RECORDED`."""

    def __init__(self, cfg: ModifierCfg, data_dim: tuple[int, ...], device: str) -> None:
        super().__init__(cfg, data_dim, device)
        self.calls = 0

    def reset(self, env_ids: Sequence[int] | None = None) -> None:
        """Nothing to reset: the kept maps are the whole run's."""

    def __call__(self, data: torch.Tensor) -> torch.Tensor:
        """Keep ``data`` on the CPU if this call is one to keep; return it unchanged."""
        if self.calls % RECORD_EVERY == 0:
            RECORDED.append(data.detach().cpu().clone())
        self.calls += 1
        return data


class FlatReading(ModifierBase):
    """Replaces every env's height map with the flat-ground reading (``cfg.params["reading"]``)."""

    def __init__(self, cfg: ModifierCfg, data_dim: tuple[int, ...], device: str) -> None:
        super().__init__(cfg, data_dim, device)
        self.reading = torch.tensor(cfg.params["reading"], device=device).expand(data_dim)

    def reset(self, env_ids: Sequence[int] | None = None) -> None:
        """Stateless."""

    def __call__(self, data: torch.Tensor) -> torch.Tensor:
        """The flat-ground reading in place of ``data``."""
        return self.reading.clone()


def modify_map(env_cfg: object, modifier: type[ModifierBase], **params: object) -> None:
    """Put ``modifier`` on the height-map observation of a LiDAR task's env cfg."""
    if env_cfg.observations.height_map is None:
        raise UserError("--lidar names a policy whose task has no LiDAR height map")
    env_cfg.observations.height_map.height_map.modifiers = [ModifierCfg(func=modifier, params=params)]


def flat_ground_reading(lidar: object, eval_set: EvalSet) -> tuple[torch.Tensor, float]:
    """The per-cell median of the LiDAR policy's height maps on flat terrain, and the mean per-cell spread (IQR)."""
    flat = replace(eval_set, terrains=["flat"], seeds=eval_set.seeds[:1])
    evaluate_seed(lidar, flat, flat.seeds[0], functools.partial(modify_map, modifier=KeepMaps))
    maps = torch.cat(RECORDED)
    low, median, high = torch.quantile(maps, torch.tensor([0.25, 0.5, 0.75]), dim=0)
    return median, (high - low).mean().item()


def table(own: dict, substituted: dict, blind: dict) -> str:
    """Markdown table: terrain × metric for the LiDAR policy with its map, with the flat reading, and the blind one."""
    lines = [
        "| terrain | metric | LiDAR, own map | LiDAR, flat-ground reading | blind | flat reading / own map |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for terrain in TERRAINS:
        for label, key, speed in METRICS:
            scale, digits = (100.0, 1) if key == "fall_rate" else (1.0, 3)
            cells, means = [], []
            for result in (own, substituted, blind):
                mean, spread = metric(result, terrain, key, speed)
                means.append(mean)
                cells.append("—" if mean is None else mean_sd(mean, spread, digits, scale))
            ratio = f"{means[1] / means[0]:.2f}×" if means[0] and means[1] is not None else "—"
            lines.append(f"| {terrain} | {label} | {' | '.join(cells)} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Measure the flat-ground reading, run the three arms, print and append the table, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lidar", default=str(ROOT / "policies" / "go2_rough_lidar"))
    parser.add_argument("--blind", default=str(ROOT / "policies" / "go2_rough_blind"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--num_envs", type=int, default=48)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=None, help="runs at once (default: CPU 1, CUDA 6)")
    args = parser.parse_args(argv)
    lidar, blind = resolve_policy(args.lidar), resolve_policy(args.blind)
    eval_set = EvalSet(
        terrains=TERRAINS, speeds=SPEEDS, num_envs=args.num_envs, seeds=tuple(args.seeds), device=args.device
    )
    reading, spread = flat_ground_reading(lidar, eval_set)
    substitute = functools.partial(modify_map, modifier=FlatReading, reading=tuple(reading.tolist()))
    own, reference = evaluate([lidar, blind], eval_set, jobs=args.jobs)
    substituted = evaluate([lidar], eval_set, edit_cfg=substitute, jobs=args.jobs)[0]
    substituted["name"] = f"{own['name']} + flat-ground reading"
    Console(width=160).print(results_table([own, substituted, reference]))
    command = " ".join(["python benchmarks/slope_map_ablation.py", *argv])
    text = (
        f"{run_heading(args.device, command)}\n\n{args.num_envs} envs per run, seeds {' '.join(map(str, args.seeds))}"
        f" (mean ± sample sd over seeds), one 20 s episode per env, commands {' and '.join(map(str, SPEEDS))} m/s"
        f" forward. Flat-ground reading: median of the flat run's maps of {len(RECORDED)} kept steps ×"
        f" {args.num_envs} envs, cells {reading.min():.3f}–{reading.max():.3f}, mean interquartile range"
        f" {spread:.3f}.\n\n{table(own, substituted, reference)}\n"
    )
    print(text)
    append_markdown(RESULTS, HEADER, text)
    runs = {"reading": reading.tolist()} | {
        name: report([result], eval_set)
        for name, result in (("own_map", own), ("flat_reading", substituted), ("blind", reference))
    }
    RESULTS.with_suffix(".json").write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/slope_map_ablation.py"))

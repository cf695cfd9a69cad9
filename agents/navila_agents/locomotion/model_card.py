"""Model card of an exported policy: training facts from its run's TensorBoard events, curves as PNG, eval numbers."""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass

import numpy as np
import yaml

from navila_agents.locomotion.eval_report import mean_sd, metric

CURVES: dict[str, str] = {
    "Train/mean_reward": "mean episode reward",
    "Train/mean_episode_length": "mean episode length (steps)",
    "Metrics/base_velocity/error_vel_xy": "lin. velocity error (m/s)",
    "Curriculum/terrain_levels": "terrain level",
    "Episode_Termination/time_out": "episodes ending by time-out",
    "Perf/total_fps": "env-steps/s",
}
"""TensorBoard scalar → plot title, in the order they are drawn."""
EVAL_ROWS: dict[str, str] = {
    "fall_rate": "falls",
    "collision_rate": "collisions (episodes touching a box or pane)",
    "forward_speed": "forward speed (m/s)",
    "lin_vel_error": "lin. vel. error (m/s)",
    "yaw_vel_error": "yaw rate error (rad/s)",
    "glass_contacts_per_episode": "glass contacts / episode",
    "obstacle_contacts_per_episode": "obstacle contacts / episode",
    "power": "joint power Σ abs(τ·q̇) (W)",
}
"""Eval JSON field → model-card row."""


@dataclass(frozen=True)
class Series:
    """One scalar over a run: iterations, values and wall-clock times (s since the epoch)."""

    steps: np.ndarray
    values: np.ndarray
    wall: np.ndarray


def read_scalars(run_dir: str, tags: list[str]) -> dict[str, Series]:
    """``tags`` from every events file of ``run_dir`` (a resumed run has one file per session), ordered by iteration."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    points: dict[str, dict[int, tuple[float, float]]] = {tag: {} for tag in tags}
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        events = EventAccumulator(path, size_guidance={"scalars": 0})
        events.Reload()
        for tag in set(tags) & set(events.Tags()["scalars"]):
            points[tag].update({event.step: (event.value, event.wall_time) for event in events.Scalars(tag)})
    series = {}
    for tag, by_step in points.items():
        steps = np.array(sorted(by_step), dtype=np.int64)
        values, wall = (np.array([by_step[step][i] for step in steps], dtype=np.float64) for i in (0, 1))
        series[tag] = Series(steps, values, wall)
    return series


def training_seconds(wall: np.ndarray, resume_gap: float = 60.0) -> float:
    """Wall-clock seconds spent training: the sum of the sessions' spans (gaps over ``resume_gap`` are pauses)."""
    gaps = np.diff(wall)
    return float(gaps[gaps < resume_gap].sum())


class _CfgLoader(yaml.SafeLoader):
    """Reads Isaac Lab's dumped cfgs; Python-object tags (slices, classes, tuples) load as plain data."""


_CfgLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/",
    lambda loader, suffix, node: loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else None,
)


def run_size(run_dir: str) -> tuple[int, int]:
    """Envs and steps per env of a run, from the cfgs ``navila train`` dumped into ``params/``."""
    with open(os.path.join(run_dir, "params", "env.yaml")) as file:
        envs = yaml.load(file, Loader=_CfgLoader)["scene"]["num_envs"]
    with open(os.path.join(run_dir, "params", "agent.yaml")) as file:
        steps_per_env = yaml.load(file, Loader=_CfgLoader)["num_steps_per_env"]
    return int(envs), int(steps_per_env)


def render_curves(series: dict[str, Series], path: str, title: str) -> None:
    """The :data:`CURVES` of a run as one PNG grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = [tag for tag in CURVES if tag in series and series[tag].steps.size]
    columns = 3
    rows = -(-len(drawn) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for axis, tag in zip(axes.flat, drawn, strict=False):
        axis.plot(series[tag].steps, series[tag].values, linewidth=1.0)
        axis.set_title(CURVES[tag], fontsize=10)
        axis.set_xlabel("iteration", fontsize=8)
        axis.grid(alpha=0.3)
    for axis in axes.flat[len(drawn) :]:
        axis.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def eval_table(report: dict, policy_name: str) -> str:
    """Markdown table of one policy's per-terrain numbers (mean ± sd over seeds) from a ``navila evaluate`` JSON."""
    entry = next((p for p in report["policies"] if p["name"] == policy_name), None)
    if entry is None:
        names = ", ".join(p["name"] for p in report["policies"])
        raise ValueError(f"the eval report has no policy '{policy_name}' (it has: {names})")
    terrains = list(entry["terrains"])
    lines = ["| metric | " + " | ".join(terrains) + " |", "|---|" + "---:|" * len(terrains)]
    for field, label in EVAL_ROWS.items():
        scale, digits, unit = (100, 1, "%") if field.endswith("_rate") else (1, 2, "")
        cells = []
        for terrain in terrains:
            value, sd = metric(entry, terrain, field)
            cells.append("–" if value is None else mean_sd(value, sd, digits, scale) + unit)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_model_card(
    policy_dir: str,
    run_dir: str,
    task: str,
    commit: str,
    device: str,
    eval_report: str | None,
    notes: str = "",
    eval_name: str | None = None,
) -> str:
    """Write ``MODEL_CARD.md`` and ``curves.png`` into ``policy_dir``; returns the card's path.

    ``eval_name``: the policy's name in ``eval_report`` when it was evaluated under another directory's name.
    """
    series = read_scalars(run_dir, list(CURVES))
    reward = series["Train/mean_reward"]
    if not reward.steps.size:
        raise ValueError(f"{run_dir} has no Train/mean_reward events")
    name = os.path.basename(os.path.normpath(policy_dir))
    render_curves(series, os.path.join(policy_dir, "curves.png"), f"{name} ({task})")
    iterations = int(reward.steps[-1]) + 1
    envs, steps_per_env = run_size(run_dir)
    lines = [
        f"# {name}",
        "",
        f"- task: `{task}` (exported with `navila export`: policy.pt, policy.onnx, deploy.yaml)",
        f"- training commit: `{commit}`; device: {device}",
        f"- iterations: {iterations} x {envs} envs x {steps_per_env} steps = "
        f"{iterations * envs * steps_per_env / 1e6:.1f} M "
        f"env steps; wall time training: {training_seconds(reward.wall) / 60:.1f} min",
        f"- final mean episode reward: {reward.values[-1]:.2f} (mean of the last 10 iterations: "
        f"{reward.values[-10:].mean():.2f})",
    ]
    if notes:
        lines += ["", notes]
    lines += ["", "![training curves](curves.png)", ""]
    if eval_report:
        with open(eval_report) as file:
            report = json.load(file)
        lines += [
            f"## Evaluation (`navila evaluate`, {report['device']}, {report['date'][:10]}, "
            f"seeds {', '.join(map(str, report['eval_set'].get('seeds') or [report['eval_set'].get('seed')]))})",
            "",
            eval_table(report, eval_name or name),
            "",
        ]
    path = os.path.join(policy_dir, "MODEL_CARD.md")
    with open(path, "w") as file:
        file.write("\n".join(lines))
    return path

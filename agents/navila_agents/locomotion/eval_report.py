"""The report of ``navila evaluate``: per-env totals summarized per terrain type and speed, and its table."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

import torch
from navila_lab.mdp.locomotion_metrics import EvalTotals

if TYPE_CHECKING:
    from rich.table import Table

TERRAIN_GROUPS: dict[str, tuple[str, ...]] = {
    "flat": ("flat",),
    "rough": ("random_rough",),
    "slopes": ("hf_pyramid_slope", "hf_pyramid_slope_inv"),
    "obstacles": ("obstacles",),
    "glass": ("glass",),
    "thin_walls": ("thin_walls",),
}
"""Terrain types reported by ``navila evaluate`` → sub-terrain names of the NaVILA mix."""
ALL = "all"
"""Label of the summary over every terrain."""


def terrain_group(sub_terrain: str) -> str:
    """The reported terrain type of a sub-terrain (a sub-terrain outside :data:`TERRAIN_GROUPS` is its own type)."""
    return next((group for group, names in TERRAIN_GROUPS.items() if sub_terrain in names), sub_terrain)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def aggregate(totals: EvalTotals, mask: torch.Tensor) -> dict:
    """Summary of the envs in ``mask``: rates per episode, means per step, mean terrain levels (None when empty)."""
    total = {f.name: getattr(totals, f.name)[mask].sum().item() for f in fields(totals) if f.name != "terminations"}
    episodes, steps, envs = total["episodes"], total["steps"], int(mask.sum())
    return {
        "envs": envs,
        "episodes": int(episodes),
        "env_steps": int(steps),
        "fall_rate": _ratio(total["falls"], episodes),
        "terminations": {name: _ratio(n[mask].sum().item(), episodes) for name, n in totals.terminations.items()},
        "forward_speed": _ratio(total["forward_speed"], steps),
        "lin_vel_error": _ratio(total["lin_vel_error"], steps),
        "yaw_vel_error": _ratio(total["yaw_vel_error"], steps),
        "power": _ratio(total["power"], steps),
        "distance_per_episode": _ratio(total["distance"], episodes),
        "obstacle_contacts_per_episode": _ratio(total["obstacle_contacts"], episodes),
        "glass_contacts_per_episode": _ratio(total["glass_contacts"], episodes),
        "collision_rate": _ratio(total["collisions"], episodes),
        "terrain_level": {"start": _ratio(total["level_start"], envs), "end": _ratio(total["level_end"], envs)},
    }


def summarize(totals: EvalTotals, terrain_of_env: Sequence[str], speed_of_env: torch.Tensor) -> dict[str, dict]:
    """Summaries per terrain type (in order of appearance) and over all envs, each also split by commanded speed."""
    terrains = list(dict.fromkeys(terrain_of_env))
    device = speed_of_env.device
    summary = {}
    for terrain in [*terrains, ALL]:
        mask = torch.tensor([terrain in (ALL, env_terrain) for env_terrain in terrain_of_env], device=device)
        entry = aggregate(totals, mask)
        speeds = sorted(set(speed_of_env[mask].tolist()))
        entry["by_speed"] = {f"{speed:.2f}": aggregate(totals, mask & (speed_of_env == speed)) for speed in speeds}
        summary[terrain] = entry
    return summary


COUNTS = ("envs", "episodes", "env_steps")
"""Summary entries that count things: summed over seeds, without a spread."""


def combine_seeds(summaries: Sequence[dict]) -> tuple[dict, dict | None]:
    """Mean over seeds of the summaries' rates and per-step means (counts summed), and their spread.

    The spread is the sample standard deviation across seeds, None for a single seed; an entry is None where any
    seed's is.
    """

    def combine(values: list, key: str | None) -> tuple:
        if isinstance(values[0], dict):
            pairs = {name: combine([value[name] for value in values], name) for name in values[0]}
            return {name: pair[0] for name, pair in pairs.items()}, {name: pair[1] for name, pair in pairs.items()}
        if key in COUNTS:
            return sum(values), None
        if any(value is None for value in values):
            return None, None
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None

    mean, spread = combine(list(summaries), None)
    return mean, spread if len(summaries) > 1 else None


def metric(result: dict, terrain: str, key: str, speed: str | None = None) -> tuple[float | None, float | None]:
    """Mean over seeds and sample sd (None for one seed) of one metric of a terrain type in an evaluation result.

    ``speed`` (a ``by_speed`` key, e.g. ``"1.00"``) picks one commanded speed; None where the result has no value.
    """

    def entry(summary: dict | None) -> dict:
        terrain_entry = (summary or {}).get(terrain) or {}
        return terrain_entry.get("by_speed", {}).get(speed, {}) if speed else terrain_entry

    return entry(result["terrains"]).get(key), entry(result.get("spread")).get(key)


def mean_sd(mean: float, spread: float | None, digits: int = 2, scale: float = 1.0) -> str:
    """'mean ± sd' (scaled, to ``digits`` decimals); the mean alone without a spread (one seed)."""
    text = f"{mean * scale:.{digits}f}"
    return text if spread is None else f"{text} ± {spread * scale:.{digits}f}"


def _number(value: float | None, digits: int = 2, scale: float = 1.0) -> str:
    return "—" if value is None or math.isnan(value) else f"{value * scale:.{digits}f}"


Cell = Callable[[dict], str]
"""Text of a table cell from one summary entry."""


def _levels(entry: dict) -> str:
    return f"{_number(entry['terrain_level']['start'], 1)}→{_number(entry['terrain_level']['end'], 1)}"


ROWS: tuple[tuple[str, Cell], ...] = (
    ("envs", lambda e: str(e["envs"])),
    ("episodes", lambda e: str(e["episodes"])),
    ("falls (%)", lambda e: _number(e["fall_rate"], 1, 100.0)),
    ("collisions (% of episodes)", lambda e: _number(e["collision_rate"], 1, 100.0)),
    ("forward speed (m/s)", lambda e: _number(e["forward_speed"])),
    ("lin. vel. error (m/s)", lambda e: _number(e["lin_vel_error"])),
    ("yaw rate error (rad/s)", lambda e: _number(e["yaw_vel_error"])),
    ("distance / episode (m)", lambda e: _number(e["distance_per_episode"], 1)),
    ("obstacle contacts / episode", lambda e: _number(e["obstacle_contacts_per_episode"])),
    ("glass contacts / episode", lambda e: _number(e["glass_contacts_per_episode"])),
    ("terrain level start → end", _levels),
    ("power Σ|τ·q̇| (W)", lambda e: _number(e["power"], 0)),
)
"""Table rows: label and cell text of one summary entry."""


def results_table(results: Sequence[dict]) -> Table:
    """A rich table: one column per terrain type, one row per metric; cells read ``A / B`` for two policies.

    Over several seeds a cell reads ``mean ± sd`` (sample standard deviation across seeds) where the entry has one.
    """
    from rich.table import Table

    terrains = list(dict.fromkeys(terrain for result in results for terrain in result["terrains"]))
    names = " / ".join(result["name"] for result in results)
    seeds = len(results[0].get("seeds", [None]))
    runs = f"{results[0].get('num_envs', '?')} envs × {seeds} seed{'s' if seeds > 1 else ''}"
    table = Table(title=f"navila evaluate: {names} ({runs})", title_justify="left")
    table.add_column("metric")
    for terrain in terrains:
        table.add_column(terrain, justify="right")

    def row(label: str, cell: Cell) -> None:
        table.add_row(label, *(" / ".join(_cell(result, terrain, cell) for result in results) for terrain in terrains))

    for label, cell in ROWS:
        row(label, cell)
    speeds = sorted({speed for result in results for speed in result["terrains"][ALL]["by_speed"]}, key=float)
    for speed in speeds:
        row(f"@{speed} m/s: forward speed", _speed_cell(speed, "forward_speed"))
        row(f"@{speed} m/s: lin. vel. error", _speed_cell(speed, "lin_vel_error"))
    terms = dict.fromkeys(name for result in results for name in result["terrains"][ALL]["terminations"])
    for term in terms:
        row(f"ended by {term} (%)", lambda e, t=term: _number(e["terminations"].get(t), 1, 100.0))
    return table


def _speed_cell(speed: str, key: str) -> Cell:
    return lambda entry: _number(entry["by_speed"][speed][key]) if speed in entry["by_speed"] else "—"


def _cell(result: dict, terrain: str, cell: Cell) -> str:
    entry = result["terrains"].get(terrain)
    if entry is None:
        return "—"
    spread = (result.get("spread") or {}).get(terrain)
    deviation = "—" if spread is None else cell(spread)
    without = ("—", "None", "—→—")  # no spread: counts (envs, episodes) and entries missing from a seed
    return cell(entry) if deviation in without else f"{cell(entry)} ± {deviation}"

"""The trained VLA end to end on unseen scenes, with and without glass, over three low levels → results/vla.md.

One worker process per low level (teleported, LiDAR policy, blind policy) builds the VLN task once with the test
scenes of a ``navila vla-data`` dataset (``episodes/test_clear`` and ``episodes/test_glass``) and runs every method
at once, one env per (method, episode), the methods routed per env (:class:`RoutedBackend`):

* the VLA (``--vla``), and over the teleported low level also the earlier models (``--round NAME=FOLDER``, e.g. the
  SFT model and each DAgger round; ``NAME@SEED`` marks one recipe's training seeds, whose mean ± sd the tables add;
  each round's successes are counted against the VLA's, episode by episode) and two ablations: black frames, and
  each episode given another one's instruction; with ``--mirror-average`` also the VLA ranking each query together
  with its mirror image (``HFBackend``'s ``mirror_average``), with ``--rank-by-action`` also the VLA ranking the kind
  of action first (``rank_by="action"``), with ``--expert-stops`` also the VLA whose stops are the oracle's
  (:class:`ExpertStops`: how much of its failure is stopping);
* the shortest-path oracle with the full view (it plans around glass) and, in a second pass, with the camera's view
  (glass does not block its plans).

The teleported low level moves the bases kinematically and only renders (:class:`RenderSim`, as in ``navila
vla-data`` and ``navila vla-dagger``): no physics, so nobody falls and contacts are not counted ("–"), and it runs on
a CPU too (``--low-levels perfect``). The policies' low levels step the physics (:class:`IsaacVlnSim`);
``--low-levels lidar_governed`` adds the LiDAR policy behind the robot-side height-map governor.

Each (method, set, low level) is written like a ``navila vln`` run (``episodes.json``, ``summary.json``) under
``--out-dir``; the tables are appended to ``--report`` with the date, commit and device. With ``--card DIR`` a
``MODEL_CARD.md`` for the VLA folder DIR is written too (data, training, results); ``--from-runs`` writes both from
the run folders already under ``--out-dir`` (e.g. a model scored before it was chosen to ship). On a GPU::

    navila bench vla_results --vla policies/vla_small --data runs/vla/data --round sft=runs/vla/sft/model
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from navila_lab.errors import UserError, run_command

ROOT = Path(__file__).resolve().parents[1]
SETS = {"clear": "test_clear", "glass": "test_glass"}
"""Set name in the tables → episode file of the dataset."""
LOW_LEVELS = {
    "perfect": "teleported",
    "lidar": "LiDAR policy",
    "blind": "blind policy",
    "lidar_governed": "LiDAR policy + governor",
}
"""Low levels (``--low-levels``); the governed LiDAR policy (the robot-side height-map governor caps its commands,
``navila vln --governor``) only when named."""
DEFAULT_LOW_LEVELS = ["perfect", "lidar", "blind"]
SEED_SEPARATOR = "@"
"""``--round NAME@SEED=FOLDER``: runs of one recipe at several training seeds (one row more: mean ± sd over them)."""
CONTACT_COLUMNS = ("falls", "collisions", "glass_contacts")
"""Columns the teleported low level does not measure (:class:`~navila_agents.vln.render_sim.RenderSim`)."""
METHODS = {
    "vla": "VLA",
    "mirrored": "VLA, mirror-averaged",
    "by_action": "VLA, ranked by action",
    "expert_stop": "VLA, oracle's stops",
    "black": "VLA, black frames",
    "shuffled": "VLA, shuffled instruction",
    "oracle_full": "oracle, full view",
    "oracle_camera": "oracle, camera view",
}
VARIANTS = {"mirrored": {"mirror_average": True}, "by_action": {"rank_by": "action"}}
"""The VLA's other ways to answer (``HFBackend`` options), each a method of its own when its flag is given."""
VARIANT_FLAGS = {"mirrored": "--mirror-average", "by_action": "--rank-by-action", "expert_stop": "--expert-stops"}
"""Flags of the VLA's other ways to answer: the :data:`VARIANTS` and the oracle's stops (teleported)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vla", type=Path, required=True, help="the VLA model folder to score")
    parser.add_argument("--data", type=Path, required=True, help="navila vla-data dataset (its test episodes)")
    parser.add_argument(
        "--round",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="earlier model to score (NAME@SEED: one of a recipe's seeds)",
    )
    parser.add_argument("--lidar", type=Path, default=ROOT / "policies" / "go2_rough_lidar", help="LiDAR policy dir")
    parser.add_argument("--blind", type=Path, default=ROOT / "policies" / "go2_rough_blind", help="blind policy dir")
    parser.add_argument(
        "--mirror-average",
        action="store_true",
        help="also score the VLA ranking each query with its mirror (teleported)",
    )
    parser.add_argument(
        "--rank-by-action",
        action="store_true",
        help="also score the VLA ranking the kind of action first, then its answer (teleported)",
    )
    parser.add_argument(
        "--expert-stops",
        action="store_true",
        help="also score the VLA with the oracle's stops instead of its own (teleported; a diagnostic)",
    )
    parser.add_argument("--low-levels", nargs="+", choices=list(LOW_LEVELS), default=DEFAULT_LOW_LEVELS)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=None,
        metavar="METHOD",
        help=f"run only these methods ({', '.join(METHODS)} or a --round NAME); default: all",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N episodes of each set (smoke test)")
    parser.add_argument("--max-steps", type=int, default=2500, help="policy steps after which an episode ends")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--sequential", action="store_true", help="one worker at a time (default on CPU)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "results" / "vla", help="per-run output folders")
    parser.add_argument("--report", type=Path, default=ROOT / "results" / "vla.md", help="markdown file to append to")
    parser.add_argument("--card", type=Path, default=None, help="write MODEL_CARD.md into this shipped VLA folder")
    parser.add_argument("--timings", type=Path, default=None, help="stage<TAB>seconds file of the GPU pipeline")
    parser.add_argument(
        "--from-runs", action="store_true", help="run no episode: tables and card from the runs under --out-dir"
    )
    parser.add_argument("--worker", choices=list(LOW_LEVELS), default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def rounds(args: argparse.Namespace) -> dict[str, Path]:
    """``--round NAME=FOLDER`` as a mapping, checked."""
    found = {}
    for item in args.round:
        name, _, folder = item.partition("=")
        if not name or not folder:
            raise UserError(f"--round expects NAME=FOLDER, got '{item}'")
        found[name] = Path(folder)
    return found


@dataclass(frozen=True)
class Job:
    """One episode of one method on one set."""

    method: str
    set_name: str
    episode: object
    route: str | None
    """The model answering (``vla``, a round's name, or ``black`` for the VLA on black frames); None: the oracle."""


def shuffled(episodes: list, seed: int = 0) -> list:
    """The episodes, each with another episode's instruction (a derangement when there are two or more)."""
    order = list(range(len(episodes)))
    random.Random(seed).shuffle(order)
    source = {a: b for a, b in zip(order, order[1:] + order[:1], strict=True)}  # a cycle moves every instruction
    return [replace(e, instruction_text=episodes[source[i]].instruction_text) for i, e in enumerate(episodes)]


def asked_variants(args: argparse.Namespace) -> list[str]:
    """The VLA's other ways to answer (:data:`VARIANT_FLAGS`) asked for on the command line."""
    return [name for name, flag in VARIANT_FLAGS.items() if getattr(args, flag.removeprefix("--").replace("-", "_"))]


def plan_jobs(
    sets: dict[str, list],
    low_level: str,
    round_names: list[str],
    variants: Sequence[str] = (),
    methods: list[str] | None = None,
) -> dict[bool, list[Job]]:
    """The jobs of one low level by pass: full view (VLAs, ablations, oracle) and camera view (oracle).

    ``variants`` are the VLA's other ways to answer (:data:`VARIANT_FLAGS`) scored teleported.

    With ``methods``, only the jobs of those methods (a pass left empty is not run).
    """
    passes: dict[bool, list[Job]] = {True: [], False: []}
    for set_name, episodes in sets.items():
        passes[True] += [Job("vla", set_name, e, "vla") for e in episodes]
        if low_level == "perfect":
            for name in round_names:
                passes[True] += [Job(name, set_name, e, name) for e in episodes]
            for variant in variants:
                passes[True] += [Job(variant, set_name, e, variant) for e in episodes]
            passes[True] += [Job("black", set_name, e, "black") for e in episodes]
            passes[True] += [Job("shuffled", set_name, e, "vla") for e in shuffled(episodes)]
        passes[True] += [Job("oracle_full", set_name, e, None) for e in episodes]
        passes[False] += [Job("oracle_camera", set_name, e, None) for e in episodes]
    if methods is not None:
        passes = {sees: [job for job in jobs if job.method in methods] for sees, jobs in passes.items()}
    return passes


def worker(args: argparse.Namespace) -> int:
    """Run every method of one low level on both sets; write one run folder per (method, set)."""
    import torch
    from navila_agents.locomotion.policy import resolve_policy
    from navila_agents.vla.backends.hf import HFBackend, model_image_size
    from navila_agents.vla.backends.oracle import ORACLE_WAYPOINT_RADIUS
    from navila_agents.vla.backends.routed import BlackFrames, ExpertStops, RoutedBackend
    from navila_agents.vla.grammar import action_kind, canonical_answers
    from navila_agents.vln.env import VLN_TASK, open_vln_env
    from navila_agents.vln.render_sim import RenderSim
    from navila_agents.vln.report import write_run
    from navila_agents.vln.rollout import VlnRunCfg, VlnRunner
    from navila_agents.vln.simulator import IsaacVlnSim
    from navila_tasks.vln.episodes import load_episodes
    from navila_tasks.vln.layout import SceneLayout

    low_level = args.worker
    sets = {
        name: load_episodes(args.data / "episodes" / f"{file}.json.gz")[: args.limit] for name, file in SETS.items()
    }
    policy_dir = {"perfect": None, "lidar": args.lidar, "lidar_governed": args.lidar, "blind": args.blind}[low_level]
    policy = None if policy_dir is None else resolve_policy(str(policy_dir))
    models = {"vla": args.vla} | (rounds(args) if low_level == "perfect" else {})
    passes = plan_jobs(sets, low_level, [name for name in models if name != "vla"], asked_variants(args), args.methods)
    layout = SceneLayout.from_ids([e.scene_id for episodes in sets.values() for e in episodes])
    num_jobs = max(len(jobs) for jobs in passes.values())
    if num_jobs == 0:  # --methods names none of this low level's (e.g. only a round, which runs teleported)
        return 0
    camera = model_image_size(args.vla) or 96
    env_args = argparse.Namespace(
        task=VLN_TASK, overrides=[], device=args.device, num_envs=num_jobs, seed=None, camera_size=camera
    )
    scene_ids = [scene.scene_id for scene in layout.scenes]
    with open_vln_env(env_args, scene_ids, num_jobs, low_level == "lidar_governed", policy) as env:
        device = str(env.unwrapped.device)
        backends = {name: HFBackend(folder, device=device, max_new_tokens=8) for name, folder in models.items()}
        backends["black"] = BlackFrames(backends["vla"])
        for variant in asked_variants(args):
            if variant == "expert_stop":
                moves = [answer for answer in canonical_answers() if action_kind(answer) != "stop"]
                moving = HFBackend(args.vla, device=device, max_new_tokens=8, answers=moves)
                backends[variant] = ExpertStops(backends["vla"], moving)
            else:
                backends[variant] = HFBackend(args.vla, device=device, max_new_tokens=8, **VARIANTS[variant])
        sim = RenderSim(env, layout) if policy is None else IsaacVlnSim(env, layout, policy)
        for sees_glass, jobs in passes.items():
            if not jobs:
                continue
            routes = [None if job.route is None else backends[job.route] for job in jobs]
            routes += [None] * (sim.num_envs - len(jobs))
            backend = RoutedBackend(routes, sim.poses, waypoint_radius=ORACLE_WAYPOINT_RADIUS, device=sim.device)
            start = time.perf_counter()
            run_cfg = VlnRunCfg(max_steps=args.max_steps, oracle_sees_glass=sees_glass)
            with torch.inference_mode():  # the env's buffers are written in inference mode: keep resets there too
                results = VlnRunner(sim, backend, [job.episode for job in jobs], layout, run_cfg).run()
            wall_time = round(time.perf_counter() - start, 1)
            for method, set_name in dict.fromkeys((job.method, job.set_name) for job in jobs):
                chosen = [
                    r for job, r in zip(jobs, results, strict=True) if (job.method, job.set_name) == (method, set_name)
                ]
                label = f"{METHODS.get(method, f'VLA after {method}')} | {LOW_LEVELS[low_level]} | {set_name}"
                config = {
                    "method": method,
                    "set": set_name,
                    "low_level": low_level,
                    "model": str(
                        models.get(method, args.vla if method in ("black", "shuffled", *VARIANT_FLAGS) else "")
                    ),
                    "device": device,
                    "camera": f"{camera}x{camera}",
                    "envs_in_pass": len(jobs),
                    "pass_wall_time_s": wall_time,
                }
                write_run(args.out_dir / low_level / f"{method}_{set_name}", label, chosen, config)
    return 0


def metric_cells(values: list, low_level: str) -> list[str]:
    """A table row's cells from :data:`METRIC_COLUMNS` values, or from several runs' (mean ± sample sd)."""
    from navila_agents.vln.metrics import METRIC_COLUMNS

    cells = []
    for column, value in zip(METRIC_COLUMNS, values, strict=True):
        if low_level == "perfect" and column in CONTACT_COLUMNS:  # RenderSim: no physics, no falls or contacts
            cells.append("–")
        elif isinstance(value, list):
            cells.append(f"{statistics.mean(value):.1f} ± {statistics.stdev(value):.1f}")
        else:
            cells.append(f"{value:.1f}" if isinstance(value, float) else str(value))
    return cells


def recipe_rows(summaries: list[dict], low_level: str) -> list[str]:
    """Rows of the recipes scored at several training seeds (``NAME@SEED`` rounds): each metric's mean ± sd."""
    from navila_agents.vln.metrics import METRIC_COLUMNS

    seeds = defaultdict(list)
    for summary in summaries:
        recipe, separator, _ = summary["config"]["method"].partition(SEED_SEPARATOR)
        if separator:
            seeds[recipe].append(summary["metrics"])
    rows = []
    for recipe, runs in sorted(seeds.items()):
        if len(runs) >= 2:
            values = [[run[column] for run in runs] for column in METRIC_COLUMNS]
            values[0] = f"{runs[0]['episodes']} × {len(runs)}"
            label = f"VLA after {recipe}, mean ± sd of {len(runs)} seeds"
            rows.append(f"| {label} | {LOW_LEVELS[low_level]} | " + " | ".join(metric_cells(values, low_level)) + " |")
    return rows


def paired_lines(out_dir: Path, set_name: str) -> list[str]:
    """Each teleported round's successes against the VLA's on the same episodes: how many only one of them reaches."""
    from navila_agents.vln.report import EPISODES_FILE

    def successes(method: str) -> dict:
        episodes = json.loads((out_dir / "perfect" / f"{method}_{set_name}" / EPISODES_FILE).read_text())
        return {episode["episode_id"]: episode["success"] for episode in episodes}

    if not (out_dir / "perfect" / f"vla_{set_name}" / EPISODES_FILE).is_file():
        return []
    vla = successes("vla")
    names = sorted(run.name.removesuffix(f"_{set_name}") for run in (out_dir / "perfect").glob(f"*_{set_name}"))
    lines = []
    for name in (name for name in names if name not in METHODS):
        other = successes(name)
        only_it = sum(other[i] and not vla.get(i, False) for i in other)
        only_vla = sum(vla[i] and not other.get(i, False) for i in vla)
        lines.append(f"| {name} | {sum(other.values())} | {only_it} | {only_vla} |")
    if not lines:
        return []
    header = ["Successes against the VLA's on the same episodes (teleported):", ""]
    return [*header, "| round | successes | only the round | only the VLA |", "|---|---:|---:|---:|", *lines, ""]


def tables(out_dir: Path, low_levels: list[str]) -> str:
    """Markdown: one table per set, a row per (method, low level) run under ``out_dir`` and per seeded recipe.

    Each set's table is followed by its rounds' successes against the VLA's (:func:`paired_lines`).
    """
    from navila_agents.vln.metrics import METRIC_COLUMNS
    from navila_agents.vln.report import load_summary

    lines = []
    for set_name in SETS:
        lines += [f"### Test scenes {'without' if set_name == 'clear' else 'with'} glass ({set_name})", ""]
        lines.append("| method | low level | " + " | ".join(METRIC_COLUMNS) + " |")
        lines.append("|---|---|" + "---|" * len(METRIC_COLUMNS))
        for low_level in low_levels:
            summaries = [load_summary(run) for run in (out_dir / low_level).glob(f"*_{set_name}")]
            order = [*METHODS][:1] + sorted({s["config"]["method"] for s in summaries} - set(METHODS)) + [*METHODS][1:]
            for summary in sorted(summaries, key=lambda summary: order.index(summary["config"]["method"])):
                method = summary["label"].split(" | ")[0]
                values = [summary["metrics"][column] for column in METRIC_COLUMNS]
                lines.append(
                    f"| {method} | {LOW_LEVELS[low_level]} | " + " | ".join(metric_cells(values, low_level)) + " |"
                )
            lines += recipe_rows(summaries, low_level)
        lines.append("")
        if "perfect" in low_levels:
            lines += paired_lines(out_dir, set_name)
    return "\n".join(lines)


def model_card(folder: Path, args: argparse.Namespace, results: str) -> str:
    """MODEL_CARD.md of a shipped VLA folder: architecture, data, training per stage, GPU time, results."""
    from navila_agents.vla.training.dataset import dataset_sizes

    config = json.loads((folder / "config.json").read_text())
    vision, text = config["vision_config"], config["text_config"]
    size = sum(path.stat().st_size for path in folder.glob("*.safetensors")) / 2**20
    lines = [
        f"# {folder.name}: a small VLA for the NaVILA command layer",
        "",
        f"LLaVA (`{config['architectures'][0]}`) trained from scratch: a SigLIP vision tower "
        f"({vision['num_hidden_layers']} layers, width {vision['hidden_size']}; {vision['image_size']} px frames in "
        f"{vision['patch_size']} px patches, one decoder token each) and a Llama decoder ({text['num_hidden_layers']} "
        f"layers, width {text['hidden_size']}, {text['vocab_size']} words built from the data); {size:.1f} MiB of "
        "safetensors. Supervised on the full-view oracle's actions, then DAgger. After NaVILA's prompt with 8 frames "
        "it answers the action alone, e.g. `turn left 30 degrees`.",
        "",
        f"Use: `navila vln --vla {folder} ...`; on the robot `navila deploy --vla-server {folder} --instruction ...`.",
        "",
        "## Data",
        "",
        f"`{args.data}` (its README.md has the command): "
        + ", ".join(f"{split} {rows} queries" for split, rows in dataset_sizes(args.data).items())
        + ".",
        "",
        "## Training",
        "",
    ]
    stages = {name: model.parent / "training.json" for name, model in rounds(args).items()}
    for name, summary in (stages | {"shipped": folder / "training.json"}).items():
        if summary.is_file():
            facts = json.loads(summary.read_text())
            lines.append(
                f"- {name}: {facts['steps']} steps, {facts['samples_seen']} samples seen, {facts['train_rows']} "
                f"training rows, validation answer accuracy {facts.get('val_answer_accuracy', float('nan')):.3f}"
            )
    if args.timings is not None and args.timings.is_file():
        stages = [line.split("\t") for line in args.timings.read_text().splitlines() if "\t" in line]
        total = sum(float(seconds) for _, seconds in stages) / 60
        spent = ", ".join(f"{stage} {float(seconds) / 60:.1f}" for stage, seconds in stages)
        lines += ["", f"GPU time: {total:.1f} min in all ({spent})."]
    return "\n".join([*lines, "", "## Results on unseen test scenes", "", results]) + "\n"


def run_workers(argv: list[str], low_levels: list[str], sequential: bool) -> bool:
    """Run one worker process per low level (one at a time if ``sequential``); whether all succeeded."""
    base = [sys.executable, "-m", "navila_benchmarks.vla_results", *argv]
    commands = [[*base, "--worker", low_level] for low_level in low_levels]
    for command in commands:
        print("[vla_results]", shlex.join(command), flush=True)
    processes = []
    for command in commands:
        processes.append(subprocess.Popen(command, cwd=ROOT))
        if sequential:
            processes[-1].wait()
    return all(process.wait() == 0 for process in processes)


def main(argv: list[str]) -> int:
    """Run one worker per low level, then append the tables (and write the model card)."""
    args = parse_args(argv)
    if args.worker is not None:
        return worker(args)
    from navila_agents.locomotion.runtime import resolve_device
    from navila_agents.vla.backends.hf import check_vla_folder
    from navila_lab.provenance import append_markdown, run_heading

    for folder in [args.vla, *rounds(args).values()]:
        check_vla_folder(folder)
    known = [*METHODS, *rounds(args)]
    unknown = [name for name in args.methods or () if name not in known]
    if unknown:
        raise UserError(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    for variant, flag in VARIANT_FLAGS.items():
        if variant in (args.methods or ()) and variant not in asked_variants(args):
            raise UserError(f"--methods {variant} needs {flag}")
    for file in SETS.values():
        if not (args.data / "episodes" / f"{file}.json.gz").is_file():
            raise UserError(f"dataset '{args.data}' has no episodes/{file}.json.gz (made by navila vla-data)")
    if args.from_runs:
        for low_level in args.low_levels:
            if not any((args.out_dir / low_level).glob("*/summary.json")):
                raise UserError(f"--from-runs: no run under '{args.out_dir / low_level}' (score without it first)")
    device = resolve_device(args.device)
    if not args.from_runs and not run_workers(argv, args.low_levels, args.sequential or device == "cpu"):
        print("[vla_results] a worker failed; no report written", file=sys.stderr)
        return 1
    results = tables(args.out_dir, args.low_levels)
    header = "# The VLA end to end (benchmarks/vla_results.py)\n\nOS, SR, SPL in %, NE in m; falls, contacts: counts.\n"
    text = run_heading(device, shlex.join(["navila", "bench", "vla_results", *argv])) + f"\n\n{results}"
    append_markdown(args.report, header, text)
    if args.card is not None:
        (args.card / "MODEL_CARD.md").write_text(model_card(args.card, args, results))
    print(results)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vla_results.py"))

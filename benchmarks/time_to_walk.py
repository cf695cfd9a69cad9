"""Time-to-walk: GPU wall time of training the LiDAR policy from scratch until it tracks 0.5 m/s on flat ground.

"Walks" means: ``navila evaluate --task NaVILA-Go2-Flat --terrain flat --speeds 0.5`` of the checkpoint gives a
linear-velocity tracking error below 0.15 m/s. Three resumable steps on one run directory
(``<log_dir>/<experiment>/<run_name>``)::

    .venv/bin/python benchmarks/time_to_walk.py train --seconds 1200      # repeat to resume; writes time_to_walk.json
    .venv/bin/python benchmarks/time_to_walk.py eval --run-dir logs/ttw/go2_rough_lidar/ttw
    .venv/bin/python benchmarks/time_to_walk.py report --run-dir logs/ttw/go2_rough_lidar/ttw

``train`` runs ``navila train`` (checkpoint every ``--save-every`` iterations) for ``--seconds``, then sends it
SIGINT (it saves the current iteration) and appends the segment to ``<run_dir>/time_to_walk.json``: its launch time
and the write times of the checkpoints it saved. ``eval`` evaluates every checkpoint not evaluated yet into
``<run_dir>/time_to_walk_eval/model_<it>.json``. ``report`` gives each evaluated checkpoint its training wall time
(time since its segment's launch + the full duration of every earlier segment, so each restart's start-up is
counted: an upper bound), prints the table and the two threshold crossings, and appends them to
``results/time_to_walk.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from navila_lab.errors import UserError, run_command
from navila_lab.provenance import append_markdown, git_commit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "time_to_walk.md"
RECORD = "time_to_walk.json"
EVAL_DIR = "time_to_walk_eval"
NUMBERED = re.compile(r"model_(\d+)$")
COLUMNS = ["iteration", "minutes", "forward speed m/s", "lin. vel. error m/s", "falls"]
HEADER = (
    "# Time-to-walk: GPU training time until the LiDAR policy tracks 0.5 m/s on flat ground\n"
    "\n"
    "Written by `benchmarks/time_to_walk.py` (its docstring gives the method). `NaVILA-Go2-Rough-Lidar` is trained\n"
    "from scratch on one GPU (the cfg's 4096 envs) in segments stopped by SIGINT and resumed; every saved checkpoint\n"
    "is evaluated with `navila evaluate --task NaVILA-Go2-Flat --terrain flat --speeds 0.5`. *minutes* = training\n"
    "wall time up to the checkpoint's write: time since its segment's launch + the full duration of every earlier\n"
    "segment, so each restart's start-up (env creation, kernel compilation) is counted: an upper bound. The policy\n"
    "walks once its linear-velocity tracking error is below the threshold.\n"
)


@dataclasses.dataclass(frozen=True)
class FlatEval:
    """Flat-ground metrics of one checkpoint at the 0.5 m/s command."""

    iteration: int
    forward_speed: float
    lin_vel_error: float
    fall_rate: float
    """Fraction of episodes ended by a fall."""
    device: str
    setting: str
    """Envs and policy steps of the evaluation."""


# --------------------------------------------------------------------------------------------------------------------
# Pure logic
# --------------------------------------------------------------------------------------------------------------------


def new_segment(start: float, mtimes: dict[int, float]) -> dict:
    """Record a segment launched at ``start``: the checkpoints (iteration → mtime) written since."""
    return {"start": start, "checkpoints": {str(it): mtime for it, mtime in sorted(mtimes.items()) if mtime >= start}}


def training_seconds(segments: Sequence[dict]) -> dict[int, float]:
    """Return each checkpoint's training wall time: time since its segment's start + earlier segments' durations.

    A segment lasts from its start to its last checkpoint; one without checkpoints adds nothing. A checkpoint saved
    again by a later segment takes that segment's time.
    """
    seconds, before = {}, 0.0
    for segment in segments:
        mtimes = {int(it): mtime for it, mtime in segment["checkpoints"].items()}
        seconds.update({it: before + mtime - segment["start"] for it, mtime in mtimes.items()})
        before += max(mtimes.values(), default=segment["start"]) - segment["start"]
    return seconds


def first_below(errors: dict[int, float], threshold: float) -> int | None:
    """Return the first iteration whose error is below ``threshold``, or None."""
    return next((it for it in sorted(errors) if errors[it] < threshold), None)


def stays_below(errors: dict[int, float], threshold: float) -> int | None:
    """Return the first iteration from which every later iteration's error stays below ``threshold``, or None."""
    first = None
    for it in sorted(errors, reverse=True):
        if errors[it] >= threshold:
            break
        first = it
    return first


def table_rows(evals: Sequence[FlatEval], seconds: dict[int, float]) -> list[list[str]]:
    """Format one row per evaluated checkpoint: iteration, minutes of training, forward speed, error, falls."""
    return [
        [str(e.iteration), f"{seconds[e.iteration] / 60:.1f}", f"{e.forward_speed:.3f}", f"{e.lin_vel_error:.3f}",
         f"{100 * e.fall_rate:.1f}%"]
        for e in evals
    ]  # fmt: skip


def crossing_lines(evals: Sequence[FlatEval], seconds: dict[int, float], threshold: float) -> list[str]:
    """Name the first checkpoint below ``threshold`` and the first from which all later ones stay below."""
    errors = {e.iteration: e.lin_vel_error for e in evals}

    def when(it: int | None) -> str:
        return "never" if it is None else f"iteration {it} after {seconds[it] / 60:.1f} min"

    return [
        f"First checkpoint with lin. vel. error < {threshold} m/s: {when(first_below(errors, threshold))}.",
        f"Stays < {threshold} m/s (every later evaluated checkpoint too) from: {when(stays_below(errors, threshold))}.",
    ]


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """Format the rows under :data:`COLUMNS` as a markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---:|" * len(COLUMNS)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


# --------------------------------------------------------------------------------------------------------------------
# Run directory
# --------------------------------------------------------------------------------------------------------------------


def numbered(folder: Path, suffix: str) -> dict[int, Path]:
    """Return the ``model_<iteration><suffix>`` files of ``folder`` by iteration."""
    matches = ((NUMBERED.match(path.stem), path) for path in folder.glob(f"model_*{suffix}"))
    return {int(match.group(1)): path for match, path in matches if match}


def checkpoints(run_dir: Path) -> dict[int, Path]:
    """Return the run's checkpoints by iteration."""
    return numbered(run_dir, ".pt")


def existing_run_dir(path: Path) -> Path:
    """Return ``path`` if it is a directory, else raise a :class:`UserError`."""
    if not path.is_dir():
        raise UserError(f"no run directory {path}")
    return path


def find_run_dir(log_dir: Path, run_name: str) -> Path | None:
    """Return the run directory ``<log_dir>/<experiment>/<run_name>`` (experiment: the runner cfg's), if any."""
    return next(iter(sorted(log_dir.glob(f"*/{run_name}"))), None)


def read_segments(run_dir: Path) -> list[dict]:
    """Read the training segments recorded in the run directory (empty when none)."""
    record = run_dir / RECORD
    return json.loads(record.read_text()) if record.exists() else []


def read_eval(iteration: int, path: Path) -> FlatEval:
    """Read the flat-ground metrics of a checkpoint's ``navila evaluate`` result file."""
    try:
        data = json.loads(path.read_text())
        flat = data["policies"][0]["terrains"]["flat"]
        setting = f"{data['eval_set']['num_envs']} envs × {data['eval_set']['steps']} steps"
        return FlatEval(
            iteration, flat["forward_speed"], flat["lin_vel_error"], flat["fall_rate"], data["device"], setting
        )
    except (json.JSONDecodeError, KeyError, IndexError) as error:
        raise UserError(f"{path} is not a flat-ground navila evaluate result ({error!r})") from error


# --------------------------------------------------------------------------------------------------------------------
# Subcommands
# --------------------------------------------------------------------------------------------------------------------


def train(args: argparse.Namespace) -> int:
    """Train (or resume) for ``args.seconds``, then record the segment."""
    previous = find_run_dir(args.log_dir, args.run_name)
    resume = ["--resume", str(previous)] if previous is not None and checkpoints(previous) else []
    command = [
        sys.executable, "-m", "navila_cli", "train", "--task", args.task, "--device", args.device,
        "--max_iterations", "100000", "--log_dir", str(args.log_dir), "--run_name", args.run_name, *resume,
        f"agent.save_interval={args.save_every}",
    ]  # fmt: skip
    print("[time_to_walk]", shlex.join(command), flush=True)
    start = time.time()
    process = subprocess.Popen(command)
    try:
        process.wait(timeout=args.seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        process.wait()
    except KeyboardInterrupt:  # the trainer got the same SIGINT: let it save
        process.wait()
    run_dir = find_run_dir(args.log_dir, args.run_name)
    if run_dir is None:
        raise UserError(f"navila train wrote no run directory {args.log_dir}/*/{args.run_name}")
    segment = new_segment(start, {it: path.stat().st_mtime for it, path in checkpoints(run_dir).items()})
    (run_dir / RECORD).write_text(json.dumps([*read_segments(run_dir), segment], indent=2))
    print(f"[time_to_walk] segment with {len(segment['checkpoints'])} checkpoints recorded in {run_dir / RECORD}")
    return 0 if process.returncode in (0, 130, -signal.SIGINT) else 1


def evaluate(args: argparse.Namespace) -> int:
    """Evaluate every checkpoint of the run without a result yet, ``args.jobs`` at a time."""
    run_dir = existing_run_dir(args.run_dir)
    found = checkpoints(run_dir)
    if not found:
        raise UserError(f"no checkpoints (model_*.pt) in {run_dir}")
    out_dir = run_dir / EVAL_DIR
    out_dir.mkdir(exist_ok=True)
    todo = {it: path for it, path in sorted(found.items()) if not (out_dir / f"model_{it}.json").exists()}
    print(f"[time_to_walk] evaluating {len(todo)} of {len(found)} checkpoints into {out_dir}", flush=True)

    def run(iteration: int, checkpoint: Path) -> bool:
        out = out_dir / f"model_{iteration}.json"
        command = [
            sys.executable, "-m", "navila_cli", "evaluate", "--policy", str(checkpoint), "--task", "NaVILA-Go2-Flat",
            "--terrain", "flat", "--speeds", "0.5", "--num_envs", str(args.num_envs), "--steps", str(args.steps),
            "--device", args.device, "--out", str(out),
        ]  # fmt: skip
        log = out.with_suffix(".log")
        with log.open("w") as file:
            code = subprocess.run(command, stdout=file, stderr=subprocess.STDOUT).returncode
        if code != 0 or not out.exists():
            print(f"[time_to_walk] model_{iteration}.pt: navila evaluate failed (code {code}), see {log}", flush=True)
            return False
        print(f"[time_to_walk] model_{iteration}.pt: {out}", flush=True)
        return True

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        passed = list(pool.map(run, todo, todo.values()))
    return 0 if all(passed) else 1


def report(args: argparse.Namespace) -> int:
    """Print the time-to-walk table and append it to the results file."""
    run_dir = existing_run_dir(args.run_dir)
    seconds = training_seconds(read_segments(run_dir))
    evals = [read_eval(it, path) for it, path in sorted(numbered(run_dir / EVAL_DIR, ".json").items())]
    if not evals:
        raise UserError(f"no eval results in {run_dir / EVAL_DIR} (run the eval step first)")
    untimed = [e.iteration for e in evals if e.iteration not in seconds]
    if untimed:
        raise UserError(f"no training time recorded in {run_dir / RECORD} for iterations {untimed}")
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    devices = " / ".join(sorted({e.device for e in evals}))
    settings = " / ".join(sorted({e.setting for e in evals}))
    lines = crossing_lines(evals, seconds, args.threshold)
    note = "Minutes include every restart's start-up (env creation, kernel compilation): an upper bound."
    section = (
        f"\n## {date} · {git_commit()} · {devices} · {run_dir} · eval {settings}\n\n"
        + markdown_table(table_rows(evals, seconds))
        + "\n"
        + "".join(f"{line}\n" for line in [*lines, note])
    )
    print(section)
    append_markdown(args.results, HEADER, section)
    print(f"[time_to_walk] appended to {args.results}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train or resume for a while, then record the segment")
    train_parser.add_argument("--seconds", type=float, required=True, help="wall time before SIGINT")
    train_parser.add_argument("--task", default="NaVILA-Go2-Rough-Lidar", help="gym task id")
    train_parser.add_argument("--device", default="cuda", help="cuda or cuda:N")
    train_parser.add_argument("--log-dir", type=Path, default=Path("logs/ttw"), help="root of the run directories")
    train_parser.add_argument("--run-name", default="ttw", help="run directory name")
    train_parser.add_argument("--save-every", type=int, default=25, help="checkpoint interval (iterations)")
    train_parser.set_defaults(func=train)
    eval_parser = commands.add_parser("eval", help="evaluate the run's checkpoints at 0.5 m/s on flat ground")
    eval_parser.add_argument("--run-dir", type=Path, required=True, help="<log_dir>/<experiment>/<run_name>")
    eval_parser.add_argument("--device", default="cuda", help="cuda or cuda:N")
    eval_parser.add_argument("--jobs", type=int, default=8, help="evaluations run at once")
    eval_parser.add_argument("--num-envs", type=int, default=64, help="envs per evaluation")
    eval_parser.add_argument("--steps", type=int, default=250, help="policy steps per evaluation (50 per second)")
    eval_parser.set_defaults(func=evaluate)
    report_parser = commands.add_parser("report", help="print the table and append it to the results file")
    report_parser.add_argument("--run-dir", type=Path, required=True, help="<log_dir>/<experiment>/<run_name>")
    report_parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to append to")
    report_parser.add_argument("--threshold", type=float, default=0.15, help="lin. vel. error that counts as walking")
    report_parser.set_defaults(func=report)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the chosen step; input mistakes become one line on stderr and exit code 2."""
    args = parse_args(argv)
    try:
        return args.func(args)
    except UserError as error:
        print(f"time_to_walk {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/time_to_walk.py"))

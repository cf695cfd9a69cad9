"""Multi-GPU scaling of ``navila train --distributed``: collection steps/s and time per PPO iteration at 1, 2, 4 GPUs.

For each GPU count n, runs ``navila train --distributed --nproc n`` (torchrun, NCCL, NVLink multicast off) on
NaVILA-Go2-Rough-Lidar with 4096 envs per GPU for a few iterations, reads rank 0's per-iteration timing from the run's
TensorBoard events (rsl_rl's ``Perf/collection_time`` and ``Perf/learning_time``), drops the warm-up iterations (the
first compiles the CUDA kernels) and reports weak-scaling efficiency, steps/s at n GPUs / (n × steps/s at 1 GPU), with
the 1-GPU run of the same invocation as the reference. Rows are appended to results/multi_gpu.md.

Usage: python benchmarks/multi_gpu_scaling.py [--gpus 1,2,4] [--iterations 12] [--warmup 2] [--dry-run]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from navila_lab import provenance
from navila_lab.errors import run_command

RESULTS = Path(__file__).resolve().parents[1] / "results" / "multi_gpu.md"
HEADER = (
    "# Multi-GPU scaling (benchmarks/multi_gpu_scaling.py)\n\n"
    "`navila train --distributed --nproc N` (rsl_rl PPO over torch.distributed/NCCL, one process per GPU, NVLink\n"
    "multicast off), fixed envs per GPU. Times are rank 0's per-iteration means after the warm-up iterations;\n"
    "collection steps/s = steps per env × envs per GPU × GPUs / collection time; efficiency = steps/s at N GPUs /\n"
    "(N × steps/s at 1 GPU of the same invocation), over the whole iteration and over collection alone.\n\n"
    "| date | commit | device | task | envs/GPU | GPUs | iterations timed | collection steps/s | collection s "
    "| learning s | iteration s | steps/s | efficiency | collection efficiency |\n"
    "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
)
TARGET_EFFICIENCY = 0.85
"""Issue #6: at least 85% at 2 GPUs."""


@dataclass(frozen=True)
class Timing:
    """Rank 0's timing of one run at a GPU count."""

    gpus: int
    envs_per_gpu: int
    steps_per_env: int
    collection_s: list[float]
    learning_s: list[float]

    @property
    def steps_per_iteration(self) -> int:
        """Env steps collected per iteration over all GPUs."""
        return self.steps_per_env * self.envs_per_gpu * self.gpus

    @property
    def mean_collection_s(self) -> float:
        """Mean collection time per iteration."""
        return statistics.fmean(self.collection_s)

    @property
    def mean_learning_s(self) -> float:
        """Mean learning (PPO update) time per iteration."""
        return statistics.fmean(self.learning_s)

    @property
    def iteration_s(self) -> float:
        """Mean wall time per iteration."""
        return self.mean_collection_s + self.mean_learning_s

    @property
    def collection_steps_per_s(self) -> float:
        """Env steps per second while collecting."""
        return self.steps_per_iteration / self.mean_collection_s

    @property
    def steps_per_s(self) -> float:
        """Env steps per second over whole iterations (collection and learning)."""
        return self.steps_per_iteration / self.iteration_s


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", default="1,2,4", help="GPU counts, comma-separated (default: 1,2,4, those visible)")
    parser.add_argument("--task", default="NaVILA-Go2-Rough-Lidar", help="task id (default: NaVILA-Go2-Rough-Lidar)")
    parser.add_argument("--num_envs", type=int, default=4096, help="envs per GPU (default: 4096)")
    parser.add_argument("--iterations", type=int, default=12, help="PPO iterations per run (default: 12)")
    parser.add_argument("--warmup", type=int, default=2, help="first iterations left out of the means (default: 2)")
    parser.add_argument("--log_dir", default=tempfile.gettempdir(), help="parent of the runs' fresh directory")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file the rows are appended to")
    parser.add_argument("--no-record", action="store_true", help="print the table only, append nothing")
    parser.add_argument("--dry-run", action="store_true", help="print the training commands, run nothing")
    args = parser.parse_args(argv)
    try:
        args.gpus = sorted({int(count) for count in args.gpus.split(",")})
    except ValueError:
        parser.error(f"--gpus takes comma-separated integers, got '{args.gpus}'")
    if args.gpus[0] < 1 or args.num_envs < 1 or args.warmup < 0 or args.iterations <= args.warmup:
        parser.error("GPU counts and --num_envs must be positive, and --iterations must exceed --warmup")
    return args


def train_command(task: str, gpus: int, envs_per_gpu: int, iterations: int, log_dir: Path) -> list[str]:
    """``navila train`` on ``gpus`` GPUs (it re-runs itself under torchrun); the run lands in ``*/gpus<N>``."""
    return [
        sys.executable, "-m", "navila_cli", "train", "--distributed", "--nproc", str(gpus), "--device", "cuda",
        "--task", task, "--num_envs", str(envs_per_gpu), "--max_iterations", str(iterations),
        "--log_dir", str(log_dir), "--run_name", f"gpus{gpus}",
    ]  # fmt: skip


def read_timing(run_dir: Path, gpus: int, envs_per_gpu: int, warmup: int) -> Timing:
    """Rank 0's per-iteration times from the TensorBoard events of ``run_dir``, warm-up iterations dropped."""
    from isaaclab.utils.io import load_yaml
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    series = {
        tag: [event.value for event in sorted(events.Scalars(tag), key=lambda event: event.step)][warmup:]
        for tag in ("Perf/collection_time", "Perf/learning_time")
    }
    if not series["Perf/collection_time"]:
        raise ValueError(f"{run_dir}: no iterations logged after the {warmup} warm-up ones")
    steps_per_env = load_yaml(str(run_dir / "params" / "agent.yaml"))["num_steps_per_env"]  # written by dump_yaml
    return Timing(gpus, envs_per_gpu, steps_per_env, series["Perf/collection_time"], series["Perf/learning_time"])


def efficiencies(timing: Timing, reference: Timing | None) -> tuple[float | None, float | None]:
    """Weak-scaling efficiency against the 1-GPU ``reference``: whole iterations, collection alone."""
    if reference is None:
        return None, None
    return (
        timing.steps_per_s / (timing.gpus * reference.steps_per_s),
        timing.collection_steps_per_s / (timing.gpus * reference.collection_steps_per_s),
    )


def table_rows(timings: list[Timing]) -> list[list[str]]:
    """Per GPU count: GPUs, iterations timed, collection steps/s, collection/learning/iteration s, steps/s, effs."""
    reference = next((timing for timing in timings if timing.gpus == 1), None)
    rows = []
    for timing in timings:
        efficiency = [f"{value:.0%}" if value is not None else "-" for value in efficiencies(timing, reference)]
        rows.append([
            str(timing.gpus), str(len(timing.collection_s)), f"{timing.collection_steps_per_s:,.0f}",
            f"{timing.mean_collection_s:.3f}", f"{timing.mean_learning_s:.3f}", f"{timing.iteration_s:.3f}",
            f"{timing.steps_per_s:,.0f}", *efficiency,
        ])  # fmt: skip
    return rows


def append_results(path: Path, timings: list[Timing], meta: dict[str, str], task: str) -> None:
    """Append one row per GPU count to the results file (header first when the file is new)."""
    lead = [meta["date"], meta["commit"], meta["device"], task, str(timings[0].envs_per_gpu)]
    text = "".join(f"| {' | '.join(lead + row)} |\n" for row in table_rows(timings))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = HEADER + text
    with path.open("a") as file:
        file.write(text)


def run(command: list[str], log_path: Path) -> None:
    """Run one training command, its output in ``log_path``; a failure ends the benchmark with the log's tail."""
    with log_path.open("w") as log:
        returncode = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
    if returncode != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-40:])
        raise SystemExit(f"{shlex.join(command)} failed ({returncode}); last lines of {log_path}:\n{tail}")


def main(argv: list[str]) -> int:
    """Train at each GPU count, print the scaling table, record it."""
    args = parse_args(argv)
    log_dir = Path(args.log_dir, f"navila_multi_gpu_{datetime.now():%Y-%m-%d_%H-%M-%S}")
    commands = {gpus: train_command(args.task, gpus, args.num_envs, args.iterations, log_dir) for gpus in args.gpus}
    if args.dry_run:
        print("\n".join(shlex.join(command) for command in commands.values()))
        return 0

    import torch

    visible = torch.cuda.device_count()
    if args.gpus[-1] > visible:
        print(f"[multi_gpu] {visible} GPU(s) visible: measuring {[g for g in args.gpus if g <= visible]}")
    log_dir.mkdir(parents=True)
    timings = []
    for gpus, command in commands.items():
        if gpus > visible:
            continue
        print(f"[multi_gpu] {gpus} GPU(s): {shlex.join(command)}", flush=True)
        run(command, log_dir / f"gpus{gpus}.log")
        (run_dir,) = log_dir.glob(f"*/gpus{gpus}")
        timings.append(read_timing(run_dir, gpus, args.num_envs, args.warmup))
    if not timings:
        raise SystemExit("[multi_gpu] no GPU visible: nothing to measure")

    meta = provenance.stamp("cuda:0")
    meta["device"] = f"{visible}× {meta['device']}"
    print(f"\n{args.task}, {args.num_envs} envs per GPU, {meta['device']}, commit {meta['commit']}")
    names = ["GPUs", "iters", "collect steps/s", "collect s", "learn s", "iter s", "steps/s", "eff", "collect eff"]
    for row in [names, *table_rows(timings)]:
        print("  ".join(f"{cell:>15}" for cell in row))
    two = next((timing for timing in timings if timing.gpus == 2), None)
    reference = next((timing for timing in timings if timing.gpus == 1), None)
    if two and reference:
        efficiency = efficiencies(two, reference)[0]
        verdict = "meets" if efficiency >= TARGET_EFFICIENCY else "misses"
        print(f"2-GPU efficiency {efficiency:.0%} {verdict} the {TARGET_EFFICIENCY:.0%} target")
    if not args.no_record:
        append_results(args.results, timings, meta, args.task)
        print(f"[multi_gpu] appended to {args.results}; runs and logs in {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/multi_gpu_scaling.py"))

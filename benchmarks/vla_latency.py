"""Latency of a VLA folder through the ``hf`` backend: a batch of queries on the GPU, one query on the CPU.

Each query is 8 frames and an instruction, answered end to end (processor, generation, decoding). The frames are
rendered ones from a ``navila vla-data`` test split when ``--data`` is given, random ones otherwise. Reports the
median and 90th percentile over ``--repeats`` timed calls after ``--warmup`` untimed ones and appends them to
``results/vla_latency.md``. On the GPU each of ``--gpu-dtypes`` is measured in the same run, with the share of the
batch's answers equal to the first dtype's (the baseline: the checkpoint's float32). On each device the batch's model
inputs are also built both ways, by the processor itself (the baseline) and by the backend's ``PromptEncoder``, and
the ratio printed. A model that reads its action history (``navila vla-train --action-history``) is given each
query's executed answers (the dataset's; none for random frames), so its prompts are as long as in an episode. The
issue's targets: 32 queries batched on one H200 ≤ 20 ms; one query on 2 CPU cores (the
robot's) ≤ 100 ms::

    navila bench vla_latency --vla policies/vla_small --data runs/vla/data
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from navila_lab.errors import UserError, run_command

if TYPE_CHECKING:
    from navila_agents.vla.backends.hf import HFBackend

ROOT = Path(__file__).resolve().parents[1]
DTYPES = ("float32", "bfloat16")
"""``--gpu-dtypes`` choices: names of ``torch`` dtypes."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vla", type=Path, required=True, help="VLA model folder")
    parser.add_argument("--data", type=Path, default=None, help="dataset whose test frames are the queries")
    parser.add_argument("--batch", type=int, default=32, help="queries per GPU call")
    parser.add_argument("--cpu-threads", type=int, default=2, help="torch threads of the CPU measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls")
    parser.add_argument("--devices", nargs="+", choices=("cuda", "cpu"), default=["cuda", "cpu"])
    parser.add_argument(
        "--gpu-dtypes",
        nargs="+",
        choices=DTYPES,
        default=list(DTYPES),
        help="weight dtypes of the GPU measurement, the first one the baseline",
    )
    parser.add_argument("--report", type=Path, default=ROOT / "results" / "vla_latency.md", help="file to append to")
    return parser.parse_args(argv)


def queries(args: argparse.Namespace, count: int, size: int) -> tuple[list[np.ndarray], list[str], list[list[str]]]:
    """``count`` queries: frames (8, H, W, 3), instruction, answers executed before it in its episode.

    From the dataset's test split, or random (no answers executed).
    """
    if args.data is not None:
        from navila_agents.vla.training.dataset import QuerySamples, executed_before, load_dataset_dir

        data = load_dataset_dir(args.data)
        split = data["test"] if "test" in data else next(iter(data.values()))
        samples = QuerySamples(split)
        rows = [int(index) for index in np.linspace(0, len(samples) - 1, count).round()]
        picked = [samples[row] for row in rows]
        executed, steps = list(split["executed"]), list(split["step"])
        histories = [list(executed_before(executed, steps, row)) for row in rows]
        return [frames for frames, _, _ in picked], [instruction for _, instruction, _ in picked], histories
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (8, size, size, 3), dtype=np.uint8) for _ in range(count)]
    instruction = "Walk past the red sofa, go through the door and stop next to the green plant."
    return frames, [instruction] * count, [[] for _ in range(count)]


def given_histories(backend: HFBackend, instructions: list[str], histories: list[list[str]]) -> list[str]:
    """A history reader gets each query's executed answers (query i is env i); the instructions its prompts hold."""
    if backend.action_history:
        backend.set_history(range(len(histories)), histories)
    return backend.read_instructions(instructions)


def timed(call: Callable[[], object], warmup: int, repeats: int, synchronize: Callable[[], None]) -> list[float]:
    """Wall times (ms) of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        call()
        synchronize()
        times.append(1000 * (time.perf_counter() - start))
    return times


def encoding_rows(
    backend: HFBackend, frames: list[np.ndarray], instructions: list[str], args: argparse.Namespace, device: str
) -> list[tuple[str, str, list[float], str]]:
    """Rows of the batch's model inputs built by the processor (baseline) and by ``backend.encode``, on its device."""
    import torch
    from navila_agents.vla.backends.hf import processor_inputs

    target = backend.model.device
    synchronize = torch.cuda.synchronize if target.type == "cuda" else lambda: None
    return [
        (f"{len(frames)} queries encoded, {name}", device, timed(call, args.warmup, args.repeats, synchronize), "–")
        for name, call in (
            ("processor", partial(processor_inputs, backend.processor, frames, instructions, target)),
            ("PromptEncoder", partial(backend.encode, frames, instructions, target)),
        )
    ]


def main(argv: list[str]) -> int:
    """Measure, print and append the latencies."""
    args = parse_args(argv)
    if min(args.batch, args.cpu_threads, args.repeats) < 1 or args.warmup < 0:
        raise UserError("--batch, --cpu-threads and --repeats must be positive, --warmup 0 or more")
    import torch
    from navila_agents.vla.backends.hf import HFBackend, check_vla_folder, model_image_size
    from navila_lab.provenance import append_markdown, stamp

    check_vla_folder(args.vla)
    frames, instructions, histories = queries(args, args.batch, model_image_size(args.vla) or 96)
    rows = []
    if "cuda" in args.devices and torch.cuda.is_available():
        baseline = None
        for name in args.gpu_dtypes:
            backend = HFBackend(args.vla, device="cuda", dtype=getattr(torch, name), max_new_tokens=8)
            prompts = given_histories(backend, instructions, histories)
            answers = backend.act_batch(frames, instructions)
            baseline = baseline or answers
            same = sum(a == b for a, b in zip(answers, baseline, strict=True)) / len(answers)
            batched = partial(backend.act_batch, frames, instructions)
            times = timed(batched, args.warmup, args.repeats, torch.cuda.synchronize)
            rows.append((f"{args.batch} queries batched, {name}", stamp("cuda")["device"], times, f"{same:.2f}"))
        rows += encoding_rows(backend, frames, prompts, args, stamp("cuda")["device"])
    if "cpu" in args.devices:
        torch.set_num_threads(args.cpu_threads)
        backend = HFBackend(args.vla, device="cpu", max_new_tokens=8)
        prompts = given_histories(backend, instructions, histories)
        times = timed(lambda: backend.act(frames[0], instructions[0]), args.warmup, args.repeats, lambda: None)
        cpu = f"{stamp('cpu')['device']}, {args.cpu_threads} torch threads"
        rows.append(("1 query", cpu, times, "–"))
        rows += encoding_rows(backend, frames, prompts, args, cpu)
    if not rows:
        raise UserError(f"nothing to measure: --devices {' '.join(args.devices)} and CUDA is not available")
    lines = ["| call | device | median ms | p90 ms | answers as the first GPU dtype's |", "|---|---|---:|---:|---:|"]
    medians = {}
    for call, device, times, same in rows:
        median, p90 = statistics.median(times), np.percentile(times, 90)
        medians[call, device] = median
        lines.append(f"| {call} | {device} | {median:.1f} | {p90:.1f} | {same} |")
    lines.append("")
    for (call, device), median in medians.items():
        if call.endswith("PromptEncoder"):
            baseline = medians[call.removesuffix("PromptEncoder") + "processor", device]
            lines.append(f"Encoding on {device}: PromptEncoder / processor = {median / baseline:.2f}×")
    facts = stamp("cpu")
    source = "dataset test frames" if args.data else "random frames"
    text = (
        f"\n## {facts['date']}, tree `{facts['commit']}`\n\n`{shlex.join(['navila', 'bench', 'vla_latency', *argv])}`"
        f" ({source}, {args.repeats} timed calls after {args.warmup})\n\n" + "\n".join(lines) + "\n"
    )
    append_markdown(args.report, "# VLA latency (benchmarks/vla_latency.py)\n", text)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vla_latency.py"))

"""Does more VLA data pay? The expert's answer predicted from the current frame alone, by training-set size.

A small CNN (3 convolutions, no language, no history) is trained for the same number of steps on the rows of the
first ``N`` training scenes (scenes drawn at random, all their rows kept) of ``navila vla-data`` sets, for each ``N``
and seed, and scored on the first set's validation split against the majority answer. It is a cheap probe of how
much visual signal the labels carry at each data size, not the VLA: the VLA also reads the instruction and 7 older
frames. Appends a table to ``results/vla_data_scaling.md``::

    python benchmarks/vla_data_scaling.py --data logs/vla_cpu/data logs/vla_cpu/extra_* --scenes 64 192 1992
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from navila_lab.errors import UserError, run_command

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="vla-data folders (validation: the first)")
    parser.add_argument("--scenes", type=int, nargs="+", required=True, help="training scenes per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of scene draw and training")
    parser.add_argument("--steps", type=int, default=1500, help="optimizer steps of every run")
    parser.add_argument("--batch", type=int, default=64, help="frames per step")
    parser.add_argument("--report", type=Path, default=ROOT / "results" / "vla_data_scaling.md", help="file to append")
    return parser.parse_args(argv)


def frames_and_answers(split: object) -> tuple[np.ndarray, list[str]]:
    """Current frames (N, 3, H, W) uint8 and expert answers of a dataset split."""
    first = np.asarray(split[0]["frame"].convert("RGB"))
    frames = np.empty((len(split), 3, *first.shape[:2]), dtype=np.uint8)
    for index, image in enumerate(split.select_columns(["frame"])):
        frames[index] = np.asarray(image["frame"].convert("RGB")).transpose(2, 0, 1)
    return frames, list(split["answer"])


def train_and_score(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    classes: int,
    args: argparse.Namespace,
    seed: int,
) -> float:
    """Train the probe CNN for ``args.steps`` steps; return its validation accuracy."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 32, 5, 2, 2),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, 2, 1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, 2, 1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(1024, 128),
        nn.ReLU(),
        nn.Linear(128, classes),
    )
    optimizer = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=0.05)
    frames, labels = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    generator = torch.Generator().manual_seed(seed)
    for _ in range(args.steps):
        index = torch.randint(len(labels), (args.batch,), generator=generator)
        loss = nn.functional.cross_entropy(net(frames[index].float() / 255), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        predicted = torch.cat([net(chunk.float() / 255).argmax(1) for chunk in torch.from_numpy(val[0]).split(512)])
    return (predicted.numpy() == val[1]).mean().item()


def main(argv: list[str]) -> int:
    """Train the probe at every size and seed; print and append the table."""
    args = parse_args(argv)
    if min(args.scenes) <= 0 or args.steps <= 0 or args.batch <= 0:
        raise UserError("--scenes, --steps and --batch must be positive")
    from navila_agents.vla.training.dataset import concat_split, load_dataset_dir
    from navila_lab.provenance import append_markdown, run_heading

    datasets = [load_dataset_dir(path) for path in args.data]
    train_split, val_split = concat_split(datasets, "train"), concat_split(datasets[:1], "validation")
    if train_split is None or val_split is None:
        raise UserError("the datasets hold no train rows, or the first no validation rows")
    scene_ids = np.asarray(train_split["scene_id"])
    scenes = sorted(set(scene_ids))
    if max(args.scenes) > len(scenes):
        raise UserError(f"--scenes {max(args.scenes)}: the datasets hold {len(scenes)} training scenes")
    print(f"decoding {len(scene_ids)} training and {len(val_split)} validation frames")
    train_frames, train_answers = frames_and_answers(train_split)
    val_frames, val_answers = frames_and_answers(val_split)
    classes = sorted(set(train_answers) | set(val_answers))
    train_labels = np.asarray([classes.index(answer) for answer in train_answers])
    val_labels = np.asarray([classes.index(answer) for answer in val_answers])
    majority = Counter(val_labels.tolist()).most_common(1)[0][1] / len(val_labels)
    lines = [
        "| training scenes | training frames (mean) | accuracy (mean ± sd over seeds) | majority answer | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for count in args.scenes:
        accuracies, sizes = [], []
        for seed in args.seeds:
            chosen = np.random.default_rng(seed).choice(scenes, count, replace=False)
            rows = np.flatnonzero(np.isin(scene_ids, chosen))
            sizes.append(len(rows))
            train = (train_frames[rows], train_labels[rows])
            accuracies.append(train_and_score(train, (val_frames, val_labels), len(classes), args, seed))
            print(f"scenes {count} seed {seed}: {len(rows)} frames, accuracy {accuracies[-1]:.3f}")
        mean = statistics.mean(accuracies)
        spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        lines.append(
            f"| {count} | {statistics.mean(sizes):.0f} | {mean:.3f} ± {spread:.3f} | {majority:.3f} |"
            f" {mean / majority:.2f}× |"
        )
    text = (
        run_heading("cpu", shlex.join(["python", "benchmarks/vla_data_scaling.py", *argv]))
        + f": {args.steps} steps of {args.batch} frames per run, seeds {' '.join(map(str, args.seeds))}, "
        f"{len(val_labels)} validation frames, {len(classes)} answers\n\n" + "\n".join(lines) + "\n"
    )
    append_markdown(args.report, "# VLA data scaling (benchmarks/vla_data_scaling.py)\n", text)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vla_data_scaling.py"))

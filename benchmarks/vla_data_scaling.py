"""Does more VLA data pay, and which inputs carry the expert's answer? Cheap probes, by training-set size.

A small probe network is trained for the same number of steps on the rows of ``N`` training scenes (drawn at random,
all their rows kept) of ``navila vla-data`` sets, for each ``N``, probe variant and seed, and scored on the first set's
validation split against the majority answer. Variants (``--probes``):

- ``frame``: a CNN (3 convolutions) on the current frame alone;
- ``frame+text``: the CNN plus a GRU over the instruction's words and the query index (capped at 7, as far as the
  VLA's 8 frames can tell it);
- ``+history``: the CNN also sees the previous query's frame (stacked channels; black at an episode's first query);
- any of them with ``+mirror``: half the training samples mirrored
  (:func:`~navila_agents.vla.mirror.mirror_query`, ``navila vla-train --mirror-probability 0.5``).

Besides answer accuracy the table gives the turn-side accuracy: of the validation queries whose expert answer is a
turn, the share answered with a turn to the same side. It is a probe of what the labels carry, not the VLA (which
also sees 7 older frames). Appends a table to ``results/vla_data_scaling.md``::

    python benchmarks/vla_data_scaling.py --data logs/vla_cpu/data logs/vla_cpu/extra_* --scenes 64 192 1992
    python benchmarks/vla_data_scaling.py --data logs/vla_cpu/data --scenes 192 --probes frame frame+text{,+mirror}
"""

from __future__ import annotations

import argparse
import re
import shlex
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from navila_lab.errors import UserError, run_command

ROOT = Path(__file__).resolve().parents[1]
PROBES = tuple(
    "+".join(["frame", *parts])
    for parts in ((), ("mirror",), ("text",), ("text", "mirror"), ("history", "text"), ("history", "text", "mirror"))
)
MIRROR_PROBABILITY = 0.5
"""Share of a ``+mirror`` probe's training samples drawn mirrored."""
MAX_WORDS = 64
"""Instruction words the text probe reads (the rest are cut)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="vla-data folders (validation: the first)")
    parser.add_argument("--scenes", type=int, nargs="+", required=True, help="training scenes per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of scene draw and training")
    parser.add_argument("--steps", type=int, default=1500, help="optimizer steps of every run")
    parser.add_argument("--batch", type=int, default=64, help="frames per step")
    parser.add_argument("--probes", nargs="+", choices=PROBES, default=["frame"], help="probe variants to train")
    parser.add_argument("--report", type=Path, default=ROOT / "results" / "vla_data_scaling.md", help="file to append")
    return parser.parse_args(argv)


@dataclass
class Split:
    """What the probes read of a dataset split.

    Current frames (N, 3, H, W) uint8, the row of the episode's previous query (N,) (-1 at its first), word ids
    (N, MAX_WORDS), capped query index (N,), answer ids (N,); ``mirrored_words`` and ``mirrored_answers`` are those
    of the mirrored queries.
    """

    frames: np.ndarray
    previous: np.ndarray
    words: np.ndarray
    steps: np.ndarray
    answers: np.ndarray
    mirrored_words: np.ndarray
    mirrored_answers: np.ndarray


def words_of(text: str) -> list[str]:
    """The lower-case words of ``text``, as the text probe reads them."""
    return re.findall(r"[a-z]+", text.lower())


def word_ids(texts: list[str], vocabulary: dict[str, int]) -> np.ndarray:
    """(len(texts), MAX_WORDS) ids of each text's lower-case words: 0 pads, 1 is an unknown word."""
    ids = np.zeros((len(texts), MAX_WORDS), dtype=np.int64)
    for row, text in enumerate(texts):
        words = [vocabulary.get(word, 1) for word in words_of(text)[:MAX_WORDS]]
        ids[row, : len(words)] = words
    return ids


def read_split(split: object, classes: list[str], vocabulary: dict[str, int]) -> Split:
    """Decode a dataset split for the probes (answers as indices of ``classes``)."""
    from navila_agents.vla.mirror import mirror_text

    first = np.asarray(split[0]["frame"].convert("RGB"))
    frames = np.empty((len(split), 3, *first.shape[:2]), dtype=np.uint8)
    for index, image in enumerate(split.select_columns(["frame"])):
        frames[index] = np.asarray(image["frame"].convert("RGB")).transpose(2, 0, 1)
    instructions, answers = list(split["instruction"]), list(split["answer"])
    episodes, steps = np.asarray(split["episode"]), np.asarray(split["step"])
    previous = np.arange(len(split)) - 1
    previous[(steps == 0) | (episodes != np.roll(episodes, 1))] = -1  # an episode's rows are contiguous
    return Split(
        frames,
        previous,
        word_ids(instructions, vocabulary),
        np.minimum(steps, 7).astype(np.float32) / 7,
        np.asarray([classes.index(answer) for answer in answers]),
        word_ids([mirror_text(text) for text in instructions], vocabulary),
        np.asarray([classes.index(mirror_text(answer)) for answer in answers]),
    )


def train_and_score(
    train: Split, rows: np.ndarray, val: Split, classes: list[str], probe: str, args: argparse.Namespace, seed: int
) -> tuple[float, float]:
    """Train one probe for ``args.steps`` steps on ``rows`` of ``train``; its validation answer, turn-side accuracy."""
    import torch
    from navila_agents.vla.grammar import Turn, parse_action
    from torch import nn

    torch.manual_seed(seed)
    use_text, use_history, mirror = "+text" in probe, "+history" in probe, "+mirror" in probe
    cnn = nn.Sequential(
        nn.Conv2d(6 if use_history else 3, 32, 5, 2, 2),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, 2, 1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, 2, 1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(1024, 128),
        nn.ReLU(),
    )
    embed = nn.Embedding(int(max(train.words.max(), val.words.max(), train.mirrored_words.max())) + 1, 32, 0)
    gru = nn.GRU(32, 64, batch_first=True)
    head = nn.Linear(128 + (65 if use_text else 0), len(classes))
    modules = nn.ModuleList([cnn, head, *((embed, gru) if use_text else ())])

    def logits(frames: torch.Tensor, words: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """Answer logits of (B, 3 or 6, H, W) frames, word ids and capped query indices."""
        features = [cnn(frames.float() / 255)]
        if use_text:
            lengths = (words > 0).sum(1).clamp(min=1)
            packed = nn.utils.rnn.pack_padded_sequence(embed(words), lengths, batch_first=True, enforce_sorted=False)
            features += [gru(packed)[1][0], steps[:, None]]
        return head(torch.cat(features, dim=1))

    optimizer = torch.optim.AdamW(modules.parameters(), 1e-3, weight_decay=0.05)

    def seen(split: Split, index: torch.Tensor) -> torch.Tensor:
        """The frames the probe sees at rows ``index``: current, and the previous query's with ``+history``."""
        frames = torch.from_numpy(split.frames)
        if not use_history:
            return frames[index]
        previous = torch.from_numpy(split.previous)[index]
        before = frames[previous.clamp(min=0)] * (previous >= 0)[:, None, None, None]
        return torch.cat([frames[index], before.to(torch.uint8)], dim=1)

    data = {name: torch.from_numpy(getattr(train, name)) for name in train.__dataclass_fields__}
    allowed = torch.from_numpy(rows)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(args.steps):
        index = allowed[torch.randint(len(allowed), (args.batch,), generator=generator)]
        frames, words, answers = seen(train, index), data["words"][index], data["answers"][index]
        if mirror:
            flip = torch.rand(args.batch, generator=generator) < MIRROR_PROBABILITY
            frames = torch.where(flip[:, None, None, None], frames.flip(-1), frames)
            words = torch.where(flip[:, None], data["mirrored_words"][index], words)
            answers = torch.where(flip, data["mirrored_answers"][index], answers)
        loss = nn.functional.cross_entropy(logits(frames, words, data["steps"][index]), answers)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    modules.eval()
    with torch.no_grad():
        chunks = torch.arange(len(val.answers)).split(512)
        predicted = [
            logits(seen(val, i), torch.from_numpy(val.words)[i], torch.from_numpy(val.steps)[i]) for i in chunks
        ]
        predicted = torch.cat(predicted).argmax(1).numpy()
    actions = [parse_action(answer) for answer in classes]
    side = [action.direction if isinstance(action, Turn) else None for action in actions]
    turns = [row for row, answer in enumerate(val.answers) if side[answer] is not None]
    same_side = sum(side[predicted[row]] == side[val.answers[row]] for row in turns)
    return (predicted == val.answers).mean().item(), same_side / max(1, len(turns))


def mean_sd(values: list[float], digits: int = 3) -> str:
    """``mean ± sample sd`` with ``digits`` decimals (sd 0 for one value)."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"


def main(argv: list[str]) -> int:
    """Train the probe at every size and seed; print and append the table."""
    args = parse_args(argv)
    if min(args.scenes) <= 0 or args.steps <= 0 or args.batch <= 0:
        raise UserError("--scenes, --steps and --batch must be positive")
    from navila_agents.vla.mirror import mirror_text
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
    answers = set(train_split.unique("answer")) | set(val_split.unique("answer"))
    classes = sorted(answers | {mirror_text(answer) for answer in answers})
    words = sorted({word for text in train_split.unique("instruction") for word in words_of(text)})
    vocabulary = {word: index for index, word in enumerate(sorted(set(words) | set(map(mirror_text, words))), 2)}
    print(f"decoding {len(scene_ids)} training and {len(val_split)} validation frames")
    train, val = read_split(train_split, classes, vocabulary), read_split(val_split, classes, vocabulary)
    majority = Counter(val.answers.tolist()).most_common(1)[0][1] / len(val.answers)
    lines = [
        "| training scenes | probe | training frames (mean) | accuracy (mean ± sd over seeds) | majority answer | ratio"
        " | turn-side accuracy |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for count in args.scenes:
        for probe in args.probes:
            accuracies, sides, sizes = [], [], []
            for seed in args.seeds:
                chosen = np.random.default_rng(seed).choice(scenes, count, replace=False)
                rows = np.flatnonzero(np.isin(scene_ids, chosen))
                sizes.append(len(rows))
                accuracy, side = train_and_score(train, rows, val, classes, probe, args, seed)
                accuracies.append(accuracy)
                sides.append(side)
                print(
                    f"scenes {count} {probe} seed {seed}: {len(rows)} frames, accuracy {accuracy:.3f}, side {side:.3f}"
                )
            lines.append(
                f"| {count} | {probe} | {statistics.mean(sizes):.0f} | {mean_sd(accuracies)} | {majority:.3f} |"
                f" {statistics.mean(accuracies) / majority:.2f}× | {mean_sd(sides)} |"
            )
    text = (
        run_heading("cpu", shlex.join(["python", "benchmarks/vla_data_scaling.py", *argv]))
        + f": {args.steps} steps of {args.batch} frames per run, seeds {' '.join(map(str, args.seeds))}, "
        f"{len(val.answers)} validation frames, {len(classes)} answers\n\n" + "\n".join(lines) + "\n"
    )
    append_markdown(args.report, "# VLA data scaling (benchmarks/vla_data_scaling.py)\n", text)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vla_data_scaling.py"))

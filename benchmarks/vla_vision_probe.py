"""Can the small VLA's vision tower see the path's bends? Turn side at the turn starts, from the current frame alone.

The queries: the turn starts of a ``navila vla-data`` set (:func:`~navila_agents.vla.training.dataset.turn_starts`:
after an episode's first query, the expert starts a turn), where the shipped VLA mostly walks on
(``navila bench vla_instruction_probe``). A probe made of the small VLA's SigLIP vision tower, new and with the sizes of
``navila vla-train`` (``--patch-size``, ``--vision-layers``), and a linear layer over all its patch tokens is trained
on the training split's turn starts (each also mirrored: frame flipped, side swapped) to tell left from right, one run
per seed, and scored on the validation and test turn starts after every epoch. Baselines measured on the same rows:
the instruction's side word after as many turns as done, the side of the previous turn, and the more frequent side.
Appends a table to ``results/vla_vision.md``::

    navila bench vla_vision_probe --data logs/vla/data --seeds 0 1 2 --epochs 3
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from navila_benchmarks.vla_data_scaling import mean_sd
from navila_benchmarks.vla_instruction_probe import later_turn_queries, nth_side_word
from navila_lab.errors import UserError, run_command

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("validation", "test")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    from navila_agents.vla.training.model import SmallVlaCfg

    defaults = SmallVlaCfg()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="navila vla-data dataset")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one probe run per seed")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the (mirror-doubled) training turn starts")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--patch-size", type=int, default=defaults.patch_size, help="vision tower's patch size (px)")
    parser.add_argument("--vision-layers", type=int, default=defaults.vision_layers, help="vision tower's layers")
    parser.add_argument("--report", type=Path, default=ROOT / "results" / "vla_vision.md", help="file to append to")
    return parser.parse_args(argv)


@dataclass(frozen=True)
class TurnStarts:
    """A split's turn starts: current frames, the expert's sides and the two rules' sides."""

    frames: np.ndarray
    """Current frames (N, H, W, 3) uint8."""
    left: np.ndarray
    """(N,) 1 where the expert turns left, 0 where right."""
    next_side_word: list[str | None]
    """The instruction's side word after as many turns as done."""
    previous_turn: list[str | None]
    """The side of the episode's previous turn."""


def read_turn_starts(split: object) -> TurnStarts:
    """The turn starts of ``split`` (:func:`later_turn_queries`), their current frames decoded."""
    from navila_agents.vla.training.dataset import turn_side

    later = later_turn_queries(split)
    chosen = split.select([row for row, _ in later])
    images = [np.asarray(image.convert("RGB")) for image in chosen["frame"]]
    return TurnStarts(
        frames=np.stack(images) if images else np.zeros((0, 1, 1, 3), np.uint8),
        left=np.array([turn_side(answer) == "left" for answer in chosen["answer"]], dtype=np.int64),
        next_side_word=[
            nth_side_word(text, len(turned)) for text, (_, turned) in zip(chosen["instruction"], later, strict=True)
        ],
        previous_turn=[turned[-1] if turned else None for _, turned in later],
    )


def agreement(predicted: Sequence[str | None], sides: np.ndarray) -> float:
    """Share of rows whose predicted side is the expert's (None never agrees)."""
    expert = ["left" if side else "right" for side in sides]
    return sum(guess == truth for guess, truth in zip(predicted, expert, strict=True)) / max(1, len(expert))


def train_probe(
    args: argparse.Namespace, seed: int, train: TurnStarts, scored: dict[str, TurnStarts]
) -> list[dict[str, float]]:
    """Train one probe; its accuracy on each scored split after every epoch."""
    import torch
    from navila_agents.vla.mirror import mirror_frames
    from navila_agents.vla.training.model import SmallVlaCfg, build_small_vla
    from navila_agents.vla.training.tokenizer import build_tokenizer

    torch.manual_seed(seed)
    sizes = SmallVlaCfg(patch_size=args.patch_size, vision_layers=args.vision_layers)
    tower = build_small_vla(sizes, build_tokenizer(["left right"]))[0].model.vision_tower
    tokens = (sizes.image_size // sizes.patch_size) ** 2
    head = torch.nn.Linear(tokens * sizes.vision_hidden, 2)
    optimizer = torch.optim.AdamW([*tower.parameters(), *head.parameters()], lr=args.lr, weight_decay=0.05)

    def pixels(frames: np.ndarray) -> torch.Tensor:
        """Frames as the SigLIP processor gives them: resized, scaled to [-1, 1], channels first."""
        images = torch.as_tensor(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return torch.nn.functional.interpolate(images, size=(sizes.image_size,) * 2, mode="bilinear")

    def logits(frames: np.ndarray) -> torch.Tensor:
        return head(tower(pixel_values=pixels(frames)).last_hidden_state.flatten(1))

    def accuracy(frames: np.ndarray, sides: np.ndarray) -> float:
        with torch.no_grad():
            predicted = torch.cat(
                [logits(frames[start : start + 256]).argmax(1) for start in range(0, len(sides), 256)]
            )
        return float((predicted.numpy() == sides).mean())

    frames = np.concatenate([train.frames, mirror_frames(train.frames)])
    sides = torch.as_tensor(np.concatenate([train.left, 1 - train.left]))
    generator = torch.Generator().manual_seed(seed)
    curve = []
    for _ in range(args.epochs):
        tower.train()
        for batch in torch.randperm(len(sides), generator=generator).split(args.batch):
            loss = torch.nn.functional.cross_entropy(logits(frames[batch.numpy()]), sides[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        tower.eval()
        curve.append({name: accuracy(rows.frames, rows.left) for name, rows in scored.items()})
    return curve


def main(argv: list[str]) -> int:
    """Measure the rules, train the probes, print and append the table."""
    args = parse_args(argv)
    if min(args.epochs, args.batch) <= 0 or args.lr <= 0:
        raise UserError("--epochs, --batch and --lr must be positive")
    from navila_agents.vla.training.dataset import load_dataset_dir
    from navila_lab.provenance import append_markdown, stamp

    data = load_dataset_dir(args.data)
    missing = [name for name in ("train", *SPLITS) if name not in data]
    if missing:
        raise UserError(f"dataset '{args.data}' has no split {', '.join(missing)}")
    train = read_turn_starts(data["train"])
    scored = {name: read_turn_starts(data[name]) for name in SPLITS}
    if not len(train.left) or not all(len(rows.left) for rows in scored.values()):
        raise UserError(f"dataset '{args.data}' has a split without turn starts (a turn after the first query)")
    curves = [train_probe(args, seed, train, scored) for seed in args.seeds]
    counts = ", ".join(f"{name} {len(rows.left)}" for name, rows in scored.items())
    lines = [f"| answered by | {' | '.join(SPLITS)} |", "|---|" + "---:|" * len(SPLITS)]
    for label, field in (
        ("the instruction's side word after as many as turned so far", "next_side_word"),
        ("the side of the previous turn", "previous_turn"),
    ):
        cells = [f"{agreement(getattr(rows, field), rows.left):.2f}" for rows in scored.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    majority = [f"{max(rows.left.mean(), 1 - rows.left.mean()):.2f}" for rows in scored.values()]
    lines.append("| the more frequent side | " + " | ".join(majority) + " |")
    for epoch in range(args.epochs):
        cells = [mean_sd([curve[epoch][name] for curve in curves], digits=2) for name in SPLITS]
        lines.append(f"| vision probe after epoch {epoch + 1} (mean ± sd over seeds) | " + " | ".join(cells) + " |")
    facts = stamp("cpu")
    text = (
        f"\n## {facts['date']}, tree `{facts['commit']}`, {facts['device']}\n\n"
        f"`{shlex.join(['navila', 'bench', 'vla_vision_probe', *argv])}`: {len(train.left)} training turn starts (each"
        f" also mirrored), scored on {counts}; seeds {' '.join(map(str, args.seeds))}; patch {args.patch_size} px,"
        f" {args.vision_layers} layers\n\n" + "\n".join(lines) + "\n"
    )
    append_markdown(args.report, "# Can the VLA's vision tower see the path's bends? (vla_vision_probe)\n", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vla_vision_probe.py"))

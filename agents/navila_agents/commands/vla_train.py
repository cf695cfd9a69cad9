"""``navila vla-train``: supervised fine-tuning of a VLA on ``navila vla-data`` datasets, resumable.

Trains the small from-scratch LLaVA by default, or fine-tunes a local model folder (``--init``, optionally with LoRA).
Running the same command again continues from the newest checkpoint in ``--out``; the final model lands in
``<out>/model`` (loadable by ``navila vln --vla <out>/model``), TensorBoard events in ``<out>/tb``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from navila_lab.errors import UserError

from navila_agents.vla.training.model import SmallVlaCfg


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    defaults = SmallVlaCfg()
    parser = argparse.ArgumentParser(prog="navila vla-train", description=__doc__)
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="dataset folders (train splits joined)")
    parser.add_argument("--out", type=Path, required=True, help="run directory (resumed when it has a checkpoint)")
    parser.add_argument("--init", type=Path, default=None, help="local model folder to fine-tune (default: new)")
    parser.add_argument("--lora-rank", type=int, default=0, help="LoRA rank on --init's linear layers (0: full)")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps in total")
    parser.add_argument("--batch-size", type=int, default=64, help="queries per step")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (AdamW, cosine schedule)")
    parser.add_argument("--warmup", type=int, default=50, help="linear warm-up steps")
    parser.add_argument("--eval-every", type=int, default=250, help="steps between validation passes")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop with a checkpoint after this wall time")
    parser.add_argument("--num-workers", type=int, default=min(8, os.cpu_count() or 1), help="data loader processes")
    parser.add_argument(
        "--mirror-probability",
        type=float,
        default=0.0,
        help="share of training queries drawn left-right mirrored (frames flipped, left/right swapped), e.g. 0.5",
    )
    parser.add_argument(
        "--prompt-loss-weight",
        type=float,
        default=None,
        help="weight of a next-word loss on the prompt's words added to the answer's loss, which teaches a new model "
        "to read its instruction (default: 1 for a new model, 0 with --init)",
    )
    parser.add_argument(
        "--first-query-repeats",
        type=int,
        default=1,
        help="times each episode's first query (only its instruction tells the first turn) is drawn per epoch",
    )
    parser.add_argument(
        "--turn-start-repeats",
        type=int,
        default=1,
        help="times each later turn start (a bend of the path, which only the frames tell) is drawn per epoch",
    )
    parser.add_argument(
        "--first-queries-only",
        action="store_true",
        help="train on the episodes' first queries alone: a first stage that learns to read the instruction",
    )
    parser.add_argument(
        "--turn-starts-only",
        action="store_true",
        help="train on the later turn starts alone: a stage that learns to turn at the path's bends",
    )
    parser.add_argument(
        "--action-history",
        action="store_true",
        help="each instruction ends with the actions executed so far in its episode (recorded in the model's config: "
        "navila vln and vla-dagger give the model its history too)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialization and the data order")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--image-size", type=int, default=defaults.image_size, help="new model: frame size (px)")
    parser.add_argument("--patch-size", type=int, default=defaults.patch_size, help="new model: patch size (px)")
    parser.add_argument("--text-layers", type=int, default=defaults.text_layers, help="new model: decoder layers")
    parser.add_argument("--vision-layers", type=int, default=defaults.vision_layers, help="new model: encoder layers")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Train (or continue training) and report where the model is."""
    args = parse_args(argv)
    positive = {"--steps": args.steps, "--batch-size": args.batch_size, "--eval-every": args.eval_every}
    positive |= {"--checkpoint-every": args.checkpoint_every, "--lr": args.lr}
    positive |= {"--first-query-repeats": args.first_query_repeats, "--turn-start-repeats": args.turn_start_repeats}
    for flag, value in positive.items():
        if value <= 0:
            raise UserError(f"{flag} must be positive, got {value}")
    if args.first_queries_only and args.turn_starts_only:
        raise UserError("choose one of --first-queries-only and --turn-starts-only")
    if not 0.0 <= args.mirror_probability <= 1.0:
        raise UserError(f"--mirror-probability must lie in [0, 1], got {args.mirror_probability}")
    if args.prompt_loss_weight is None:
        args.prompt_loss_weight = 0.0 if args.init else 1.0
    if args.prompt_loss_weight < 0.0:
        raise UserError(f"--prompt-loss-weight must not be negative, got {args.prompt_loss_weight}")
    if args.image_size % args.patch_size:
        raise UserError(f"--image-size {args.image_size} is not a multiple of --patch-size {args.patch_size}")
    if args.lora_rank and args.init is None:
        raise UserError("--lora-rank needs --init (a local model to adapt)")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from navila_agents.locomotion import runtime
    from navila_agents.vla.training.trainer import TrainCfg, Trainer

    small = SmallVlaCfg(
        image_size=args.image_size,
        patch_size=args.patch_size,
        text_layers=args.text_layers,
        vision_layers=args.vision_layers,
    )
    cfg = TrainCfg(
        data=args.data,
        out=args.out,
        init=args.init,
        small=small,
        lora_rank=args.lora_rank,
        max_steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=args.warmup,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
        max_minutes=args.max_minutes,
        num_workers=args.num_workers,
        mirror_probability=args.mirror_probability,
        prompt_loss_weight=args.prompt_loss_weight,
        first_query_repeats=args.first_query_repeats,
        first_queries_only=args.first_queries_only,
        turn_start_repeats=args.turn_start_repeats,
        turn_starts_only=args.turn_starts_only,
        action_history=args.action_history,
        seed=args.seed,
        device=runtime.resolve_device(args.device),
    )
    trainer = Trainer(cfg)
    if trainer.resumed_from is not None:
        print(f"[navila] resuming {trainer.resumed_from} (step {trainer.progress.step})")
    model = trainer.train()
    if model is None:
        return 0
    print(f"[navila] trained {trainer.progress.step} steps on {len(trainer.train_rows)} queries -> {model}")
    return 0

"""Does a VLA read the side its instruction names? Turn side on the first query of each episode, and a word swap.

The queries: every first query (step 0) of a ``navila vla-data`` split whose expert answer is a turn and whose
instruction names a side. There the instruction alone tells the side well (the expert turns first towards the first
side it names; the *first side word* row is that rule, the baseline measured in the same run). For each VLA folder
the table gives the share of those queries it turns to the expert's side, how many of its turns are to the left, and
its *swap flips*: the same frames asked again with "left" and "right" swapped in the instruction only; a model that
reads the side turns the other way, one that does not answers the same. Appended to ``results/vla_instruction.md``::

    navila bench vla_instruction_probe --vla policies/vla_small --data runs/vla/data
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from navila_lab.errors import UserError, run_command

ROOT = Path(__file__).resolve().parents[1]
_SIDE = re.compile(r"\b(left|right)\b", re.IGNORECASE)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vla", type=Path, nargs="+", required=True, help="VLA model folders")
    parser.add_argument("--data", type=Path, required=True, help="navila vla-data dataset")
    parser.add_argument("--split", default="test", help="split whose first queries are asked")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--report", type=Path, default=ROOT / "results" / "vla_instruction.md", help="file to append to"
    )
    return parser.parse_args(argv)


def side_of(text: str) -> str | None:
    """The first side word of ``text`` (lower case), or None."""
    match = _SIDE.search(text)
    return match.group(1).lower() if match else None


def turn_side(answer: str) -> str | None:
    """The side of a turn answer (as the command layer parses it), None for any other answer."""
    from navila_agents.vla.grammar import Turn, parse_action

    action = parse_action(answer)
    return action.direction if isinstance(action, Turn) else None


def first_turn_queries(split: object) -> list[int]:
    """Rows of ``split`` that are an episode's first query, answered with a turn, whose instruction names a side."""
    steps, answers, instructions = split["step"], split["answer"], split["instruction"]
    return [
        row
        for row, (step, answer, instruction) in enumerate(zip(steps, answers, instructions, strict=True))
        if step == 0 and turn_side(answer) and side_of(instruction)
    ]


def row(name: str, sides: Sequence[str | None], expert: Sequence[str], flips: str = "—") -> str:
    """Markdown row: agreement with the expert's side, turns left / right, swap flips."""
    agree = sum(side == truth for side, truth in zip(sides, expert, strict=True)) / len(expert)
    return f"| {name} | {agree:.2f} | {sides.count('left')} / {sides.count('right')} | {flips} |"


def main(argv: list[str]) -> int:
    """Ask every VLA, print the table and append it."""
    args = parse_args(argv)
    from navila_agents.vla.backends.hf import HFBackend, check_vla_folder
    from navila_agents.vla.mirror import mirror_text
    from navila_agents.vla.training.dataset import QuerySamples, load_dataset_dir
    from navila_lab.provenance import append_markdown, stamp

    for folder in args.vla:
        check_vla_folder(folder)
    data = load_dataset_dir(args.data)
    if args.split not in data:
        raise UserError(f"dataset '{args.data}' has no split '{args.split}' (it has: {', '.join(data)})")
    split = data[args.split]
    rows = first_turn_queries(split)
    if not rows:
        raise UserError(f"split '{args.split}' has no first query that turns and names a side in its instruction")
    samples = QuerySamples(split.select(rows))
    queries = [samples[index] for index in range(len(samples))]
    frames, instructions = [query[0] for query in queries], [query[1] for query in queries]
    expert = [turn_side(query[2]) for query in queries]
    lines = [
        "| answered by | side = expert's | turns left / right | swap flips |",
        "|---|---:|---|---:|",
        row("first side word of the instruction", [side_of(text) for text in instructions], expert),
    ]
    for folder in args.vla:
        backend = HFBackend(folder, device=args.device)
        sides = [turn_side(answer) for answer in backend.act_batch(frames, instructions)]
        swapped = [turn_side(answer) for answer in backend.act_batch(frames, list(map(mirror_text, instructions)))]
        turned = [(side, other) for side, other in zip(sides, swapped, strict=True) if side and other]
        flips = f"{sum(side != other for side, other in turned)} of {len(turned)}"
        lines.append(row(f"`{folder}`", sides, expert, flips))
    facts = stamp(args.device)
    text = (
        f"\n## {facts['date']}, tree `{facts['commit']}`, {facts['device']}\n\n"
        f"`{shlex.join(['navila', 'bench', 'vla_instruction_probe', *argv])}`: {len(queries)} first queries of the"
        f" '{args.split}' split\n\n" + "\n".join(lines) + "\n"
    )
    append_markdown(
        args.report, "# Does the VLA read the instruction's side? (benchmarks/vla_instruction_probe.py)\n", text
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vla_instruction_probe.py"))

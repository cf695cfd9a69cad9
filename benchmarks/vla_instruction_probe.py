"""Does a VLA read the side its instruction names? Turn side on the first query of each episode, and a word swap.

The queries: every first query (step 0) of a ``navila vla-data`` split whose expert answer is a turn and whose
instruction names a side. There the instruction alone tells the side well (the expert turns first towards the first
side it names; the *first side word* row is that rule, the baseline measured in the same run). For each VLA folder
the table gives the share of those queries it turns to the expert's side, how many of its turns are to the left, and
its *swap flips*: the same frames asked again with "left" and "right" swapped in the instruction only; a model that
reads the side turns the other way, one that does not answers the same.

A second table asks the same of the *later turns*: queries after the first whose expert answer starts a turn (the
robot's previous action was not a turn to that side). Two rules measured on them give what the instruction and the
action history alone tell: the instruction's side word number k + 1 after k turns so far (the last one when it names
fewer), and the side of the previous turn. Appended to ``results/vla_instruction.md``::

    navila bench vla_instruction_probe --vla policies/vla_small --data runs/vla/data
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from navila_agents.vla.training.dataset import executed_before, turn_side, turn_starts
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


def first_turn_queries(split: object) -> list[int]:
    """Rows of ``split`` that are an episode's first query, answered with a turn, whose instruction names a side."""
    steps, answers, instructions = split["step"], split["answer"], split["instruction"]
    return [
        row
        for row, (step, answer, instruction) in enumerate(zip(steps, answers, instructions, strict=True))
        if step == 0 and turn_side(answer) and side_of(instruction)
    ]


def turns_so_far(executed: Sequence[str]) -> list[str]:
    """Sides of the turns among ``executed`` answers, consecutive turns to one side counted once."""
    sides: list[str] = []
    previous = None
    for answer in executed:
        side = turn_side(answer)
        if side is not None and side != previous:
            sides.append(side)
        previous = side
    return sides


def later_turn_queries(split: object) -> list[tuple[int, list[str]]]:
    """The turn starts of ``split`` (:func:`turn_starts`), each with the sides turned before it in its episode."""
    steps, executed = split["step"], split["executed"]
    return [(row, turns_so_far(executed_before(executed, steps, row))) for row in turn_starts(split)]


def nth_side_word(text: str, index: int) -> str | None:
    """Side word number ``index`` (from 0) of ``text``, its last one if it names fewer, None if it names none."""
    words = [word.lower() for word in _SIDE.findall(text)]
    return words[min(index, len(words) - 1)] if words else None


def row(name: str, sides: Sequence[str | None], expert: Sequence[str], flips: str = "—") -> str:
    """Markdown row: agreement with the expert's side, turns left / right, swap flips."""
    agree = sum(side == truth for side, truth in zip(sides, expert, strict=True)) / len(expert)
    return f"| {name} | {agree:.2f} | {sides.count('left')} / {sides.count('right')} | {flips} |"


def asked(samples: object, rows: Sequence[int]) -> tuple[list[object], list[str], list[str | None]]:
    """Frames, instructions and the expert's turn sides of these rows of a split's :class:`QuerySamples`."""
    queries = [samples[index] for index in rows]
    return [query[0] for query in queries], [query[1] for query in queries], [turn_side(query[2]) for query in queries]


def swap_probe(
    backend: object, frames: Sequence[object], instructions: Sequence[str], histories: Sequence[Sequence[str]]
) -> tuple[list[str | None], str]:
    """A backend's turn sides on the queries, and how many of its turns flip when left and right swap in the text.

    A backend that reads its action history gets each query's executed answers before it (not swapped).
    """
    from navila_agents.vla.mirror import mirror_text

    if backend.action_history:
        backend.set_history(range(len(frames)), histories)
    sides = [turn_side(answer) for answer in backend.act_batch(frames, instructions)]
    swapped = [turn_side(answer) for answer in backend.act_batch(frames, list(map(mirror_text, instructions)))]
    turned = [(side, other) for side, other in zip(sides, swapped, strict=True) if side and other]
    return sides, f"{sum(side != other for side, other in turned)} of {len(turned)}"


def main(argv: list[str]) -> int:
    """Ask every VLA, print the table and append it."""
    args = parse_args(argv)
    from navila_agents.vla.backends.hf import HFBackend, check_vla_folder
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
    samples = QuerySamples(split)
    frames, instructions, expert = asked(samples, rows)
    later = later_turn_queries(split)
    later_frames, later_instructions, later_expert = asked(samples, [index for index, _ in later])
    header = ["| answered by | side = expert's | turns left / right | swap flips |", "|---|---:|---|---:|"]
    lines = [*header, row("first side word of the instruction", [side_of(text) for text in instructions], expert)]
    later_lines = [
        *header,
        row(
            "the instruction's side word after as many as turned so far",
            [nth_side_word(text, len(turned)) for text, (_, turned) in zip(later_instructions, later, strict=True)],
            later_expert,
        ),
        row("the side of the previous turn", [turned[-1] if turned else None for _, turned in later], later_expert),
    ]
    steps, executed = split["step"], list(split["executed"])
    later_histories = [executed_before(executed, steps, index) for index, _ in later]
    for folder in args.vla:
        backend = HFBackend(folder, device=args.device)
        sides, flips = swap_probe(backend, frames, instructions, [[]] * len(frames))
        lines.append(row(f"`{folder}`", sides, expert, flips))
        if later:
            sides, flips = swap_probe(backend, later_frames, later_instructions, later_histories)
            later_lines.append(row(f"`{folder}`", sides, later_expert, flips))
    facts = stamp(args.device)
    text = (
        f"\n## {facts['date']}, tree `{facts['commit']}`, {facts['device']}\n\n"
        f"`{shlex.join(['navila', 'bench', 'vla_instruction_probe', *argv])}`: {len(rows)} first queries of the"
        f" '{args.split}' split\n\n" + "\n".join(lines) + "\n\n"
        f"{len(later)} later turns (after the first query, a turn starts) of the same split:\n\n"
        + ("\n".join(later_lines) if later else "none")
        + "\n"
    )
    append_markdown(
        args.report, "# Does the VLA read the instruction's side? (benchmarks/vla_instruction_probe.py)\n", text
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/vla_instruction_probe.py"))

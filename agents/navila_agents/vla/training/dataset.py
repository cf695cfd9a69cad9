"""The VLA dataset: one row per labelled query, stored as a Hugging Face ``datasets`` ``DatasetDict`` on disk.

Each row holds the query's current frame (PNG), the instruction, the expert's answer in the action grammar and where
its history frames are: ``frame_offsets`` are row offsets (≤ 0, the last one 0 for the row itself) of the frames the
VLA saw, oldest first, black frames padding the front up to :data:`~navila_agents.vla.frames.NUM_FRAMES`. An
episode's rows are contiguous, so the offsets survive concatenation (DAgger aggregates datasets this way) and each
frame is stored once. Splits (``train``, ``validation``, ``test``) hold disjoint scenes. A ``README.md`` dataset card
sits next to the data.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from navila_lab.errors import UserError
from PIL import Image

from navila_agents.vla.frames import NUM_FRAMES, with_action_history
from navila_agents.vla.grammar import action_kind
from navila_agents.vla.mirror import mirror_query

SPLITS = ("train", "validation", "test")
CARD_FILE = "README.md"
COLUMNS = ("frame", "frame_offsets", "instruction", "answer", "executed", "episode", "scene_id", "step", "source")
"""Every column of a split, in order."""


@dataclass(frozen=True)
class QueryRow:
    """One labelled query (a row of the dataset)."""

    frame: bytes
    """The current frame as PNG bytes."""
    frame_offsets: list[int]
    """Row offsets of the frames seen, oldest first, 0 last (see the module docstring)."""
    instruction: str
    answer: str
    """The expert's answer: the training target."""
    executed: str
    """The answer the robot executed (the expert's, or the learner's in DAgger rollouts)."""
    episode: str
    """Unique name of the episode the query belongs to."""
    scene_id: str
    step: int
    """Query index within the episode."""
    source: str
    """What produced the row, e.g. ``expert`` or ``dagger_1``."""


def encode_png(frame: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 frame."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def features() -> object:
    """Return the ``datasets.Features`` of a split."""
    from datasets import Features, List, Value
    from datasets import Image as ImageFeature

    return Features(
        {
            "frame": ImageFeature(),
            "frame_offsets": List(Value("int32")),
            "instruction": Value("string"),
            "answer": Value("string"),
            "executed": Value("string"),
            "episode": Value("string"),
            "scene_id": Value("string"),
            "step": Value("int32"),
            "source": Value("string"),
        }
    )


def write_dataset(
    path: str | Path,
    splits: Mapping[str, Sequence[QueryRow]],
    card: str,
    extras: Callable[[Path], None] | None = None,
) -> None:
    """Save the splits and the card at ``path``, all or nothing (written next to it, then renamed).

    Args:
        path: Folder to create.
        splits: Rows per split name.
        card: The dataset card (markdown).
        extras: Writes further files into the folder before it is renamed into place.

    Raises:
        UserError: If ``path`` exists already.
    """
    from datasets import Dataset, DatasetDict

    path = Path(path)
    if path.exists():
        raise UserError(f"'{path}' exists already: choose a new --out or remove it")
    partial = path.with_name(f".{path.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        data = DatasetDict(
            {
                name: Dataset.from_list(
                    [asdict(row) | {"frame": {"bytes": row.frame, "path": None}} for row in rows], features=features()
                )
                for name, rows in splits.items()
            }
        )
        data.save_to_disk(str(partial))
        (partial / CARD_FILE).write_text(card)
        if extras is not None:
            extras(partial)
        partial.rename(path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def load_dataset_dir(path: str | Path) -> object:
    """Load a dataset written by :func:`write_dataset` as a ``DatasetDict``.

    Raises:
        UserError: One line if the folder is missing, unreadable or lacks a column.
    """
    from datasets import load_from_disk

    path = Path(path)
    if not path.is_dir():
        raise UserError(f"dataset '{path}' does not exist")
    try:
        data = load_from_disk(str(path))
    except Exception as error:  # datasets and pyarrow raise many types for damaged files
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"dataset '{path}' is not readable ({message})") from None
    if not hasattr(data, "keys"):
        raise UserError(f"dataset '{path}' has no splits (expected a DatasetDict of {', '.join(SPLITS)})")
    for name in data:
        missing = [column for column in COLUMNS if column not in data[name].column_names]
        if missing:
            raise UserError(f"dataset '{path}': split '{name}' lacks columns {missing}")
    return data


def dataset_sizes(path: str | Path) -> dict[str, int]:
    """Rows per split, read from the dataset card's front matter (the frames need not be on this machine).

    Raises:
        UserError: One line if the card is missing or has no split sizes.
    """
    import yaml

    card = Path(path) / CARD_FILE
    if not card.is_file():
        raise UserError(f"dataset '{path}' has no {CARD_FILE} (made by navila vla-data)")
    front = card.read_text().split("---")
    try:
        splits = yaml.safe_load(front[1])["dataset_info"]["splits"]
        return {split["name"]: int(split["num_examples"]) for split in splits}
    except (IndexError, KeyError, TypeError, ValueError, yaml.YAMLError):
        raise UserError(f"dataset card '{card}' has no split sizes in its front matter") from None


def concat_split(datasets: Sequence[object], split: str) -> object | None:
    """One split of several loaded datasets, concatenated in order (how DAgger aggregates its rounds); None if empty."""
    from datasets import concatenate_datasets

    parts = [data[split] for data in datasets if split in data and len(data[split])]
    if not parts:
        return None
    return concatenate_datasets(parts) if len(parts) > 1 else parts[0]


def turn_side(answer: str) -> str | None:
    """The side of a turn answer as the command layer parses it (``left`` or ``right``); None for any other answer."""
    kind = action_kind(answer)
    return kind if kind in ("left", "right") else None


def executed_before(executed: Sequence[str], steps: Sequence[int], row: int) -> Sequence[str]:
    """The answers executed before ``row`` in its episode (a split's ``executed`` and ``step`` columns).

    An episode's rows are contiguous and its steps count from 0 (the module docstring).

    Raises:
        ValueError: If ``row``'s step reaches back past the split's first row.
    """
    if steps[row] > row:
        raise ValueError(f"row {row}: step {steps[row]} precedes the split's first row")
    return executed[row - steps[row] : row]


def turn_starts(split: object) -> list[int]:
    """Rows after an episode's first query whose expert answer starts a turn: the bends of the path.

    The robot's previous action (``executed`` of the row before) was not a turn to the same side. Only the frames tell
    these turns (the instruction's later side words mostly place landmarks), and they are the queries a model most
    often answers "move forward" instead (``navila bench vla_instruction_probe``).
    """
    steps, answers, executed = split["step"], split["answer"], split["executed"]
    return [
        row
        for row, (step, answer) in enumerate(zip(steps, answers, strict=True))
        if step > 0 and (side := turn_side(answer)) is not None and turn_side(executed[row - 1]) != side
    ]


class QuerySamples(torch.utils.data.Dataset):
    """Rows of a split as training samples: (frames (NUM_FRAMES, H, W, 3) uint8, instruction, answer).

    Indices ``0 … N-1`` are the ``N`` rows; with ``mirrored``, ``N … 2N-1`` are the same rows mirrored
    (:func:`~navila_agents.vla.mirror.mirror_query`). With ``action_history`` the instruction ends with the actions
    executed before the row in its episode (:func:`~navila_agents.vla.frames.with_action_history`).
    """

    def __init__(self, split: object, mirrored: bool = False, action_history: bool = False) -> None:
        """Wrap a ``datasets.Dataset`` split (or a concatenation of them)."""
        self._rows = split.remove_columns(["frame"])
        self._frames = split.select_columns(["frame"])
        self._mirrored = mirrored
        self._executed = list(split["executed"]) if action_history else None
        self._steps = list(split["step"]) if action_history else None

    def __len__(self) -> int:
        return len(self._rows) * (2 if self._mirrored else 1)

    def __getitem__(self, index: int) -> tuple[np.ndarray, str, str]:
        index = int(index)
        if index >= len(self._rows):
            if not self._mirrored:
                raise IndexError(index)
            return mirror_query(*self[index - len(self._rows)])
        row = self._rows[index]
        offsets = row["frame_offsets"]
        if not offsets or offsets[-1] != 0 or len(offsets) > NUM_FRAMES or index + min(offsets) < 0:
            raise ValueError(f"row {index}: bad frame_offsets {offsets}")
        images = self._frames[[index + offset for offset in offsets]]["frame"]
        seen = np.stack([np.asarray(image.convert("RGB")) for image in images])
        frames = np.zeros((NUM_FRAMES, *seen.shape[1:]), dtype=np.uint8)
        frames[NUM_FRAMES - len(seen) :] = seen
        instruction = row["instruction"]
        if self._executed is not None:
            instruction = with_action_history(instruction, executed_before(self._executed, self._steps, index))
        return frames, instruction, row["answer"]

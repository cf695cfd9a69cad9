"""The left-right mirror of a VLA query: the scenes are mirror-symmetric, so is the expert.

The camera sits on the robot's axis, so the flipped frames are what it would see in the mirrored scene, where the
instruction and the expert's answer swap the words left and right (a turn changes side, a distance stays). Training
draws mirrored samples (``navila vla-train --mirror-probability``); ranking can average a query with its mirror
(:class:`~navila_agents.vla.backends.hf.HFBackend`).
"""

from __future__ import annotations

import re

import numpy as np

_SIDES = re.compile(r"\b(left|right)\b", re.IGNORECASE)
_OTHER_SIDE = {"left": "right", "right": "left"}


def mirror_text(text: str) -> str:
    """``text`` with the words left and right swapped (case kept): the instruction or answer of the mirrored scene."""

    def swap(match: re.Match) -> str:
        word = match.group(0)
        other = _OTHER_SIDE[word.lower()]
        if word.isupper():
            return other.upper()
        return other.capitalize() if word[0].isupper() else other

    return _SIDES.sub(swap, text)


def mirror_frames(frames: np.ndarray) -> np.ndarray:
    """Frames (N, H, W, 3) flipped left to right."""
    return np.ascontiguousarray(np.asarray(frames)[:, :, ::-1])


def mirror_query(frames: np.ndarray, instruction: str, answer: str) -> tuple[np.ndarray, str, str]:
    """The query seen in the left-right mirror image of its scene: frames flipped, left and right swapped."""
    return mirror_frames(frames), mirror_text(instruction), mirror_text(answer)

"""What the VLA sees: NaVILA's frame sampling over each env's history, and its reference prompt."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from navila_agents.vla.grammar import summarize_actions

NUM_FRAMES = 8
"""Frames per query: the current one and 7 from history."""
IMAGE_PLACEHOLDER = "<image>"
"""Marks where each frame goes in the prompt."""

PROMPT_TEMPLATE = (
    "Imagine you are a robot programmed for navigation tasks. You have been given a video of historical observations "
    '{history}, and current observation {current}. Your assigned task is: "{instruction}" Analyze this series of '
    "images to decide your next action, which could be turning left or right by a specific degree, moving forward a "
    "certain distance, or stop if the task is completed."
)
"""NaVILA's reference prompt; ``history`` and ``current`` hold image placeholders."""


ACTION_HISTORY_TEMPLATE = "{instruction} Done so far: {actions}."
"""The instruction a VLA that reads its action history is given (:func:`with_action_history`)."""


def with_action_history(instruction: str, executed: Sequence[str]) -> str:
    """The instruction followed by the actions executed so far in its episode.

    Runs are merged (:func:`~navila_agents.vla.grammar.summarize_actions`). The history tells a model how many of the
    instruction's turns are behind it, which its few sampled frames do not.
    """
    return ACTION_HISTORY_TEMPLATE.format(instruction=instruction, actions=summarize_actions(executed))


def sample_frame_indices(num_observed: int, num_frames: int = NUM_FRAMES) -> list[int | None]:
    """Which of an episode's frames the VLA sees.

    The last index is the current frame; before it come ``num_frames - 1`` indices spread uniformly over the history
    (the first frame of the episode always among them), padded in front with ``None`` (a black frame) while the
    history is shorter.

    Args:
        num_observed: Frames recorded so far in the episode, the current one included (at least 1).
        num_frames: Frames per query.

    Returns:
        ``num_frames`` indices in increasing order, ``None`` for black padding.
    """
    if num_observed < 1:
        raise ValueError(f"need at least the current frame, got num_observed={num_observed}")
    history, slots = num_observed - 1, num_frames - 1
    if history <= slots:
        picked = list(range(history))
    else:
        picked = np.linspace(0, history - 1, slots).round().astype(int).tolist()
    return [None] * (slots - len(picked)) + picked + [history]


def build_prompt(instruction: str, num_frames: int = NUM_FRAMES, image_token: str = IMAGE_PLACEHOLDER) -> str:
    """NaVILA's reference prompt for one query.

    Args:
        instruction: The episode's navigation instruction.
        num_frames: Frames given with the prompt (history and current).
        image_token: Text marking a frame, one per frame, each followed by a newline.

    Returns:
        The prompt text.
    """
    return PROMPT_TEMPLATE.format(
        history=f"{image_token}\n" * (num_frames - 1), current=f"{image_token}\n", instruction=instruction
    )


class FrameHistory:
    """Each env's camera frames since its episode began, sampled for the VLA.

    Frames are kept on the CPU as uint8 (H, W, 3) arrays. Append at the query rate (not every physics step) to bound
    memory: a 512 × 512 frame takes 0.75 MiB.
    """

    def __init__(self, num_envs: int, num_frames: int = NUM_FRAMES) -> None:
        """Create empty histories.

        Args:
            num_envs: Number of envs.
            num_frames: Frames per query.
        """
        self.num_frames = num_frames
        self._frames: list[list[np.ndarray]] = [[] for _ in range(num_envs)]

    def reset(self, env_ids: Sequence[int]) -> None:
        """Forget the frames of these envs (call at episode start)."""
        for env_id in env_ids:
            self._frames[env_id] = []

    def append(self, frames: np.ndarray, env_ids: Sequence[int]) -> None:
        """Record the current frame of some envs.

        Args:
            frames: (M, H, W, 3) uint8 frames (a CPU tensor works too).
            env_ids: The env of each frame.
        """
        for frame, env_id in zip(np.asarray(frames, dtype=np.uint8), env_ids, strict=True):
            self._frames[env_id].append(frame.copy())

    def num_observed(self, env_id: int) -> int:
        """Frames recorded in this env's episode."""
        return len(self._frames[env_id])

    def sample(self, env_id: int) -> np.ndarray:
        """Return the VLA input of one env: (num_frames, H, W, 3) uint8, oldest first, current last."""
        frames = self._frames[env_id]
        if not frames:
            raise ValueError(f"env {env_id} has no frame yet: append its current frame before sampling")
        black = np.zeros_like(frames[-1])
        indices = sample_frame_indices(len(frames), self.num_frames)
        return np.stack([black if index is None else frames[index] for index in indices])

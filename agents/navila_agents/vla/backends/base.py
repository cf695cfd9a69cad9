"""The interface every VLA backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import torch


class VLABackend(ABC):
    """A frozen vision-language-action model that answers a navigation query with text.

    Frames are uint8 arrays (T, H, W, 3), oldest first and the current frame last (see
    :class:`~navila_agents.vla.frames.FrameHistory`). Answers are free text for
    :func:`~navila_agents.vla.grammar.parse_action`.
    """

    privileged: bool = False
    """Whether the backend plans on privileged state (an expert): the VLN loop then gives it each env's path to the
    goal through :meth:`set_paths` when an episode starts and before every query."""

    def set_paths(self, env_ids: Sequence[int], paths: Sequence[np.ndarray | torch.Tensor]) -> None:
        """Give these envs their paths to the goal (waypoints (K, 2) in the world); privileged backends only."""
        raise NotImplementedError(f"{type(self).__name__} does not plan on privileged state")

    @abstractmethod
    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[str]:
        """Answer one query per env.

        Args:
            frames: Per query, the frames (T, H, W, 3) uint8.
            instructions: Per query, the episode's instruction.
            env_ids: The env of each query (``range(len(frames))`` when omitted); backends with per-env state use it.

        Returns:
            One answer per query.
        """

    def act(self, frames: np.ndarray, instruction: str) -> str:
        """Answer a single query (env 0)."""
        return self.act_batch([frames], [instruction])[0]


def freeze(model: torch.nn.Module) -> torch.nn.Module:
    """Put a model in eval mode with gradients off for every parameter; return it."""
    model.eval()
    model.requires_grad_(False)
    return model

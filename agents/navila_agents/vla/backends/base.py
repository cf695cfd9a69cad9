"""The interface every VLA backend implements, and a backend made of a plain per-query function."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
import torch

from navila_agents.vla.interfaces import Answer, Interface


class VLABackend(ABC):
    """A frozen vision-language-action model that answers a navigation query.

    Frames are uint8 arrays (T, H, W, 3), oldest first and the current frame last (see
    :class:`~navila_agents.vla.frames.FrameHistory`). Answers follow the backend's :attr:`interface`
    (:mod:`navila_agents.vla.interfaces`): free text for :func:`~navila_agents.vla.grammar.parse_action` by default.
    """

    interface: Interface = Interface.LANGUAGE
    """How the answers command the robot."""

    privileged: bool = False
    """Whether the backend plans on privileged state (an expert): the VLN loop then gives it each env's path to the
    goal through :meth:`set_paths` when an episode starts and before every query."""

    def set_paths(self, env_ids: Sequence[int], paths: Sequence[np.ndarray | torch.Tensor]) -> None:
        """Give these envs their paths to the goal (waypoints (K, 2) in the world); privileged backends only."""
        raise NotImplementedError(f"{type(self).__name__} does not plan on privileged state")

    action_history: bool = False
    """Whether the backend reads the actions executed so far in each env's episode: the VLN loop then gives them
    through :meth:`set_history` before every query."""

    def set_history(self, env_ids: Sequence[int], executed: Sequence[Sequence[str]]) -> None:
        """Give these envs the answers executed so far in their episodes, oldest first; history readers only."""
        raise NotImplementedError(f"{type(self).__name__} does not read its action history")

    @abstractmethod
    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[Answer]:
        """Answer one query per env.

        Args:
            frames: Per query, the frames (T, H, W, 3) uint8.
            instructions: Per query, the episode's instruction.
            env_ids: The env of each query (``range(len(frames))`` when omitted); backends with per-env state use it.

        Returns:
            One answer per query.
        """

    def act(self, frames: np.ndarray, instruction: str) -> Answer:
        """Answer a single query (env 0)."""
        return self.act_batch([frames], [instruction])[0]


class FunctionBackend(VLABackend):
    """A backend made of a function answering one query: the few lines that wrap a user's model.

    Example, a model that walks forward until it sees something red, served for ``navila vln --vla server``::

        def answer(frames, instruction):  # frames: (T, H, W, 3) uint8, the current frame last
            return "D" if (frames[-1, ..., 0] > 200).mean() > 0.3 else "A"

        make_server(FunctionBackend(answer, "tokens"), port=8000).serve_forever()
    """

    def __init__(
        self, function: Callable[[np.ndarray, str], Answer], interface: Interface | str = Interface.LANGUAGE
    ) -> None:
        """Answer each query with ``function(frames, instruction)`` in ``interface``'s format."""
        self.function = function
        self.interface = Interface(interface)

    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[Answer]:
        """Call the function once per query."""
        return [self.function(query, instruction) for query, instruction in zip(frames, instructions, strict=True)]


def freeze(model: torch.nn.Module) -> torch.nn.Module:
    """Put a model in eval mode with gradients off for every parameter; return it."""
    model.eval()
    model.requires_grad_(False)
    return model

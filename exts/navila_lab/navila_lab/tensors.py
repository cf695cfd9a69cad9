"""Small tensor operations shared by the simulation terms and the sensors."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def zero_rows(tensor: torch.Tensor, ids: torch.Tensor | Sequence[int] | slice | None, dim: int = 0) -> None:
    """Zero ``tensor``'s entries ``ids`` (None: all) along ``dim``, in place.

    Index tensors go through ``index_fill_``: assigning a Python scalar to indexed rows copies it to the device and
    waits for the GPU, which stalls a training step on every reset.
    """
    if isinstance(ids, torch.Tensor):
        tensor.index_fill_(dim, ids.long(), 0.0)
    else:
        tensor[(slice(None),) * dim + (slice(None) if ids is None else ids,)] = 0.0


def wrap_to_pi(angle: torch.Tensor) -> torch.Tensor:
    """Angle wrapped to [-π, π)."""
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi

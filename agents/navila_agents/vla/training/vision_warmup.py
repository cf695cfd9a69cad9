"""Vision warm-up: teach a VLA's vision tower the side of the path's bends from the current frame, before SFT.

The bends (:func:`~navila_agents.vla.training.dataset.turn_starts`) are told by the frames alone. A SigLIP tower with a
linear layer over its patch tokens learns their side from the current frame in a few passes over those rows, while a
whole new VLA trained on the same rows answers one side for all of them: its decoder has to find the current frame's
tokens among every frame's and the instruction's. The warm-up trains the tower (and the throw-away linear layer) on that
objective first, so SFT starts from a tower whose features already tell the side.
``navila bench vla_vision_probe`` measures the same objective on a new tower.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from navila_lab.errors import UserError

from navila_agents.vla.training.dataset import turn_side, turn_starts


def turn_start_frames(split: object, rows: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The current frames (N, H, W, 3) uint8 of a split's turn starts (or of ``rows``), and 1 where the turn is left."""
    rows = turn_starts(split) if rows is None else rows
    chosen = split.select(rows)
    frames = [np.asarray(image.convert("RGB")) for image in chosen["frame"]]
    left = np.array([turn_side(answer) == "left" for answer in chosen["answer"]], dtype=np.int64)
    return (np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)), left


class TurnSideProbe(torch.nn.Module):
    """A SigLIP vision tower with a linear layer over all its patch tokens: left or right from one frame."""

    def __init__(self, tower: torch.nn.Module) -> None:
        """Wrap ``tower`` (a ``SiglipVisionModel``, e.g. the small VLA's ``model.model.vision_tower``)."""
        super().__init__()
        config = getattr(tower, "config", None)
        if not all(hasattr(config, name) for name in ("image_size", "patch_size", "hidden_size")):
            raise UserError("the vision warm-up needs a SigLIP vision tower (the small VLA's)")
        self.tower = tower
        self.image_size = config.image_size
        tokens = (config.image_size // config.patch_size) ** 2
        self.head = torch.nn.Linear(tokens * config.hidden_size, 2)

    def pixels(self, frames: np.ndarray) -> torch.Tensor:
        """Frames as the SigLIP processor gives them: resized, scaled to [-1, 1], channels first."""
        device = self.head.weight.device
        images = torch.as_tensor(np.ascontiguousarray(frames), device=device).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return torch.nn.functional.interpolate(images, size=(self.image_size,) * 2, mode="bilinear")

    def forward(self, frames: np.ndarray) -> torch.Tensor:
        """Logits (N, 2), index 1 for left."""
        return self.head(self.tower(pixel_values=self.pixels(frames)).last_hidden_state.flatten(1))

    @torch.no_grad()
    def accuracy(self, frames: np.ndarray, left: np.ndarray, batch: int = 256) -> float:
        """Share of frames whose side is predicted right."""
        was_training = self.training
        self.eval()
        predicted = [self(frames[start : start + batch]).argmax(1).cpu() for start in range(0, len(left), batch)]
        self.train(was_training)
        return float((torch.cat(predicted).numpy() == left).mean()) if len(left) else 0.0


def train_turn_sides(
    probe: TurnSideProbe,
    frames: np.ndarray,
    left: np.ndarray,
    epochs: int,
    batch: int = 64,
    lr: float = 3e-4,
    seed: int = 0,
    after_epoch: Callable[[int], None] | None = None,
) -> None:
    """Train ``probe`` on the frames and their mirror images (flipped, side swapped), ``epochs`` passes.

    Args:
        probe: Tower and layer, on the device to train on.
        frames: Current frames (N, H, W, 3) uint8.
        left: (N,) 1 where the turn is left.
        epochs: Passes over the 2N mirror-doubled frames.
        batch: Frames per step.
        lr: AdamW learning rate.
        seed: Seed of the data order.
        after_epoch: Called with the epoch's number (from 1) after each pass.
    """
    optimizer = torch.optim.AdamW(probe.parameters(), lr=lr, weight_decay=0.05)
    frames = np.concatenate([frames, frames[:, :, ::-1]])
    sides = torch.as_tensor(np.concatenate([left, 1 - left]), device=probe.head.weight.device)
    generator = torch.Generator().manual_seed(seed)
    probe.train()
    for epoch in range(1, epochs + 1):
        for picked in torch.randperm(len(sides), generator=generator).split(batch):
            loss = torch.nn.functional.cross_entropy(probe(frames[picked.numpy()]), sides[picked.to(sides.device)])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if after_epoch is not None:
            after_epoch(epoch)

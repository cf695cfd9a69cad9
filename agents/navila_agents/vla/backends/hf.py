"""A Hugging Face ``transformers`` image-text-to-text model loaded from a local folder, frozen."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from navila_agents.vla.backends.base import VLABackend, freeze
from navila_agents.vla.frames import IMAGE_PLACEHOLDER, build_prompt


def prompt_messages(instruction: str, num_frames: int) -> list[dict]:
    """Return NaVILA's reference prompt as one chat message whose content interleaves text and image entries."""
    pieces = build_prompt(instruction, num_frames).split(IMAGE_PLACEHOLDER)
    content: list[dict] = [{"type": "text", "text": pieces[0]}]
    for piece in pieces[1:]:
        content += [{"type": "image"}, {"type": "text", "text": piece}]
    return [{"role": "user", "content": content}]


class HFBackend(VLABackend):
    """Any ``AutoModelForImageTextToText`` with its ``AutoProcessor`` (which must carry a chat template).

    Nothing is downloaded: the folder must hold the config, weights and processor files. Decoding is greedy.
    """

    def __init__(
        self,
        model_path: str | Path,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        max_new_tokens: int = 32,
    ) -> None:
        """Load and freeze the model.

        Args:
            model_path: Local folder written by ``save_pretrained`` (model and processor).
            device: Device to run on.
            dtype: Weight dtype; the checkpoint's when omitted.
            max_new_tokens: Longest answer generated.
        """
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.processor = AutoProcessor.from_pretrained(model_path, local_files_only=True)
        self.processor.tokenizer.padding_side = "left"
        model = AutoModelForImageTextToText.from_pretrained(model_path, local_files_only=True, dtype=dtype)
        self.model = freeze(model.to(device))
        self.max_new_tokens = max_new_tokens

    @torch.inference_mode()
    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[str]:
        """Generate one answer per query, all queries in one padded batch."""
        texts = [
            self.processor.apply_chat_template(
                prompt_messages(instruction, len(query)), add_generation_prompt=True, tokenize=False
            )
            for query, instruction in zip(frames, instructions, strict=True)
        ]
        images = [[Image.fromarray(frame) for frame in query] for query in frames]
        inputs = self.processor(text=texts, images=images, return_tensors="pt", padding=True)
        inputs = inputs.to(self.model.device, dtype=self.model.dtype)
        generated = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        answers = generated[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(answers, skip_special_tokens=True)

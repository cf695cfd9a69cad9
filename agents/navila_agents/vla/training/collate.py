"""Batches for supervised fine-tuning: the processor's prompt (frames and instruction) followed by the answer.

Works with any image-text-to-text processor that has a chat template: the prompt is rendered exactly as the ``hf``
backend renders it at inference (:func:`~navila_agents.vla.backends.hf.chat_prompts`), the answer tokens and the
end-of-sequence token are appended, and only those carry a loss (labels elsewhere are -100).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from navila_agents.vla.backends.hf import PromptEncoder

IGNORE_INDEX = -100
"""Label of tokens without a loss."""


class QueryCollator:
    """Turns (frames, instruction, answer) samples into model inputs with answer-only labels."""

    def __init__(self, processor: object) -> None:
        """Use ``processor`` (its tokenizer pads on the right here)."""
        self.tokenizer = processor.tokenizer
        self.tokenizer.padding_side = "right"
        self.encode = PromptEncoder(processor)

    def answer_ids(self, answers: Sequence[str]) -> list[list[int]]:
        """The token ids that carry the loss of each answer: its tokens, then the end-of-sequence token."""
        return [
            self.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
            for answer in answers
        ]

    def __call__(self, samples: Sequence[tuple[np.ndarray, str, str]]) -> dict[str, torch.Tensor]:
        """Batch of ``input_ids``, ``attention_mask``, ``labels`` and the processor's image tensors."""
        frames, instructions, answers = zip(*samples, strict=True)
        encoded = self.encode(frames, instructions)
        prompt_lengths = encoded["attention_mask"].sum(dim=1).tolist()
        answer_ids = self.answer_ids(answers)
        length = max(p + len(a) for p, a in zip(prompt_lengths, answer_ids, strict=True))
        batch = len(samples)
        input_ids = torch.full((batch, length), self.tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((batch, length), dtype=torch.long)
        sequence_keys = [
            key
            for key, value in encoded.items()
            if key not in ("input_ids", "attention_mask") and value.shape[:2] == encoded["input_ids"].shape
        ]
        extra = {key: torch.zeros((batch, length), dtype=encoded[key].dtype) for key in sequence_keys}
        for row, (prompt, answer) in enumerate(zip(prompt_lengths, answer_ids, strict=True)):
            end = prompt + len(answer)
            input_ids[row, :prompt] = encoded["input_ids"][row, :prompt]
            input_ids[row, prompt:end] = torch.tensor(answer)
            labels[row, prompt:end] = torch.tensor(answer)
            attention_mask[row, :end] = 1
            for key in sequence_keys:
                extra[key][row, :prompt] = encoded[key][row, :prompt]
        images_inputs = {key: value for key, value in encoded.items() if key not in sequence_keys}
        images_inputs.pop("input_ids")
        images_inputs.pop("attention_mask")
        return {**images_inputs, **extra, "input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}

"""A Hugging Face ``transformers`` image-text-to-text model loaded from a local folder, frozen."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from navila_lab.errors import UserError

from navila_agents.vla.backends.base import VLABackend, freeze
from navila_agents.vla.frames import IMAGE_PLACEHOLDER, build_prompt

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
"""One of these holds a folder's weights."""
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def prompt_messages(instruction: str, num_frames: int) -> list[dict]:
    """Return NaVILA's reference prompt as one chat message whose content interleaves text and image entries."""
    pieces = build_prompt(instruction, num_frames).split(IMAGE_PLACEHOLDER)
    content: list[dict] = [{"type": "text", "text": pieces[0]}]
    for piece in pieces[1:]:
        content += [{"type": "image"}, {"type": "text", "text": piece}]
    return [{"role": "user", "content": content}]


def frames_as_images(frames: Sequence[np.ndarray], device: str | torch.device = "cpu") -> list[list[torch.Tensor]]:
    """Per query, its frames as (3, H, W) uint8 tensors on ``device``: what image processors take fastest.

    Fast (torchvision) image processors handle tensors batched and on the tensors' device; PIL images or HWC arrays
    would be converted one by one on the CPU first.
    """
    return [list(torch.as_tensor(np.asarray(query)).to(device).permute(0, 3, 1, 2)) for query in frames]


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check_vla_folder(path: str | Path) -> None:
    """Raise a one-line :class:`UserError` unless ``path`` holds a model, a processor and a matching tokenizer.

    Checks that the files exist, that the tokenizer's vocabulary fits the model's embedding table and that the
    tokenizer's image token is the model's; weights are read later, by ``from_pretrained``.
    """
    from transformers import AutoConfig, AutoProcessor

    path = Path(path)
    if not path.is_dir():
        raise UserError(f"VLA folder '{path}' does not exist")
    for kind, names in (("config", ("config.json",)), ("weights", WEIGHT_FILES), ("processor", PROCESSOR_FILES)):
        if not any((path / name).is_file() for name in names):
            raise UserError(f"VLA folder '{path}' has no {kind} file ({' or '.join(names)})")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(f"VLA folder '{path}' has no tokenizer file ({' or '.join(TOKENIZER_FILES)})")
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        processor = AutoProcessor.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"VLA folder '{path}': cannot read its config or processor ({_first_line(error)})") from None
    tokenizer = processor.tokenizer
    vocab_size = config.get_text_config().vocab_size
    if len(tokenizer) > vocab_size:
        raise UserError(
            f"VLA folder '{path}': tokenizer has {len(tokenizer)} tokens, the model's vocabulary only {vocab_size}"
        )
    image_token_id = getattr(config, "image_token_id", getattr(config, "image_token_index", None))
    image_token = getattr(processor, "image_token", None)
    if image_token_id is not None and image_token is not None:
        tokenizer_id = tokenizer.convert_tokens_to_ids(image_token)
        if tokenizer_id != image_token_id:
            raise UserError(
                f"VLA folder '{path}': the tokenizer's image token {image_token!r} is id {tokenizer_id}, "
                f"the model expects {image_token_id}"
            )


def model_image_size(path: str | Path) -> int | None:
    """Square input size (px) of a VLA folder's image processor, or None if it resizes otherwise."""
    import json

    for name in PROCESSOR_FILES:
        file = Path(path) / name
        if file.is_file():
            config = json.loads(file.read_text())
            size = config.get("image_processor", config).get("size", {})
            if size.get("height") is not None and size.get("height") == size.get("width"):
                return int(size["height"])
    return None


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
        """Check the folder, then load and freeze the model.

        Args:
            model_path: Local folder written by ``save_pretrained`` (model and processor).
            device: Device to run on.
            dtype: Weight dtype; the checkpoint's when omitted.
            max_new_tokens: Longest answer generated.

        Raises:
            UserError: If the folder lacks files, its tokenizer does not match the model, or its weights are unreadable.
        """
        from transformers import AutoModelForImageTextToText, AutoProcessor

        check_vla_folder(model_path)
        self.processor = AutoProcessor.from_pretrained(model_path, local_files_only=True)
        self.processor.tokenizer.padding_side = "left"
        try:
            model = AutoModelForImageTextToText.from_pretrained(model_path, local_files_only=True, dtype=dtype)
        except Exception as error:  # safetensors, torch and transformers raise many types for damaged weights
            raise UserError(f"VLA folder '{model_path}': cannot load the model ({_first_line(error)})") from None
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
        images = frames_as_images(frames, self.model.device)
        inputs = self.processor(text=texts, images=images, return_tensors="pt", padding=True)
        inputs = inputs.to(self.model.device, dtype=self.model.dtype)
        generated = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        answers = generated[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(answers, skip_special_tokens=True)

"""The small VLA trained from scratch: LLaVA with a SigLIP vision tower and a Llama decoder, both tiny and random.

It is a stock ``transformers`` architecture saved with ``save_pretrained`` (model and processor), so the ``hf`` backend
loads it with ``AutoModelForImageTextToText`` / ``AutoProcessor`` like any other VLM. Each frame is resized to
``image_size`` and cut into ``patch_size`` patches; every patch becomes one token of the decoder's input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerFast

from navila_agents.vla.training.tokenizer import CHAT_TEMPLATE, IMAGE_TOKEN


@dataclass(frozen=True)
class SmallVlaCfg:
    """Sizes of the from-scratch VLA (defaults: ~6 M parameters, 36 tokens per 96 × 96 frame)."""

    image_size: int = 96
    """Frames are resized to this square size (pixels); best equal to the camera's."""
    patch_size: int = 16
    vision_hidden: int = 192
    vision_layers: int = 4
    vision_heads: int = 3
    vision_mlp: int = 768
    text_hidden: int = 256
    text_layers: int = 4
    text_heads: int = 4
    text_mlp: int = 768
    max_positions: int = 1024
    """Longest prompt plus answer (tokens)."""


def build_small_vla(cfg: SmallVlaCfg, tokenizer: PreTrainedTokenizerFast) -> tuple[torch.nn.Module, object]:
    """Create a randomly initialized LLaVA for ``tokenizer``'s vocabulary, and its processor.

    Returns:
        ``(model, processor)``; ``processor`` is a ``LlavaProcessor`` with the chat template of
        :mod:`~navila_agents.vla.training.tokenizer`.
    """
    from transformers import (
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        SiglipImageProcessor,
        SiglipVisionConfig,
    )

    image_processor = SiglipImageProcessor(size={"height": cfg.image_size, "width": cfg.image_size})
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=cfg.patch_size,
        vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE,
    )
    vision = SiglipVisionConfig(
        hidden_size=cfg.vision_hidden,
        intermediate_size=cfg.vision_mlp,
        num_hidden_layers=cfg.vision_layers,
        num_attention_heads=cfg.vision_heads,
        image_size=cfg.image_size,
        patch_size=cfg.patch_size,
        vision_use_head=False,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.text_hidden,
        intermediate_size=cfg.text_mlp,
        num_hidden_layers=cfg.text_layers,
        num_attention_heads=cfg.text_heads,
        num_key_value_heads=cfg.text_heads,
        max_position_embeddings=cfg.max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        # untied: the answers' words (left, right, forward, stop...) also steer the instruction; sharing their rows
        # with the output layer, whose symmetric answers pull "left" and "right" together, left the model deaf to them
        tie_word_embeddings=False,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        tie_word_embeddings=False,
    )
    model = LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, processor


def load_pretrained_vla(path: str | Path) -> tuple[torch.nn.Module, object]:
    """Load a local image-text-to-text model and its processor (e.g. a Qwen2-VL or LLaVA checkpoint) for training.

    Raises:
        UserError: If the folder does not hold a loadable model and processor.
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from navila_agents.vla.backends.hf import check_vla_folder

    check_vla_folder(path)
    processor = AutoProcessor.from_pretrained(path, local_files_only=True)
    model = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    return model, processor

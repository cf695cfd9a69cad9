"""A word-level tokenizer built from the data with ``tokenizers``, wrapped for ``transformers`` with a chat template.

Text is lower-cased and split on whitespace and punctuation; every word seen in the training texts gets an id, any
other word is ``<unk>`` (answered, never an error). The chat template renders a user message of interleaved text and
image entries (as :func:`navila_agents.vla.backends.hf.prompt_messages` builds it) and, for generation, ends with the
``<answer>`` marker after which the model writes the action alone, e.g. ``turn left 45 degrees``.
"""

from __future__ import annotations

from collections.abc import Iterable

from transformers import PreTrainedTokenizerFast

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
IMAGE_TOKEN = "<image>"
"""One per image in the prompt; the processor expands it to the vision tower's patch count."""
ANSWER_TOKEN = "<answer>"
"""Ends the prompt: what follows is the answer."""
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS, IMAGE_TOKEN, ANSWER_TOKEN)

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}" + ANSWER_TOKEN + "{% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}" + IMAGE_TOKEN + "{% else %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}" + ANSWER_TOKEN + "{% endif %}"
)
"""Jinja chat template: bos, the user content (images as ``<image>``), then ``<answer>`` for generation."""


def build_tokenizer(texts: Iterable[str], min_frequency: int = 1) -> PreTrainedTokenizerFast:
    """Train a word-level tokenizer on ``texts`` and wrap it with its special tokens (the processor holds the template).

    Args:
        texts: Every prompt and answer text the model will see in training.
        min_frequency: Words seen fewer times become ``<unk>``.

    Returns:
        The tokenizer; ``len(tokenizer)`` is the vocabulary size the model needs.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.decoder = decoders.WordPiece()  # joins words with spaces, no space before punctuation
    trainer = trainers.WordLevelTrainer(special_tokens=list(SPECIAL_TOKENS), min_frequency=min_frequency)
    tokenizer.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        extra_special_tokens={"image_token": IMAGE_TOKEN, "answer_token": ANSWER_TOKEN},
    )

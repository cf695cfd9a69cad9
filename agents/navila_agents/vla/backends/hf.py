"""A Hugging Face ``transformers`` image-text-to-text model loaded from a local folder, frozen."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from navila_lab.errors import UserError
from torch.nn.utils.rnn import pad_sequence

from navila_agents.vla.backends.base import VLABackend, freeze
from navila_agents.vla.frames import IMAGE_PLACEHOLDER, build_prompt, with_action_history
from navila_agents.vla.grammar import action_kind, canonical_answers
from navila_agents.vla.mirror import mirror_frames, mirror_text

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
"""One of these holds a folder's weights."""
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
DECODINGS = ("auto", "generate", "rank")
"""How :class:`HFBackend` answers: ``generate`` greedily, ``rank`` the closed answer set, ``auto`` picks (see there)."""
PROMPT_CACHE_SIZE = 4096
"""Prompts (instruction, frame count) whose token ids :class:`PromptEncoder` keeps: an episode asks with one
instruction and 8 frames at every query after its first few."""
RANK_BY = ("answer", "action")
"""What ``rank`` maximizes: one answer's likelihood, or first an action kind's (its answers' summed probability)."""


def prompt_messages(instruction: str, num_frames: int) -> list[dict]:
    """Return NaVILA's reference prompt as one chat message whose content interleaves text and image entries."""
    pieces = build_prompt(instruction, num_frames).split(IMAGE_PLACEHOLDER)
    content: list[dict] = [{"type": "text", "text": pieces[0]}]
    for piece in pieces[1:]:
        content += [{"type": "image"}, {"type": "text", "text": piece}]
    return [{"role": "user", "content": content}]


def chat_prompts(processor: object, instructions: Sequence[str], num_frames: Sequence[int]) -> list[str]:
    """The chat-template prompts of some queries (:func:`prompt_messages`), each ending where the answer begins."""
    return [
        processor.apply_chat_template(prompt_messages(instruction, count), add_generation_prompt=True, tokenize=False)
        for instruction, count in zip(instructions, num_frames, strict=True)
    ]


def frames_as_images(frames: Sequence[np.ndarray], device: str | torch.device = "cpu") -> list[list[torch.Tensor]]:
    """Per query, its frames as (3, H, W) uint8 tensors on ``device``: what image processors take fastest.

    Fast (torchvision) image processors handle tensors batched and on the tensors' device; PIL images or HWC arrays
    would be converted one by one on the CPU first.
    """
    return [list(torch.as_tensor(np.asarray(query)).to(device).permute(0, 3, 1, 2)) for query in frames]


def processor_inputs(
    processor: object, frames: Sequence[np.ndarray], instructions: Sequence[str], device: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """The queries' model inputs as the processor itself builds them from their :func:`chat_prompts` and frames."""
    texts = chat_prompts(processor, instructions, [len(query) for query in frames])
    images = frames_as_images(frames, device)
    return dict(processor(text=texts, images=images, return_tensors="pt", padding=True))


class PromptEncoder:
    """The processor's model inputs (``input_ids``, ``attention_mask``, image tensors) for queries' prompts.

    The prompts are :func:`chat_prompts`, padded on the tokenizer's side. A LLaVA processor gives every image the
    same number of image tokens; for one, the prompts are tokenized with one image token per frame, each then
    repeated (cached per instruction and frame count), and all frames go through the image processor in one call
    (:meth:`pixels`): the processor's own output without its string expansion and token-count checks, which take
    most of a small model's query time. Other processors (e.g. Qwen2-VL's, whose token count follows the image size)
    are called as they are.
    """

    def __init__(self, processor: object) -> None:
        """Encode with ``processor``; count the image tokens a LLaVA processor gives one frame."""
        from transformers import LlavaProcessor

        self.processor = processor
        self.image_tokens: int | None = None
        """Image tokens per frame on the fast path; None: the processor is called."""
        self.frame_size: tuple[int, int] | None = None
        """(H, W) of the frames the image processor only rescales and normalizes; None: it is called."""
        if isinstance(processor, LlavaProcessor):
            frame = torch.zeros((3, 8, 8), dtype=torch.uint8)
            ids = processor(text=[processor.image_token], images=[[frame]])["input_ids"][0]
            self.image_tokens = ids.count(processor.image_token_id)
            self.frame_size = fixed_frame_size(processor.image_processor)
        self.prompt_ids = functools.lru_cache(maxsize=PROMPT_CACHE_SIZE)(self._prompt_ids)
        """Token ids (image tokens expanded) of one query's prompt, cached by (instruction, frame count)."""

    def __call__(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], device: str | torch.device = "cpu"
    ) -> dict[str, torch.Tensor]:
        """Inputs of the queries (frames (N, H, W, 3) uint8 and instruction each), image tensors on ``device``."""
        if self.image_tokens is None:
            return processor_inputs(self.processor, frames, instructions, device)
        tokenizer = self.processor.tokenizer
        expanded = [self.prompt_ids(text, len(query)) for text, query in zip(instructions, frames, strict=True)]
        side = tokenizer.padding_side
        input_ids = pad_sequence(expanded, batch_first=True, padding_value=tokenizer.pad_token_id, padding_side=side)
        ones = [torch.ones_like(row) for row in expanded]
        attention_mask = pad_sequence(ones, batch_first=True, padding_value=0, padding_side=side)
        return {"input_ids": input_ids, "attention_mask": attention_mask, **self.pixels(frames, device)}

    def _prompt_ids(self, instruction: str, num_frames: int) -> torch.Tensor:
        """The chat prompt tokenized with one image token per frame, each then repeated :attr:`image_tokens` times."""
        text = chat_prompts(self.processor, [instruction], [num_frames])[0]
        row = torch.tensor(self.processor.tokenizer(text)["input_ids"])
        return row.repeat_interleave(torch.where(row == self.processor.image_token_id, self.image_tokens, 1))

    def pixels(self, frames: Sequence[np.ndarray], device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
        """The image processor's output for all frames; frames of :attr:`frame_size` only rescaled and normalized.

        That is what the processor does to them (its resize to their own size changes nothing), without splitting
        the batch into images, grouping them by shape and stacking them again: on a GPU, host time per frame.
        """
        stacked = stacked_frames(frames, device)
        processor = self.processor.image_processor
        if isinstance(stacked, list) or tuple(stacked.shape[-2:]) != self.frame_size:
            return dict(processor(stacked, return_tensors="pt"))
        mean, std = processor.image_mean, processor.image_std
        rescale, factor, normalize = processor.do_rescale, processor.rescale_factor, processor.do_normalize
        return {"pixel_values": processor.rescale_and_normalize(stacked, rescale, factor, normalize, mean, std)}


def fixed_frame_size(image_processor: object) -> tuple[int, int] | None:
    """The (H, W) every image is resized to by a torchvision-backed image processor that only rescales and normalizes.

    None for one that also crops or pads, or resizes otherwise (e.g. by the shortest edge).
    """
    size = getattr(image_processor, "size", None)
    height, width = getattr(size, "height", None), getattr(size, "width", None)
    plain = not getattr(image_processor, "do_center_crop", False) and not getattr(image_processor, "do_pad", False)
    if hasattr(image_processor, "rescale_and_normalize") and plain and height and width:
        return height, width
    return None


def stacked_frames(
    frames: Sequence[np.ndarray], device: str | torch.device = "cpu"
) -> torch.Tensor | list[torch.Tensor]:
    """All the queries' frames in one (frames, 3, H, W) uint8 tensor on ``device``, or one per frame if sizes differ.

    One copy to the device, and an image processor takes the batch in one call (a list: a conversion and a copy each).
    """
    if len({np.shape(query)[1:] for query in frames}) > 1:
        return [frame for query in frames_as_images(frames, device) for frame in query]
    return torch.from_numpy(np.concatenate([np.asarray(query) for query in frames])).to(device).permute(0, 3, 1, 2)


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


ACTION_HISTORY_KEY = "navila_action_history"
"""Model config entry (saved in ``config.json``) of a VLA trained on instructions that end with its action history
(``navila vla-train --action-history``, :func:`~navila_agents.vla.frames.with_action_history`)."""


def reads_action_history(model: torch.nn.Module) -> bool:
    """Whether ``model`` was trained with its action history in the instruction (:data:`ACTION_HISTORY_KEY`)."""
    return bool(getattr(model.config, ACTION_HISTORY_KEY, False))


class HFBackend(VLABackend):
    """Any ``AutoModelForImageTextToText`` with its ``AutoProcessor`` (which must carry a chat template).

    Nothing is downloaded: the folder must hold the config, weights and processor files. Two ways to answer:

    * ``generate``: greedy generation, free text (a general VLM such as NaVILA answers in sentences);
    * ``rank``: the most likely answer of a closed set (the canonical actions of the grammar by default), each
      scored by the sum of its tokens' log-probabilities (end of sequence included) exactly as training scores it.
      For a model trained on canonical answers only, greedy decoding is biased: it commits to the most likely first
      word, and "turn" (six answers) or "move" (three) beats the single-token "stop" and the most likely answer.

    ``auto`` ranks for models whose tokenizer has the ``<answer>`` token (the small VLA of ``navila vla-train``) and
    generates otherwise. Ranking ``rank_by="action"`` first picks the likeliest kind of action (walk, turn left, turn
    right, stop: the summed probability of its answers), then its likeliest answer: the single answer "stop" then
    competes with all of a kind's distances or angles at once, not with each of them apart.
    """

    def __init__(
        self,
        model_path: str | Path,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        max_new_tokens: int = 32,
        decoding: str = "auto",
        answers: Sequence[str] | None = None,
        rank_batch: int | None = None,
        mirror_average: bool = False,
        rank_by: str = "answer",
    ) -> None:
        """Check the folder, then load and freeze the model.

        Args:
            model_path: Local folder written by ``save_pretrained`` (model and processor).
            device: Device to run on.
            dtype: Weight dtype; the checkpoint's when omitted.
            max_new_tokens: Longest answer generated.
            decoding: One of :data:`DECODINGS` (see the class docstring).
            answers: The closed answer set of ``rank``; the grammar's canonical actions when omitted.
            rank_batch: (query, answer) pairs scored per chunk by ``rank``: chunks of ``rank_batch // len(answers)``
                queries. Default: 512 on a GPU (32 queries in one chunk), 128 on the CPU, where copying the prompts'
                key-value cache for every answer is memory-bound (100 queries, one thread of a busy 2-core CPU: 15.5 s
                at 128, 18.8 s at 512).
            mirror_average: ``rank`` adds to each answer's log-likelihood that of its mirror answer for the mirrored
                query (:mod:`~navila_agents.vla.mirror`): a bias toward one turn side cancels, what the model read
                from the frames and the instruction stays. Twice the compute.
            rank_by: One of :data:`RANK_BY` (see the class docstring).

        Raises:
            UserError: If the folder lacks files, its tokenizer does not match the model, its weights are unreadable,
                or ``mirror_average`` is asked of generation or of an answer set that is not mirror-closed.
        """
        from transformers import AutoModelForImageTextToText, AutoProcessor

        if decoding not in DECODINGS:
            raise UserError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
        if rank_by not in RANK_BY:
            raise UserError(f"rank_by must be one of {', '.join(RANK_BY)}, got {rank_by!r}")
        check_vla_folder(model_path)
        self.processor = AutoProcessor.from_pretrained(model_path, local_files_only=True)
        self.processor.tokenizer.padding_side = "left"
        if decoding == "auto":
            from navila_agents.vla.training.tokenizer import ANSWER_TOKEN

            decoding = "rank" if ANSWER_TOKEN in self.processor.tokenizer.get_vocab() else "generate"
        self.decoding = decoding
        self.answers = list(answers) if answers is not None else canonical_answers()
        kinds = [action_kind(answer) or answer for answer in self.answers]  # an answer of no kind is its own
        self._kinds = torch.tensor([[kind == other for kind in kinds] for other in dict.fromkeys(kinds)])
        """(kinds, answers) bool: the answers of each action kind."""
        self.rank_by = rank_by
        self.mirror_average = mirror_average
        if mirror_average:
            mirrored = [mirror_text(answer) for answer in self.answers]
            if decoding != "rank" or not set(mirrored) <= set(self.answers):
                raise UserError("mirror averaging needs rank decoding over answers that include each one's mirror")
            self._mirror_of = [self.answers.index(answer) for answer in mirrored]
        self.encode = PromptEncoder(self.processor)
        try:
            model = AutoModelForImageTextToText.from_pretrained(model_path, local_files_only=True, dtype=dtype)
        except Exception as error:  # safetensors, torch and transformers raise many types for damaged weights
            raise UserError(f"VLA folder '{model_path}': cannot load the model ({_first_line(error)})") from None
        self.model = freeze(model.to(device))
        self.action_history = reads_action_history(self.model)
        self._executed: dict[int, list[str]] = {}
        """Per env, the answers executed so far in its episode (:meth:`set_history`)."""
        self.max_new_tokens = max_new_tokens
        self.rank_batch = rank_batch or (512 if self.model.device.type == "cuda" else 128)
        if decoding == "rank":
            from navila_agents.vla.training.collate import QueryCollator

            # the collator pads on the right, as in training: ranking reads each prompt's last token at its length
            ids = QueryCollator(self.processor).answer_ids(self.answers)
            longest = max(len(row) for row in ids)
            pad = self.processor.tokenizer.pad_token_id
            self._answer_ids = torch.tensor([row + [pad] * (longest - len(row)) for row in ids], device=device)
            lengths = torch.tensor([len(row) for row in ids], device=device)
            self._answer_mask = (torch.arange(longest, device=device) < lengths[:, None]).long()

    def set_history(self, env_ids: Sequence[int], executed: Sequence[Sequence[str]]) -> None:
        """Keep these envs' executed answers: the next queries' instructions end with them."""
        for env_id, answers in zip(env_ids, executed, strict=True):
            self._executed[int(env_id)] = list(answers)

    def read_instructions(self, instructions: Sequence[str], env_ids: Sequence[int] | None = None) -> list[str]:
        """The instructions as the model reads them: each ending with its env's history if the model reads one."""
        if not self.action_history:
            return list(instructions)
        env_ids = range(len(instructions)) if env_ids is None else env_ids
        return [
            with_action_history(text, self._executed.get(int(env_id), []))
            for text, env_id in zip(instructions, env_ids, strict=True)
        ]

    @torch.inference_mode()
    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[str]:
        """Answer every query: generated in one left-padded batch, or ranked (see the class docstring)."""
        instructions = self.read_instructions(instructions, env_ids)
        if self.decoding == "rank":
            return self._rank(frames, instructions)
        inputs = self._on_model(self.encode(frames, instructions, self.model.device))
        generated = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        answers = generated[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(answers, skip_special_tokens=True)

    def _rank(self, frames: Sequence[np.ndarray], instructions: Sequence[str]) -> list[str]:
        """Per query, the answer of :attr:`answers` with the highest log-likelihood (its tokens and the end token)."""
        if self.mirror_average:  # the queries and their mirror images in the same batches
            count = len(frames)
            frames = [*frames, *(mirror_frames(query) for query in frames)]
            instructions = [*instructions, *map(mirror_text, instructions)]
            both = self._chunked_scores(frames, instructions)
            scores = both[:count] + both[count:, self._mirror_of]
        else:
            scores = self._chunked_scores(frames, instructions)
        if self.rank_by == "action":
            kinds = self._kinds.to(scores.device)
            per_kind = scores[:, None, :].masked_fill(~kinds, -torch.inf).logsumexp(dim=2)
            scores = scores.masked_fill(~kinds[per_kind.argmax(dim=1)], -torch.inf)
        return [self.answers[index] for index in scores.argmax(dim=1).tolist()]

    def _chunked_scores(self, frames: Sequence[np.ndarray], instructions: Sequence[str]) -> torch.Tensor:
        """:meth:`_answer_scores` in chunks of ``rank_batch // len(answers)`` queries."""
        per_chunk = max(1, self.rank_batch // len(self.answers))
        return torch.cat(
            [
                self._answer_scores(frames[start : start + per_chunk], instructions[start : start + per_chunk])
                for start in range(0, len(frames), per_chunk)
            ]
        )

    def _answer_scores(self, frames: Sequence[np.ndarray], instructions: Sequence[str]) -> torch.Tensor:
        """Log-likelihood (queries, answers) of every answer, in two forward passes.

        The queries' prompts run once, in one batch padded on the right; every answer continues from its query's
        key-value cache at the positions that follow the query's own prompt.
        """
        queries, count = len(frames), len(self.answers)
        prompt = self._on_model(self.encode(frames, instructions, self.model.device))
        out = self.model(**prompt, use_cache=True)
        lengths = prompt["attention_mask"].sum(dim=1)
        last = out.logits[torch.arange(queries, device=lengths.device), lengths - 1].float().log_softmax(dim=-1)
        first = last[:, self._answer_ids[:, 0]]
        cache = out.past_key_values
        cache.batch_repeat_interleave(count)
        ids, answer_mask = self._answer_ids.repeat(queries, 1), self._answer_mask.repeat(queries, 1)
        mask = torch.cat((prompt["attention_mask"].repeat_interleave(count, dim=0), answer_mask[:, :-1]), dim=1)
        positions = lengths.repeat_interleave(count)[:, None] + torch.arange(ids.shape[1] - 1, device=ids.device)
        logits = self.model(
            input_ids=ids[:, :-1], attention_mask=mask, position_ids=positions, past_key_values=cache
        ).logits
        token_scores = logits.float().log_softmax(dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
        return first + (token_scores * answer_mask[:, 1:]).sum(dim=1).view(queries, count)

    def _on_model(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``batch`` on the model's device, its floating-point tensors in the model's dtype."""
        return {
            key: value.to(self.model.device, self.model.dtype if value.is_floating_point() else value.dtype)
            for key, value in batch.items()
        }

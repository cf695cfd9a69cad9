"""Supervised fine-tuning of a VLA on labelled queries: from scratch (the small LLaVA) or from a local VLM (± LoRA).

The run directory holds everything a resumed run needs::

    <out>/checkpoints/step_000500/   model + processor (save_pretrained; LoRA adapters only) and trainer_state.pt
    <out>/checkpoints/latest         name of the newest complete checkpoint
    <out>/tb/                        TensorBoard events (loss, learning rate, validation loss and answer accuracy)
    <out>/model/                     the final model and processor, loadable by the ``hf`` backend
    <out>/training.json              cfg, steps, samples, wall time, last validation metrics

A run whose ``checkpoints/latest`` exists continues from it (weights, optimizer, schedule, data order, RNG), so a
killed run loses at most ``checkpoint_every`` steps; an interrupt (Ctrl-C, ``timeout -s INT``) or ``max_minutes``
saves a checkpoint before stopping. On CUDA the forward and backward run in bf16 autocast over fp32 weights.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from navila_lab.errors import UserError
from tqdm import tqdm

from navila_agents.vla.backends.hf import ACTION_HISTORY_KEY, reads_action_history
from navila_agents.vla.frames import build_prompt, with_action_history
from navila_agents.vla.mirror import mirror_text
from navila_agents.vla.training.collate import IGNORE_INDEX, QueryCollator
from navila_agents.vla.training.dataset import (
    QuerySamples,
    concat_split,
    executed_before,
    load_dataset_dir,
    turn_starts,
)
from navila_agents.vla.training.model import SmallVlaCfg, build_small_vla, load_pretrained_vla
from navila_agents.vla.training.tokenizer import build_tokenizer

CHECKPOINTS = "checkpoints"
LATEST = "latest"
STATE_FILE = "trainer_state.pt"
MODEL_DIR = "model"
SUMMARY_FILE = "training.json"


@dataclass
class TrainCfg:
    """What to train, on which data, and how."""

    data: list[Path]
    """Dataset folders (:mod:`~navila_agents.vla.training.dataset`); their train splits are concatenated."""
    out: Path
    """Run directory."""
    init: Path | None = None
    """Local model folder to fine-tune (a VLM, or an earlier run's ``model/``); a new small VLA when None."""
    small: SmallVlaCfg = field(default_factory=SmallVlaCfg)
    """Sizes of the new small VLA (``init`` None only)."""
    lora_rank: int = 0
    """LoRA rank of adapters on every linear layer of ``init`` (0: train all weights)."""
    max_steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
    """The cosine schedule ends at this fraction of ``lr``."""
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    log_every: int = 10
    eval_every: int = 250
    eval_samples: int = 512
    """Validation rows scored at each evaluation (a fixed subset)."""
    checkpoint_every: int = 250
    max_minutes: float | None = None
    """Stop (with a checkpoint) after this much wall time; the next run with the same ``out`` continues."""
    num_workers: int = 4
    mirror_probability: float = 0.0
    """Share of training samples drawn mirrored: frames flipped, left and right swapped
    (:func:`~navila_agents.vla.mirror.mirror_query`)."""
    prompt_loss_weight: float = 0.0
    """Weight of a language-model loss on the prompt's words (instruction and template) added to the answer's loss:
    a decoder trained from scratch learns there to read its instruction's words."""
    first_query_repeats: int = 1
    """Times each episode's first query (``step`` 0, where only the instruction tells the first turn) appears in an
    epoch: more of the rows that can only be answered by reading the instruction."""
    first_queries_only: bool = False
    """Train on the first queries alone (a first stage that learns to read; the vocabulary still spans the split)."""
    turn_start_repeats: int = 1
    """Times each later turn start (:func:`~navila_agents.vla.training.dataset.turn_starts`: a bend of the path, which
    only the frames tell) appears in an epoch."""
    turn_starts_only: bool = False
    """Train on the turn starts alone (a stage that learns to turn at the bends)."""
    action_history: bool = False
    """Each instruction ends with the actions executed before the query in its episode
    (:func:`~navila_agents.vla.frames.with_action_history`); the model's config records it, so backends and DAgger
    give the model its history too."""
    seed: int = 0
    device: str = "cpu"


@dataclass
class _Progress:
    """Where the run stands: what a checkpoint stores besides weights and optimizer."""

    step: int = 0
    epoch: int = 0
    offset: int = 0
    """Samples of the current epoch's order already used."""
    seen: int = 0
    """Samples trained on."""


def _latest_checkpoint(out: Path) -> Path | None:
    pointer = out / CHECKPOINTS / LATEST
    if not pointer.is_file():
        return None
    path = out / CHECKPOINTS / pointer.read_text().strip()
    if not (path / STATE_FILE).is_file():
        raise UserError(f"{pointer} names '{path.name}', which holds no {STATE_FILE}: remove {out / CHECKPOINTS}")
    return path


def _training_texts(split: object, mirrored: bool, action_history: bool) -> list[str]:
    """Return the prompts and answers of a split (and their mirrored texts if asked), to build a vocabulary from."""
    instructions = split.unique("instruction")
    if action_history:  # the history phrases' words (summed distances and angles) join the vocabulary
        steps, executed = split["step"], list(split["executed"])
        instructions += sorted(
            {with_action_history("", executed_before(executed, steps, row)) for row in range(len(steps))}
        )
    texts = [build_prompt(text) for text in instructions] + split.unique("answer")
    return texts + [mirror_text(text) for text in texts] if mirrored else texts


class Trainer:
    """One SFT run (see the module docstring)."""

    def __init__(self, cfg: TrainCfg) -> None:
        """Load the data and the model, or the newest checkpoint of ``cfg.out``."""
        if cfg.first_queries_only and (cfg.turn_start_repeats > 1 or cfg.turn_starts_only):
            raise UserError("training on the first queries only leaves no turn start to repeat or train on")
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        datasets = [load_dataset_dir(path) for path in cfg.data]
        self.train_rows = concat_split(datasets, "train")
        if self.train_rows is None:
            raise UserError(f"no 'train' rows in {', '.join(map(str, cfg.data))}")
        self.val_rows = concat_split(datasets, "validation")
        first_queries = torch.nonzero(torch.as_tensor(self.train_rows["step"]) == 0).flatten()
        bends = cfg.turn_starts_only or cfg.turn_start_repeats > 1
        starts = torch.as_tensor(turn_starts(self.train_rows) if bends else [], dtype=torch.long)
        if cfg.turn_starts_only:
            every_row, repeated = starts, [starts.repeat(cfg.turn_start_repeats - 1)]
        else:
            every_row = first_queries if cfg.first_queries_only else torch.arange(len(self.train_rows))
            repeated = [first_queries.repeat(cfg.first_query_repeats - 1), starts.repeat(cfg.turn_start_repeats - 1)]
        if not len(every_row):
            raise UserError(f"no training rows to draw from in {', '.join(map(str, cfg.data))}")
        self.epoch_rows = torch.cat([every_row, *repeated])
        self.progress = _Progress()
        checkpoint = _latest_checkpoint(cfg.out)
        self.model, self.processor = self._load_model(checkpoint)
        trained_with = reads_action_history(self.model)
        if checkpoint is None and cfg.init is not None and trained_with != cfg.action_history:
            fine_tune = "with --action-history" if trained_with else "without --action-history"
            raise UserError(
                f"'{cfg.init}' was trained {fine_tune.split()[0]} its action history: fine-tune it {fine_tune}"
            )
        setattr(self.model.config, ACTION_HISTORY_KEY, cfg.action_history)
        self.model.to(self.device)
        trainable = [parameter for parameter in self.model.parameters() if parameter.requires_grad]
        decay = [parameter for parameter in trainable if parameter.ndim >= 2]
        no_decay = [parameter for parameter in trainable if parameter.ndim < 2]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.lr,
            betas=(0.9, 0.95),
            fused=self.device.type == "cuda",
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        if checkpoint is not None:
            state = torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=False)
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.progress = _Progress(**state["progress"])
            torch.set_rng_state(state["rng"])
        self.collator = QueryCollator(self.processor)
        self.resumed_from = checkpoint

    def cfg_dict(self) -> dict:
        """Return the cfg as JSON-ready values (paths as strings)."""
        return json.loads(json.dumps(asdict(self.cfg), default=str))

    def _load_model(self, checkpoint: Path | None) -> tuple[torch.nn.Module, object]:
        """Load the model to train: from the checkpoint, from ``init`` (± LoRA), or a new small VLA."""
        from transformers import AutoModelForImageTextToText, AutoProcessor

        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        if cfg.lora_rank:
            from peft import LoraConfig, PeftModel, get_peft_model

            if cfg.init is None:
                raise UserError("LoRA needs --init (a local model to adapt)")
            base, processor = load_pretrained_vla(cfg.init)
            if checkpoint is not None:
                return PeftModel.from_pretrained(base, checkpoint, is_trainable=True), processor
            lora = LoraConfig(r=cfg.lora_rank, lora_alpha=2 * cfg.lora_rank, target_modules="all-linear")
            return get_peft_model(base, lora), processor
        if checkpoint is not None:
            processor = AutoProcessor.from_pretrained(checkpoint, local_files_only=True)
            return AutoModelForImageTextToText.from_pretrained(checkpoint, dtype=torch.float32), processor
        if cfg.init is not None:
            return load_pretrained_vla(cfg.init)
        texts = _training_texts(self.train_rows, cfg.mirror_probability > 0, cfg.action_history)
        return build_small_vla(cfg.small, build_tokenizer(texts))

    def _lr_factor(self, step: int) -> float:
        """Linear warm-up, then cosine decay to ``min_lr_ratio``."""
        cfg = self.cfg
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    def _loader(self, rows: object, indices: list[int], mirrored: bool = False) -> torch.utils.data.DataLoader:
        """Batches of ``rows`` in the order of ``indices`` (of :class:`QuerySamples`, mirrored ones too if asked)."""
        return torch.utils.data.DataLoader(
            torch.utils.data.Subset(QuerySamples(rows, mirrored, self.cfg.action_history), indices),
            batch_size=self.cfg.batch_size,
            collate_fn=self.collator,
            num_workers=self.cfg.num_workers,
            pin_memory=self.device.type == "cuda",
        )

    def _epoch_order(self, epoch: int) -> list[int]:
        """The rows of an epoch (first queries and turn starts repeated as set), shuffled, mirrored as set."""
        generator = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
        order = self.epoch_rows[torch.randperm(len(self.epoch_rows), generator=generator)]
        mirrored = torch.rand(len(order), generator=generator) < self.cfg.mirror_probability
        return (order + len(self.train_rows) * mirrored).tolist()

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda")

    def _forward(self, batch: dict[str, torch.Tensor]) -> tuple[object, dict[str, torch.Tensor]]:
        """The model's output on ``batch``, and the batch on the training device."""
        batch = {key: value.to(self.device, non_blocking=True) for key, value in batch.items()}
        with self._autocast():
            return self.model(**batch), batch

    def _loss(self, output: object, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The answer's loss, plus ``prompt_loss_weight`` × the next-word loss on the prompt's text tokens."""
        if not self.cfg.prompt_loss_weight:
            return output.loss
        ids = batch["input_ids"][:, 1:]
        words = (batch["labels"][:, 1:] == IGNORE_INDEX) & (batch["attention_mask"][:, 1:] == 1)
        words &= ids != self.model.config.image_token_id
        logits = output.logits[:, :-1][words].float()
        return output.loss + self.cfg.prompt_loss_weight * torch.nn.functional.cross_entropy(logits, ids[words])

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Return the validation loss and the fraction of answers with every token predicted (teacher forcing)."""
        if self.val_rows is None:
            return {}
        self.model.eval()
        count = min(self.cfg.eval_samples, len(self.val_rows))
        indices = torch.linspace(0, len(self.val_rows) - 1, count).long().tolist()
        loss_sum, exact, total = 0.0, 0, 0
        for batch in self._loader(self.val_rows, indices):
            output, batch = self._forward(batch)
            labels = batch["labels"]
            predicted = output.logits[:, :-1].argmax(dim=-1)
            targets = labels[:, 1:]
            answer = targets != IGNORE_INDEX
            exact += ((predicted == targets) | ~answer).all(dim=1).sum().item()
            loss_sum += output.loss.item() * len(targets)
            total += len(targets)
        self.model.train()
        return {"val_loss": loss_sum / total, "val_answer_accuracy": exact / total}

    def _save_checkpoint(self) -> None:
        """Write ``checkpoints/step_<n>``, point ``latest`` at it, drop the older ones."""
        root = self.cfg.out / CHECKPOINTS
        name = f"step_{self.progress.step:06d}"
        target, partial = root / name, root / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        self.model.save_pretrained(partial)
        self.processor.save_pretrained(partial)
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "progress": asdict(self.progress),
            "rng": torch.get_rng_state(),
            "cfg": self.cfg_dict(),
        }
        torch.save(state, partial / STATE_FILE)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        pointer = root / f".{LATEST}.partial"
        pointer.write_text(name)
        pointer.replace(root / LATEST)
        for old in root.glob("step_*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)

    def _save_final(self, metrics: dict[str, float], wall_time: float) -> Path:
        """Write ``model/`` (LoRA merged into the weights) and ``training.json``."""
        target, partial = self.cfg.out / MODEL_DIR, self.cfg.out / f".{MODEL_DIR}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        model = self.model.merge_and_unload() if hasattr(self.model, "merge_and_unload") else self.model
        model.save_pretrained(partial)
        self.processor.save_pretrained(partial)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        summary = {
            "cfg": self.cfg_dict(),
            "steps": self.progress.step,
            "samples_seen": self.progress.seen,
            "train_rows": len(self.train_rows),
            "parameters": sum(parameter.numel() for parameter in model.parameters()),
            "wall_time_s_last_session": round(wall_time, 1),
            **metrics,
        }
        (self.cfg.out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
        return target

    def train(self, progress_bar: bool = True) -> Path | None:
        """Train up to ``max_steps``; return the final model folder, or None when stopped early (checkpointed)."""
        from torch.utils.tensorboard import SummaryWriter

        cfg, state = self.cfg, self.progress
        if state.step >= cfg.max_steps and (cfg.out / MODEL_DIR).is_dir():
            return cfg.out / MODEL_DIR  # finished already: keep its model and summary
        cfg.out.mkdir(parents=True, exist_ok=True)
        writer = SummaryWriter(str(cfg.out / "tb"), purge_step=state.step or None)
        deadline = None if cfg.max_minutes is None else time.monotonic() + 60 * cfg.max_minutes
        start, metrics = time.monotonic(), {}
        self.model.train()
        bar = tqdm(total=cfg.max_steps, initial=state.step, desc="vla-train", unit="step", disable=not progress_bar)
        try:
            while state.step < cfg.max_steps:
                order = self._epoch_order(state.epoch)[state.offset :]
                for batch in self._loader(self.train_rows, order, mirrored=True):
                    loss = self._loss(*self._forward(batch))
                    loss.backward()
                    norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                    self.optimizer.step()
                    self.scheduler.step()
                    self.optimizer.zero_grad(set_to_none=True)
                    state.step += 1
                    state.offset += len(batch["labels"])
                    state.seen += len(batch["labels"])
                    bar.update()
                    if state.step % cfg.log_every == 0:
                        loss = loss.item()
                        writer.add_scalar("train/loss", loss, state.step)
                        writer.add_scalar("train/grad_norm", norm.item(), state.step)
                        writer.add_scalar("train/lr", self.scheduler.get_last_lr()[0], state.step)
                        bar.set_postfix(loss=f"{loss:.3f}")
                    if state.step % cfg.eval_every == 0 or state.step == cfg.max_steps:
                        metrics = self.evaluate()
                        for key, value in metrics.items():
                            writer.add_scalar(f"val/{key.removeprefix('val_')}", value, state.step)
                    if state.step % cfg.checkpoint_every == 0:
                        self._save_checkpoint()
                    if state.step >= cfg.max_steps:
                        break
                    if deadline is not None and time.monotonic() > deadline:
                        self._save_checkpoint()
                        print(f"[vla-train] time limit: stopped at step {state.step}; run again to continue")
                        return None
                else:
                    state.epoch, state.offset = state.epoch + 1, 0
        except KeyboardInterrupt:
            self._save_checkpoint()
            print(f"[vla-train] interrupted: checkpoint at step {state.step}; run again to continue")
            raise
        finally:
            bar.close()
            writer.close()
        if state.step % cfg.checkpoint_every:
            self._save_checkpoint()
        return self._save_final(metrics, time.monotonic() - start)

"""Training the VLA on CPU: tokenizer, dataset format, trainer (loss, resume, LoRA), save → load through ``hf``."""

import shutil
from collections import Counter

import numpy as np
import pytest
import torch
from navila_agents.vla.frames import NUM_FRAMES, build_prompt, with_action_history
from navila_agents.vla.grammar import Forward, Stop, Turn, parse_action
from navila_agents.vla.mirror import mirror_query, mirror_text
from navila_agents.vla.training.collate import IGNORE_INDEX, QueryCollator
from navila_agents.vla.training.dataset import (
    QuerySamples,
    dataset_sizes,
    load_dataset_dir,
    turn_side,
    turn_starts,
    write_dataset,
)
from navila_agents.vla.training.model import build_small_vla
from navila_agents.vla.training.tokenizer import build_tokenizer
from navila_agents.vla.training.trainer import CHECKPOINTS, LATEST, MODEL_DIR, Trainer
from navila_lab.errors import UserError
from vla_training_support import (
    ANSWERS,
    COLORS,
    HISTORY_ACTIONS,
    HISTORY_INSTRUCTION,
    SIDE_ANSWERS,
    TINY,
    colour_rows,
    side_rows,
    train_cfg,
    write_colour_dataset,
    write_history_dataset,
    write_instruction_side_dataset,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def colour_data(tmp_path_factory):
    return write_colour_dataset(tmp_path_factory.mktemp("data") / "colours")


@pytest.fixture(scope="module")
def trained(colour_data, tmp_path_factory):
    """A tiny VLA trained on the colour task; the validation metrics before and after."""
    torch.set_num_threads(1)
    trainer = Trainer(train_cfg(colour_data, tmp_path_factory.mktemp("run"), max_steps=300))
    before = trainer.evaluate()
    model_dir = trainer.train(progress_bar=False)
    return trainer, model_dir, before, trainer.evaluate()


class TestTokenizer:
    def test_unknown_words_become_unk(self):
        """Words outside the training texts map to <unk>; encoding and decoding never fail."""
        tokenizer = build_tokenizer([build_prompt("walk to the red sofa"), "turn left 45 degrees"])
        ids = tokenizer("Walk to the ZEBRA sofa!", add_special_tokens=False)["input_ids"]
        assert tokenizer.unk_token_id in ids
        assert ids.count(tokenizer.unk_token_id) == 2  # "zebra" and "!"
        assert tokenizer.decode(tokenizer("turn left 45 degrees")["input_ids"]) == "turn left 45 degrees"

    def test_case_is_folded(self):
        """Upper case words get the ids of their lower-case forms."""
        tokenizer = build_tokenizer(["stop by the sofa"])
        assert tokenizer("STOP By The Sofa")["input_ids"] == tokenizer("stop by the sofa")["input_ids"]


class TestDataset:
    def test_samples_follow_frame_offsets(self, tmp_path):
        """A row's frames are its episode's earlier frames at the stored offsets, black padding in front."""
        path = write_colour_dataset(tmp_path / "data", train_episodes=2, val_episodes=1)
        split = load_dataset_dir(path)["train"]
        samples = QuerySamples(split)
        frames, instruction, answer = samples[3]  # fourth query of episode 0: 3 history frames + current
        assert frames.shape == (NUM_FRAMES, 32, 32, 3)
        assert not frames[: NUM_FRAMES - 4].any()
        for position, row in enumerate(range(4)):
            expected = np.asarray(split[row]["frame"].convert("RGB"))
            np.testing.assert_array_equal(frames[NUM_FRAMES - 4 + position], expected)
        assert answer == split[3]["answer"] and instruction == split[3]["instruction"]

    def test_mirrored_samples_flip_frames_and_swap_sides(self, tmp_path):
        """Index N + i is row i seen in a mirror: every frame flipped left-right, left and right swapped in the
        instruction and the answer; without mirroring the dataset has N samples."""
        path = write_colour_dataset(tmp_path / "data", train_episodes=2, val_episodes=1)
        split = load_dataset_dir(path)["train"]
        plain, mirrored = QuerySamples(split), QuerySamples(split, mirrored=True)
        assert len(mirrored) == 2 * len(plain) == 16
        with pytest.raises(IndexError):
            plain[len(plain)]
        frames, instruction, answer = plain[3]
        frames[-1, :, :5] = 255  # a mark on the left of the current frame
        flipped, _, _ = mirror_query(frames, instruction, answer)
        assert flipped[-1, :, -5:].min() == 255 and flipped[-1, :, :5].max() < 255
        np.testing.assert_array_equal(mirrored[8 + 3][0], plain[3][0][:, :, ::-1])
        assert mirror_text("Turn left, then keep slightly to the right; leftover Rights stay") == (
            "Turn right, then keep slightly to the left; leftover Rights stay"
        )
        assert mirror_text("turn left 30 degrees") == "turn right 30 degrees"
        assert mirror_text(mirror_text("Take a Right at the LEFT door")) == "Take a Right at the LEFT door"

    def test_action_history_samples_end_with_the_episode_so_far(self, tmp_path):
        """Each sample's instruction ends with its episode's actions executed before it, runs merged; mirrored samples
        swap the sides there too."""
        data = write_history_dataset(tmp_path / "data", train_episodes=3, val_episodes=1)
        split = load_dataset_dir(data)["train"]
        samples = QuerySamples(split, mirrored=True, action_history=True)
        for index in (0, 5, 11):
            row = split[index]
            earlier = split[index - row["step"] : index]["executed"]
            assert samples[index][1] == with_action_history(HISTORY_INSTRUCTION, earlier)
            assert samples[len(split) + index][1] == mirror_text(samples[index][1])
        assert samples[4][1] == f"{HISTORY_INSTRUCTION} Done so far: nothing."
        assert QuerySamples(split)[5][1] == HISTORY_INSTRUCTION

    def test_missing_and_corrupt_datasets_are_one_line_errors(self, tmp_path):
        """A missing folder, a damaged arrow file or a foreign dataset raise a one-line UserError."""
        with pytest.raises(UserError, match="does not exist"):
            load_dataset_dir(tmp_path / "nothing")
        path = write_colour_dataset(tmp_path / "data", train_episodes=2, val_episodes=1)
        arrow = next((path / "train").glob("*.arrow"))
        arrow.write_bytes(arrow.read_bytes()[:100])
        with pytest.raises(UserError, match="not readable") as error:
            load_dataset_dir(path)
        assert "\n" not in str(error.value)
        (tmp_path / "empty").mkdir()
        with pytest.raises(UserError):
            load_dataset_dir(tmp_path / "empty")

    def test_split_sizes_come_from_the_card(self, tmp_path):
        """The sizes of a vla-data card's front matter are read without the frames; a card without them is an error."""
        from navila_agents.vln.datagen import dataset_card

        rows = colour_rows(3, "train")
        (tmp_path / "README.md").write_text(dataset_card("t", "navila vla-data", {"train": rows, "test": rows[:5]}, {}))
        assert dataset_sizes(tmp_path) == {"train": len(rows), "test": 5}
        (tmp_path / "README.md").write_text("# card without sizes\n")
        with pytest.raises(UserError, match="no split sizes"):
            dataset_sizes(tmp_path)
        with pytest.raises(UserError, match="no README.md"):
            dataset_sizes(tmp_path / "nothing")

    def test_turn_starts_are_the_bends_after_the_first_query(self):
        """A turn starts where the previous executed action was not a turn to that side; step 0 is never one."""
        split = {
            "step": [0, 1, 2, 3, 4, 5, 0, 1],
            "answer": [
                "turn left 30 degrees",  # first query
                "turn left 30 degrees",  # continues the turn
                "move forward 75 cm",
                "turn right 45 degrees",  # a bend
                "turn left 15 degrees",  # the other side right after: a bend too
                "turn left 15 degrees",  # the learner walked on instead (executed below): starts again
                "turn right 30 degrees",  # next episode's first query
                "stop",
            ],
            "executed": [
                "turn left 30 degrees",
                "turn left 30 degrees",
                "move forward 75 cm",
                "turn right 45 degrees",
                "move forward 75 cm",
                "turn left 15 degrees",
                "turn right 30 degrees",
                "stop",
            ],
        }
        assert turn_starts(split) == [3, 4, 5]
        assert [turn_side(answer) for answer in split["answer"][2:5]] == [None, "right", "left"]

    def test_write_is_all_or_nothing(self, tmp_path):
        """A failing write leaves no folder behind; an existing folder is never overwritten."""
        rows = colour_rows(1, "train")
        bad = rows[:1] + [rows[1].__class__(**{**rows[1].__dict__, "step": "not a number"})]
        with pytest.raises((ValueError, TypeError)):
            write_dataset(tmp_path / "data", {"train": bad}, "# card\n")
        assert list(tmp_path.iterdir()) == []
        write_dataset(tmp_path / "data", {"train": rows}, "# card\n")
        with pytest.raises(UserError, match="exists"):
            write_dataset(tmp_path / "data", {"train": rows}, "# card\n")
        assert (tmp_path / "data" / "README.md").read_text() == "# card\n"


class TestCollator:
    def test_only_answer_tokens_carry_a_loss(self, colour_data):
        """Labels are -100 on the prompt and padding; the answer and end-of-sequence tokens are the labels."""
        split = load_dataset_dir(colour_data)["train"]
        tokenizer = build_tokenizer([build_prompt(split[0]["instruction"]), *ANSWERS.values()])
        _, processor = build_small_vla(TINY, tokenizer)
        samples = QuerySamples(split)
        batch = QueryCollator(processor)([samples[0], samples[5]])
        for row, index in enumerate((0, 5)):
            labelled = batch["labels"][row][batch["labels"][row] != IGNORE_INDEX].tolist()
            assert labelled[-1] == tokenizer.eos_token_id
            assert tokenizer.decode(labelled[:-1]) == split[index]["answer"]
            answer_start = (batch["labels"][row] != IGNORE_INDEX).nonzero()[0].item()
            assert batch["input_ids"][row, answer_start - 1] == tokenizer.convert_tokens_to_ids("<answer>")
        assert batch["pixel_values"].shape[0] == 2 * NUM_FRAMES


class TestTrainer:
    def test_training_lowers_the_loss_and_learns_the_task(self, trained):
        """Validation loss falls and every validation answer is predicted after a short run."""
        _, _, before, after = trained
        assert after["val_loss"] < 0.5 * before["val_loss"]
        assert after["val_answer_accuracy"] == 1.0

    def test_saved_model_answers_through_the_hf_backend(self, trained, colour_data):
        """The saved folder loads with the hf backend unchanged and answers as trained, batched or one by one."""
        from navila_agents.vla.backends.hf import HFBackend

        trainer, model_dir, _, _ = trained
        backend = HFBackend(model_dir, max_new_tokens=8)
        samples = QuerySamples(load_dataset_dir(colour_data)["validation"])
        queries = [samples[index] for index in range(6)]
        answers = backend.act_batch([frames for frames, _, _ in queries], [text for _, text, _ in queries])
        assert answers == [answer for _, _, answer in queries]
        assert answers[:2] == [backend.act(frames, text) for frames, text, _ in queries[:2]]
        assert {type(parse_action(answer)) for answer in answers} <= {Forward, Turn, Stop}
        batch = trainer.collator(queries)
        with torch.no_grad():
            trained_logits = trainer.model.eval()(**batch).logits
            loaded_logits = backend.model(**batch).logits
        torch.testing.assert_close(trained_logits, loaded_logits)

    def test_ranking_scores_answers_as_training_does(self, trained, colour_data):
        """Ranking runs the queries' prompts once (one padded batch) and continues every answer from the cache: the
        log-likelihoods equal the training loss's, every (query, answer) sequence scored in full by the collator."""
        from navila_agents.vla.backends.hf import HFBackend
        from navila_agents.vla.training.collate import IGNORE_INDEX

        trainer, model_dir, _, _ = trained
        backend = HFBackend(model_dir)
        samples = QuerySamples(load_dataset_dir(colour_data)["validation"])
        queries = [samples[index] for index in range(3)]
        queries[1] = (queries[1][0], queries[1][1] + " then wait there", queries[1][2])  # prompts of unequal length
        full = []
        for frames, text, _ in queries:
            batch = trainer.collator([(frames, text, answer) for answer in backend.answers])
            targets = batch.pop("labels")[:, 1:]
            with torch.no_grad():
                log_probs = backend.model(**batch).logits[:, :-1].float().log_softmax(dim=-1)
            token_scores = log_probs.gather(-1, targets.clamp(min=0)[..., None])[..., 0]
            full.append((token_scores * (targets != IGNORE_INDEX)).sum(dim=1))
        ranked = backend._answer_scores([frames for frames, _, _ in queries], [text for _, text, _ in queries])
        torch.testing.assert_close(ranked, torch.stack(full), atol=1e-4, rtol=1e-4)

    def test_unknown_words_are_answered(self, trained):
        """An instruction full of words never seen in training is answered, not an error."""
        from navila_agents.vla.backends.hf import HFBackend

        backend = HFBackend(trained[1], max_new_tokens=8)
        frames = np.zeros((NUM_FRAMES, 32, 32, 3), dtype=np.uint8)
        frames[-1] = COLORS["green"]
        assert backend.act(frames, "Proceed toward the turquoise ottoman, über-quickly!") == "stop"

    def test_drives_the_robot_side_command_source_without_a_server(self, trained):
        """navila_sim2real's VLA command source takes the model folder and runs it in-process on camera frames."""
        from navila_sim2real.vla import vla_command_source

        class GreenCamera:
            def latest(self):
                return np.full((48, 64, 3), COLORS["green"], dtype=np.uint8)

        source = vla_command_source(str(trained[1]), "stop by the plant", GreenCamera(), policy_dt=0.02)
        assert source.query_once() and source.answers == ["stop"] and source.finished

    def test_answers_follow_a_side_named_only_in_the_instruction(self, tmp_path):
        """The model reads the instruction's words: with noise frames, the side it names is learned exactly.

        Its input words are not tied to its answer words: tied, the symmetric answers "turn left" / "turn right" pull
        the two words' shared rows together and the model never tells them apart in the instruction (chance, 0.5).
        """
        data = write_instruction_side_dataset(tmp_path / "data")
        trainer = Trainer(train_cfg(data, tmp_path / "run", max_steps=300, eval_samples=40))
        trainer.train(progress_bar=False)
        assert trainer.evaluate()["val_answer_accuracy"] == 1.0

    def test_action_history_tells_what_the_frames_do_not(self, tmp_path):
        """Trained with ``action_history``, the model answers from the actions executed before (noise frames, one
        instruction: without the history three in four queries are a coin flip, the ablation below); the saved
        config makes the ``hf`` backend append the history it is given, and a fine-tune must keep the setting."""
        from navila_agents.vla.backends.hf import HFBackend

        torch.set_num_threads(1)
        data = write_history_dataset(tmp_path / "data")
        trainer = Trainer(train_cfg(data, tmp_path / "run", max_steps=300, eval_samples=40, action_history=True))
        trainer.train(progress_bar=False)
        assert trainer.evaluate()["val_answer_accuracy"] == 1.0
        backend = HFBackend(tmp_path / "run" / MODEL_DIR, max_new_tokens=8)
        assert backend.action_history
        turn, walk = HISTORY_ACTIONS
        noise = np.random.default_rng(5).integers(0, 256, (NUM_FRAMES, 32, 32, 3), dtype=np.uint8)
        backend.set_history([3, 7], [[turn, walk], [walk, turn]])
        answers = backend.act_batch([noise, noise], [HISTORY_INSTRUCTION] * 2, env_ids=[3, 7])
        assert answers == [turn, walk]
        with pytest.raises(UserError, match="--action-history"):
            Trainer(train_cfg(data, tmp_path / "tune", init=tmp_path / "run" / MODEL_DIR))
        blind = Trainer(train_cfg(data, tmp_path / "blind", max_steps=300, eval_samples=40))
        blind.train(progress_bar=False)
        assert blind.evaluate()["val_answer_accuracy"] < 0.8

    def test_prompt_loss_adds_the_next_word_loss_of_the_prompt_text(self, colour_data, tmp_path):
        """With ``prompt_loss_weight`` w the loss is the answer's + w × the model's own next-word loss on the prompt's
        text tokens (instruction and template; not the frames' image tokens, not padding); 0 leaves the answer's."""
        trainer = Trainer(train_cfg(colour_data, tmp_path / "run", prompt_loss_weight=0.5))
        samples = QuerySamples(trainer.train_rows)
        batch = trainer.collator([samples[0], samples[1], samples[2]])
        output, on_device = trainer._forward(batch)
        words = batch["input_ids"].clone()
        image_token = trainer.model.config.image_token_id
        not_words = (batch["labels"] != IGNORE_INDEX) | (batch["attention_mask"] == 0) | (words == image_token)
        words[not_words] = IGNORE_INDEX
        prompt = trainer.model(**(on_device | {"labels": words})).loss
        assert trainer._loss(output, on_device).item() == pytest.approx(output.loss.item() + 0.5 * prompt.item())
        trainer.cfg.prompt_loss_weight = 0.0
        assert trainer._loss(output, on_device) is output.loss

    def test_mirroring_teaches_the_other_side(self, tmp_path):
        """Trained on left-lit frames (turn left) and grey ones (walk on) only, with half the samples mirrored, the
        model answers "turn right" for right-lit frames it never saw; the epoch order mirrors about half the rows."""
        torch.set_num_threads(1)
        splits = {"train": side_rows(30, "train"), "validation": side_rows(6, "val", seed=1)}
        write_dataset(tmp_path / "sides", splits, "# sides\n")
        seen_in_mirror = QuerySamples(load_dataset_dir(tmp_path / "sides")["validation"], mirrored=True)
        right = [seen_in_mirror[index] for index in range(len(seen_in_mirror) // 2, len(seen_in_mirror))]
        trainer = Trainer(train_cfg(tmp_path / "sides", tmp_path / "run", max_steps=200, mirror_probability=0.5))
        order = trainer._epoch_order(0)
        rows = len(trainer.train_rows)
        assert sorted(index % rows for index in order) == list(range(rows))
        assert 0.3 < sum(index >= rows for index in order) / rows < 0.7
        assert order == trainer._epoch_order(0) != trainer._epoch_order(1)
        trainer.train(progress_bar=False)
        from navila_agents.vla.backends.hf import HFBackend

        backend = HFBackend(tmp_path / "run" / MODEL_DIR, max_new_tokens=8)
        answers = backend.act_batch([frames for frames, _, _ in right], [text for _, text, _ in right])
        assert answers == [answer for _, _, answer in right]
        assert "turn right 30 degrees" in answers and SIDE_ANSWERS["none"] in answers

    def test_first_queries_repeat_in_every_epoch(self, colour_data, tmp_path):
        """With ``first_query_repeats`` 3 an epoch holds each step-0 row three times and every other row once; with
        ``first_queries_only`` only the step-0 rows."""
        trainer = Trainer(train_cfg(colour_data, tmp_path / "run", first_query_repeats=3, mirror_probability=0.5))
        steps = trainer.train_rows["step"]
        rows = len(steps)
        for epoch in (0, 1):
            counts = Counter(index % rows for index in trainer._epoch_order(epoch))
            assert [counts[row] for row in range(rows)] == [3 if step == 0 else 1 for step in steps]
        assert 0 < steps.count(0) < rows
        only = Trainer(train_cfg(colour_data, tmp_path / "first", first_queries_only=True))
        assert sorted(only._epoch_order(0)) == [row for row, step in enumerate(steps) if step == 0]

    def test_turn_starts_repeat_in_every_epoch(self, colour_data, tmp_path):
        """With ``turn_start_repeats`` 3 each turn start is drawn three times per epoch, every other row once; it
        cannot be combined with ``first_queries_only``."""
        trainer = Trainer(train_cfg(colour_data, tmp_path / "run", turn_start_repeats=3))
        rows = trainer.train_rows
        starts = {
            row
            for row in range(len(rows))
            if rows["step"][row] > 0
            and rows["answer"][row].startswith("turn left")
            and not rows["executed"][row - 1].startswith("turn left")
        }
        assert 0 < len(starts) < len(rows)
        counts = Counter(trainer._epoch_order(0))
        assert [counts[row] for row in range(len(rows))] == [3 if row in starts else 1 for row in range(len(rows))]
        with pytest.raises(UserError, match="no turn start to repeat"):
            Trainer(train_cfg(colour_data, tmp_path / "first", turn_start_repeats=2, first_queries_only=True))
        only = Trainer(train_cfg(colour_data, tmp_path / "turns", turn_starts_only=True, turn_start_repeats=2))
        assert Counter(only._epoch_order(0)) == dict.fromkeys(starts, 2)
        straight_on = [row for row in colour_rows(10, "train") if not row.answer.startswith("turn")]
        write_dataset(tmp_path / "straight", {"train": straight_on}, "# no turns\n")
        with pytest.raises(UserError, match="no training rows"):
            Trainer(train_cfg(tmp_path / "straight", tmp_path / "none", turn_starts_only=True))

    def test_killed_run_resumes_within_one_interval(self, colour_data, tmp_path):
        """A crash between checkpoints loses at most one interval (mirrored samples and repeated first queries
        included); the resumed run ends with the same weights."""
        torch.set_num_threads(1)
        cfg = dict(max_steps=30, checkpoint_every=10, mirror_probability=0.5, first_query_repeats=2)
        straight = Trainer(train_cfg(colour_data, tmp_path / "straight", **cfg))
        straight.train(progress_bar=False)

        crashing = Trainer(train_cfg(colour_data, tmp_path / "resumed", **cfg))
        step = crashing.optimizer.step
        calls = []

        def crash_at_step_17(*args, **kwargs):
            calls.append(1)
            if len(calls) == 17:
                raise RuntimeError("killed")
            return step(*args, **kwargs)

        crashing.optimizer.step = crash_at_step_17
        with pytest.raises(RuntimeError, match="killed"):
            crashing.train(progress_bar=False)
        assert (tmp_path / "resumed" / CHECKPOINTS / LATEST).read_text() == "step_000010"

        resumed = Trainer(train_cfg(colour_data, tmp_path / "resumed", **cfg))
        assert resumed.progress.step == 10
        resumed.train(progress_bar=False)
        for (name, a), (_, b) in zip(
            straight.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
        ):
            torch.testing.assert_close(a, b, msg=name)

    def test_lora_fine_tunes_a_local_model_into_a_plain_folder(self, trained, colour_data, tmp_path):
        """LoRA on a saved model trains only adapters and writes merged weights the hf backend loads."""
        from navila_agents.vla.backends.hf import HFBackend

        init = tmp_path / "init"
        shutil.copytree(trained[1], init)
        trainer = Trainer(train_cfg(colour_data, tmp_path / "lora", init=init, lora_rank=4, max_steps=6))
        trainable = [name for name, parameter in trainer.model.named_parameters() if parameter.requires_grad]
        assert trainable and all("lora_" in name for name in trainable)
        model_dir = trainer.train(progress_bar=False)
        assert model_dir == tmp_path / "lora" / MODEL_DIR
        assert not list(model_dir.glob("adapter_*"))
        HFBackend(model_dir, max_new_tokens=4).act(np.zeros((2, 32, 32, 3), dtype=np.uint8), "stop")


class TestVlaFolderErrors:
    def test_missing_files_and_mismatches_are_one_line_errors(self, trained, tmp_path):
        """A folder without weights, without a tokenizer, or whose tokenizer does not fit the model is refused."""
        import json

        from navila_agents.vla.backends.hf import HFBackend

        with pytest.raises(UserError, match="does not exist"):
            HFBackend(tmp_path / "none")
        for missing, message in (("model.safetensors", "weights"), ("tokenizer.json", "tokenizer")):
            folder = tmp_path / missing
            shutil.copytree(trained[1], folder)
            (folder / missing).unlink()
            if missing == "tokenizer.json":
                (folder / "tokenizer_config.json").unlink()
            with pytest.raises(UserError, match=message):
                HFBackend(folder)
        mismatch = tmp_path / "mismatch"
        shutil.copytree(trained[1], mismatch)
        config = json.loads((mismatch / "config.json").read_text())
        config["text_config"]["vocab_size"] = 8
        (mismatch / "config.json").write_text(json.dumps(config))
        with pytest.raises(UserError, match="tokenizer has") as error:
            HFBackend(mismatch)
        assert "\n" not in str(error.value)
        corrupt = tmp_path / "corrupt"
        shutil.copytree(trained[1], corrupt)
        (corrupt / "model.safetensors").write_bytes(b"not safetensors")
        with pytest.raises(UserError, match="cannot load"):
            HFBackend(corrupt)

"""Synthetic query datasets (answers that follow from a frame's colour, its lit side, or the instruction) and a tiny
small-VLA cfg with its training settings, and an untrained tiny small VLA saved to a folder."""

import numpy as np
from navila_agents.vla.frames import build_prompt, sample_frame_indices
from navila_agents.vla.grammar import canonical_answers
from navila_agents.vla.mirror import mirror_query
from navila_agents.vla.training.dataset import QueryRow, encode_png, write_dataset
from navila_agents.vla.training.model import SmallVlaCfg, build_small_vla
from navila_agents.vla.training.tokenizer import build_tokenizer
from navila_agents.vla.training.trainer import TrainCfg

COLORS = {"red": (200, 40, 40), "blue": (40, 70, 200), "green": (40, 160, 60)}
ANSWERS = {"red": "turn left 30 degrees", "blue": "move forward 75 cm", "green": "stop"}
"""The right answer when the current frame has this colour."""
TINY = SmallVlaCfg(
    image_size=32,
    patch_size=16,
    vision_hidden=32,
    vision_layers=1,
    vision_heads=2,
    vision_mlp=64,
    text_hidden=32,
    text_layers=1,
    text_heads=2,
    text_mlp=64,
    max_positions=512,
)


def write_untrained_small_vla(path):
    """Save an untrained ``navila vla-train`` small VLA of the :data:`TINY` size (model and processor) to ``path``."""
    tokenizer = build_tokenizer([build_prompt("go to the sofa"), *canonical_answers()])
    model, processor = build_small_vla(TINY, tokenizer)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def query_rows(num_episodes, split, draw, scene_of, seed=0, queries=4):
    """Episodes of ``queries`` rows; ``draw(rng)`` gives each query's current frame, instruction and expert answer,
    ``scene_of(episode)`` the episode's scene id."""
    rng = np.random.default_rng(seed)
    rows = []
    for episode in range(num_episodes):
        for step in range(queries):
            frame, instruction, answer = draw(rng)
            offsets = [index - step for index in sample_frame_indices(step + 1) if index is not None]
            rows.append(
                QueryRow(
                    encode_png(frame),
                    offsets,
                    instruction,
                    answer,
                    answer,
                    f"{split}/{episode}",
                    scene_of(episode),
                    step,
                    "expert",
                )
            )
    return rows


def colour_rows(num_episodes, split, seed=0, queries=4):
    """Episodes of ``queries`` rows; each current frame is a plain colour, the answer is that colour's."""

    def draw(rng):
        colour = list(COLORS)[rng.integers(len(COLORS))]
        frame = np.full((32, 32, 3), COLORS[colour], dtype=np.uint8)
        return frame, "walk past the red sofa and stop by the plant", ANSWERS[colour]

    return query_rows(num_episodes, split, draw, lambda episode: "procedural_00001", seed, queries)


def write_colour_dataset(path, train_episodes=30, val_episodes=6):
    write_dataset(
        path,
        {"train": colour_rows(train_episodes, "train"), "validation": colour_rows(val_episodes, "val", seed=1)},
        "# colours\n",
    )
    return path


LANDMARKS = ("sofa", "plant", "bed", "table")


def instruction_side_rows(num_episodes, split, seed=0, queries=4):
    """Episodes whose answer turns to the side the instruction names; the frames are noise and tell nothing."""

    def draw(rng):
        side = ("left", "right")[rng.integers(2)]
        frame = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        landmark = LANDMARKS[rng.integers(len(LANDMARKS))]
        return frame, f"veer slightly {side} and walk by the {landmark}", f"turn {side} 30 degrees"

    return query_rows(num_episodes, split, draw, lambda episode: "procedural_00001", seed, queries)


def write_instruction_side_dataset(path, train_episodes=60, val_episodes=10):
    splits = {
        "train": instruction_side_rows(train_episodes, "train"),
        "validation": instruction_side_rows(val_episodes, "val", seed=1),
    }
    write_dataset(path, splits, "# instruction side\n")
    return path


def train_cfg(data, out, **overrides):
    """The tiny VLA's training cfg of the tests: short, CPU-sized, no workers; ``overrides`` replace fields."""
    settings = dict(
        data=[data],
        out=out,
        small=TINY,
        max_steps=60,
        batch_size=8,
        lr=3e-3,
        warmup_steps=5,
        eval_every=1000,
        checkpoint_every=20,
        eval_samples=24,
        num_workers=0,
    )
    return TrainCfg(**(settings | overrides))


SIDE_ANSWERS = {"left": "turn left 30 degrees", "none": "move forward 75 cm"}
"""The answer when the current frame's left half is lit, and when it is plain grey."""


def side_rows(num_episodes, split, seed=0, queries=4, lit="left"):
    """Episodes whose current frames are lit on one side, ``lit`` (turn that way), or plain grey (walk on); the
    right-hand ones are the left-hand ones seen in a mirror (:func:`mirror_query`)."""

    def draw(rng):
        side = list(SIDE_ANSWERS)[rng.integers(len(SIDE_ANSWERS))]
        frame = np.full((32, 32, 3), 90, dtype=np.uint8)
        if side == "left":
            frame[:, :16] = 250
        query = frame, "turn to the light on your left, else walk on", SIDE_ANSWERS[side]
        if lit == "right":
            frames, instruction, answer = mirror_query(frame[None], *query[1:])
            query = frames[0], instruction, answer
        return query

    return query_rows(num_episodes, split, draw, lambda episode: f"procedural_{episode % 10:05d}", seed, queries)


HISTORY_INSTRUCTION = "walk after each left turn, else turn left"
HISTORY_ACTIONS = ("turn left 45 degrees", "move forward 75 cm")


def history_rows(num_episodes, split, seed=0, queries=4):
    """Episodes whose answer follows from the action executed last: a walk after a left turn, else a left turn. The
    executed actions are drawn at random and the frames are noise: only the action history tells the answer."""
    rng = np.random.default_rng(seed)
    rows = []
    for episode in range(num_episodes):
        executed = [HISTORY_ACTIONS[rng.integers(2)] for _ in range(queries)]
        for step in range(queries):
            answer = HISTORY_ACTIONS[1] if step and executed[step - 1] == HISTORY_ACTIONS[0] else HISTORY_ACTIONS[0]
            frame = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            offsets = [index - step for index in sample_frame_indices(step + 1) if index is not None]
            rows.append(
                QueryRow(
                    encode_png(frame),
                    offsets,
                    HISTORY_INSTRUCTION,
                    answer,
                    executed[step],
                    f"{split}/{episode}",
                    "procedural_00001",
                    step,
                    "expert",
                )
            )
    return rows


def write_history_dataset(path, train_episodes=60, val_episodes=10):
    splits = {"train": history_rows(train_episodes, "train"), "validation": history_rows(val_episodes, "val", seed=1)}
    write_dataset(path, splits, "# action history\n")
    return path

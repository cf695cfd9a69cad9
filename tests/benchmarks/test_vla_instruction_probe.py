"""benchmarks/vla_instruction_probe.py on a synthetic dataset whose expert turns to the side its instruction names."""

import numpy as np
import pytest
import torch
from navila_agents.vla.training.dataset import load_dataset_dir
from navila_agents.vla.training.trainer import Trainer
from navila_benchmarks import vla_instruction_probe
from navila_lab.errors import UserError
from vla_training_support import train_cfg, write_colour_dataset, write_instruction_side_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def side_data(tmp_path_factory):
    """Episodes with noise frames whose every answer turns to the instruction's side; a tiny VLA trained on them."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("probe")
    data = write_instruction_side_dataset(root / "data")
    return data, Trainer(train_cfg(data, root / "run", max_steps=300, eval_samples=40)).train(progress_bar=False)


def test_a_model_that_reads_the_side_agrees_and_flips_on_the_swap(side_data, tmp_path):
    """The rule and the trained model agree with the expert on every first query; swapping the words flips each turn."""
    data, model = side_data
    report = tmp_path / "probe.md"
    argv = ["--vla", str(model), "--data", str(data), "--split", "validation", "--report", str(report)]
    assert vla_instruction_probe.main(argv) == 0
    rows = [[cell.strip() for cell in line.split("|")[1:5]] for line in report.read_text().splitlines()]
    rows = [row for row in rows if row and row[0] != "answered by" and not row[0].startswith("---")]
    rule, trained, nth_word, previous_side, trained_later = rows
    assert rule[0] == "first side word of the instruction" and rule[1] == "1.00" and rule[3] == "—"
    assert trained[1] == "1.00" and trained[3] == "10 of 10" and trained[2] == rule[2]
    assert "10 first queries of the 'validation' split" in report.read_text()
    # later turns: each instruction names its query's side once and the side changed since the previous turn
    later = validation_later_turns(data)
    assert later and f"{len(later)} later turns" in report.read_text()
    assert nth_word[1] == "1.00" and previous_side[1] == "0.00"
    assert trained_later[1] == "1.00" and trained_later[3] == f"{len(later)} of {len(later)}"


def validation_later_turns(data):
    """The validation rows after an episode's first whose answer turns to another side than the previous one."""
    split = load_dataset_dir(data)["validation"]
    return [
        row
        for row, (step, answer) in enumerate(zip(split["step"], split["answer"], strict=True))
        if step > 0 and answer != split["executed"][row - 1]
    ]


def test_data_without_such_queries_is_a_one_line_error(side_data, tmp_path):
    """A split whose instructions name no side (the colour task's), or a missing split: one line saying so."""
    _, model = side_data
    colours = write_colour_dataset(tmp_path / "colours")
    with pytest.raises(UserError, match="no first query that turns and names a side"):
        vla_instruction_probe.main(["--vla", str(model), "--data", str(colours), "--split", "validation"])
    with pytest.raises(UserError, match="has no split 'nope'"):
        vla_instruction_probe.main(["--vla", str(model), "--data", str(colours), "--split", "nope"])


def test_a_history_reader_is_given_each_querys_history():
    """A backend that reads its action history gets each probed query's executed answers, in query order."""
    from navila_agents.vla.backends.base import VLABackend

    class Reader(VLABackend):
        action_history = True

        def __init__(self):
            self.histories = []

        def set_history(self, env_ids, executed):
            self.histories.append((list(env_ids), [list(answers) for answers in executed]))

        def act_batch(self, frames, instructions, env_ids=None):
            return ["turn left 15 degrees"] * len(frames)

    reader = Reader()
    frames = [np.zeros((8, 4, 4, 3), dtype=np.uint8)] * 2
    histories = [["move forward 75 cm"], ["turn right 45 degrees", "move forward 25 cm"]]
    sides, flips = vla_instruction_probe.swap_probe(reader, frames, ["go left", "go right"], histories)
    assert reader.histories == [([0, 1], histories)] and sides == ["left", "left"] and flips == "0 of 2"

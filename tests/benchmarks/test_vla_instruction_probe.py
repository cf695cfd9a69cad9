"""benchmarks/vla_instruction_probe.py on a synthetic dataset whose expert turns to the side its instruction names."""

import pytest
import torch
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
    rows = [line.split("|") for line in report.read_text().splitlines() if line.startswith("| ")][1:]
    rule, trained = [[cell.strip() for cell in row[1:5]] for row in rows]
    assert rule[0] == "first side word of the instruction" and rule[1] == "1.00" and rule[3] == "—"
    assert trained[1] == "1.00" and trained[3] == "10 of 10" and trained[2] == rule[2]
    assert "10 first queries of the 'validation' split" in report.read_text()


def test_data_without_such_queries_is_a_one_line_error(side_data, tmp_path):
    """A split whose instructions name no side (the colour task's), or a missing split: one line saying so."""
    _, model = side_data
    colours = write_colour_dataset(tmp_path / "colours")
    with pytest.raises(UserError, match="no first query that turns and names a side"):
        vla_instruction_probe.main(["--vla", str(model), "--data", str(colours), "--split", "validation"])
    with pytest.raises(UserError, match="has no split 'nope'"):
        vla_instruction_probe.main(["--vla", str(model), "--data", str(colours), "--split", "nope"])

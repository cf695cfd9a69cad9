"""benchmarks/vla_vision_probe.py on synthetic episodes whose frames are lit on the side to turn to."""

import pytest
import torch
from navila_agents.vla.training.dataset import write_dataset
from navila_benchmarks import vla_vision_probe
from navila_lab.errors import UserError
from vla_training_support import colour_rows, side_rows

pytestmark = pytest.mark.slow


def both_sides(episodes, split, seed):
    """Episodes lit on the left, then as many lit on the right."""
    return side_rows(episodes, split, seed) + side_rows(episodes, split, seed + 100, lit="right")


def test_the_probe_sees_the_lit_side(tmp_path):
    """The current frame tells the side: the probe, which sees nothing else, ends at 1.00 on both splits, every seed."""
    torch.set_num_threads(1)
    data = tmp_path / "data"
    splits = {
        "train": both_sides(20, "train", 0),
        "validation": both_sides(6, "val", 1),
        "test": both_sides(6, "te", 2),
    }
    write_dataset(data, splits, "# lit sides\n")
    report = tmp_path / "vision.md"
    argv = ["--data", str(data), "--seeds", "0", "1", "--epochs", "4", "--patch-size", "16", "--vision-layers", "1"]
    assert vla_vision_probe.main([*argv, "--report", str(report)]) == 0
    table = [line.split("|")[1:-1] for line in report.read_text().splitlines() if line.startswith("| ")][1:]
    rows = {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in table}
    assert rows["vision probe after epoch 4 (mean ± sd over seeds)"] == ["1.00 ± 0.00", "1.00 ± 0.00"]
    assert set(rows) >= {"the instruction's side word after as many as turned so far", "the side of the previous turn"}
    assert "seeds 0 1" in report.read_text()


def test_data_without_turn_starts_is_a_one_line_error(tmp_path):
    """A set whose later queries never start a turn, or that lacks a split: one line saying so."""
    data = tmp_path / "colours"
    rows = [row for row in colour_rows(10, "train") if not row.answer.startswith("turn")]
    write_dataset(data, {"train": rows, "validation": rows, "test": rows}, "# no turns\n")
    with pytest.raises(UserError, match="a split without turn starts"):
        vla_vision_probe.main(["--data", str(data)])
    partial = tmp_path / "partial"
    write_dataset(partial, {"train": rows}, "# train only\n")
    with pytest.raises(UserError, match="has no split validation, test"):
        vla_vision_probe.main(["--data", str(partial)])

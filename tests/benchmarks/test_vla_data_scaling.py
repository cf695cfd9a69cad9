"""benchmarks/vla_data_scaling.py on a synthetic dataset whose answer is the current frame's colour."""

from dataclasses import replace

import pytest
import torch
from navila_agents.vla.training.dataset import write_dataset
from navila_benchmarks import vla_data_scaling
from navila_lab.errors import UserError
from vla_training_support import colour_rows, side_rows


@pytest.fixture(scope="module")
def colour_scenes(tmp_path_factory):
    """30 training episodes in 10 scenes (3 each), 6 validation episodes."""
    train = [
        replace(row, scene_id=f"procedural_{int(row.episode.split('/')[1]) % 10:05d}")
        for row in colour_rows(30, "train")
    ]
    path = tmp_path_factory.mktemp("scaling") / "colours"
    write_dataset(path, {"train": train, "validation": colour_rows(6, "val", seed=1)}, "# colours\n")
    return path


def test_the_probe_learns_the_colours_and_the_table_is_appended(colour_scenes, tmp_path, capsys):
    """With every scene the probe beats the majority answer by far; the report gets one row per size."""
    torch.set_num_threads(1)  # small convolutions on threads that another busy process shares crawl
    report = tmp_path / "scaling.md"
    argv = ["--data", str(colour_scenes), "--scenes", "1", "10", "--seeds", "0", "1", "--steps", "60", "--batch", "16"]
    probes = ["frame", "frame+text", "frame+history+text"]
    assert vla_data_scaling.main([*argv, "--probes", *probes, "--report", str(report)]) == 0
    rows = [line.split("|") for line in report.read_text().splitlines() if line.startswith("| 1")]
    assert [(row[1].strip(), row[2].strip()) for row in rows] == [
        (size, probe) for size in ("1", "10") for probe in probes
    ]
    for row in rows[3:]:
        accuracy, majority = float(row[4].split("±")[0]), float(row[5])
        assert accuracy > 0.9 > majority
        assert float(row[7].split("±")[0]) == 1.0, "every red frame answered with a left turn"


def test_mirrored_probe_turns_to_the_side_it_never_saw(tmp_path):
    """Trained on left-lit frames (turn left) and grey ones, validated on right-lit ones: the mirroring probe turns
    right, the plain one never does (turn-side accuracy 1 vs 0)."""
    torch.set_num_threads(1)
    path = tmp_path / "sides"
    write_dataset(path, {"train": side_rows(30, "train"), "validation": side_rows(6, "val", 1, lit="right")}, "# s\n")
    report = tmp_path / "sides.md"
    argv = ["--data", str(path), "--scenes", "10", "--seeds", "0", "--steps", "80", "--batch", "16"]
    assert vla_data_scaling.main([*argv, "--probes", "frame", "frame+mirror", "--report", str(report)]) == 0
    rows = {line.split("|")[2].strip(): line.split("|") for line in report.read_text().splitlines() if "| 10 |" in line}
    assert float(rows["frame"][7].split("±")[0]) == 0.0
    assert float(rows["frame+mirror"][7].split("±")[0]) == 1.0
    assert float(rows["frame+mirror"][4].split("±")[0]) == 1.0


def test_more_scenes_than_the_data_holds_is_a_user_error(colour_scenes):
    with pytest.raises(UserError, match="hold 10 training scenes"):
        vla_data_scaling.main(["--data", str(colour_scenes), "--scenes", "11"])

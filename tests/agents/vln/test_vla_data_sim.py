"""``navila vla-data`` in the simulator on CPU: 2 episodes with a tiny camera, deterministic, disjoint splits."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from navila_agents.vla.grammar import Invalid, parse_action
from navila_agents.vla.training.dataset import QuerySamples, load_dataset_dir

pytestmark = pytest.mark.sim
SHIPPED = Path(__file__).parents[3] / "policies" / "vla_small"


def vla_data(out: Path) -> None:
    command = [sys.executable, "-m", "navila_cli", "vla-data", "--out", str(out), "--device", "cpu"]
    command += ["--train-scenes", "1", "--val-scenes", "1", "--test-scenes", "0", "--per-scene", "1"]
    command += ["--camera-size", "16", "--num_envs", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("vla_data")
    vla_data(root / "first")
    vla_data(root / "second")
    return load_dataset_dir(root / "first"), load_dataset_dir(root / "second"), root / "first"


class TestVlaData:
    def test_two_episodes_of_rendered_frames_labelled_by_the_expert(self, datasets):
        """One train and one validation episode; frames are 16 x 16 renders; every answer is grammar, the last stop."""
        data, _, _ = datasets
        assert set(data) == {"train", "validation"}
        for split in data.values():
            assert len(set(split["episode"])) == 1 and len(split) > 3
            assert all(not isinstance(parse_action(answer), Invalid) for answer in split["answer"])
            assert split["answer"][-1] == "stop" and split["answer"] == split["executed"]
            frames, _, _ = QuerySamples(split)[len(split) - 1]
            assert frames.shape == (8, 16, 16, 3) and frames[-1].std() > 0  # a rendered scene, not a flat image
        assert not set(data["train"]["scene_id"]) & set(data["validation"]["scene_id"])

    def test_same_command_same_data(self, datasets):
        """Two runs of the same command write the same rows, frames included."""
        first, second, _ = datasets
        for name in first:
            a, b = first[name].with_format("numpy"), second[name].with_format("numpy")
            for column in first[name].column_names:
                if column == "frame":
                    assert all(np.array_equal(x, y) for x, y in zip(a[column], b[column], strict=True))
                else:
                    assert first[name][column] == second[name][column]

    def test_card_and_episode_files(self, datasets):
        """The dataset card gives the generating command and the sizes; each split's episodes are saved."""
        _, _, folder = datasets
        card = (folder / "README.md").read_text()
        assert "navila vla-data --out" in card and "labelled queries per second" in card
        assert "| train |" in card and "| validation |" in card
        assert sorted(path.name for path in (folder / "episodes").iterdir()) == ["train.json.gz", "validation.json.gz"]

    @pytest.mark.skipif(not SHIPPED.is_dir(), reason="policies/vla_small is written by scripts/gpu_vla_pipeline.sh")
    def test_shipped_vla_answers_grammar_on_rendered_frames(self, datasets):
        """The shipped VLA loads on CPU and answers every rendered query with a parseable action."""
        from navila_agents.vla.backends.hf import HFBackend

        data, _, _ = datasets
        samples = QuerySamples(data["train"])
        queries = [samples[index] for index in range(0, len(samples), max(1, len(samples) // 4))]
        answers = HFBackend(SHIPPED).act_batch([q[0] for q in queries], [q[1] for q in queries])
        assert all(not isinstance(parse_action(answer), Invalid) for answer in answers)

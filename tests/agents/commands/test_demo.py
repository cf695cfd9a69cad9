"""``navila demo``: the VLA it picks, and (simulator) a one-episode run that writes the video and the summary."""

import json
import subprocess
import sys

import pytest
from navila_agents.commands import demo
from navila_lab.errors import UserError


class TestVlaChoice:
    def test_auto_uses_the_learned_vla_when_shipped(self, tmp_path, monkeypatch):
        """With a model folder at policies/vla_small, auto runs it through the hf backend; without, the oracle."""
        monkeypatch.setattr(demo, "LEARNED_VLA", tmp_path / "vla_small")
        assert demo.vla_flags("auto", "language") == ["--vla", "oracle", "--interface", "language"]
        (tmp_path / "vla_small").mkdir()
        (tmp_path / "vla_small" / "config.json").write_text("{}")
        assert demo.vla_flags("auto", "language") == ["--vla", "hf", "--vla-model", str(tmp_path / "vla_small")]

    def test_oracle_and_interfaces(self):
        assert demo.vla_flags("oracle", "waypoints") == ["--vla", "oracle", "--interface", "waypoints"]

    def test_a_missing_model_folder_is_an_error(self, tmp_path):
        with pytest.raises(UserError, match="config.json missing"):
            demo.vla_flags(str(tmp_path), "language")

    def test_a_learned_vla_speaks_language_only(self, tmp_path):
        (tmp_path / "config.json").write_text("{}")
        with pytest.raises(UserError, match="answers in language"):
            demo.vla_flags(str(tmp_path), "tokens")


def test_episodes_are_short_and_pass_glass(tmp_path):
    """The demo's episodes: 4 to 5.5 m, in one scene with glass."""
    from navila_tasks.vln.episodes import load_episodes
    from navila_tasks.vln.scenes import BoxKind, scene_from_id

    demo.write_episodes(3, 0, tmp_path / "episodes.json.gz")
    episodes = load_episodes(tmp_path / "episodes.json.gz")
    assert len(episodes) == 3 and len({episode.scene_id for episode in episodes}) == 1
    assert all(4.0 <= episode.shortest_path_length <= 5.5 for episode in episodes)
    assert any(box.kind == BoxKind.GLASS for box in scene_from_id(episodes[0].scene_id).boxes)


@pytest.mark.sim
@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    """One short episode with the shipped policy and VLA: metrics printed, demo.mp4 and summary.png written."""
    args = ["--episodes", "1", "--camera-size", "32", "--max-steps", "150", "--device", "cpu", "--out", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "navila_cli", "demo", *args], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    vla = f"hf {demo.LEARNED_VLA}" if "hf" in demo.vla_flags("auto", "language") else "oracle (full view)"
    assert f"| demo ({vla}) | 1 |" in result.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["low_level"].endswith("go2_rough_lidar") and summary["metrics"]["episodes"] == 1
    assert (tmp_path / "demo.mp4").stat().st_size > 10_000 and (tmp_path / "summary.png").stat().st_size > 10_000

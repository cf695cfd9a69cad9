"""Run outputs: per-episode JSON fields, summary, and the markdown table over runs."""

import json

import pytest
from navila_agents.vln.metrics import EpisodeRecord
from navila_agents.vln.report import load_summary, markdown_report, write_run
from navila_agents.vln.rollout import EndReason, EpisodeResult
from vln_support import METRIC_FIELDS


def result(episode_id, distance, stopped, reason, fall_cause=None):
    record = EpisodeRecord(episode_id, distance, min(distance, 2.0), 8.0, 6.0, stopped, falls=int(reason == "fall"))
    return EpisodeResult(
        record, "procedural_00001", "walk", EndReason(reason), ["stop"], [(1.0, 2.0), (3.0, 4.0)], fall_cause
    )


class TestReport:
    def test_episode_json_and_summary(self, tmp_path):
        """episodes.json has the metric fields per episode; summary.json aggregates them and counts end reasons."""
        results = [result(0, 1.0, True, "stop"), result(1, 5.0, False, "fall", "head_contact")]
        write_run(tmp_path, "LiDAR policy", results, {"num_envs": 2})
        episodes = json.loads((tmp_path / "episodes.json").read_text())
        assert METRIC_FIELDS <= set(episodes[0])
        assert episodes[0]["success"] and episodes[0]["spl"] == pytest.approx(6.0 / 8.0)
        assert not episodes[1]["success"] and episodes[1]["oracle_success"]
        assert episodes[0]["fall_cause"] is None and episodes[1]["fall_cause"] == "head_contact"
        summary = load_summary(tmp_path)
        assert summary["metrics"]["SR"] == 50.0 and summary["metrics"]["OS"] == 100.0
        assert summary["end_reasons"] == {"stop": 1, "fall": 1} and summary["config"] == {"num_envs": 2}
        assert summary["fall_causes"] == {"head_contact": 1}

    def test_markdown_has_one_row_per_run(self, tmp_path):
        """The report table lists each run under its label."""
        write_run(tmp_path / "a", "LiDAR policy", [result(0, 1.0, True, "stop")], {})
        write_run(tmp_path / "b", "blind policy", [result(0, 6.0, False, "max_steps")], {})
        text = markdown_report([tmp_path / "a", tmp_path / "b"])
        assert "| LiDAR policy | 1 | 1.00 | 100.00 | 100.00 |" in text and "| blind policy | 1 | 6.00 |" in text

    def test_falls_are_split_by_cause(self, tmp_path):
        """The end-reason line counts falls per cause, most frequent first; a run without causes lists falls only."""
        causes = ["calf_contact", "head_contact", "head_contact+bad_orientation", "head_contact"]
        falls = [result(i, 5.0, False, "fall", cause) for i, cause in enumerate(causes)]
        write_run(tmp_path / "a", "LiDAR policy", [*falls, result(4, 1.0, True, "stop")], {})
        write_run(tmp_path / "old", "blind policy", falls[:2], {})
        summary_file = tmp_path / "old" / "summary.json"
        old = json.loads(summary_file.read_text())
        del old["fall_causes"]  # as written before falls had causes
        summary_file.write_text(json.dumps(old))
        text = markdown_report([tmp_path / "a", tmp_path / "old"])
        falls_by_cause = "fall 4 (head_contact 2, calf_contact 1, head_contact+bad_orientation 1)"
        assert f"| LiDAR policy | {falls_by_cause}, stop 1 |" in text
        assert "| blind policy | fall 2 |" in text

    def test_missing_summary_is_a_clear_error(self, tmp_path):
        """A directory without summary.json is named in the error."""
        with pytest.raises(ValueError, match="not a navila vln output"):
            load_summary(tmp_path)

    def test_throughput_table_for_runs_that_recorded_it(self, tmp_path):
        """Runs with envs, camera, device and timing get a throughput row; older runs are left out of it."""
        config = {"num_envs": 256, "camera": "512x512", "device": "cuda:0", "loop_time_s": 90.0}
        write_run(tmp_path / "a", "LiDAR policy", [result(0, 1.0, True, "stop")], config | {"episodes_per_hour": 40.0})
        write_run(tmp_path / "b", "old run", [result(0, 1.0, True, "stop")], {"num_envs": 32})
        text = markdown_report([tmp_path / "a", tmp_path / "b"])
        assert "| LiDAR policy | 256 | 512x512 | cuda:0 | 1 | 90.0 | 40 |" in text
        assert "| old run | 32" not in text

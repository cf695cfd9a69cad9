"""``benchmarks/time_to_walk.py``: segment times, threshold crossings, table rows, and its input errors."""

import importlib
import json
import subprocess

import pytest
from bench_script import navila_bench


@pytest.fixture(scope="module")
def ttw():
    return importlib.import_module("navila_benchmarks.time_to_walk")


def run_script(*args: str) -> subprocess.CompletedProcess:
    return navila_bench("time_to_walk", *args)


def eval_result(lin_vel_error: float) -> dict:
    flat = {"forward_speed": 0.5 - lin_vel_error, "lin_vel_error": lin_vel_error, "fall_rate": 0.25, "episodes": 4}
    eval_set = {"num_envs": 8, "steps": 100}
    return {"format_version": 1, "eval_set": eval_set, "device": "Test GPU", "policies": [{"terrains": {"flat": flat}}]}


class TestSegments:
    def test_new_segment_keeps_only_checkpoints_written_since_its_start(self, ttw):
        """Checkpoints older than the launch belong to earlier segments; iterations become JSON keys."""
        segment = ttw.new_segment(100.0, {0: 50.0, 25: 99.9, 50: 100.0, 75: 160.0})
        assert segment == {"start": 100.0, "checkpoints": {"50": 100.0, "75": 160.0}}

    def test_resumed_segment_adds_the_full_duration_of_the_first(self, ttw):
        """Second-segment times = time since its start + (last checkpoint - start) of the first segment."""
        segments = [
            {"start": 1000.0, "checkpoints": {"0": 1060.0, "25": 1120.0, "31": 1130.0}},
            {"start": 5000.0, "checkpoints": {"50": 5100.0, "56": 5115.0}},
        ]
        assert ttw.training_seconds(segments) == {0: 60.0, 25: 120.0, 31: 130.0, 50: 230.0, 56: 245.0}

    def test_segment_without_checkpoints_adds_nothing(self, ttw):
        segments = [
            {"start": 0.0, "checkpoints": {"0": 10.0}},
            {"start": 500.0, "checkpoints": {}},
            {"start": 900.0, "checkpoints": {"25": 950.0}},
        ]
        assert ttw.training_seconds(segments) == {0: 10.0, 25: 60.0}

    def test_checkpoint_saved_again_takes_the_later_time(self, ttw):
        segments = [{"start": 0.0, "checkpoints": {"10": 20.0}}, {"start": 100.0, "checkpoints": {"10": 105.0}}]
        assert ttw.training_seconds(segments) == {10: 25.0}


class TestCrossings:
    ERRORS = {0: 0.5, 25: 0.12, 50: 0.2, 75: 0.14, 100: 0.13}

    def test_first_below(self, ttw):
        assert ttw.first_below(self.ERRORS, 0.15) == 25
        assert ttw.first_below(self.ERRORS, 0.1) is None

    def test_stays_below_skips_a_crossing_that_goes_back_up(self, ttw):
        """0.12 at 25 is followed by 0.2 at 50, so the error stays below only from 75 on."""
        assert ttw.stays_below(self.ERRORS, 0.15) == 75
        assert ttw.stays_below(self.ERRORS, 0.6) == 0
        assert ttw.stays_below({**self.ERRORS, 125: 0.3}, 0.15) is None

    def test_error_equal_to_threshold_is_not_below(self, ttw):
        assert ttw.first_below({0: 0.15}, 0.15) is None and ttw.stays_below({0: 0.15}, 0.15) is None

    def test_crossing_lines_give_iteration_and_minutes(self, ttw):
        evals = [ttw.FlatEval(it, 0.4, error, 0.0, "gpu", "64 envs × 250 steps") for it, error in self.ERRORS.items()]
        seconds = {it: 60.0 * (1 + it / 25) for it in self.ERRORS}
        first, stays = ttw.crossing_lines(evals, seconds, 0.15)
        assert "iteration 25 after 2.0 min" in first
        assert "iteration 75 after 4.0 min" in stays


def test_table_rows(ttw):
    rows = ttw.table_rows([ttw.FlatEval(150, 0.46612, 0.12149, 0.0303, "gpu", "64 envs × 250 steps")], {150: 330.0})
    assert rows == [["150", "5.5", "0.466", "0.121", "3.0%"]]
    assert ttw.markdown_table(rows).splitlines()[2] == "| 150 | 5.5 | 0.466 | 0.121 | 3.0% |"


class TestCommandLine:
    def test_eval_without_checkpoints_is_one_line_and_exit_2(self, tmp_path):
        result = run_script("eval", "--run-dir", str(tmp_path))
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            f"time_to_walk eval: error: no checkpoints (model_*.pt) in {tmp_path}"
        ]

    def test_report_on_missing_run_dir_is_one_line_and_exit_2(self, tmp_path):
        result = run_script("report", "--run-dir", str(tmp_path / "missing"))
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "no run directory" in result.stderr

    def test_report_appends_table_and_crossings(self, tmp_path):
        """The report reads segments and eval JSONs, and writes the results header once."""
        run_dir = tmp_path / "run"
        (run_dir / "time_to_walk_eval").mkdir(parents=True)
        segments = [
            {"start": 0.0, "checkpoints": {"0": 60.0, "25": 120.0}},
            {"start": 1e4, "checkpoints": {"50": 1e4 + 60}},
        ]
        (run_dir / "time_to_walk.json").write_text(json.dumps(segments))
        for it, error in ((0, 0.5), (25, 0.1), (50, 0.12)):
            (run_dir / "time_to_walk_eval" / f"model_{it}.json").write_text(json.dumps(eval_result(error)))
        results = tmp_path / "ttw.md"
        for _ in range(2):
            result = run_script("report", "--run-dir", str(run_dir), "--results", str(results))
            assert result.returncode == 0, result.stderr
        assert "| 50 | 3.0 | 0.380 | 0.120 | 25.0% |" in result.stdout
        text = results.read_text()
        assert (
            text.count("# Time-to-walk") == 1 and text.count("· Test GPU · ") == 2 and "eval 8 envs × 100 steps" in text
        )
        assert text.count("First checkpoint with lin. vel. error < 0.15 m/s: iteration 25 after 2.0 min.") == 2

"""benchmarks/vln_path_departures.py: the way left or a stop short on it, the progress along the path, bad input."""

import json

import numpy as np
import pytest
from navila_benchmarks import vln_path_departures
from navila_benchmarks.vln_path_departures import departure, progress_along, table_row
from navila_lab.errors import UserError
from navila_tasks.vln.episodes import Episode, Goal, save_episodes

L_PATH = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 4.0]])
"""4 m east, then 4 m north: 8 m in all."""


def result(episode_id: int, path: list[list[float]], success: bool = False, end_reason: str = "stop") -> dict:
    return {"episode_id": episode_id, "path": path, "success": success, "end_reason": end_reason}


def test_progress_is_the_nearest_path_point_share_of_its_length():
    distances, progress = progress_along(L_PATH, np.array([[2.0, 0.5], [4.5, 2.0], [-1.0, 0.0]]))
    np.testing.assert_allclose(distances, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(progress, [0.25, 0.75, 0.0])


def test_the_way_left_at_the_bend_and_a_stop_short_on_it_are_told_apart():
    """Walking straight on past the bend leaves the way (progress: the last position on it, at the bend); stopping on
    the second leg has not left it; a success counts as neither."""
    past_bend = departure(result(1, [[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [6.0, 0.2]]), L_PATH, off_path=1.5)
    assert past_bend["left"] and past_bend["progress"] == pytest.approx(0.5)
    short = departure(result(2, [[0.0, 0.0], [4.0, 0.0], [4.2, 2.0]]), L_PATH, off_path=1.5)
    assert not short["left"] and short["progress"] == pytest.approx(0.75)
    lost = departure(result(3, [[0.0, 0.0], [4.0, 0.0], [6.0, 0.0]], end_reason="max_steps"), L_PATH, off_path=1.5)
    won = departure(result(4, [[0.0, 0.0], [4.0, 4.0]], success=True), L_PATH, off_path=1.5)
    stuck = departure(result(5, [[0.0, 0.0], [1.0, 0.0]], end_reason="no_progress"), L_PATH, off_path=1.5)
    row = table_row("run", [past_bend, short, lost, won, stuck])
    assert row == "| run | 5 | 1 | 4 | 2 | 50% (50–50) | 1 | 75% (75–75) | 1 |"


def test_main_appends_a_row_per_run_and_refuses_bad_input(tmp_path):
    """Runs are matched to the episode file by id; a run of another set and a missing run are one-line errors."""
    goal = Goal((4.0, 4.0, 0.0))
    episode = Episode(
        7, "procedural_00001", (0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0), "go", [(*p, 0.0) for p in L_PATH], [goal]
    )
    episodes = tmp_path / "test_clear.json.gz"
    save_episodes(episodes, [episode])
    run = tmp_path / "run"
    run.mkdir()
    (run / "episodes.json").write_text(json.dumps([result(7, [[0.0, 0.0], [2.0, 3.0]])]))
    report = tmp_path / "paths.md"
    vln_path_departures.main(["--episodes", str(episodes), str(run), "--report", str(report)])
    assert f"| {run} | 1 | 0 | 1 | 1 | 0% (0–0) | 0 | — | 0 |" in report.read_text()
    (run / "episodes.json").write_text(json.dumps([result(8, [[0.0, 0.0]])]))
    with pytest.raises(UserError, match="episodes 8 are not in --episodes"):
        vln_path_departures.main(["--episodes", str(episodes), str(run)])
    with pytest.raises(UserError, match="neither a run folder"):
        vln_path_departures.main(["--episodes", str(episodes), str(tmp_path / "missing")])
    with pytest.raises(UserError, match="--episodes"):
        vln_path_departures.main(["--episodes", str(tmp_path / "none.json.gz"), str(run)])

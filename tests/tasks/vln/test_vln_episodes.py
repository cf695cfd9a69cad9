import gzip
import json
import math

import numpy as np
import pytest
from navila_tasks.vln.episodes import (
    START_CLEARANCE,
    Episode,
    Goal,
    generate_episodes,
    load_episodes,
    save_episodes,
    yaw_to_quaternion,
)
from navila_tasks.vln.navgrid import path_length
from navila_tasks.vln.scenes import BoxKind, generate_scene


@pytest.fixture(scope="module")
def scene():
    return generate_scene(2)


@pytest.fixture(scope="module")
def episodes(scene):
    return generate_episodes(scene, 6, seed=1)


def valid_episode_dict():
    return {
        "episode_id": 7,
        "scene_id": "procedural_00002",
        "start_position": [1.0, 2.0, 0.0],
        "start_rotation": [1.0, 0.0, 0.0, 0.0],
        "instruction": {"instruction_text": "walk past the red sofa", "instruction_tokens": [1, 2]},
        "reference_path": [[1.0, 2.0, 0.0], [3.0, 2.0, 0.0]],
        "goals": [{"position": [3.0, 2.0, 0.0], "radius": 3.0}],
    }


class TestGenerateEpisodes:
    def test_paths_are_navigable_and_end_at_the_goal(self, scene, episodes):
        """Reference paths start at the start, end at the goal, stay on free cells and respect the length range."""
        grid = scene.nav_grid()
        for episode in episodes:
            path = np.asarray(episode.reference_path)[:, :2]
            assert np.allclose(path[0], episode.start_position[:2]) and np.allclose(
                path[-1], episode.goals[0].position[:2]
            )
            assert all(grid.line_is_free(a, b) for a, b in zip(path[:-1], path[1:], strict=True))
            assert 4.0 <= episode.shortest_path_length <= 15.5
            assert episode.shortest_path_length == pytest.approx(path_length(path))

    def test_goal_is_by_the_named_landmark(self, scene, episodes):
        """The instruction's last sentence names the goal furniture, and the goal lies within 1 m of it."""
        boxes = {box.name: box for box in scene.boxes}
        for episode in episodes:
            goal_box = boxes[episode.info["goal_object"]]
            assert goal_box.description in episode.instruction_text.rstrip(".").split(". ")[-1]
            x0, y0, x1, y1 = goal_box.footprint
            gx, gy, _ = episode.goals[0].position
            assert math.hypot(max(x0 - gx, 0, gx - x1), max(y0 - gy, 0, gy - y1)) < 1.0
            assert episode.goals[0].radius == 3.0

    def test_starts_leave_room_to_turn(self, scene, episodes):
        """Every start keeps START_CLEARANCE from every box but the floors, more than the nav grid's robot radius."""
        assert START_CLEARANCE > scene.cfg.robot_radius
        for episode in episodes:
            x, y, _ = episode.start_position
            for box in scene.boxes:
                if box.kind != BoxKind.FLOOR:
                    x0, y0, x1, y1 = box.footprint
                    assert math.hypot(max(x0 - x, 0, x - x1), max(y0 - y, 0, y - y1)) >= START_CLEARANCE

    def test_deterministic(self, scene, episodes):
        """The same scene and seed give the same episodes."""
        assert generate_episodes(scene, 6, seed=1) == episodes

    def test_start_rotation_encodes_yaw(self):
        """Quaternions are (w, x, y, z) about z and decode back to the yaw."""
        episode = Episode(0, "s", (0, 0, 0), yaw_to_quaternion(2.5), "", [], [Goal((0, 0, 0))])
        assert episode.start_rotation[1:3] == (0.0, 0.0) and episode.start_yaw == pytest.approx(2.5)


class TestEpisodeFiles:
    def test_round_trip_gzip_and_plain(self, tmp_path, episodes):
        """Saved episodes load back equal, gzipped or plain, in the R2R-CE layout."""
        for name in ("episodes.json.gz", "episodes.json"):
            save_episodes(tmp_path / name, episodes)
            assert load_episodes(tmp_path / name) == episodes
        with gzip.open(tmp_path / "episodes.json.gz", "rt") as file:
            first = json.load(file)["episodes"][0]
        assert {
            "episode_id",
            "scene_id",
            "start_position",
            "start_rotation",
            "instruction",
            "reference_path",
            "goals",
        } <= set(first)
        assert set(first["instruction"]) == {"instruction_text"}

    def test_reads_external_files_with_extra_fields(self, tmp_path):
        """An R2R-CE-style file with extra keys (instruction tokens, vocab) loads."""
        path = tmp_path / "external.json.gz"
        with gzip.open(path, "wt") as file:
            json.dump({"episodes": [valid_episode_dict()], "instruction_vocab": {"word_list": []}}, file)
        (episode,) = load_episodes(path)
        assert episode.instruction_text == "walk past the red sofa" and episode.shortest_path_length == 2.0

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("start_position", [1.0, 2.0], "field 'start_position' must be 3 numbers"),
            ("goals", [{"position": [1, 2, "x"], "radius": 3}], "field 'goals[0].position' must be 3 numbers"),
            ("goals", [{"position": [1, 2, 3], "radius": "far"}], "field 'goals[0].radius' must be int or float"),
            ("goals", [], "field 'goals' is empty"),
            ("instruction", {"text": "hi"}, "missing field 'instruction.instruction_text'"),
            ("scene_id", None, "field 'scene_id' must be str"),
            ("reference_path", [[0, 0, 0], [1, 1]], "field 'reference_path[1]' must be 3 numbers"),
        ],
    )
    def test_malformed_field_names_episode_and_field(self, tmp_path, field, value, message):
        """A malformed episode raises one ValueError naming the file, the episode id and the field."""
        data = valid_episode_dict()
        data[field] = value
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"episodes": [valid_episode_dict(), data]}))
        with pytest.raises(
            ValueError, match=f"bad.json: episode 7 \\(#1\\): {message}".replace("[", "\\[").replace("]", "\\]")
        ):
            load_episodes(path)

    def test_missing_field_is_named(self, tmp_path):
        """A missing required field is reported as missing, with the episode's index when it has no id."""
        data = valid_episode_dict()
        del data["episode_id"]
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"episodes": [data]}))
        with pytest.raises(ValueError, match="episode #0: missing field 'episode_id'"):
            load_episodes(path)

    @pytest.mark.parametrize("content", ["not json", json.dumps([1, 2]), json.dumps({"episodes": {}})])
    def test_malformed_file(self, tmp_path, content):
        """Files that are not JSON, or lack an 'episodes' list, raise ValueError naming the file."""
        path = tmp_path / "broken.json"
        path.write_text(content)
        with pytest.raises(ValueError, match="broken.json"):
            load_episodes(path)

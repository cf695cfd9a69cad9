"""benchmarks/vln_fall_geometry.py: falls at a wall's corner and at its face, the counts, bad input."""

import json

import numpy as np
import pytest
from navila_benchmarks import vln_fall_geometry
from navila_benchmarks.vln_fall_geometry import action_kind, falls_of, table
from navila_lab.errors import UserError
from navila_tasks.vln.scenes import Box, BoxKind, Scene, SceneCfg

SCENE = "procedural_00007"
WALL = Box("wall_01", BoxKind.WALL, (2.0, 0.1, 1.25), (4.0, 0.2, 2.5), (200, 200, 200, 255), "wall")
"""A wall from (0, 0) to (4, 0.2)."""


@pytest.fixture
def one_wall(monkeypatch):
    """Every scene id regenerates a scene made of :data:`WALL` alone."""
    scene = Scene(SCENE, SceneCfg(), boxes=[WALL])
    monkeypatch.setattr(vln_fall_geometry, "scene_from_id", lambda scene_id: scene)


def episode(episode_id: int, path: list[list[float]], answer: str, falls: int = 1) -> dict:
    return {
        "episode_id": episode_id,
        "scene_id": SCENE,
        "falls": falls,
        "path": path,
        "answers": ["turn left 30 degrees", answer],
        "fall_cause": "hip_contact",
    }


def test_falls_at_a_corner_and_at_a_face_are_told_apart(one_wall, tmp_path):
    """Walking through a doorway (+y) past the wall's end, 0.15 m beside it, reads corner, 0.2 m ahead and 0.15 m to the
    left; turning in place 0.3 m from the middle of its face reads face, with no direction; episodes without falls are
    left out."""
    episodes = [
        episode(1, [[4.15, -0.8], [4.15, -0.2]], "move forward 75 cm"),
        episode(2, [[2.0, 0.5], [2.0, 0.5]], "turn right 45 degrees"),
        episode(3, [[4.15, -0.8], [4.15, -0.2]], "stop", falls=0),
    ]
    path = tmp_path / "episodes.json"
    path.write_text(json.dumps(episodes))
    corner, face = falls_of(path)
    assert corner["box"] == "wall_01" and corner["corner"] and corner["action"] == "forward"
    assert corner["distance"] == pytest.approx(np.hypot(0.2, 0.15))
    assert corner["ahead"] == pytest.approx(0.2) and corner["beside"] == pytest.approx(0.15)
    assert not face["corner"] and face["distance"] == pytest.approx(0.3) and face["action"] == "turn"
    assert face["ahead"] is None and face["beside"] is None
    text = table("run", [corner, face])
    assert text.startswith("**run**: 2 falls") and "forward at a corner: 1, turn at a face: 1" in text
    assert "| — / — |" in text


@pytest.mark.parametrize(
    ("answer", "kind"),
    [("move forward 75 cm", "forward"), ("turn left 15 degrees", "turn"), ("stop", "other"), ("", "other")],
)
def test_action_kind(answer, kind):
    assert action_kind(answer) == kind


def test_bad_input_is_one_line(tmp_path):
    """A missing file and a scene that is not procedural are refused in one line."""
    with pytest.raises(UserError, match="cannot read episodes"):
        vln_fall_geometry.main([str(tmp_path / "missing.json")])
    path = tmp_path / "episodes.json"
    path.write_text(json.dumps([{**episode(1, [[0.0, 0.0], [1.0, 0.0]], "stop"), "scene_id": "17DRP5sb8fy"}]))
    with pytest.raises(UserError, match="not a procedural scene"):
        vln_fall_geometry.main([str(path)])

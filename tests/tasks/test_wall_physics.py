"""Physics and sensors agree on the walls (CPU simulator): a robot pushed into an obstacle box and into a glass pane
stops with its head at the face the LiDAR sees, the wall-contact sensor feels it, and the wall map marks it.

Before the walls had colliders of their own, an obstacle box was part of the ground heightfield, whose 0.1 m grid
turns a vertical face into a ramp: with the box in the ground, this scene's head stops at 0.825 m, 4.5 cm short of
the face at 0.87 m where the LiDAR sees it, and the wall-contact sensor has no box to feel (``wall_probe.py``).
"""

import json
from pathlib import Path

import pytest
from test_sim import run

pytestmark = [pytest.mark.sim, pytest.mark.slow]
PROBE = Path(__file__).parents[1] / "support" / "wall_probe.py"


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads(run(str(PROBE)).stdout.strip().splitlines()[-1])


class TestWallPhysics:
    def test_lidar_sees_each_face_where_it_stands(self, report):
        """The LiDAR's hits (what the height map is binned from) put both faces at their distance from the spawn."""
        assert report["kinds"] == ["obstacles", "glass"]
        assert all(abs(face - report["face"]) < 0.01 for face in report["seen"]["lidar"])

    def test_body_stops_at_the_face(self, report):
        """Pushed forward for 1.8 s, the head ends within a few cm of the face: not short of it (a ramp), not through
        it, and the robot did not climb."""
        for reach in report["head_reach"]:
            assert report["face"] - 0.03 < reach < report["face"] + 0.02
        assert max(report["base_height"]) < 0.4

    def test_wall_contact_sensor_feels_both_walls(self, report):
        """The training's wall-contact sensor filters both wall prims and reads the head's push on each."""
        assert report["wall_partners"] == 2
        assert min(report["head_wall_force"]) > 1.0

    def test_privileged_geometry_marks_both_walls(self, report):
        """The wall map (the safe target's input) marks both faces within its band; the critic's 0.1 m height scan
        sees the box's top but falls between the rays around a 2 cm pane, which is why the target reads the map."""
        assert all(report["face"] - 0.1 < face <= report["face"] for face in report["seen"]["wall_map"])
        box_scan, glass_scan = report["seen"]["height_scan"]
        assert report["face"] <= box_scan < report["face"] + 0.1
        assert glass_scan == float("inf")

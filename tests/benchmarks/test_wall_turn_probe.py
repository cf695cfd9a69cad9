"""benchmarks/wall_turn_probe.py: where its walls stand, its tiles per case, its table."""

import math

import numpy as np
import pytest
import torch
from navila_benchmarks.wall_turn_probe import (
    BESIDE_LENGTH,
    beside_tile,
    corner_tile,
    map_blocks,
    oblique_tile,
    parse,
    table,
    tiles,
)
from navila_lab.terrains.flat import FlatSlabTerrainCfg
from navila_lab.terrains.walls import GLASS, OBSTACLES

TILE = FlatSlabTerrainCfg(size=(6.0, 6.0))


def wall_of(tile: tuple):
    """The tile's wall mesh (the last mesh) and the tile's origin."""
    meshes, origin = tile
    return meshes[-1], np.asarray(origin)


def hit_distance(mesh, start, direction) -> float:
    """Distance along ``direction`` from ``start`` (at half the wall's height) to the wall's first face."""
    start = np.array([[start[0], start[1], 0.25]])
    locations, _, _ = mesh.ray.intersects_location(start, np.array([direction], dtype=float))
    return float(np.linalg.norm(locations - start, axis=1).min())


@pytest.mark.parametrize("kind", [OBSTACLES, GLASS])
@pytest.mark.parametrize("gap", [0.3, 0.45])
def test_the_wall_beside_runs_along_the_robot_at_the_gap(kind, gap):
    """Near face ``gap`` m to the left of the tile's center, the wall centered on it along x, nothing to the right."""
    wall, origin = wall_of(beside_tile(0.0, TILE, kind=kind, gap=gap))
    assert hit_distance(wall, origin, (0.0, 1.0, 0.0)) == pytest.approx(gap, abs=1e-6)
    low, high = wall.bounds
    assert low[0] - origin[0] == pytest.approx(-0.5 * BESIDE_LENGTH) and high[0] - origin[0] == pytest.approx(
        0.5 * BESIDE_LENGTH
    )
    assert low[1] > origin[1], "the wall is on the left (+y) only"


@pytest.mark.parametrize(("bearing", "direction"), [(0.0, (1.0, 0.0, 0.0)), (-30.0, (0.866, -0.5, 0.0))])
def test_the_turn_wall_faces_the_base_at_its_bearing(bearing, direction):
    """At ``bearing`` the wall's face is ``gap`` m from the tile's center; straight behind there is nothing."""
    wall, origin = wall_of(beside_tile(0.0, TILE, kind=OBSTACLES, gap=0.4, bearing=bearing))
    assert hit_distance(wall, origin, direction) == pytest.approx(0.4, abs=1e-3)
    behind = np.array([[*origin[:2], 0.25]]), -np.array([direction], dtype=float)
    assert len(wall.ray.intersects_location(*behind)[0]) == 0


@pytest.mark.parametrize("angle", [30.0, 45.0, 90.0])
def test_the_oblique_wall_crosses_the_path_at_the_face_and_the_angle(angle):
    """Straight ahead the near face is ``face`` m away; 0.2 m to the left it is 0.2 / tan(angle) m nearer."""
    wall, origin = wall_of(oblique_tile(0.0, TILE, kind=OBSTACLES, face=1.5, angle=angle))
    assert hit_distance(wall, origin, (1.0, 0.0, 0.0)) == pytest.approx(1.5, abs=1e-6)
    left = hit_distance(wall, origin + np.array([0.0, 0.2, 0.0]), (1.0, 0.0, 0.0))
    assert left == pytest.approx(1.5 - 0.2 / math.tan(math.radians(angle)), abs=1e-6)


@pytest.mark.parametrize(("angle", "ahead"), [(90.0, 1.5), (45.0, 1.5), (135.0, 1.5 - 0.1)])
def test_the_corner_tile_ends_the_wall_beside_the_path(angle, ahead):
    """Nothing straight ahead; 0.1 m further left than the wall's end, the wall stands ``face`` m ahead (across the
    path), farther when it runs off ahead-left, nearer when it runs back-left (by 0.1 / tan 45°)."""
    wall, origin = wall_of(corner_tile(0.0, TILE, kind=GLASS, face=1.5, offset=0.15, angle=angle))
    assert len(wall.ray.intersects_location(np.array([[*origin[:2], 0.25]]), np.array([[1.0, 0.0, 0.0]]))[0]) == 0
    left = hit_distance(wall, origin + np.array([0.0, 0.25, 0.0]), (1.0, 0.0, 0.0))
    assert left == pytest.approx(ahead + (0.1 if angle == 45.0 else 0.0), abs=0.03)


def test_each_case_builds_one_tile_per_gap_or_angle():
    """The turn case names its tiles by gap, the oblique case by angle; the default turn is away from the wall."""
    turn = parse(["turn", "--gaps", "0.3", "0.5"])
    assert list(tiles(turn)) == ["gap 0.30 m", "gap 0.50 m"] and turn.yaw_rate < 0
    assert list(tiles(parse(["oblique", "--angles", "30", "90"]))) == ["angle 30°", "angle 90°"]
    assert list(tiles(parse(["corner", "--angles", "90", "--offset", "0.2"]))) == ["corner 90° at 0.20 m"]
    assert list(tiles(parse(["turn", "--gaps", "0.4", "--bearing", "0"]))) == ["gap 0.40 m at 0°"]


def test_table_reads_the_first_contact_and_the_bodies_touching():
    """A touching row names its first body and the turn before it; a clean row reads none."""
    row = {"final_x": 0.01, "drift": -0.02, "final_speed": 0.0, "turned": -170.4, "peak_force": 212.0}
    touching = {**row, "tile": "gap 0.30 m", "first": {"body": "RL_calf", "turned": -48.6}, "touched": ["RL_calf"]}
    clean = {**row, "tile": "gap 0.60 m", "first": None, "touched": [], "peak_force": 0.0}
    lines = table([touching, clean]).splitlines()
    assert "| gap 0.30 m | -170 |" in lines[2] and "RL_calf after -49°" in lines[2] and lines[2].endswith("| 212 |")
    assert "| none | none | 0 |" in lines[3]


def test_map_blocks_print_each_snapshot_row_by_row():
    """One fenced block per tile and distance, rows as lines, each cell's depth × 20 rounded."""
    maps = {0.7: torch.tensor([[0.5, 0.0], [0.26, 0.3]]), 0.5: torch.zeros(2, 2)}
    text = map_blocks([{"tile": "corner 0° at 0.10 m", "maps": maps}, {"tile": "other", "maps": {}}])
    first, second = text.split("\n\n```\n")[1:]
    assert text.index("base 0.50 m") < text.index("base 0.70 m") and "other" not in text
    assert first.startswith(" 0  0\n 0  0\n```") and second.startswith("10  0\n 5  6\n```")

"""The height-map governor on maps binned from hand-made point clouds seen through the task's LiDAR mount."""

import dataclasses

import pytest
import torch
from isaaclab.utils.math import matrix_from_quat
from navila_lab.barrier import (
    BARRIER_GAIN,
    FOOTPRINT,
    LOOKAHEAD,
    STOP_DISTANCE,
    TURN_GAIN,
    TURN_LOOKAHEAD,
    TURN_STOP_RADIUS,
    HeightMapGovernor,
    limit_command,
)
from navila_lab.sensors.height_map import HeightMapSpec, height_map_from_points
from navila_lab.sensors.lidar import L1_LIDAR_CFG
from point_clouds import floor_and_wall

SPEC = HeightMapSpec()
ROTATION = matrix_from_quat(torch.tensor([L1_LIDAR_CFG.offset.rot]))[0]
POSITION = torch.tensor(L1_LIDAR_CFG.offset.pos)
FORWARD, BACKWARD, LEFT = torch.tensor([[1.0, 0.0]]), torch.tensor([[-1.0, 0.0]]), torch.tensor([[0.0, 1.0]])


def governor() -> HeightMapGovernor:
    return HeightMapGovernor(SPEC, POSITION, ROTATION)


def height_map(**walls: float) -> torch.Tensor:
    """The map of :func:`point_clouds.floor_and_wall` seen through the task's LiDAR mount."""
    local = (floor_and_wall(**walls) - POSITION) @ ROTATION  # base frame -> LiDAR frame
    return height_map_from_points(local.unsqueeze(0), SPEC)


@pytest.mark.parametrize("wall_x", [0.6, 0.8, 1.0])
def test_free_distance_ahead_is_that_of_the_wall_or_a_little_less(wall_x):
    """Binned, max-pooled and seen through the inverted, tilted mount, a wall's face lands within one map cell short
    of the truth (never beyond it)."""
    truth = wall_x - FOOTPRINT[0]
    free = governor().free_distance(height_map(wall_x=wall_x), FORWARD).item()
    assert truth - 1.5 * SPEC.resolution <= free <= truth + 0.01


def test_open_ground_a_drop_off_and_a_wall_behind_leave_the_command_alone():
    command = torch.tensor([[1.0, 0.0, 0.3]])
    for case, (scene, heading) in {
        "open ground": (height_map(), FORWARD),
        "drop-off": (height_map(drop_x=0.8), FORWARD),
        "backwards from a wall ahead": (height_map(wall_x=0.8), BACKWARD),
    }.items():
        assert governor().free_distance(scene, heading).item() == pytest.approx(LOOKAHEAD), case
    assert torch.equal(governor()(command, height_map().flatten(1)), command)


def test_a_wall_ahead_caps_the_speed_at_the_barrier_and_keeps_the_turn():
    scene = height_map(wall_x=0.8)
    free = governor().free_distance(scene, FORWARD)
    capped = governor()(torch.tensor([[1.0, 0.0, 0.5]]), scene.flatten(1))
    assert capped[0, 0].item() == pytest.approx(BARRIER_GAIN * (free.item() - STOP_DISTANCE), abs=1e-5)
    assert capped[0, 0].item() < 0.6 and capped[0, 1].item() == 0.0 and capped[0, 2].item() == 0.5
    at_the_wall = governor()(torch.tensor([[1.0, 0.0, 0.5]]), height_map(wall_x=0.5).flatten(1))
    assert torch.equal(at_the_wall, torch.tensor([[0.0, 0.0, 0.5]])), "at the stop distance: turn only"


def test_a_wall_on_the_left_stops_a_sideways_command_not_a_forward_one():
    scene = height_map(wall_y=0.5)
    assert governor().free_distance(scene, LEFT).item() < 0.5 - FOOTPRINT[1]
    assert governor().free_distance(scene, FORWARD).item() == pytest.approx(LOOKAHEAD)


@pytest.mark.parametrize("wall_y", [0.3, 0.4, 0.5, 0.8])
def test_a_wall_on_the_left_stops_turning_right_in_place_within_the_stop_radius(wall_y):
    """The left clearance reads the wall's distance within a map cell (at most half a cell beyond it), the right one
    sees nothing; turning right (away from the wall, the rear swinging into it) is capped at the turn barrier's rate,
    turning left (towards it) is not, the forward command kept; without a stop radius every turn passes."""
    scene = height_map(wall_y=wall_y).flatten(1)
    left, right = governor().turn_clearance(scene)[0].tolist()
    reach = TURN_STOP_RADIUS + TURN_LOOKAHEAD
    assert min(wall_y, reach) - SPEC.resolution <= left <= wall_y + SPEC.resolution / 2
    assert right == pytest.approx(reach)
    capped = governor()(torch.tensor([[0.5, 0.0, -0.5], [0.5, 0.0, 0.5]]), scene.expand(2, -1))
    allowed = max(0.0, min(0.5, TURN_GAIN * (left - TURN_STOP_RADIUS)))
    assert capped[0, 2].item() == pytest.approx(-allowed, abs=1e-5) and capped[0, 0].item() == 0.5
    assert capped[1, 2].item() == 0.5
    unlimited = HeightMapGovernor(SPEC, POSITION, ROTATION, turn_stop_radius=None)
    assert unlimited(torch.tensor([[0.0, 0.0, -0.5]]), scene)[0, 2].item() == -0.5


def test_a_single_unseen_cell_is_not_a_wall():
    scene = height_map()
    scene[0, 8, 13] = 0.0  # in the band ahead; its neighbours read floor
    scene[0, 0, 10:17] = 0.0  # the map's far row unseen in a sweep
    assert governor().free_distance(scene, FORWARD).item() == pytest.approx(LOOKAHEAD)


def test_limit_command_scales_the_planar_velocity_only():
    command = torch.tensor([[0.6, 0.8, -0.2], [0.0, 0.0, 1.0]])
    capped = limit_command(command, torch.tensor([STOP_DISTANCE + 0.25, 0.0]))
    assert torch.allclose(capped, torch.tensor([[0.3, 0.4, -0.2], [0.0, 0.0, 1.0]]))


@pytest.mark.parametrize("wall_x", [0.6, 0.8])
def test_the_gaps_pool_reads_a_thick_wall_where_the_reference_pool_does(wall_x):
    """A wall many cells thick in the map (seen through the tilted mount), the floor past it seen too: pooling only the
    empty cells does not grow the floor into the wall, and its governor, counting no growth, reads the same distance
    as the reference map's (a growth counted wrongly would shift it by a cell)."""
    local = (torch.cat((floor_and_wall(wall_x=wall_x), floor_and_wall())) - POSITION) @ ROTATION
    gaps = dataclasses.replace(SPEC, pool="gaps")
    reference_free = governor().free_distance(height_map_from_points(local[None], SPEC), FORWARD).item()
    gaps_map = height_map_from_points(local[None], gaps)
    gaps_free = HeightMapGovernor(gaps, POSITION, ROTATION).free_distance(gaps_map, FORWARD).item()
    assert gaps_free == pytest.approx(reference_free, abs=0.01)
    assert wall_x - FOOTPRINT[0] - 1.5 * SPEC.resolution <= gaps_free <= wall_x - FOOTPRINT[0] + 0.01

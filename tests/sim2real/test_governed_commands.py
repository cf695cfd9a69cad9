"""The robot side of the height-map governor: a command source capped for the newest sweep of the cloud height map."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from isaaclab.utils.math import matrix_from_quat
from navila_lab.errors import UserError
from navila_lab.sensors.lidar import L1_LIDAR_CFG
from navila_sim2real.cloud_height_map import BASE_FRAME_IDS, CloudHeightMap
from navila_sim2real.command_sources import ConstantVelocity, Governed, height_map_governor
from navila_sim2real.commands.deploy import main
from point_clouds import floor_and_wall
from sim2real_support import LIDAR_SPEC, healthy_observation

RANGES = {"lin_vel_x": [0.0, 1.0], "ang_vel_z": [-1.0, 1.0]}
COMMAND = (1.0, 0.0, 0.3)


def observation_of(points: torch.Tensor | None):
    """A healthy observation whose height map and newest sweep come from ``points`` (base frame) on the robot path."""
    obs = healthy_observation()
    if points is None:
        return obs
    cloud = CloudHeightMap(LIDAR_SPEC.height_map, LIDAR_SPEC.lidar.pos, LIDAR_SPEC.lidar.quat_wxyz)
    assert cloud.update(points.double().numpy(), BASE_FRAME_IDS[0], obs.now) is None
    reading = cloud.latest()
    return replace(obs, height_map=reading.map, height_map_sweep=reading.sweep)


def governed() -> Governed:
    return Governed(ConstantVelocity(COMMAND, RANGES), height_map_governor(LIDAR_SPEC))


def test_a_wall_ahead_slows_the_command_open_ground_leaves_it():
    """A wall 0.8 m ahead of the base caps the forward command (the turn kept); open ground passes it unchanged."""
    capped = governed().velocity(observation_of(floor_and_wall(wall_x=0.8)))
    assert 0.0 < capped[0] < 0.6 and capped[1] == 0.0 and capped[2] == pytest.approx(0.3)
    assert np.allclose(governed().velocity(observation_of(floor_and_wall())), COMMAND)


def test_without_a_sweep_only_turning_is_allowed():
    assert np.array_equal(governed().velocity(observation_of(None)), [0.0, 0.0, 0.3])


def test_the_contract_mount_is_the_simulated_lidars():
    """The robot's governor reads the exported extrinsics, which are those of the task's LiDAR."""
    robot = height_map_governor(LIDAR_SPEC)
    simulated = matrix_from_quat(torch.tensor([L1_LIDAR_CFG.offset.rot]))[0]
    assert torch.allclose(robot.lidar_rotation, simulated, atol=1e-6)
    assert torch.allclose(robot.lidar_pos, torch.tensor(L1_LIDAR_CFG.offset.pos), atol=1e-6)


def test_governor_needs_a_lidar_policy(blind_policy_dir):
    with pytest.raises(UserError, match="--governor reads the LiDAR height map") as error:
        main(["--iface", "lo", "--policy", str(blind_policy_dir), "--governor", "--dry-run"])
    assert "\n" not in str(error.value)


def test_dry_run_with_the_governor(policy_dir, capsys):
    assert main(["--iface", "lo", "--policy", str(policy_dir), "--governor", "--dry-run"]) == 0
    assert "first commands after the safety layer" in capsys.readouterr().out

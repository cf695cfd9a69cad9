"""Builders shared by the robot-side tests: a deploy contract, a random ONNX policy, healthy observations."""

from __future__ import annotations

import numpy as np
from navila_lab.assets.go2_constants import (
    JOINT_TYPES,
    LEGS,
    LIDAR_POS,
    LIDAR_QUAT_WXYZ,
    TORQUE_LIMITS,
    default_joint_pos,
    sim_to_sdk_indices,
)
from navila_lab.deploy_spec import DeploySpec, ObservationTerm
from navila_lab.sensors.height_map import HeightMapSpec
from navila_sim2real.remote import RemoteState
from navila_sim2real.state import LowState, RobotObservation

SIM_JOINT_NAMES = [f"{leg}_{kind}_joint" for kind in JOINT_TYPES for leg in ("FL", "FR", "RL", "RR")]
"""Joints ordered by type, as Isaac Lab orders the Go2's (differs from the SDK order on purpose)."""
assert sorted(SIM_JOINT_NAMES) == sorted(f"{leg}_{kind}_joint" for leg in LEGS for kind in JOINT_TYPES)

PROPRIO_TERMS = [
    ObservationTerm("base_ang_vel", 3, 0.25),
    ObservationTerm("base_rpy", 3),
    ObservationTerm("velocity_commands", 3),
    ObservationTerm("joint_pos_rel", 12),
    ObservationTerm("joint_vel_rel", 12, 0.05),
    ObservationTerm("last_action", 12, 1.0, (-10.0, 10.0)),
]


def make_spec(**overrides: object) -> DeploySpec:
    """A LiDAR-policy deploy contract with the reference dimensions (45-D frame, 9 history frames, 17×27 map)."""
    fields = dict(
        task="Navila-Go2-Lidar-Test",
        joint_names=list(SIM_JOINT_NAMES),
        sdk_joint_order=sim_to_sdk_indices(SIM_JOINT_NAMES),
        default_joint_pos=[default_joint_pos(name) for name in SIM_JOINT_NAMES],
        stiffness=[40.0] * 12,
        damping=[1.0] * 12,
        effort_limit=[TORQUE_LIMITS[name.split("_")[1]] for name in SIM_JOINT_NAMES],
        action_scale=0.25,
        step_dt=0.02,
        observations=list(PROPRIO_TERMS),
        history_length=9,
        height_map=HeightMapSpec(),
        lidar_pos=list(LIDAR_POS),
        lidar_quat_wxyz=list(LIDAR_QUAT_WXYZ),
        command_ranges={"lin_vel_x": [0.0, 1.0], "lin_vel_y": [0.0, 0.0], "ang_vel_z": [-1.0, 1.0]},
    )
    fields.update(overrides)
    return DeploySpec(**fields)


def export_mlp(path: str, obs_dim: int, num_actions: int = 12, seed: int = 0, gain: float = 0.05) -> None:
    """Write a small random MLP with ``obs_dim`` inputs as ONNX."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(obs_dim, 32), torch.nn.ELU(), torch.nn.Linear(32, num_actions))
    with torch.no_grad():
        for layer in model[::2]:
            layer.weight.mul_(gain)
    torch.onnx.export(
        model, (torch.zeros(1, obs_dim),), path, input_names=["obs"], output_names=["actions"], dynamo=False
    )


def standing_low_state(now: float, **overrides: object) -> LowState:
    """A healthy low state at the SDK-ordered default pose, received at ``now``."""
    spec = make_spec()
    q = np.asarray(spec.default_joint_pos)[spec.sdk_joint_order]
    fields = dict(
        stamp=now,
        tick=1,
        quat=np.array([1.0, 0.0, 0.0, 0.0]),
        gyro=np.zeros(3),
        rpy=np.zeros(3),
        q=q,
        dq=np.zeros(12),
        tau_est=np.zeros(12),
        temperature=np.full(12, 40.0),
        lost=np.zeros(12, dtype=np.int64),
        remote=RemoteState(),
    )
    fields.update(overrides)
    return LowState(**fields)


def healthy_observation(now: float = 100.0, **low_overrides: object) -> RobotObservation:
    """An observation in which no fault condition holds (fresh state, remote alive, fresh height map)."""
    return RobotObservation(
        now=now,
        low=standing_low_state(now, **low_overrides),
        remote_stamp=now,
        height_map=np.zeros(HeightMapSpec().shape),
        height_map_stamp=now,
    )

"""A deploy contract with the reference dimensions and a random ONNX actor, for tests and benchmarks.

The contract is the NaVILA LiDAR policy's (facts §2): a 45-D proprioceptive frame, 9 history frames and the
17 × 27 height map (909 inputs), joints ordered by type as Isaac Lab orders the Go2's (not the SDK order).
"""

from __future__ import annotations

from pathlib import Path

from navila_lab.assets.go2_constants import (
    JOINT_TYPES,
    LIDAR_POS,
    LIDAR_QUAT_WXYZ,
    TORQUE_LIMITS,
    default_joint_pos,
    sim_to_sdk_indices,
)
from navila_lab.deploy_spec import DeploySpec, ObservationTerm
from navila_lab.sensors.height_map import HeightMapSpec

SIM_JOINT_NAMES = [f"{leg}_{kind}_joint" for kind in JOINT_TYPES for leg in ("FL", "FR", "RL", "RR")]
"""Joints ordered by type, as Isaac Lab orders the Go2's."""

PROPRIO_TERMS = [
    ObservationTerm("base_ang_vel", 3, 0.25),
    ObservationTerm("base_rpy", 3),
    ObservationTerm("velocity_commands", 3),
    ObservationTerm("joint_pos_rel", 12),
    ObservationTerm("joint_vel_rel", 12, 0.05),
    ObservationTerm("last_action", 12, 1.0, (-10.0, 10.0)),
]


def reference_spec(**overrides: object) -> DeploySpec:
    """Build the reference LiDAR-policy contract; keyword arguments replace its fields."""
    fields = dict(
        task="Navila-Go2-Lidar-Reference",
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


def export_random_mlp(path: str | Path, obs_dim: int, num_actions: int = 12, seed: int = 0, gain: float = 0.05) -> None:
    """Write a small random MLP (outputs near 0: the robot holds the default pose) as ONNX."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(obs_dim, 32), torch.nn.ELU(), torch.nn.Linear(32, num_actions))
    with torch.no_grad():
        for layer in model[::2]:
            layer.weight.mul_(gain)
    torch.onnx.export(
        model, (torch.zeros(1, obs_dim),), str(path), input_names=["obs"], output_names=["actions"], dynamo=False
    )


def write_random_policy(directory: str | Path, **overrides: object) -> DeploySpec:
    """Write ``deploy.yaml`` (reference contract with ``overrides``) and a random ``policy.onnx`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    spec = reference_spec(**overrides)
    spec.save(directory)
    export_random_mlp(directory / "policy.onnx", spec.obs_dim)
    return spec

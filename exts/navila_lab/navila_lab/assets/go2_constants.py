"""Names and published limits of the Unitree Go2, in one place for simulation, export and the robot side.

Numbers: Unitree ``go2_description`` and the Go2 SDK documentation (see ``docs/reference.md`` §2 and §5).
"""

from __future__ import annotations

LEGS: tuple[str, ...] = ("FR", "FL", "RR", "RL")
"""Leg prefixes in the SDK's motor order."""

JOINT_TYPES: tuple[str, ...] = ("hip", "thigh", "calf")

SDK_JOINT_NAMES: tuple[str, ...] = tuple(f"{leg}_{kind}_joint" for leg in LEGS for kind in JOINT_TYPES)
"""Joint names in ``LowCmd_.motor_cmd`` / ``LowState_.motor_state`` order (indices 0..11)."""

FOOT_NAMES: tuple[str, ...] = tuple(f"{leg}_foot" for leg in LEGS)
BASE_NAME = "base"
HEAD_NAME = "Head_upper"
LIDAR_FRAME_NAME = "utlidar"
IMU_FRAME_NAME = "imu"

DEFAULT_JOINT_POS: dict[str, float] = {
    ".*L_hip_joint": 0.1,
    ".*R_hip_joint": -0.1,
    "F[LR]_thigh_joint": 0.8,
    "R[LR]_thigh_joint": 1.0,
    ".*_calf_joint": -1.5,
}
"""Default standing pose (rad), as regex patterns over joint names (Isaac Lab style)."""

JOINT_POS_LIMITS: dict[str, tuple[float, float]] = {
    "hip": (-1.0472, 1.0472),
    "front_thigh": (-1.5708, 3.4907),
    "rear_thigh": (-0.5236, 4.5379),
    "calf": (-2.7227, -0.83776),
}
"""Joint position limits (rad) by joint class."""

TORQUE_LIMITS: dict[str, float] = {"hip": 23.7, "thigh": 23.7, "calf": 45.43}
"""Motor torque limits (N·m) by joint type."""

VELOCITY_LIMIT = 30.1
"""Joint velocity limit (rad/s) for all joints."""

TOTAL_MASS = 15.2
"""Published total mass (kg)."""

STANDING_BASE_HEIGHT = 0.32
"""Base height (m) the reward targets when standing in the default pose."""

LIDAR_QUAT_WXYZ: tuple[float, float, float, float] = (-0.131, 0.0, -0.991, 0.0)
"""Reference L1 mount orientation in the base frame (inverted and tilted)."""

LIDAR_POS: tuple[float, float, float] = (0.28945, 0.0, -0.046825)
"""L1 mount position (m) in the base frame (``go2_description`` URDF, ``radar_joint``)."""


def joint_class(name: str) -> str:
    """Limit class of a joint name: ``hip``, ``front_thigh``, ``rear_thigh`` or ``calf``."""
    kind = name.split("_")[1]
    if kind == "thigh":
        return "front_thigh" if name.startswith("F") else "rear_thigh"
    return kind


def default_joint_pos(name: str) -> float:
    """Default angle (rad) of one joint, resolved from :data:`DEFAULT_JOINT_POS`."""
    import re

    for pattern, value in DEFAULT_JOINT_POS.items():
        if re.fullmatch(pattern, name):
            return value
    raise KeyError(f"no default position for joint '{name}'")


def sim_to_sdk_indices(sim_joint_names: list[str] | tuple[str, ...]) -> list[int]:
    """For each SDK motor slot, the index of that joint in ``sim_joint_names`` (built by name, never by hand)."""
    missing = sorted(set(SDK_JOINT_NAMES) - set(sim_joint_names))
    if missing:
        raise ValueError(f"joint names do not cover the Go2 SDK joints; missing: {', '.join(missing)}")
    return [list(sim_joint_names).index(name) for name in SDK_JOINT_NAMES]

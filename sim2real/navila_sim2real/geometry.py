"""Rotations in NumPy (quaternions are w, x, y, z), for the robot side and the MuJoCo simulator."""

from __future__ import annotations

import numpy as np


def quat_to_matrix(quat_wxyz: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) of a unit quaternion; maps vectors of the rotated frame into the parent frame."""
    w, x, y, z = np.asarray(quat_wxyz, dtype=np.float64) / np.linalg.norm(quat_wxyz)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def projected_gravity(quat_wxyz: np.ndarray) -> np.ndarray:
    """Return the world's unit gravity direction (0, 0, −1) in the body frame of the given orientation."""
    return quat_to_matrix(quat_wxyz).T @ np.array([0.0, 0.0, -1.0])


def quat_to_rpy(quat_wxyz: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (rad, ZYX convention, as the Go2 IMU reports them)."""
    w, x, y, z = np.asarray(quat_wxyz, dtype=np.float64) / np.linalg.norm(quat_wxyz)
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.array([roll, pitch, yaw])


def rpy_to_quat(rpy: np.ndarray) -> np.ndarray:
    """Quaternion (w, x, y, z) of roll, pitch, yaw (ZYX convention); inverse of :func:`quat_to_rpy`."""
    cr, cp, cy = np.cos(np.asarray(rpy, dtype=np.float64) / 2)
    sr, sp, sy = np.sin(np.asarray(rpy, dtype=np.float64) / 2)
    return np.array(
        [
            cr * cp * cy + sr * sp * sy,
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
        ]
    )

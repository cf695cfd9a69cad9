"""LiDAR cloud → height map on the robot, with the same function the simulation uses.

Points arrive in the frame named by the cloud's header. They are moved into the LiDAR frame the policy was trained
with, using the exported extrinsics (``lidar_pos``, ``lidar_quat_wxyz`` of ``deploy.yaml``, both in the base frame):
``p_lidar = R_lᵀ (R_f p + t_f − t_l)`` where (R_f, t_f) is the pose of the cloud's frame in the base frame.
The L1 publishes in its own frame (``utlidar_lidar``), which is the mount the extrinsics describe.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
from navila_lab.sensors.height_map import HeightMapSpec, SweepHistory, height_map_from_points

from navila_sim2real.geometry import quat_to_matrix

LIDAR_FRAME_ID = "utlidar_lidar"
"""Frame of ``rt/utlidar/cloud`` on the Go2 (the L1's own frame)."""
BASE_FRAME_IDS = ("base", "base_link")
"""Frame ids meaning the robot's base frame."""


class CloudHeightMap:
    """Latest fused height map (max over the last sweeps) and the time of the sweep that last updated it."""

    def __init__(self, spec: HeightMapSpec, lidar_pos: list[float], lidar_quat_wxyz: list[float]) -> None:
        """Set up for the grid ``spec`` and the exported LiDAR extrinsics."""
        self.spec = spec
        self._lidar_rot = quat_to_matrix(np.asarray(lidar_quat_wxyz))
        self._lidar_pos = np.asarray(lidar_pos, dtype=np.float64)
        self._history = SweepHistory(1, spec)
        self._lock = threading.Lock()
        self._map: np.ndarray | None = None
        self._stamp: float | None = None
        self.rejected = 0
        """Clouds dropped because their frame is unknown."""

    def to_lidar_frame(self, points: np.ndarray, frame_id: str) -> np.ndarray | None:
        """Points (P, 3) of frame ``frame_id`` in the LiDAR frame, or None for an unknown frame."""
        if frame_id == LIDAR_FRAME_ID:
            rot, pos = self._lidar_rot, self._lidar_pos
        elif frame_id in BASE_FRAME_IDS:
            rot, pos = np.eye(3), np.zeros(3)
        else:
            return None
        return (points @ rot.T + pos - self._lidar_pos) @ self._lidar_rot

    def update(self, points: np.ndarray, frame_id: str, stamp: float) -> bool:
        """Add one sweep (P, 3) received at ``stamp``; returns False (and counts it) if its frame is unknown."""
        local = self.to_lidar_frame(np.asarray(points, dtype=np.float64), frame_id)
        if local is None:
            self.rejected += 1
            return False
        sweep = height_map_from_points(torch.as_tensor(local, dtype=torch.float32).unsqueeze(0), self.spec)
        with self._lock:
            self._history.push(sweep)
            self._map = self._history.value[0].numpy().copy()
            self._stamp = stamp
        return True

    def latest(self) -> tuple[np.ndarray | None, float | None]:
        """Return the fused map (rows, cols) and its stamp, or (None, None) before the first sweep."""
        with self._lock:
            return self._map, self._stamp

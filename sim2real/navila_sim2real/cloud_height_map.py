"""LiDAR cloud → height map on the robot, with the same function the simulation uses.

Points arrive in the frame named by the cloud's header. They are moved into the LiDAR frame the policy was trained
with, using the exported extrinsics (``lidar_pos``, ``lidar_quat_wxyz`` of ``deploy.yaml``, both in the base frame):
``p_lidar = R_lᵀ (R_f p + t_f − t_l)`` where (R_f, t_f) is the pose of the cloud's frame in the base frame.
The L1 publishes in its own frame (``utlidar_lidar``), which is the mount the extrinsics describe.

Degenerate perception is a fault, reported with the map (the safety layer damps a LiDAR policy on it, and the FSM
does not start one): a cloud in an unknown frame, NaN or inf in a sweep or in the map, fewer than
``min_ground_hits`` points of a sweep inside the map's window, or a fused map without a single nonzero cell.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import torch
from navila_lab.sensors.height_map import HeightMapSpec, SweepHistory, bin_sweep

from navila_sim2real.geometry import quat_to_matrix
from navila_sim2real.safety import Fault

LIDAR_FRAME_ID = "utlidar_lidar"
"""Frame of ``rt/utlidar/cloud`` on the Go2 (the L1's own frame)."""
BASE_FRAME_IDS = ("base", "base_link")
"""Frame ids meaning the robot's base frame."""
MIN_GROUND_HITS = 50
"""Fewest points of a sweep inside the map's x-y window for the sweep to count as seeing the ground. Of the simulated
L1 pattern's 2,880 rays, 1,600-2,200 land there over flat ground (base 0.2-0.45 m high, pitch ±0.2 rad); the real L1
sends about 1,400 points a sweep; a blocked or blind LiDAR sends none."""


class HeightMapReading(NamedTuple):
    """The fused map, the receive time of the sweep that last updated it, and the fault of the latest sweep."""

    map: np.ndarray | None
    """Fused map (rows, cols), None before the first usable sweep."""
    stamp: float | None
    """Receive time of the sweep that last updated :attr:`map`."""
    fault: Fault | None
    """Why the latest sweep (or the map it made) cannot be used, if it cannot."""
    sweep: np.ndarray | None = None
    """Map (rows, cols) of the newest fused sweep alone (the height-map governor reads it), None before the first."""


class CloudHeightMap:
    """Latest fused height map (the last sweeps fused as the spec says), with the fault of the latest sweep."""

    def __init__(
        self,
        spec: HeightMapSpec,
        lidar_pos: list[float],
        lidar_quat_wxyz: list[float],
        min_ground_hits: int = MIN_GROUND_HITS,
    ) -> None:
        """Set up for the grid ``spec`` and the exported LiDAR extrinsics."""
        self.spec = spec
        self.min_ground_hits = min_ground_hits
        self._lidar_rot = quat_to_matrix(np.asarray(lidar_quat_wxyz))
        self._lidar_pos = np.asarray(lidar_pos, dtype=np.float64)
        self._history = SweepHistory(1, spec)
        self._lock = threading.Lock()
        self._reading = HeightMapReading(None, None, None)
        self.ground_hits: int | None = None
        """Points of the latest sweep inside the map's window."""

    def to_lidar_frame(self, points: np.ndarray, frame_id: str) -> np.ndarray | None:
        """Points (P, 3) of frame ``frame_id`` in the LiDAR frame, or None for an unknown frame."""
        if frame_id == LIDAR_FRAME_ID:
            rot, pos = self._lidar_rot, self._lidar_pos
        elif frame_id in BASE_FRAME_IDS:
            rot, pos = np.eye(3), np.zeros(3)
        else:
            return None
        return (points @ rot.T + pos - self._lidar_pos) @ self._lidar_rot

    def check_sweep(self, points: np.ndarray, frame_id: str) -> tuple[np.ndarray | None, Fault | None]:
        """Return the sweep in the LiDAR frame and the fault it shows before fusion (frame, NaN, too few hits)."""
        if not np.isfinite(points).all():
            return None, Fault.HEIGHT_MAP_NON_FINITE
        local = self.to_lidar_frame(points, frame_id)
        if local is None:
            return None, Fault.LIDAR_FRAME
        (x_low, x_high), (y_low, y_high) = self.spec.x_range, self.spec.y_range
        x, y = local[:, 0], local[:, 1]
        self.ground_hits = int(np.count_nonzero((x >= x_low) & (x <= x_high) & (y >= y_low) & (y <= y_high)))
        return local, Fault.LIDAR_TOO_FEW_HITS if self.ground_hits < self.min_ground_hits else None

    def update(self, points: np.ndarray, frame_id: str, stamp: float) -> Fault | None:
        """Add one sweep (P, 3) received at ``stamp``; returns its fault, if any (also kept until the next sweep).

        A sweep in an unknown frame or with NaN leaves the map as it was; any other sweep is fused into it.
        """
        local, fault = self.check_sweep(np.asarray(points, dtype=np.float64), frame_id)
        if local is None:
            with self._lock:
                self._reading = self._reading._replace(fault=fault)
            return fault
        sweep = bin_sweep(torch.as_tensor(local, dtype=torch.float32).unsqueeze(0), self.spec)
        with self._lock:
            self._history.push(*sweep)
            fused = self._history.value[0].numpy().copy()
            newest = self._history.latest[0].numpy().copy()
            if not np.isfinite(fused).all():
                fault = Fault.HEIGHT_MAP_NON_FINITE
            elif fault is None and not fused.any():
                fault = Fault.HEIGHT_MAP_EMPTY
            self._reading = HeightMapReading(fused, stamp, fault, newest)
        return fault

    def latest(self) -> HeightMapReading:
        """Return the fused map, its stamp, the latest sweep's fault and map (all None before any sweep)."""
        with self._lock:
            return self._reading

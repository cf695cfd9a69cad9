"""Plain data passed between the robot interface, the safety layer and the FSM (all joint arrays in SDK order)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from navila_sim2real.remote import RemoteState

if TYPE_CHECKING:
    from navila_sim2real.safety import Fault

NUM_MOTORS = 12
"""Leg motors driven by the policy: slots 0..11 of ``motor_cmd`` / ``motor_state``."""


@dataclass(frozen=True)
class LowState:
    """One ``rt/lowstate`` sample."""

    stamp: float
    """``time.monotonic()`` when it was received."""
    tick: int
    """The robot's millisecond counter."""
    quat: np.ndarray
    """IMU orientation (w, x, y, z)."""
    gyro: np.ndarray
    """IMU angular velocity (rad/s), body frame."""
    rpy: np.ndarray
    """IMU roll, pitch, yaw (rad)."""
    q: np.ndarray
    """Joint positions (rad)."""
    dq: np.ndarray
    """Joint velocities (rad/s)."""
    tau_est: np.ndarray
    """Estimated joint torques (N·m)."""
    temperature: np.ndarray
    """Motor temperatures (°C)."""
    lost: np.ndarray
    """Motor ``lost`` counters/flags as reported."""
    remote: RemoteState
    """Remote keys and sticks carried in ``wireless_remote``."""

    @classmethod
    def at_rest(cls, stamp: float, q: np.ndarray, tick: int = 0, remote: RemoteState | None = None) -> LowState:
        """Build a healthy sample of a motionless, level robot at joint positions ``q`` (SDK order)."""
        return cls(
            stamp=stamp,
            tick=tick,
            quat=np.array([1.0, 0.0, 0.0, 0.0]),
            gyro=np.zeros(3),
            rpy=np.zeros(3),
            q=q,
            dq=np.zeros(12),
            tau_est=np.zeros(12),
            temperature=np.full(12, 40.0),
            lost=np.zeros(12, dtype=np.int64),
            remote=RemoteState() if remote is None else remote,
        )


@dataclass(frozen=True)
class RobotObservation:
    """Everything the control side knows at one instant."""

    now: float
    """``time.monotonic()`` when the snapshot was taken."""
    low: LowState | None
    """Latest low state, or None before the first one."""
    remote_stamp: float | None = None
    """Receive time of the latest ``rt/wirelesscontroller`` message (the remote's heartbeat)."""
    height_map: np.ndarray | None = None
    """Latest fused height map (rows, cols), or None before the first sweep."""
    height_map_stamp: float | None = None
    """Receive time of the sweep that last updated :attr:`height_map`."""
    height_map_fault: Fault | None = None
    """Why the latest LiDAR sweep or the map it made cannot be used (frame, NaN, too few hits, empty), if so."""
    height_map_sweep: np.ndarray | None = None
    """Map (rows, cols) of the newest fused sweep alone, or None before the first sweep."""


@dataclass(frozen=True)
class JointCommand:
    """PD targets for the 12 leg motors; the motor applies τ = kp·(q − q̂) + kd·(dq − dq̂) + tau."""

    q: np.ndarray
    kp: np.ndarray
    kd: np.ndarray
    stamp: float
    """``time.monotonic()`` when the command was produced (its age is checked by the safety layer)."""
    dq: np.ndarray = field(default_factory=lambda: np.zeros(NUM_MOTORS))
    tau: np.ndarray = field(default_factory=lambda: np.zeros(NUM_MOTORS))
    uses_height_map: bool = False
    """Whether the command came from a policy that reads the height map (its freshness is then checked)."""

    @property
    def is_damping(self) -> bool:
        """True for a pure damping command: no position gain and no feed-forward torque."""
        return not np.any(self.kp) and not np.any(self.tau)

    @classmethod
    def damping(cls, kd: float, stamp: float) -> JointCommand:
        """Damping mode: kp 0, the given kd, zero targets."""
        zeros = np.zeros(NUM_MOTORS)
        return cls(q=zeros, kp=zeros, kd=np.full(NUM_MOTORS, kd), stamp=stamp)

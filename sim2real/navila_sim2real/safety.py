"""Safety layer: every command the writer publishes passes here; any fault latches damping.

The writer thread calls :meth:`SafetyGuard.filter` once per 500 Hz tick with the latest observation and the
latest command. Faults are checked only while a non-damping command is requested (damping is already the safe
state); once a fault is found the guard latches it and turns every later command into damping until
:meth:`SafetyGuard.reset` (the FSM's DAMP → PASSIVE transition, allowed only when no fault condition holds).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from navila_lab.assets.go2_constants import (
    JOINT_POS_LIMITS,
    SDK_JOINT_NAMES,
    TORQUE_LIMITS,
    VELOCITY_LIMIT,
    joint_class,
)

from navila_sim2real.remote import Key
from navila_sim2real.state import JointCommand, RobotObservation


class Fault(StrEnum):
    """Why the robot was put in damping; the value is the one-line explanation."""

    NO_STATE = "no rt/lowstate received yet"
    STATE_STALE = "rt/lowstate older than the limit"
    NON_FINITE = "NaN or inf in the state or the command"
    TILT = "roll or pitch beyond the tilt limit"
    MOTOR_LOST = "a motor reported lost"
    OVER_TEMPERATURE = "a motor is over temperature"
    REMOTE_DAMP = "L2+B pressed on the remote"
    REMOTE_SILENT = "remote silent (no rt/wirelesscontroller) for too long"
    POLICY_STALE = "the latest command is older than the limit (policy thread late)"
    HEIGHT_MAP_STALE = "height map older than the limit (no LiDAR sweep)"
    LIDAR_FRAME = "LiDAR cloud in an unknown frame (expected utlidar_lidar or base)"
    LIDAR_TOO_FEW_HITS = "too few LiDAR points on the ground in the height map's window (LiDAR blocked or blind)"
    HEIGHT_MAP_EMPTY = "the height map is empty (no ground seen)"
    HEIGHT_MAP_NON_FINITE = "NaN or inf in the LiDAR cloud or the height map"
    NO_FEASIBLE_TARGET = "joint state too far outside the limits for a torque-bounded target"
    CONTROLLER_ERROR = "the controller raised an error"


MIN_GAIN = 1e-3
"""Smallest nonzero position gain (N·m/rad) sent; smaller ones are rounded to 0."""


@dataclass(frozen=True)
class SafetyLimits:
    """Limits and timeouts, joint arrays in SDK order."""

    q_min: np.ndarray
    q_max: np.ndarray
    tau_max: np.ndarray
    max_target_rate: float = VELOCITY_LIMIT
    """Largest speed (rad/s) at which a position target may move between writer ticks."""
    max_kp: float = 100.0
    max_kd: float = 10.0
    damping_kd: float = 4.0
    """kd of the damping command (kp 0)."""
    max_tilt: float = 0.8
    """Largest |roll| or |pitch| (rad)."""
    max_temperature: float = 85.0
    """Hottest motor temperature (°C) allowed."""
    remote_timeout: float = 3.0
    state_timeout: float = 0.020
    command_timeout: float = 0.060
    height_map_timeout: float = 0.150

    @classmethod
    def go2(cls, **overrides: float) -> SafetyLimits:
        """Build the Go2's published joint and torque limits (``go2_constants``), with optional overrides."""
        bounds = np.array([JOINT_POS_LIMITS[joint_class(name)] for name in SDK_JOINT_NAMES])
        tau = np.array([TORQUE_LIMITS[name.split("_")[1]] for name in SDK_JOINT_NAMES])
        return cls(q_min=bounds[:, 0], q_max=bounds[:, 1], tau_max=tau, **overrides)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Numerator / denominator where the denominator exceeds 1e-12, +inf elsewhere (no overflow warnings)."""
    return np.divide(numerator, denominator, out=np.full(len(denominator), np.inf), where=denominator > 1e-12)


def feasible_targets(
    q: np.ndarray, dq: np.ndarray, kp: np.ndarray, kd: np.ndarray, limits: SafetyLimits
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of position targets within the joint limits whose PD torque stays within the torque limit.

    |kp·(q̂ − q) − kd·dq| ≤ τ_max ⇔ q̂ ∈ [q + (kd·dq − τ_max)/kp, q + (kd·dq + τ_max)/kp] (any q̂ when kp = 0).

    Returns:
        Lower and upper bounds; a joint whose lower bound exceeds its upper bound has no feasible target.
    """
    reach = _ratio(limits.tau_max, kp)
    center = q + np.where(kp > 0, _ratio(kd * dq, kp), 0.0)
    return np.maximum(limits.q_min, center - reach), np.minimum(limits.q_max, center + reach)


def clip_command(
    cmd: JointCommand, q: np.ndarray, dq: np.ndarray, previous_q: np.ndarray, dt: float, limits: SafetyLimits
) -> JointCommand | None:
    """Bound a finite command: gains, joint limits, torque limit at the current state, target rate.

    Position gains below :data:`MIN_GAIN` are sent as 0; joints with kp = 0 have their kd lowered until
    |kd·dq| ≤ τ_max. The target is clipped into the feasible interval (joint ∩ torque limits); within it, into the
    window ``previous_q ± max_target_rate·dt`` where the two overlap, else to the feasible bound nearest the window
    (the torque limit wins over the rate limit).

    Args:
        cmd: Requested command.
        q: Measured joint positions.
        dq: Measured joint velocities.
        previous_q: Target sent at the previous tick (or the measured position after damping).
        dt: Time since that tick (s).
        limits: Limits to enforce.

    Returns:
        The bounded command, or None when some joint has no feasible target.
    """
    kp = np.clip(cmd.kp, 0.0, limits.max_kp)
    kp[kp < MIN_GAIN] = 0.0
    kd = np.clip(cmd.kd, 0.0, limits.max_kd)
    kd = np.where(kp > 0, kd, np.minimum(kd, _ratio(limits.tau_max, np.abs(dq))))  # kp = 0: torque is −kd·dq
    low, high = feasible_targets(q, dq, kp, kd, limits)
    if np.any(low > high):
        return None
    step = limits.max_target_rate * dt
    target = np.clip(cmd.q, np.clip(previous_q - step, low, high), np.clip(previous_q + step, low, high))
    zeros = np.zeros(len(target))
    return JointCommand(target, kp, kd, cmd.stamp, dq=zeros, tau=zeros, uses_height_map=cmd.uses_height_map)


def detect_fault(
    obs: RobotObservation, cmd: JointCommand, lost_baseline: np.ndarray | None, limits: SafetyLimits
) -> Fault | None:
    """First fault that forbids sending an active command now, or None.

    Args:
        obs: Latest observation (its ``now`` is the check time).
        cmd: Command about to be sent.
        lost_baseline: Motor ``lost`` values when the active command began; any increase is a fault.
        limits: Limits and timeouts.
    """
    low = obs.low
    if low is None:
        return Fault.NO_STATE
    if obs.now - low.stamp > limits.state_timeout:
        return Fault.STATE_STALE
    arrays = (low.q, low.dq, low.quat, low.gyro, low.rpy, cmd.q, cmd.kp, cmd.kd, cmd.dq, cmd.tau)
    if not np.isfinite(np.concatenate(arrays)).all():
        return Fault.NON_FINITE
    if max(abs(low.rpy[0]), abs(low.rpy[1])) > limits.max_tilt:
        return Fault.TILT
    if lost_baseline is not None and np.any(low.lost > lost_baseline):
        return Fault.MOTOR_LOST
    if np.max(low.temperature) > limits.max_temperature:
        return Fault.OVER_TEMPERATURE
    if low.remote.held(Key.L2, Key.B):
        return Fault.REMOTE_DAMP
    if obs.remote_stamp is None or obs.now - obs.remote_stamp > limits.remote_timeout:
        return Fault.REMOTE_SILENT
    if obs.now - cmd.stamp > limits.command_timeout:
        return Fault.POLICY_STALE
    if cmd.uses_height_map:
        if obs.height_map_fault is not None:
            return obs.height_map_fault
        if obs.height_map_stamp is None or obs.now - obs.height_map_stamp > limits.height_map_timeout:
            return Fault.HEIGHT_MAP_STALE
    return None


class SafetyGuard:
    """Latching filter between the latest requested command and the wire (called by the 500 Hz writer)."""

    def __init__(self, limits: SafetyLimits) -> None:
        """Start unlatched, with no previous target."""
        self.limits = limits
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._previous: JointCommand | None = None
        self._previous_stamp = 0.0
        self._lost_baseline: np.ndarray | None = None
        self.fault_event = threading.Event()
        """Set when a fault latches (the policy thread waits on it to react at once)."""

    @property
    def fault(self) -> Fault | None:
        """The latched fault, if any."""
        return self._fault

    def trip(self, fault: Fault) -> None:
        """Latch a fault (the first one is kept)."""
        with self._lock:
            if self._fault is None:
                self._fault = fault
            self.fault_event.set()

    def reset(self, obs: RobotObservation, probe: JointCommand) -> Fault | None:
        """Unlatch if no fault condition holds for ``probe`` now; returns the condition that still holds, if any."""
        with self._lock:
            lost = obs.low.lost if obs.low is not None else None
            still = detect_fault(obs, probe, lost, self.limits)
            if still is None:
                self._fault = None
                self._previous = None
                self.fault_event.clear()
            return still

    def filter(self, obs: RobotObservation, cmd: JointCommand) -> JointCommand:
        """Return the command to publish now: ``cmd`` bounded by the limits, or damping on any (latched) fault."""
        if cmd.is_damping and np.isfinite(cmd.kd).all():
            with self._lock:
                self._previous, self._lost_baseline = None, None
            return replace(JointCommand.damping(0.0, obs.now), kd=np.clip(cmd.kd, 0.0, self.limits.max_kd))
        with self._lock:
            if self._fault is None:
                if self._lost_baseline is None and obs.low is not None:
                    self._lost_baseline = obs.low.lost.copy()
                fault = detect_fault(obs, cmd, self._lost_baseline, self.limits)
                bounded = None
                if fault is None:
                    previous, dt = self._previous_target(obs)
                    bounded = clip_command(cmd, obs.low.q, obs.low.dq, previous, dt, self.limits)
                    fault = Fault.NO_FEASIBLE_TARGET if bounded is None else None
                if fault is None:
                    self._previous, self._previous_stamp = bounded, obs.now
                    return bounded
                self._fault = fault
                self.fault_event.set()
        return JointCommand.damping(self.limits.damping_kd, obs.now)

    def _previous_target(self, obs: RobotObservation) -> tuple[np.ndarray, float]:
        """Return the reference of the rate limit: the last sent target, or the measured position after damping."""
        if self._previous is None:
            return obs.low.q, 0.0
        return self._previous.q, max(obs.now - self._previous_stamp, 0.0)

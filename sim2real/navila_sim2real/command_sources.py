"""Velocity-command sources: where (vx, vy, wz) for the policy comes from (remote sticks, a constant, a VLA)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from navila_lab.barrier import HeightMapGovernor
from navila_lab.deploy_spec import DeploySpec

from navila_sim2real.geometry import quat_to_matrix
from navila_sim2real.state import RobotObservation

DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "lin_vel_x": (0.0, 1.0),
    "lin_vel_y": (0.0, 0.0),
    "ang_vel_z": (-1.0, 1.0),
}
"""Training ranges of the reference policy (facts §2), used for ranges ``deploy.yaml`` does not give."""

COMMAND_KEYS = ("lin_vel_x", "lin_vel_y", "ang_vel_z")


class CommandSource(Protocol):
    """Gives the velocity command (vx, vy, wz) in the base frame at each policy step."""

    def velocity(self, obs: RobotObservation) -> np.ndarray:
        """Command for this step, shape (3,)."""
        ...

    def close(self) -> None:
        """Release threads or connections."""
        ...


def command_bounds(ranges: dict[str, list[float]]) -> np.ndarray:
    """(3, 2) lower/upper bounds of (vx, vy, wz) from ``deploy.yaml``'s ``command_ranges`` and the defaults."""
    return np.array([ranges.get(key, DEFAULT_RANGES[key]) for key in COMMAND_KEYS], dtype=np.float64)


class RemoteSticks:
    """Left stick: forward/lateral speed; right stick sideways: yaw rate; full deflection = the training range."""

    def __init__(self, ranges: dict[str, list[float]], deadzone: float = 0.05) -> None:
        """Map sticks onto ``ranges`` (``command_ranges`` of ``deploy.yaml``)."""
        self.bounds = command_bounds(ranges)
        self.deadzone = deadzone

    def velocity(self, obs: RobotObservation) -> np.ndarray:
        """Stick deflections scaled into the command ranges (stick right = negative vy and wz)."""
        if obs.low is None:
            return np.zeros(3)
        remote = obs.low.remote
        sticks = np.array([remote.ly, -remote.lx, -remote.rx], dtype=np.float64)
        sticks = np.where(np.abs(sticks) < self.deadzone, 0.0, np.clip(sticks, -1.0, 1.0))
        return np.where(sticks >= 0, sticks * self.bounds[:, 1], -sticks * self.bounds[:, 0])

    def sticks(self, command: tuple[float, float, float]) -> dict[str, float]:
        """Stick deflections (``lx``, ``ly``, ``rx``) that give ``command`` (inverse of :meth:`velocity`, clipped)."""
        command = np.asarray(command, dtype=np.float64)
        upper, lower = self.bounds[:, 1], -self.bounds[:, 0]
        reach = np.where(command >= 0, upper, lower)
        deflection = np.clip(np.divide(command, reach, out=np.zeros(3), where=reach > 0), -1.0, 1.0)
        lx, ly, rx = -deflection[1] + 0.0, deflection[0], -deflection[2] + 0.0  # + 0.0: no negative zeros
        return {"lx": float(lx), "ly": float(ly), "rx": float(rx)}

    def close(self) -> None:
        """Nothing to release."""


class ConstantVelocity:
    """A fixed command (sim2sim runs, tests), clipped to the training ranges."""

    def __init__(self, command: tuple[float, float, float], ranges: dict[str, list[float]]) -> None:
        """Hold ``command`` = (vx, vy, wz)."""
        bounds = command_bounds(ranges)
        self.command = np.clip(np.asarray(command, dtype=np.float64), bounds[:, 0], bounds[:, 1])

    def velocity(self, obs: RobotObservation) -> np.ndarray:
        """Return the fixed command."""
        return self.command.copy()

    def close(self) -> None:
        """Nothing to release."""


class HeadingHold:
    """Holds the heading while a source commands walking without turning (as a remote's heading-hold mode does).

    A policy has no heading reference (its observation is yaw-free), and a small yaw-rate bias turns a straight walk
    into an arc. While the source's yaw rate is zero and its planar command is not, this integrates the IMU's yaw
    rate since the walk began and replaces the zero yaw rate by ``−gain · Δψ``, clipped to ``±max_rate`` (inside the
    training range). Any other command (turning, standing) passes unchanged and ends the hold, as does a gap of more
    than ``max_gap`` seconds between two policy steps (the robot left POLICY).
    """

    def __init__(self, source: CommandSource, gain: float = 1.0, max_rate: float = 0.3, max_gap: float = 0.1) -> None:
        """Wrap ``source``; ``gain`` (1/s) turns a heading error (rad) into a yaw-rate command (rad/s)."""
        self.source = source
        self.gain = gain
        self.max_rate = max_rate
        self.max_gap = max_gap
        self.heading_change = 0.0
        """Yaw (rad) integrated from the IMU since the current straight walk began."""
        self._last: float | None = None

    def velocity(self, obs: RobotObservation) -> np.ndarray:
        """The source's command, its zero yaw rate replaced by the heading correction while walking straight."""
        command = self.source.velocity(obs)
        straight = obs.low is not None and command[2] == 0.0 and bool(np.any(command[:2] != 0.0))
        if not straight:
            self._last = None
            return command
        if self._last is None or obs.now - self._last > self.max_gap:
            self.heading_change = 0.0
        else:
            self.heading_change += float(obs.low.gyro[2]) * (obs.now - self._last)
        self._last = obs.now
        command[2] = np.clip(-self.gain * self.heading_change, -self.max_rate, self.max_rate)
        return command

    def close(self) -> None:
        """Close the wrapped source."""
        self.source.close()


class Governed:
    """Caps a source's planar command at the control-barrier speed for the free way the newest LiDAR sweep shows.

    The robot side of :class:`navila_lab.barrier.HeightMapGovernor` (``navila deploy --governor``): the policy is
    given a command that slows to a stop before what its height map shows; the yaw rate passes unchanged. Without a
    sweep the planar command is zero (nothing is known to be free).
    """

    def __init__(self, source: CommandSource, governor: HeightMapGovernor) -> None:
        """Wrap ``source``."""
        self.source = source
        self.governor = governor

    def velocity(self, obs: RobotObservation) -> np.ndarray:
        """The source's command, capped for ``obs.height_map_sweep``."""
        command = np.asarray(self.source.velocity(obs), dtype=np.float64)
        if obs.height_map_sweep is None:
            return np.array([0.0, 0.0, command[2]])
        sweep = torch.as_tensor(obs.height_map_sweep, dtype=torch.float32).unsqueeze(0)
        capped = self.governor(torch.as_tensor(command, dtype=torch.float32).unsqueeze(0), sweep)
        return capped[0].double().numpy()

    def close(self) -> None:
        """Close the wrapped source."""
        self.source.close()


def height_map_governor(spec: DeploySpec) -> HeightMapGovernor:
    """The governor of a LiDAR policy's contract: its map grid and LiDAR mount (``spec.height_map`` must be set)."""
    rotation = torch.as_tensor(quat_to_matrix(np.asarray(spec.lidar.quat_wxyz)), dtype=torch.float32)
    return HeightMapGovernor(spec.height_map, spec.lidar.pos, rotation)

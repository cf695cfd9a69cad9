"""Velocity-command sources: where (vx, vy, wz) for the policy comes from (remote sticks, a constant, a VLA)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

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

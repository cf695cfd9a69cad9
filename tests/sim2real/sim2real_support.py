"""Healthy robot observations shared by the robot-side tests."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from navila_lab.sensors.height_map import HeightMapSpec
from navila_sim2real.reference_policy import reference_spec
from navila_sim2real.state import LowState, RobotObservation


def standing_low_state(now: float, **overrides: object) -> LowState:
    """A healthy low state at the SDK-ordered default pose, received at ``now``."""
    spec = reference_spec()
    q = np.asarray(spec.default_joint_pos)[spec.sdk_joint_order]
    return replace(LowState.at_rest(now, q, tick=1), **overrides)


def healthy_observation(now: float = 100.0, **low_overrides: object) -> RobotObservation:
    """An observation in which no fault condition holds (fresh state, remote alive, fresh height map)."""
    return RobotObservation(
        now=now,
        low=standing_low_state(now, **low_overrides),
        remote_stamp=now,
        height_map=np.zeros(HeightMapSpec().shape),
        height_map_stamp=now,
    )

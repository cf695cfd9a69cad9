"""Shared by the robot-side tests: the shipped policies, healthy robot observations, edited policy copies."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
from navila_lab.deploy_spec import DeploySpec
from navila_sim2real.state import LowState, RobotObservation

POLICIES = Path(__file__).resolve().parents[2] / "policies"
LIDAR_POLICY = POLICIES / "go2_rough_lidar"
BLIND_POLICY = POLICIES / "go2_rough_blind"
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
DDS_DOMAIN = 10 + (os.getpid() % (68 // _WORKERS)) * _WORKERS + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
"""A DDS domain (10-77) of this test process alone, never shared by two pytest-xdist workers of one run: another
simulator on the machine's loopback (another worker, another engineer's tests, a CI run) would otherwise mix its low
states and commands with this one's. The in-process loop tests use it; tests whose deploy runs as a child process add
70 or 140 (DDS domains go up to 232)."""
LIDAR_SPEC = DeploySpec.load(LIDAR_POLICY)
"""The shipped LiDAR policy's contract (909 inputs, joints leg by leg: not the SDK's order)."""


def standing_low_state(now: float, **overrides: object) -> LowState:
    """A healthy low state at the SDK-ordered default pose, received at ``now``."""
    q = np.asarray(LIDAR_SPEC.default_joint_pos)[LIDAR_SPEC.sdk_joint_order]
    return replace(LowState.at_rest(now, q, tick=1), **overrides)


def healthy_observation(now: float = 100.0, **low_overrides: object) -> RobotObservation:
    """An observation in which no fault condition holds (fresh state, remote alive, fresh height map)."""
    return RobotObservation(
        now=now,
        low=standing_low_state(now, **low_overrides),
        remote_stamp=now,
        height_map=np.full(LIDAR_SPEC.height_map.shape, 0.3),
        height_map_stamp=now,
    )


def edited_policy(source: Path, target: Path, **spec_changes: object) -> Path:
    """Copy the policy directory ``source`` to ``target`` with its contract's fields replaced by ``spec_changes``."""
    shutil.copytree(source, target)
    if spec_changes:
        replace(DeploySpec.load(source), **spec_changes).save(target)
    return target

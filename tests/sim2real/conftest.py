"""Fixtures of the robot-side tests: the shipped policy directories and the gate of the DDS tests."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from sim2real_support import BLIND_POLICY, LIDAR_POLICY


@pytest.fixture(scope="session")
def policy_dir() -> Path:
    """The shipped LiDAR policy: deploy.yaml as the task exports it, and its ONNX actor."""
    return LIDAR_POLICY


@pytest.fixture(scope="session")
def blind_policy_dir() -> Path:
    """The shipped blind policy."""
    return BLIND_POLICY


@pytest.fixture(scope="session")
def sdk() -> None:
    """Skip unless unitree_sdk2py (and so CycloneDDS) is importable; fail instead under CI=true (CI installs it)."""
    if importlib.util.find_spec("unitree_sdk2py") is None:
        message = "unitree_sdk2py is not importable: run scripts/install_robot_deps.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)

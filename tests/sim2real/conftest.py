"""Fixtures of the robot-side tests: a policy directory and the gate of the DDS tests."""

from __future__ import annotations

import importlib.util

import pytest
from navila_sim2real.reference_policy import write_random_policy


@pytest.fixture(scope="session")
def policy_dir(tmp_path_factory: pytest.TempPathFactory):
    """A policy directory: deploy.yaml + policy.onnx (random MLP) with the reference dimensions."""
    directory = tmp_path_factory.mktemp("policy")
    write_random_policy(directory)
    return directory


@pytest.fixture(scope="session")
def sdk():
    """Skip unless unitree_sdk2py (and so CycloneDDS) is importable."""
    if importlib.util.find_spec("unitree_sdk2py") is None:
        pytest.skip("unitree_sdk2py is not importable: run scripts/install_robot_deps.sh")

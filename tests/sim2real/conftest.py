"""Fixtures of the robot-side tests: a policy directory and the gate of the DDS tests."""

from __future__ import annotations

import importlib.util

import pytest
from sim2real_support import export_mlp, make_spec


@pytest.fixture(scope="session")
def policy_dir(tmp_path_factory: pytest.TempPathFactory):
    """A policy directory: deploy.yaml + policy.onnx (random MLP) with the reference dimensions."""
    directory = tmp_path_factory.mktemp("policy")
    spec = make_spec()
    spec.save(directory)
    export_mlp(str(directory / "policy.onnx"), spec.obs_dim)
    return directory


@pytest.fixture(scope="session")
def sdk():
    """Skip unless unitree_sdk2py (and so CycloneDDS) is importable."""
    if importlib.util.find_spec("unitree_sdk2py") is None:
        pytest.skip("unitree_sdk2py is not importable: run scripts/install_robot_deps.sh")

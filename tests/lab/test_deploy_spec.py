"""The deploy contract file: validated against its schema on load, every error one line naming the field."""

import copy
import json
import runpy
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from navila_lab.deploy_spec import (
    DEPLOY_FILE,
    FORMAT_VERSION,
    OBSERVATION_TERMS,
    POLICY_JIT,
    POLICY_ONNX,
    ContractError,
    DeploySpec,
    open_exported,
)
from navila_lab.errors import UserError
from navila_lab.sensors.height_map import FUSIONS, POOLS, HeightMapSpec, SweepHistory, bin_sweep

POLICIES = Path(__file__).resolve().parents[2] / "policies"
WALKER = Path(__file__).with_name("contract_walker.py")
LIDAR = POLICIES / "go2_rough_lidar"
DATA = yaml.safe_load((LIDAR / DEPLOY_FILE).read_text())


def load_edited(tmp_path: Path, edit) -> DeploySpec:
    """Load the shipped LiDAR contract after ``edit(data)`` changed its plain data."""
    data = copy.deepcopy(DATA)
    edit(data)
    (tmp_path / DEPLOY_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
    return DeploySpec.load(tmp_path)


def set_path(data: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data[part]
    data[int(last) if isinstance(data, list) else last] = value


class TestShippedContracts:
    @pytest.mark.parametrize("name", ["go2_rough_lidar", "go2_rough_blind"])
    def test_shipped_contracts_load_and_round_trip(self, tmp_path, name):
        """The shipped deploy.yaml files are of the current version, valid, and save back to the same data."""
        spec = DeploySpec.load(POLICIES / name)
        assert spec.format_version == FORMAT_VERSION
        assert [term.meaning for term in spec.observations] == [
            OBSERVATION_TERMS[term.name].meaning for term in spec.observations
        ]
        spec.save(tmp_path)
        assert DeploySpec.load(tmp_path) == spec
        assert yaml.safe_load((tmp_path / DEPLOY_FILE).read_text()) == yaml.safe_load(
            (POLICIES / name / DEPLOY_FILE).read_text()
        )

    def test_contract_says_what_it_means(self):
        """The LiDAR contract names the base frame, the actuator model, the history layout and the LiDAR; its attitude
        term needs no heading reference."""
        spec = DeploySpec.load(LIDAR)
        assert spec.base_body == "base" and spec.lidar.body == "base" and not spec.lidar.hits_robot
        assert (spec.actuator.kind, spec.actuator.pd_dt, spec.actuator.delay) == ("delayed_pd", 0.005, 0.02)
        assert (spec.history.order, spec.history.reset) == ("oldest_first", "repeat_first_frame")
        assert spec.actor_input == ["frame", "history", "height_map"] and spec.obs_dim == 909
        assert spec.observations[1].name == "projected_gravity" and "no yaw" in spec.observations[1].meaning
        assert "default_joint_pos" in spec.observations[3].meaning and "raw" in spec.observations[5].meaning


class TestValidation:
    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("step_dt", "fast", "field 'step_dt' must be a number, got 'fast'"),
            ("actuator.delay", None, "field 'actuator.delay' must be a number, got None"),
            ("actuator.kind", "dc_motor", "field 'actuator.kind' must be one of 'delayed_pd', 'ideal_pd'"),
            ("observations.2.dim", 3.5, "field 'observations[2].dim' must be an integer, got 3.5"),
            ("observations.0.clip", [1.0], "field 'observations[0].clip' must be a list of 2"),
            ("history.order", "newest_first", "field 'history.order' must be one of 'oldest_first'"),
            ("lidar.pattern.channels", "32", "field 'lidar.pattern.channels' must be an integer"),
            ("sdk_joint_order.4", True, "field 'sdk_joint_order[4]' must be an integer, got True"),
            ("command_ranges.lin_vel_x", [0.0, "1"], "field 'command_ranges.lin_vel_x[1]' must be a number"),
        ],
    )
    def test_wrong_type_names_the_field(self, tmp_path, field, value, message):
        """A value of the wrong type is one line naming the field and what it must be."""
        with pytest.raises(ContractError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            load_edited(tmp_path, lambda data: set_path(data, field, value))

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("sdk_joint_order.0", 4, "field 'sdk_joint_order' is not a permutation of the 12 joints"),
            ("actuator.stiffness", [40.0] * 11, "field 'actuator.stiffness' has 11 values for 12 joints"),
            ("actuator.delay", 0.012, "field 'actuator.delay' must be a non-negative multiple of actuator.pd_dt"),
            ("observations.0.name", "base_lin_vel", "field 'observations[0].name' is 'base_lin_vel'"),
            ("observations.1.scale", [1.0, 2.0], "field 'observations[1].scale' has 2 values for dim 3"),
            ("lidar.quat_wxyz", [1.0, 1.0, 0.0, 0.0], "field 'lidar.quat_wxyz' must be a unit quaternion"),
            ("lidar", None, "field 'lidar' and height_map must be given together"),
            ("actor_input", ["frame", "history"], "field 'actor_input' must be"),
            ("height_map.pool_size", 2, "field 'height_map.pool_size' must be a positive odd number"),
            ("height_map.fusion", "mean", "field 'height_map.fusion' must be one of max, newest"),
            ("height_map.pool", "min", "field 'height_map.pool' must be one of max, gaps"),
        ],
    )
    def test_inconsistent_value_names_the_field(self, tmp_path, field, value, message):
        """A well-typed value that contradicts the rest of the contract is one line naming the field."""
        with pytest.raises(ContractError, match=message.replace("[", r"\[")):
            load_edited(tmp_path, lambda data: set_path(data, field, value))

    def test_missing_and_unknown_fields(self, tmp_path):
        """A missing field and an unknown one are named with their full path."""
        with pytest.raises(ContractError, match="missing field 'start_state.base_height'"):
            load_edited(tmp_path, lambda data: data["start_state"].pop("base_height"))
        with pytest.raises(ContractError, match="unknown field 'actuator.friction'"):
            load_edited(tmp_path, lambda data: data["actuator"].update(friction=0.0))

    @pytest.mark.parametrize("key", ["fusion", "pool"])
    def test_map_fusion_and_pool_may_be_absent_from_older_files(self, tmp_path, key):
        """A contract written before ``height_map.fusion`` or ``.pool`` existed loads with the one it was trained with:
        the reference's max."""
        spec = load_edited(tmp_path, lambda data: data["height_map"].pop(key)).height_map
        assert getattr(spec, key) == "max"

    def test_other_version_refused(self, tmp_path):
        """A contract of another format version (or none) is refused with the re-export hint."""
        for version in (1, None):
            with pytest.raises(ContractError, match="format version 2 .*re-export the policy"):
                load_edited(tmp_path, lambda data, v=version: data.update(format_version=v))

    def test_errors_are_one_line_user_errors(self, tmp_path):
        """Contract errors are user errors (one line on the CLI) and ValueErrors (for library callers)."""
        with pytest.raises(ContractError) as error:
            load_edited(tmp_path, lambda data: set_path(data, "step_dt", "x"))
        assert isinstance(error.value, UserError) and isinstance(error.value, ValueError)
        assert "\n" not in str(error.value)

    def test_blind_contract_without_lidar(self, tmp_path):
        """A contract edited into a blind one (no map, no LiDAR, two input parts) is valid."""
        spec = replace(DeploySpec.load(LIDAR), height_map=None, lidar=None, actor_input=["frame", "history"])
        spec.save(tmp_path)
        assert DeploySpec.load(tmp_path).obs_dim == 450


class TestOpenExported:
    def test_opens_the_shipped_policy(self):
        """The shipped directory holds both actors; the opener returns their paths and the contract."""
        exported = open_exported(LIDAR, POLICY_ONNX)
        assert exported.onnx.is_file() and exported.jit.is_file()
        assert exported.spec.task == "NaVILA-Go2-Rough-Lidar-Open-Walls"

    @pytest.mark.parametrize("missing", [DEPLOY_FILE, POLICY_JIT])
    def test_missing_file(self, tmp_path, missing):
        """A missing contract or actor is named, with the command that writes it."""
        for name in {DEPLOY_FILE, POLICY_JIT} - {missing}:
            (tmp_path / name).write_bytes((LIDAR / name).read_bytes())
        with pytest.raises(ContractError, match=f"no {missing} in .*navila export"):
            open_exported(tmp_path, POLICY_JIT)

    def test_missing_directory(self, tmp_path):
        """A directory that does not exist is one line."""
        with pytest.raises(ContractError, match="does not exist"):
            open_exported(tmp_path / "nowhere", POLICY_ONNX)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["go2_rough_lidar", "go2_rough_blind"])
def test_second_implementation_walks_the_shipped_policy(name):
    """contract_walker.py (plain MuJoCo + NumPy + ONNX Runtime, reading deploy.yaml only, no robot-side module
    imported) walks the shipped policy at 0.5 m/s within 20% for 6 s without falling: the contract is complete."""
    result = subprocess.run(
        [sys.executable, str(WALKER), str(POLICIES / name), "0.5"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    walk = json.loads(result.stdout.strip().splitlines()[-1])
    print(walk)
    assert walk["robot_side_modules"] == [] and not walk["fell"]
    assert abs(walk["speed"] - 0.5) / 0.5 < 0.2, walk


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("pool", POOLS)
def test_second_implementation_builds_the_project_map(pool, fusion):
    """contract_walker.py's map, written from the contract's table, equals the project's bin_sweep + SweepHistory
    over three sweeps of a scene with floor, walls taller than the map (returns that shadow cells) and holes, the
    second sweep seeing only half the window (the newest fusion then keeps the first sweep's other half)."""
    walker = runpy.run_path(str(WALKER))
    grid = {**DATA["height_map"], "pool": pool, "fusion": fusion}
    spec = HeightMapSpec.from_dict(grid)
    ours, theirs = SweepHistory(1, spec), walker["HeightMap"](grid)
    rng = np.random.default_rng(0)
    for sweep in range(3):
        points = rng.uniform([-1.0, -1.0, 0.25], [0.4, 1.0, 0.45], (3000, 3))  # floor 0.25-0.45 m below the sensor
        tall = rng.random(len(points)) < 0.03
        points[tall, 2] = rng.uniform(-0.3, 0.05, tall.sum())  # returns above the map's range
        points = np.delete(points, rng.choice(len(points), 2500, replace=False), axis=0)  # holes
        if sweep == 1:
            points = points[points[:, 1] > 0.0]
        maps, covered = bin_sweep(torch.tensor(points[None], dtype=torch.float32), spec)
        if sweep == 0:
            ours.reset(maps=maps, covered=covered)
        else:
            ours.push(maps, covered)
        theirs.sweep(points)
        assert np.allclose(theirs.value(), ours.value.reshape(-1).numpy(), atol=1e-6), sweep

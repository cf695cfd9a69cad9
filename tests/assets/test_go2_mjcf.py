"""The generated Go2 MJCF, compiled by MuJoCo: masses, joints, motors, sites, and standing under a 500 Hz PD loop."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from navila_lab.assets.go2_constants import FOOT_NAMES, IMU_FRAME_NAME, LIDAR_FRAME_NAME, LIDAR_POS, SDK_JOINT_NAMES
from navila_lab.assets.go2_description import CACHE_DIR_ENV, DEFAULT_JOINT_POS_BY_NAME, GO2, STANDING_HEIGHT
from navila_lab.assets.go2_mjcf import SIM2SIM_TIMESTEP, description_to_mjcf, go2_mjcf_path

KP, KD = 40.0, 1.0
"""Reference PD gains."""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> mujoco.MjModel:
    """The Go2 MJCF as written to a fresh cache folder, compiled."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.mktemp("cache")))
        return mujoco.MjModel.from_xml_path(go2_mjcf_path())


def _id(model: mujoco.MjModel, kind: mujoco.mjtObj, name: str) -> int:
    index = mujoco.mj_name2id(model, kind, name)
    assert index >= 0, f"no {kind} named {name}"
    return index


class TestModel:
    def test_total_mass_equals_description(self, model):
        """The compiled model weighs exactly what the description says."""
        assert model.body_mass.sum() == pytest.approx(GO2.total_mass, rel=1e-12)

    def test_body_masses_equal_description(self, model):
        """Every link is a body of the same name and mass."""
        for link in GO2.links:
            body = _id(model, mujoco.mjtObj.mjOBJ_BODY, link.name)
            assert model.body_mass[body] == pytest.approx(link.inertial.mass, rel=1e-12)

    def test_joints_limits_axes_and_armature(self, model):
        """Each SDK joint keeps its range, axis and armature."""
        for name in SDK_JOINT_NAMES:
            joint = GO2.joint(name)
            index = _id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
            np.testing.assert_allclose(model.jnt_range[index], joint.limits)
            np.testing.assert_allclose(model.jnt_axis[index], joint.axis)
            assert model.dof_armature[model.jnt_dofadr[index]] == pytest.approx(joint.armature)

    def test_motors_are_torque_motors_in_sdk_order(self, model):
        """Actuator i drives SDK joint i with unit gain, no bias, clipped at that joint's torque limit."""
        assert model.nu == len(SDK_JOINT_NAMES)
        for index, name in enumerate(SDK_JOINT_NAMES):
            assert model.joint(model.actuator_trnid[index, 0]).name == name
            limit = GO2.joint(name).effort_limit
            np.testing.assert_allclose(model.actuator_ctrlrange[index], (-limit, limit))
            assert model.actuator_gainprm[index, 0] == 1.0
            assert not model.actuator_biasprm[index].any()

    def test_sensor_sites(self, model):
        """The IMU and L1 sites sit on the base; the IMU has gyro, accelerometer and orientation sensors."""
        base = _id(model, mujoco.mjtObj.mjOBJ_BODY, GO2.root.name)
        for name in (IMU_FRAME_NAME, LIDAR_FRAME_NAME):
            assert model.site_bodyid[_id(model, mujoco.mjtObj.mjOBJ_SITE, name)] == base
        np.testing.assert_allclose(model.site_pos[_id(model, mujoco.mjtObj.mjOBJ_SITE, LIDAR_FRAME_NAME)], LIDAR_POS)
        for suffix in ("gyro", "acc", "quat"):
            _id(model, mujoco.mjtObj.mjOBJ_SENSOR, f"{IMU_FRAME_NAME}_{suffix}")

    def test_timestep_is_the_command_rate(self, model):
        """One MuJoCo step per 500 Hz PD update."""
        assert model.opt.timestep == SIM2SIM_TIMESTEP == 0.002

    def test_generation_is_deterministic(self):
        """Two renderings of the description are byte-identical."""
        assert description_to_mjcf(GO2) == description_to_mjcf(GO2)


class TestStanding:
    @pytest.fixture(scope="class")
    def stood(self, model) -> mujoco.MjData:
        """State after 1 s of holding the default pose with the reference PD gains, from the ``home`` keyframe."""
        data = mujoco.MjData(model)
        mujoco.mj_resetDataKeyframe(model, data, _id(model, mujoco.mjtObj.mjOBJ_KEY, "home"))
        target = np.array([DEFAULT_JOINT_POS_BY_NAME[name] for name in SDK_JOINT_NAMES])
        for _ in range(round(1.0 / model.opt.timestep)):
            data.ctrl[:] = KP * (target - data.qpos[7:]) - KD * data.qvel[6:]
            mujoco.mj_step(model, data)
        return data

    def test_home_keyframe_is_the_default_pose(self, model):
        """The keyframe puts the base at the standing height and the joints at the default pose, in SDK order."""
        key = model.key("home")
        assert key.qpos[2] == pytest.approx(STANDING_HEIGHT)
        np.testing.assert_allclose(key.qpos[7:], [DEFAULT_JOINT_POS_BY_NAME[name] for name in SDK_JOINT_NAMES])

    def test_base_stays_at_standing_height(self, stood):
        """The base settles near 0.3 m and stays upright."""
        assert stood.qpos[2] == pytest.approx(0.30, abs=0.03)
        assert abs(stood.qpos[3]) > np.cos(0.1 / 2)  # tilt below 0.1 rad

    def test_only_the_feet_touch_the_floor(self, model, stood):
        """Every floor contact is a foot sphere (geoms named like the feet), and all four feet are down."""
        floor = _id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
        touching = {model.geom(c.geom[1] if c.geom[0] == floor else c.geom[0]).name for c in stood.contact}
        assert touching == set(FOOT_NAMES)

    def test_joints_hold_the_default_pose(self, stood):
        """Under Kp 40 the joints sag less than 0.25 rad from the targets while carrying the robot."""
        target = np.array([DEFAULT_JOINT_POS_BY_NAME[name] for name in SDK_JOINT_NAMES])
        assert np.abs(stood.qpos[7:] - target).max() < 0.25

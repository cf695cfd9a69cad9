"""The Go2 description: published numbers, kinematics and a cheap import."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from navila_lab.assets.go2_constants import (
    BASE_NAME,
    FOOT_NAMES,
    HEAD_NAME,
    JOINT_POS_LIMITS,
    LIDAR_FRAME_NAME,
    LIDAR_POS,
    SDK_JOINT_NAMES,
    STANDING_BASE_HEIGHT,
    TORQUE_LIMITS,
    TOTAL_MASS,
    joint_class,
)
from navila_lab.assets.go2_description import (
    CALF_LENGTH,
    FOOT_RADIUS,
    GO2,
    STANDING_HEIGHT,
    THIGH_LENGTH,
    quat_from_axis_angle,
)


class TestMassProperties:
    def test_total_mass_is_published_mass(self):
        """The links weigh the published 15.2 kg to within 5%."""
        assert GO2.total_mass == pytest.approx(TOTAL_MASS, rel=0.05)

    def test_inertia_tensors_are_physical(self):
        """Every inertia tensor is positive definite and satisfies the triangle inequality."""
        for link in GO2.links:
            ixx, iyy, izz, ixy, ixz, iyz = link.inertial.inertia
            moments = np.linalg.eigvalsh([[ixx, ixy, ixz], [ixy, iyy, iyz], [ixz, iyz, izz]])
            assert moments.min() > 0.0, link.name
            assert 2.0 * moments.max() <= moments.sum() * (1.0 + 1e-6), link.name

    def test_right_legs_mirror_left_legs(self):
        """A right leg's mass properties are its left twin's reflected through the x-z plane."""
        for front_rear in "FR":
            for part in ("hip", "thigh", "calf"):
                left = GO2.link(f"{front_rear}L_{part}").inertial
                right = GO2.link(f"{front_rear}R_{part}").inertial
                assert right.com == (left.com[0], -left.com[1], left.com[2])
                ixx, iyy, izz, ixy, ixz, iyz = left.inertia
                assert right.inertia == (ixx, iyy, izz, -ixy, ixz, -iyz)


class TestJoints:
    def test_actuated_joints_are_sdk_joints_in_sdk_order(self):
        """The 12 revolute joints carry the SDK names, in motor order."""
        assert tuple(joint.name for joint in GO2.actuated_joints) == SDK_JOINT_NAMES

    def test_limits_are_published_limits(self):
        """Position and torque limits equal the published ones for every joint."""
        for joint in GO2.actuated_joints:
            assert joint.limits == JOINT_POS_LIMITS[joint_class(joint.name)]
            assert joint.effort_limit == TORQUE_LIMITS[joint.name.split("_")[1]]

    def test_axes(self):
        """Hips roll about x; thighs and calves pitch about y."""
        for joint in GO2.actuated_joints:
            expected = (1.0, 0.0, 0.0) if "_hip_" in joint.name else (0.0, 1.0, 0.0)
            assert joint.axis == expected, joint.name

    def test_every_link_but_the_base_has_one_parent_joint(self):
        """The links form one tree rooted at the base."""
        children = [joint.child for joint in GO2.joints]
        assert sorted(children) == sorted(link.name for link in GO2.links if link.name != BASE_NAME)
        assert GO2.root.name == BASE_NAME


class TestBodiesAndFrames:
    def test_feet_are_spheres(self):
        """Each foot link is named like ``FR_foot`` and collides through one 22 mm sphere."""
        for name in FOOT_NAMES:
            (shape,) = GO2.link(name).collisions
            assert shape.kind == "sphere"
            assert shape.size == (FOOT_RADIUS,)
        assert FOOT_RADIUS == pytest.approx(0.022)

    def test_head_is_fixed_to_the_base(self):
        """The head is a collision body rigidly attached to the base."""
        joint = next(joint for joint in GO2.joints if joint.child == HEAD_NAME)
        assert joint.is_fixed and joint.parent == BASE_NAME
        assert GO2.link(HEAD_NAME).collisions

    def test_lidar_frame_is_the_urdf_l1_mount(self):
        """The ``utlidar`` frame sits at the URDF's radar pose: pitched 2.8782 rad about y."""
        frame = next(frame for frame in GO2.frames if frame.name == LIDAR_FRAME_NAME)
        assert frame.parent == BASE_NAME
        assert frame.pos == LIDAR_POS
        urdf_quat = quat_from_axis_angle((0.0, 1.0, 0.0), 2.8782)
        assert abs(np.dot(frame.quat, urdf_quat)) == pytest.approx(1.0, abs=1e-4)


class TestKinematics:
    def test_straight_legs_stand_at_leg_length(self):
        """With all joints at zero the feet hang straight down: base height = thigh + calf + foot radius."""
        assert GO2.standing_base_height({}) == pytest.approx(THIGH_LENGTH + CALF_LENGTH + FOOT_RADIUS)

    def test_positive_thigh_angle_swings_the_leg_backward(self):
        """Thigh joint at +90° (pitch about +y): the straight leg points straight backward."""
        poses = GO2.link_poses({"FL_thigh_joint": math.pi / 2})
        foot = poses["FL_foot"][0]
        hip = poses["FL_thigh"][0]
        assert foot[0] - hip[0] == pytest.approx(-(THIGH_LENGTH + CALF_LENGTH))
        assert foot[2] == pytest.approx(hip[2])

    def test_default_pose_standing_height(self):
        """In the default pose the base stands about at the reference's 0.32 m target."""
        assert STANDING_HEIGHT == pytest.approx(STANDING_BASE_HEIGHT, abs=0.01)


def test_import_is_cheap():
    """Importing the constants and the description loads no simulator, USD or tensor library."""
    code = (
        "import sys, navila_lab.assets.go2_constants, navila_lab.assets.go2_description\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'isaaclab', 'pxr', 'torch', 'numpy', 'mujoco'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""GO2_CFG in Isaac Lab, kitless on Newton (MuJoCo-Warp): loads from our USD and stands for 1 s on a local ground."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from navila_lab.assets.go2_constants import FOOT_NAMES, SDK_JOINT_NAMES, TORQUE_LIMITS
from navila_lab.assets.go2_description import GO2

pytestmark = pytest.mark.sim

STANDING_SCRIPT = Path(__file__).with_name("go2_standing.py")


@pytest.fixture(scope="module")
def run() -> dict:
    """What ``go2_standing.py`` recorded, run in a fresh interpreter (see its docstring)."""
    process = subprocess.run([sys.executable, str(STANDING_SCRIPT)], capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, process.stderr[-4000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


class TestLoading:
    def test_joints_are_the_sdk_joints(self, run):
        """The articulation exposes exactly the 12 SDK joints."""
        assert sorted(run["joint_names"]) == sorted(SDK_JOINT_NAMES)

    def test_bodies_are_the_description_links(self, run):
        """Every description link is a body and a contact-sensor entry (feet and head included)."""
        assert sorted(run["body_names"]) == sorted(link.name for link in GO2.links)
        assert sorted(run["contact_names"]) == sorted(run["body_names"])

    def test_masses_match_description(self, run):
        """Newton's body masses are the authored ones: colliders add nothing."""
        for name, mass in zip(run["body_names"], run["body_mass"], strict=True):
            assert mass == pytest.approx(GO2.link(name).inertial.mass, rel=1e-5), name


class TestActuators:
    def test_targets_reach_the_motors_after_20_ms(self, run):
        """For 4 physics steps after a target jump the motors still apply the standing torques."""
        from navila_lab.assets.go2 import ACTUATOR_DELAY_STEPS  # imports Isaac Lab: keep collection cheap

        for torques in run["torque_after_jump"][:ACTUATOR_DELAY_STEPS]:
            assert max(torques) < 10.0

    def test_torque_saturates_at_real_limits(self, run):
        """Once the far targets arrive the motors push exactly 23.7 N·m (hip, thigh) and 45.43 N·m (calf)."""
        for name, torque in zip(run["joint_names"], run["torque_after_jump"][-1], strict=True):
            assert torque == pytest.approx(TORQUE_LIMITS[name.split("_")[1]], rel=1e-4), name


class TestStanding:
    def test_base_stays_near_standing_height(self, run):
        """Over the whole second the base never drops below 0.25 m, and ends near 0.3 m."""
        assert min(min(step) for step in run["base_height"]) > 0.25
        assert run["base_height"][-1] == pytest.approx([0.30] * len(run["base_height"][-1]), abs=0.03)

    def test_base_stays_upright(self, run):
        """Gravity in the base frame stays within 0.1 rad of straight down."""
        assert all(z < -0.995 for z in run["projected_gravity_z"])

    def test_feet_carry_the_weight(self, run):
        """The contact sensor sees the robot's weight on the four feet and nothing on any other body."""
        forces = dict(zip(run["contact_names"], run["contact_force_z"], strict=True))
        assert sum(forces[name] for name in FOOT_NAMES) == pytest.approx(GO2.total_mass * 9.81, rel=0.03)
        assert all(force == 0.0 for name, force in forces.items() if name not in FOOT_NAMES)

    def test_joints_hold_the_default_pose(self, run):
        """Under Kp 40 the joints sag less than 0.25 rad from the targets while carrying the robot."""
        assert run["joint_error"] < 0.25

import dataclasses

import numpy as np
import pytest
from navila_lab.assets.go2_constants import FOOT_NAMES
from navila_sim2real.policy import load_policy_dir
from navila_sim2real.sim2sim.lockstep import (
    ModelError,
    ModelErrorRanges,
    apply_model_error,
    draw_model_error,
    lockstep_walk,
    robot_bodies,
)
from navila_sim2real.sim2sim.physics import MujocoGo2

RANGES = ModelErrorRanges()


class TestModelError:
    def test_draws_are_a_function_of_the_rng(self):
        """The same seed gives the same model; every value lies in its range."""
        first, again = (draw_model_error(RANGES, np.random.default_rng([0, 7]), 18) for _ in range(2))
        pairs = zip(dataclasses.astuple(first), dataclasses.astuple(again), strict=True)
        assert all(np.array_equal(a, b) for a, b in pairs)
        for name, (low, high) in dataclasses.asdict(RANGES).items():
            assert np.all((low <= np.asarray(getattr(first, name))) & (np.asarray(getattr(first, name)) <= high))

    def test_applied_to_the_model(self):
        """Masses and inertias scale per body; joint friction, armature, motor strength and foot friction are set."""
        nominal, physics = MujocoGo2(), MujocoGo2()
        bodies = robot_bodies(physics)
        error = draw_model_error(RANGES, np.random.default_rng(1), len(bodies))
        apply_model_error(physics, error)
        m, m0 = physics.model, nominal.model
        assert np.allclose(m.body_mass[bodies], m0.body_mass[bodies] * error.mass_scale)
        assert np.allclose(m.body_inertia[bodies], m0.body_inertia[bodies] * error.mass_scale[:, None])
        assert np.allclose(m.dof_frictionloss[physics.joint_dofs], error.friction_loss)
        assert np.allclose(
            m.dof_armature[physics.joint_dofs], m0.dof_armature[physics.joint_dofs] * error.armature_scale
        )
        assert np.array_equal(physics.motor_strength, error.motor_strength)
        for name in ("floor", *FOOT_NAMES):
            assert m.geom_friction[m.geom(name).id, 0] == pytest.approx(error.foot_friction)


@pytest.mark.slow
class TestLockstepWalk:
    def test_nominal_walk(self, blind_policy_dir):
        """The shipped blind policy walks at 0.5 m/s within 20% on the nominal model, with no fall."""
        walk = lockstep_walk(load_policy_dir(blind_policy_dir), (0.5, 0.0, 0.0), 1.0, 2.0)
        assert walk.fell_at is None and walk.window == pytest.approx(2.0)
        assert abs(walk.forward_speed - 0.5) < 0.1

    def test_fall_is_detected(self, blind_policy_dir):
        """Motors at 10% strength cannot hold the robot up: the walk ends with a fall time."""
        physics = MujocoGo2()
        weak = dataclasses.replace(ModelError.nominal(len(robot_bodies(physics))), motor_strength=np.full(12, 0.1))
        apply_model_error(physics, weak)
        walk = lockstep_walk(load_policy_dir(blind_policy_dir), (0.5, 0.0, 0.0), 1.0, 2.0, physics)
        assert walk.fell_at is not None and walk.fell_at < 3.0

from dataclasses import replace

import numpy as np
import pytest
from navila_lab.assets.go2_constants import SDK_JOINT_NAMES
from navila_lab.deploy_spec import OBSERVATION_TERMS, HistorySpec, ObservationTerm
from navila_sim2real.geometry import projected_gravity, quat_to_rpy, rpy_to_quat
from navila_sim2real.observation import TERMS, ObservationBuilder, check_terms
from sim2real_support import LIDAR_SPEC, standing_low_state

SCALED = [
    replace(LIDAR_SPEC.observations[0], scale=0.25),
    *LIDAR_SPEC.observations[1:4],
    replace(LIDAR_SPEC.observations[4], scale=0.05),
    LIDAR_SPEC.observations[5],
]
SPEC = replace(LIDAR_SPEC, observations=SCALED)
"""The shipped LiDAR contract with scaled angular and joint velocities."""


def single_frame_spec(*terms: ObservationTerm) -> object:
    """A blind contract of the given terms without history."""
    history = HistorySpec(0, "oldest_first", "repeat_first_frame")
    return replace(
        LIDAR_SPEC, observations=list(terms), history=history, height_map=None, lidar=None, actor_input=["frame"]
    )


def term(name: str, dim: int, scale: float | list[float] = 1.0, clip: tuple[float, float] | None = None):
    return ObservationTerm(name, dim, scale, clip, OBSERVATION_TERMS[name].meaning if name in OBSERVATION_TERMS else "")


def distinct_state() -> object:
    """A low state whose every joint value is unique, so that any reordering shows."""
    low = standing_low_state(0.0)
    return replace(low, q=low.q + 0.01 * np.arange(12), dq=0.1 * np.arange(12) + 1.0, gyro=np.array([0.4, -0.8, 1.2]))


class TestObservationBuilder:
    def test_robot_computes_the_whole_vocabulary(self):
        """Every term the exporter may write (the env's term names) has a robot-side computation, and no other."""
        assert set(TERMS) == set(OBSERVATION_TERMS)

    def test_layout_and_scales(self):
        """The frame is the deploy.yaml terms in order, scaled, in the policy's joint order; the attitude term is the
        shipped contract's (gravity in the base frame, no heading)."""
        builder = ObservationBuilder(SPEC)
        low = replace(distinct_state(), quat=rpy_to_quat(np.array([0.1, -0.2, 2.5])))
        obs = builder.build(low, np.array([0.5, 0.0, -0.2]), np.zeros(SPEC.height_map.shape))
        assert obs.shape == (SPEC.obs_dim,) == (909,)
        assert np.allclose(obs[0:3], 0.25 * low.gyro)
        assert SPEC.observations[1].name == "projected_gravity"
        assert np.allclose(obs[3:6], projected_gravity(low.quat))
        assert obs[5] < -0.9, "gravity points down in the base frame of a robot tilted by 0.1 and -0.2 rad"
        assert np.allclose(obs[6:9], [0.5, 0.0, -0.2])
        for i, name in enumerate(SPEC.joint_names):
            slot = SDK_JOINT_NAMES.index(name)
            assert obs[9 + i] == pytest.approx(low.q[slot] - SPEC.default_joint_pos[i], abs=1e-6)
            assert obs[21 + i] == pytest.approx(0.05 * low.dq[slot], abs=1e-6)
        assert np.all(obs[33:45] == 0)

    def test_history_and_height_map(self):
        """History holds the last frames oldest first, the current one last, filled with the first frame at start
        (Isaac Lab's history group); the map comes last, row-major."""
        builder = ObservationBuilder(SPEC)
        low = standing_low_state(0.0)
        frames, height = [], np.arange(SPEC.height_map.size, dtype=np.float64).reshape(SPEC.height_map.shape)
        for step in range(3):
            obs = builder.build(low, np.array([0.1 * step, 0.0, 0.0]), height)
            frames.append(obs[:45])
        history = obs[45 : 45 * 10].reshape(9, 45)
        assert np.allclose(history[-1], frames[2]) and np.allclose(history[-2], frames[1])
        assert np.allclose(history[:-2], frames[0])
        assert np.allclose(obs[450:], height.reshape(-1))

    def test_last_action_and_targets(self):
        """Targets are default + scale·action mapped to SDK order; the action becomes the next frame's last action."""
        builder = ObservationBuilder(SPEC)
        action = np.linspace(-1, 1, 12)
        targets = builder.targets(action)
        for i, name in enumerate(SPEC.joint_names):
            assert targets[SDK_JOINT_NAMES.index(name)] == pytest.approx(SPEC.default_joint_pos[i] + 0.25 * action[i])
        obs = builder.build(standing_low_state(0.0), np.zeros(3), np.zeros(SPEC.height_map.shape))
        assert np.allclose(obs[33:45], action)

    def test_clip_then_scale(self):
        """A term is clipped before it is scaled (Isaac Lab's order); scales may be per element."""
        builder = ObservationBuilder(single_frame_spec(term("actions", 12, [0.5] * 6 + [2.0] * 6, (-10.0, 10.0))))
        builder.targets(np.full(12, 50.0))
        obs = builder.build(standing_low_state(0.0), np.zeros(3), None)
        assert np.all(obs[:6] == 5.0) and np.all(obs[6:] == 20.0)

    def test_action_clip(self):
        """With ``action_clip`` the targets and the fed-back last action use the clipped action, as rsl_rl's wrapper."""
        builder = ObservationBuilder(replace(SPEC, action_clip=1.0))
        targets = builder.targets(np.full(12, 3.0))
        assert np.allclose(targets, builder.to_sdk_order(np.asarray(SPEC.default_joint_pos) + 0.25))
        assert np.all(builder.last_action == 1.0)

    def test_projected_gravity_term(self):
        """A projected-gravity policy sees gravity in the body frame of the IMU orientation."""
        quat = rpy_to_quat(np.array([0.3, 0.0, 0.0]))
        builder = ObservationBuilder(single_frame_spec(term("projected_gravity", 3)))
        obs = builder.build(replace(standing_low_state(0.0), quat=quat), np.zeros(3), None)
        assert np.allclose(obs, projected_gravity(quat))
        assert obs[1] == pytest.approx(-np.sin(0.3)) and obs[2] == pytest.approx(-np.cos(0.3))

    def test_unknown_term_and_width(self):
        """Terms the robot cannot compute, or of another width than the robot's, are rejected with one line."""
        with pytest.raises(ValueError, match="'base_lin_vel' is not computed on the robot"):
            check_terms(single_frame_spec(term("base_lin_vel", 3)))
        with pytest.raises(ValueError, match="width 4 in deploy.yaml, robot has 3"):
            check_terms(single_frame_spec(term("base_ang_vel", 4)))


def test_rpy_round_trip():
    """quat_to_rpy inverts rpy_to_quat."""
    rpy = np.array([0.3, -0.2, 1.1])
    assert np.allclose(quat_to_rpy(rpy_to_quat(rpy)), rpy)

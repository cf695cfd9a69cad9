"""Export ↔ deploy parity against the real Isaac Lab env: the robot side, fed what the Go2 would report, rebuilds the
actor's input exactly as the env computed it, and the exported policy and joint targets match rsl_rl and the env.

A play task rolls out on CPU (``deploy_parity_probe.py``, one env restarted mid-rollout); ``navila export`` turns the
probe's freshly initialised checkpoint into ``deploy.yaml`` + ``policy.onnx`` + ``policy.pt``; then the rollout is
replayed through ``navila_sim2real`` (no Isaac Lab on that side) one env at a time, as the robot's policy thread does.
The contract written from the task alone (no checkpoint) is the exported one, and the shipped policies' contracts
are those of their tasks today.
"""

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from navila_lab.assets.go2_constants import SDK_JOINT_NAMES
from navila_lab.deploy_spec import DEPLOY_FILE, OBSERVATION_TERMS, DeploySpec
from navila_lab.sensors.height_map import height_map_from_points
from navila_sim2real.cloud_height_map import LIDAR_FRAME_ID, CloudHeightMap
from navila_sim2real.geometry import projected_gravity, quat_to_matrix, quat_to_rpy
from navila_sim2real.observation import ObservationBuilder
from navila_sim2real.policy import PolicyBundle, load_policy_dir
from navila_sim2real.state import LowState
from test_sim import run


def write_contract(task: str, out: Path) -> None:
    """``navila_agents.locomotion.export.write_contract`` in a child process (it starts the simulation runtime)."""
    run("-c", f"from navila_agents.locomotion.export import write_contract; write_contract({task!r}, {str(out)!r})")


pytestmark = pytest.mark.sim
PROBE = Path(__file__).with_name("deploy_parity_probe.py")
POLICIES = Path(__file__).resolve().parents[2] / "policies"
PLAY_TASK, TRAIN_TASK = "NaVILA-Go2-Flat-Play", "NaVILA-Go2-Flat"
RESET_ENV, RESET_STEP = 1, 13
"""As in the probe: that env times out at that step."""
TOL = 1e-5
"""float32 env vs float64 robot arithmetic."""


@dataclass
class Replay:
    """The rollout as the env saw it and as the robot side rebuilt it."""

    data: dict[str, np.ndarray]
    """Everything the probe recorded (index 0 is the first reset, then one entry per policy step)."""
    bundle: PolicyBundle
    """The exported policy directory, loaded and checked as ``navila deploy`` does."""
    robot_obs: np.ndarray
    """(steps, envs, obs_dim) actor input built by :class:`ObservationBuilder`."""
    robot_targets: np.ndarray
    """(steps, envs, 12) joint targets (SDK order) for the action applied after each step; the last one is NaN."""
    waiting_for_map: np.ndarray
    """(steps, envs) True where the env had no sweep since its reset (the robot would still be waiting for one)."""
    sweep_maps: np.ndarray
    """(sweeps, envs, rows, cols) the single-sweep map of each recorded sweep, from the sensor-frame points."""
    sweep_index: np.ndarray
    """(steps,) index into :attr:`sweep_maps` of the latest sweep record at each step."""

    @property
    def spec(self) -> DeploySpec:
        return self.bundle.spec

    def to_sdk(self, sim_values: np.ndarray) -> np.ndarray:
        """Per-joint values in the simulator's order → SDK order, built from the joint names alone."""
        names = list(self.data["joint_names"])
        return sim_values[..., [names.index(name) for name in SDK_JOINT_NAMES]]


def imu_state(quat_xyzw: np.ndarray, ang_vel_w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the Go2's IMU reports for a base pose: quaternion (w, x, y, z), body-frame gyro, roll/pitch/yaw."""
    quat = np.roll(quat_xyzw.astype(np.float64), 1)
    return quat, quat_to_matrix(quat).T @ ang_vel_w, quat_to_rpy(quat)


def sweep_points(data: dict[str, np.ndarray], sweep: int, env: int) -> np.ndarray:
    """The LiDAR's hits of one sweep in its own frame (as the L1 publishes them): misses dropped."""
    offset_rot = quat_to_matrix(np.roll(data["lidar_offset_quat_xyzw"], 1))
    body_rot = quat_to_matrix(np.roll(data["sweep_body_quat_w"][sweep, env].astype(np.float64), 1))
    sensor_rot = body_rot @ offset_rot
    sensor_pos = data["sweep_body_pos_w"][sweep, env] + body_rot @ data["lidar_offset_pos"]
    hits = data["sweep_hits_w"][sweep, env].astype(np.float64)
    hits = hits[np.isfinite(hits).all(axis=1)]
    return (hits - sensor_pos) @ sensor_rot


def replay(data: dict[str, np.ndarray], bundle: PolicyBundle) -> Replay:
    """Feed each env's recorded robot state through the robot side, as the 50 Hz policy thread does."""
    spec = bundle.spec
    steps, envs = data["done"].shape
    sweep_index = np.cumsum(data["sweep"].any(axis=1)) - 1  # steps with a sweep of any env: one record each
    robot_obs = np.zeros((steps, envs, spec.obs_dim), dtype=np.float32)
    robot_targets = np.full((steps, envs, 12), np.nan)
    waiting = np.zeros((steps, envs), dtype=bool)
    shell = Replay(data, bundle, robot_obs, robot_targets, waiting, np.zeros(0), sweep_index)
    sweep_maps = []
    for sweep in range(int(data["sweep"].any(axis=1).sum())):
        points = [torch.as_tensor(sweep_points(data, sweep, env), dtype=torch.float32) for env in range(envs)]
        sweep_maps.append([height_map_from_points(p.unsqueeze(0), spec.height_map)[0].numpy() for p in points])
    shell.sweep_maps = np.array(sweep_maps)
    for env in range(envs):
        builder = ObservationBuilder(spec)
        for step in range(steps):
            if data["done"][step, env]:  # a new episode: the robot (re)enters POLICY with an empty history
                builder.reset()
                cloud = CloudHeightMap(spec.height_map, spec.lidar.pos, spec.lidar.quat_wxyz)
            if data["sweep"][step, env]:
                cloud.update(sweep_points(data, sweep_index[step], env), LIDAR_FRAME_ID, stamp=step * spec.step_dt)
            quat, gyro, rpy = imu_state(data["root_quat_w"][step, env], data["root_ang_vel_w"][step, env])
            low = replace(
                LowState.at_rest(step * spec.step_dt, shell.to_sdk(data["joint_pos"][step, env])),
                quat=quat,
                gyro=gyro,
                rpy=rpy,
                dq=shell.to_sdk(data["joint_vel"][step, env]),
            )
            height_map = cloud.latest().map
            if height_map is None:  # no sweep yet: the robot waits in STAND, the env would show an empty map
                waiting[step, env] = True
                height_map = np.zeros(spec.height_map.shape)
            robot_obs[step, env] = builder.build(low, data["command"][step, env].astype(np.float64), height_map)
            if step + 1 < steps:
                robot_targets[step, env] = builder.targets(data["action"][step + 1, env])
    return shell


@pytest.fixture(scope="module")
def rollout(tmp_path_factory) -> Replay:
    out = tmp_path_factory.mktemp("deploy_parity")
    run(str(PROBE), PLAY_TASK, str(out))
    run(
        "-m",
        "navila_cli",
        "export",
        "--task",
        TRAIN_TASK,
        "--checkpoint",
        str(out / "model_0.pt"),
        "--out",
        str(out / "exported"),
        "--device",
        "cpu",
    )
    data = dict(np.load(out / "rollout.npz"))
    return replay(data, load_policy_dir(out / "exported"))


def split(obs: np.ndarray, spec: DeploySpec) -> dict[str, np.ndarray]:
    """Current frame, history frames and height map of actor inputs (..., obs_dim)."""
    width, frames = spec.proprio_dim, spec.history.length
    return {
        "frame": obs[..., :width],
        "history": obs[..., width : width * (1 + frames)].reshape(*obs.shape[:-1], frames, width),
        "height_map": obs[..., width * (1 + frames) :],
    }


class TestExportedContract:
    def test_terms_layout_and_joint_map(self, rollout):
        """deploy.yaml names the env's actor terms in order with their widths, unscaled, and the env's default pose."""
        spec, data = rollout.spec, rollout.data
        assert [term.name for term in spec.observations] == list(data["term_names"])
        assert [term.meaning for term in spec.observations] == [
            OBSERVATION_TERMS[n].meaning for n in data["term_names"]
        ]
        assert [term.dim for term in spec.observations] == [3, 3, 3, 12, 12, 12]
        assert all(term.scale == 1.0 and term.clip is None for term in spec.observations)
        assert spec.history.length == 9 and spec.obs_dim == data["obs"].shape[-1] == 909
        assert spec.joint_names == list(data["joint_names"])
        assert np.allclose(spec.default_joint_pos, data["default_joint_pos"][0])
        assert [spec.joint_names[i] for i in spec.sdk_joint_order] == list(SDK_JOINT_NAMES)
        assert spec.action_scale == 0.25 and spec.action_clip is None

    def test_command_ranges_are_the_training_ones(self, rollout):
        """The remote's full stick deflection maps to the trained command range, not the play task's fixed command."""
        ranges = rollout.spec.command_ranges
        assert ranges["lin_vel_x"] == (0.0, 1.0) and ranges["ang_vel_z"] == (-1.0, 1.0)

    def test_contract_from_the_task_alone_is_the_exported_one(self, rollout, tmp_path):
        """write_contract (no checkpoint) writes the same deploy.yaml as navila export of a checkpoint."""
        write_contract(TRAIN_TASK, tmp_path)
        exported = rollout.bundle.directory / DEPLOY_FILE
        assert yaml.safe_load((tmp_path / DEPLOY_FILE).read_text()) == yaml.safe_load(exported.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["go2_rough_lidar", "go2_rough_blind"])
def test_shipped_contract_is_the_tasks(tmp_path, name):
    """Each shipped deploy.yaml is what its task exports today (regenerate with locomotion.export.write_contract)."""
    shipped = DeploySpec.load(POLICIES / name)
    write_contract(shipped.task, tmp_path)
    assert DeploySpec.load(tmp_path) == shipped


class TestObservationParity:
    def test_policy_input_equals_env_observation(self, rollout):
        """At every step of every env (resets included) the robot's 909-D input equals policy+history+height_map."""
        robot, env = split(rollout.robot_obs, rollout.spec), split(rollout.data["obs"], rollout.spec)
        for part in ("frame", "history", "height_map"):
            error = np.abs(robot[part] - env[part])
            step, env_id = np.unravel_index(error.reshape(*error.shape[:2], -1).max(-1).argmax(), error.shape[:2])
            assert error.max() < TOL, f"{part} differs by {error.max():.2e} (step {step}, env {env_id})"

    def test_terms_follow_the_raw_robot_state(self, rollout):
        """Each term of the env frame is its meaning computed from the raw robot state (gyro, IMU orientation as ZYX
        roll-pitch-yaw or as gravity in the base frame, command, q − default, dq, last action), in the policy order."""
        data, spec = rollout.data, rollout.spec
        frame = split(data["obs"], spec)["frame"]
        quat, gyro, rpy = imu_state(data["root_quat_w"][5, 0], data["root_ang_vel_w"][5, 0])
        raw = {
            "base_ang_vel": gyro,
            "base_rpy": rpy,
            "projected_gravity": projected_gravity(quat),
            "velocity_commands": data["command"][5, 0],
            "joint_pos": data["joint_pos"][5, 0] - spec.default_joint_pos,
            "joint_vel": data["joint_vel"][5, 0],
            "actions": data["action"][5, 0],
        }
        expected = np.concatenate([raw[term.name] for term in spec.observations])
        assert np.allclose(frame[5, 0], expected, atol=TOL)
        assert np.abs(frame[5, 0, 33:]).max() > 0.1, "the last action must be a real one"

    def test_history_fill_at_reset(self, rollout):
        """After a reset the history holds the first frame 9 times; one step later it ends with the new frame."""
        obs = split(rollout.data["obs"][:, RESET_ENV], rollout.spec)
        assert rollout.data["done"][RESET_STEP, RESET_ENV]
        first = obs["frame"][RESET_STEP]
        assert np.array_equal(obs["history"][RESET_STEP], np.broadcast_to(first, obs["history"][RESET_STEP].shape))
        assert np.allclose(first[33:], 0.0), "the last action restarts from zero"
        after = obs["history"][RESET_STEP + 1]
        assert np.array_equal(after[-1], obs["frame"][RESET_STEP + 1])
        assert np.array_equal(after[:-1], np.broadcast_to(first, after[:-1].shape))
        robot = split(rollout.robot_obs[:, RESET_ENV], rollout.spec)["history"]
        assert np.allclose(robot[RESET_STEP : RESET_STEP + 2], obs["history"][RESET_STEP : RESET_STEP + 2], atol=TOL)

    def test_height_map_fuses_the_last_sweeps_as_the_contract_says(self, rollout):
        """Once K sweeps are in, the map is their fusion (``height_map.fusion``) — not the newest sweep alone (max), not
        their max (newest: a cell the newest sweep saw reads that sweep)."""
        spec, data = rollout.spec, rollout.data
        k = spec.height_map.num_sweeps
        env = 0
        swept = np.flatnonzero(data["sweep"][:, env])
        step = int(swept[k])  # the (k+1)-th sweep: the first one has left the window
        assert not data["done"][1 : step + 1, env].any()
        env_map = split(data["obs"][step, env], spec)["height_map"].reshape(spec.height_map.shape)
        window = rollout.sweep_maps[rollout.sweep_index[swept[1 : k + 1]], env]
        if spec.height_map.fusion == "max":
            assert np.allclose(env_map, window.max(axis=0), atol=TOL)
            assert not np.allclose(env_map, window[-1], atol=1e-3), "the fusion must matter here"
        else:
            seen = window[-1] > 0.0  # a hit below the sensor: the newest sweep covers the cell
            assert np.allclose(env_map[seen], window[-1][seen], atol=TOL)
            assert not np.allclose(env_map, window.max(axis=0), atol=1e-3), "the fusion must matter here"
        assert np.count_nonzero(env_map) > 0.3 * env_map.size

    def test_every_episode_starts_with_a_sweep_of_its_new_pose(self, rollout):
        """A reset sweeps the reset env at once: no step shows an empty map, and the robot never waits for a cloud."""
        data = rollout.data
        assert np.array_equal(data["sweep"][data["done"]], np.ones(data["done"].sum(), dtype=bool))
        assert data["sweep"][RESET_STEP, RESET_ENV] and not data["sweep"][RESET_STEP].all(), "a reset-only sweep"
        maps = split(data["obs"], rollout.spec)["height_map"]
        assert not rollout.waiting_for_map.any() and np.all(maps.max(axis=-1) > 0.0)


class TestPolicyOutput:
    def test_onnx_and_torchscript_match_the_rsl_rl_actor(self, rollout):
        """policy.onnx (batch 1, as the robot runs it) and policy.pt give the actor's actions on the robot's inputs."""
        obs = rollout.robot_obs.reshape(-1, rollout.spec.obs_dim)
        expected = rollout.data["actor_actions"].reshape(-1, 12)
        onnx = np.stack([rollout.bundle.policy(row) for row in obs])
        jit = torch.jit.load(str(rollout.bundle.directory / "policy.pt"))(torch.as_tensor(obs)).detach().numpy()
        assert np.abs(onnx - expected).max() < 1e-4 and np.abs(jit - expected).max() < 1e-4
        assert np.abs(expected).max() > 0.01, "a fresh actor still gives non-trivial actions"

    def test_joint_targets_match_the_joint_position_action(self, rollout):
        """default + 0.25 · action in SDK order equals the env's JointPositionAction targets, reordered by name."""
        env_targets = rollout.to_sdk(rollout.data["targets"][1:])
        assert np.abs(rollout.robot_targets[:-1] - env_targets).max() < TOL

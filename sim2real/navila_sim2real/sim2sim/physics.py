"""The Go2 in MuJoCo (CPU): motor PD from the latest low command, IMU and joint readings, L1 ray casting."""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
from navila_lab.assets.go2_constants import IMU_FRAME_NAME, LIDAR_FRAME_NAME, SDK_JOINT_NAMES
from navila_lab.assets.go2_mjcf import go2_mjcf_path
from navila_lab.sensors.lidar_pattern import L1PatternSpec, l1_ray_directions

from navila_sim2real.geometry import quat_to_matrix, quat_to_rpy, rpy_to_quat

LYING_POSE = {"hip": 0.0, "thigh": 1.25, "calf": -2.65}
"""Joint angles (rad) of the folded pose the robot lies in before standing up (as after sport mode's StandDown)."""
SENSOR_GROUP_ROBOT = 3
"""Geom group given to the robot's own geoms so that the LiDAR sees only the world (like the Isaac Lab ray caster)."""
SERVO_MODE = 0x01
RAY_CHUNK = 256
"""Rays per ``mj_multiRay`` call (~0.15 ms each)."""
RAY_CUTOFF = mujoco.mjMAXVAL
"""``mj_multiRay``'s cutoff prunes geoms by the distance from the ray origin to the geom's centre, so the L1 range
there would drop the floor plane (centred at the world origin) once the robot is that far from it; ranges are
checked on the hit distances instead."""


@dataclass
class MotorTargets:
    """The latest low command of the 12 leg motors (SDK order); a motor not in servo mode gives no torque."""

    mode: np.ndarray
    q: np.ndarray
    dq: np.ndarray
    kp: np.ndarray
    kd: np.ndarray
    tau: np.ndarray

    @classmethod
    def zero(cls) -> MotorTargets:
        """No torque on any motor."""
        return cls(*(np.zeros(12) for _ in range(6)))


class MujocoGo2:
    """Physics of one Go2 on a floor; joint arrays in SDK order."""

    def __init__(self, mjcf_path: str | None = None, lidar: L1PatternSpec | None = None) -> None:
        """Load the MJCF (default: the generated Go2 model) and index joints, actuators, sensors and sites."""
        self.model = mujoco.MjModel.from_xml_path(mjcf_path or go2_mjcf_path())
        self.data = mujoco.MjData(self.model)
        self._ray_data = mujoco.MjData(self.model)
        m = self.model
        joints = [m.joint(name) for name in SDK_JOINT_NAMES]
        self._qpos = np.array([j.qposadr[0] for j in joints])
        self.joint_dofs = np.array([j.dofadr[0] for j in joints])
        """Degree-of-freedom index of each joint, SDK order."""
        by_joint = {m.actuator_trnid[i, 0]: i for i in range(m.nu)}
        self._actuator = np.array([by_joint[j.id] for j in joints])
        self.tau_max = m.actuator_ctrlrange[self._actuator, 1].copy()
        self._sensor = {name: m.sensor(f"{IMU_FRAME_NAME}_{name}") for name in ("gyro", "acc", "quat")}
        self._lidar_site = m.site(LIDAR_FRAME_NAME).id
        self.lidar = lidar or L1PatternSpec()
        self._ray_dirs = l1_ray_directions(self.lidar).double().numpy()
        robot = m.body_rootid != 0
        m.geom_group[robot[m.geom_bodyid]] = SENSOR_GROUP_ROBOT
        self._ray_groups = np.array([1 if g != SENSOR_GROUP_ROBOT else 0 for g in range(6)], dtype=np.uint8)
        self.motor_strength = np.ones(12)
        """Factor on each motor's PD torque before the torque limit (model error; 1 = nominal)."""
        self.applied = np.zeros(12)
        """Torques (N·m) applied at the last step."""
        self.odometry = np.zeros(3)
        """Ground truth: ∫ base-frame linear velocity dt (m) since the last reset; its rate is the walking speed."""

    @property
    def dt(self) -> float:
        """Physics step (s)."""
        return float(self.model.opt.timestep)

    @property
    def time(self) -> float:
        """Simulated time (s)."""
        return float(self.data.time)

    def reset_lying(self, settle: float = 1.0) -> None:
        """Put the robot on the floor in the folded pose and let it settle, holding the pose with a stiff PD."""
        mujoco.mj_resetDataKeyframe(self.model, self.data, 0)
        pose = np.array([LYING_POSE[name.split("_")[1]] for name in SDK_JOINT_NAMES])
        self.data.qpos[self._qpos] = pose
        self.data.qpos[2] = 0.15
        zeros, ones = np.zeros(12), np.ones(12)
        hold = MotorTargets(SERVO_MODE * ones, pose, zeros, 60.0 * ones, 3.0 * ones, zeros)
        for _ in range(round(settle / self.dt)):
            self.step(hold)
        self.data.time = 0.0
        self.odometry[:] = 0.0

    def step(self, targets: MotorTargets) -> None:
        """One physics step with the motors' PD torques (clipped to the torque limits) from ``targets``."""
        q, dq = self.joint_pos(), self.joint_vel()
        torque = targets.kp * (targets.q - q) + targets.kd * (targets.dq - dq) + targets.tau
        torque = np.where(targets.mode == SERVO_MODE, self.motor_strength * torque, 0.0)
        self.applied = np.clip(np.nan_to_num(torque), -self.tau_max, self.tau_max)
        self.data.ctrl[self._actuator] = self.applied
        mujoco.mj_step(self.model, self.data)
        self.odometry += self.base_velocity() * self.dt

    def joint_pos(self) -> np.ndarray:
        """Return the joint angles (rad)."""
        return self.data.qpos[self._qpos].copy()

    def joint_vel(self) -> np.ndarray:
        """Return the joint velocities (rad/s)."""
        return self.data.qvel[self.joint_dofs].copy()

    def imu(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """IMU quaternion (w, x, y, z), gyroscope (rad/s), accelerometer (m/s²) and roll-pitch-yaw (rad)."""
        read = {name: self.data.sensordata[s.adr[0] : s.adr[0] + s.dim[0]].copy() for name, s in self._sensor.items()}
        return read["quat"], read["gyro"], read["acc"], quat_to_rpy(read["quat"])

    def base_velocity(self) -> np.ndarray:
        """Return the base linear velocity (m/s) in the base frame."""
        rot = quat_to_matrix(self.data.qpos[3:7])
        return rot.T @ self.data.qvel[0:3]

    def tilt(self, roll: float) -> None:
        """Roll the base by ``roll`` radians about its x axis (fault injection)."""
        quat = self.data.qpos[3:7].copy()
        extra = rpy_to_quat(np.array([roll, 0.0, 0.0]))
        mujoco.mju_mulQuat(self.data.qpos[3:7], quat, extra)
        mujoco.mj_forward(self.model, self.data)

    def lidar_points(self, qpos: np.ndarray) -> np.ndarray:
        """One sweep of the L1 pattern at configuration ``qpos``: hits (P, 3) in the ``utlidar`` site frame.

        Only world geoms are hit (the robot's own geoms are in another group), like the Isaac Lab ray caster.
        Uses its own ``MjData``, so it can run while another thread steps the physics.
        """
        ray = self._ray_data
        ray.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, ray)
        origin = ray.site_xpos[self._lidar_site].copy()
        rot = ray.site_xmat[self._lidar_site].reshape(3, 3)
        vec = self._ray_dirs @ rot.T
        count = len(vec)
        geom, dist = np.zeros(count, dtype=np.int32), np.zeros(count)
        for start in range(0, count, RAY_CHUNK):  # mj_multiRay holds the GIL: short calls let other threads run
            end = min(start + RAY_CHUNK, count)
            rays, hits, lengths = vec[start:end].reshape(-1), geom[start:end], dist[start:end]
            m, groups = self.model, self._ray_groups
            mujoco.mj_multiRay(m, ray, origin, rays, groups, 1, -1, hits, lengths, None, end - start, RAY_CUTOFF)
        hit = (geom >= 0) & (dist >= 0) & (dist <= self.lidar.max_distance)
        return self._ray_dirs[hit] * dist[hit, None]

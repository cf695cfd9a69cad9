"""Lock-step sim2sim (faster than real time) and robot-model errors drawn at random.

The robot side's observation builder, ONNX policy and cloud height map drive the MuJoCo Go2 directly, with no DDS,
threads or clocks. A walk starts standing in the default pose (the MJCF's ``home`` key), runs the policy at
``step_dt`` with each action reaching the motors' PD after the contract's actuator delay (or another),
casts one LiDAR sweep every ``update_period`` into the robot side's
:class:`~navila_sim2real.cloud_height_map.CloudHeightMap`, and measures MuJoCo's ground truth over a window after a
warm-up. Model errors are a pure function of (ranges, rng): :func:`draw_model_error`; :func:`apply_model_error`
writes one into a :class:`MujocoGo2`.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass

import mujoco
import numpy as np
from navila_lab.assets.go2_constants import FOOT_NAMES

from navila_sim2real.cloud_height_map import LIDAR_FRAME_ID, CloudHeightMap
from navila_sim2real.observation import ObservationBuilder
from navila_sim2real.policy import PolicyBundle
from navila_sim2real.safety import SafetyLimits
from navila_sim2real.sim2sim.physics import SERVO_MODE, MotorTargets, MujocoGo2
from navila_sim2real.state import LowState

FALL_HEIGHT = 0.15
"""A base lower than this (m) is a fall, as is a tilt beyond the safety layer's limit."""


@dataclass(frozen=True)
class ModelErrorRanges:
    """Uniform ranges of the robot-model errors (issue 19's list)."""

    mass_scale: tuple[float, float] = (0.85, 1.15)
    """Factor on each body's mass and inertia (drawn per body)."""
    friction_loss: tuple[float, float] = (0.0, 1.5)
    """Dry friction (N·m) of each joint (drawn per joint)."""
    armature_scale: tuple[float, float] = (0.7, 1.3)
    """Factor on each joint's armature (drawn per joint)."""
    motor_strength: tuple[float, float] = (0.9, 1.1)
    """Factor on each motor's PD torque (drawn per motor)."""
    foot_friction: tuple[float, float] = (0.4, 1.2)
    """Foot-ground friction coefficient (one per draw)."""
    extra_delay: tuple[float, float] = (0.0, 0.030)
    """Command delay (s) added to the trained actuator delay (one per draw, rounded to physics steps)."""


@dataclass(frozen=True)
class ModelError:
    """One drawn robot model (joint arrays in SDK order, body arrays over the robot's bodies)."""

    mass_scale: np.ndarray
    friction_loss: np.ndarray
    armature_scale: np.ndarray
    motor_strength: np.ndarray
    foot_friction: float
    extra_delay: float

    @classmethod
    def nominal(cls, num_bodies: int, foot_friction: float = 1.0) -> ModelError:
        """Return the model as shipped."""
        ones = np.ones(12)
        return cls(np.ones(num_bodies), np.zeros(12), ones, ones, foot_friction, 0.0)


def draw_model_error(ranges: ModelErrorRanges, rng: np.random.Generator, num_bodies: int) -> ModelError:
    """Draw one robot model from ``ranges``."""
    return ModelError(
        mass_scale=rng.uniform(*ranges.mass_scale, size=num_bodies),
        friction_loss=rng.uniform(*ranges.friction_loss, size=12),
        armature_scale=rng.uniform(*ranges.armature_scale, size=12),
        motor_strength=rng.uniform(*ranges.motor_strength, size=12),
        foot_friction=float(rng.uniform(*ranges.foot_friction)),
        extra_delay=float(rng.uniform(*ranges.extra_delay)),
    )


def robot_bodies(physics: MujocoGo2) -> np.ndarray:
    """Ids of the robot's bodies (all but the world)."""
    return np.flatnonzero(physics.model.body_rootid != 0)


def apply_model_error(physics: MujocoGo2, error: ModelError) -> None:
    """Write ``error`` into the freshly loaded ``physics`` (masses, inertias, joints, motors, friction)."""
    m, bodies = physics.model, robot_bodies(physics)
    m.body_mass[bodies] *= error.mass_scale
    m.body_inertia[bodies] *= error.mass_scale[:, None]
    m.dof_frictionloss[physics.joint_dofs] = error.friction_loss
    m.dof_armature[physics.joint_dofs] *= error.armature_scale
    physics.motor_strength = error.motor_strength.copy()
    contact = [m.geom(name).id for name in ("floor", *FOOT_NAMES)]
    m.geom_friction[contact, 0] = error.foot_friction  # MuJoCo takes the larger of the two geoms' coefficients
    mujoco.mj_setConst(m, physics.data)


@dataclass
class LockstepWalk:
    """Ground truth over the measurement window (base frame; a fall ends the walk)."""

    forward_speed: float
    lateral_speed: float
    yaw_rate: float
    """Mean yaw rate (rad/s)."""
    heading_drift: float
    """Change of heading (rad) over the window."""
    fell_at: float | None
    """Simulated time (s) of the fall, or None."""
    perception_faults: int
    """LiDAR sweeps whose height map the robot side would refuse (too few hits, empty map, ...)."""
    min_ground_hits: int | None
    """Fewest sweep points inside the height map's window (None for a blind policy)."""
    window: float
    """Simulated seconds measured."""


def lockstep_walk(
    bundle: PolicyBundle,
    command: tuple[float, float, float],
    warmup: float,
    window: float,
    physics: MujocoGo2 | None = None,
    delay: float | None = None,
) -> LockstepWalk:
    """Walk ``bundle``'s policy at ``command`` from standing; measure the ``window`` s after ``warmup`` s.

    Args:
        bundle: The loaded policy directory.
        command: Velocity command (vx, vy, wz).
        warmup: Seconds walked before the window.
        window: Seconds measured.
        physics: The model (default: the shipped MJCF), e.g. with a :class:`ModelError` applied.
        delay: Seconds from an action to the PD loop using it (default: the contract's actuator delay).
    """
    spec, physics = bundle.spec, physics or MujocoGo2()
    mujoco.mj_resetDataKeyframe(physics.model, physics.data, 0)
    mujoco.mj_forward(physics.model, physics.data)
    builder = ObservationBuilder(spec)
    cloud = CloudHeightMap(spec.height_map, spec.lidar.pos, spec.lidar.quat_wxyz) if spec.height_map else None
    kp, kd = builder.to_sdk_order(spec.actuator.stiffness), builder.to_sdk_order(spec.actuator.damping)
    servo, zeros = np.full(12, SERVO_MODE), np.zeros(12)
    stand = builder.to_sdk_order(spec.default_joint_pos)
    pending = deque([(0, MotorTargets(servo, stand, zeros, kp, kd, zeros))])
    decimation = round(spec.step_dt / physics.dt)
    sweep_every = round(physics.lidar.update_period / physics.dt)
    delay_steps = round((spec.actuator.delay if delay is None else delay) / physics.dt)
    start, end = round(warmup / physics.dt), round((warmup + window) / physics.dt)
    max_tilt, faults, hits = SafetyLimits.go2().max_tilt, 0, []
    odometry, heading, fell_step = None, [], None
    velocity_command = np.asarray(command, dtype=np.float64)
    for step in range(end):
        if cloud is not None and step % sweep_every == 0:
            fault = cloud.update(physics.lidar_points(physics.data.qpos.copy()), LIDAR_FRAME_ID, physics.time)
            faults, hits = faults + (fault is not None), [*hits, cloud.ground_hits]
        quat, gyro, _, rpy = physics.imu()
        if max(abs(rpy[0]), abs(rpy[1])) > max_tilt or physics.data.qpos[2] < FALL_HEIGHT:
            fell_step = step
            break
        if step == start:
            odometry, heading = physics.odometry.copy(), [rpy[2]]
        elif step > start:
            heading.append(rpy[2])
        if step % decimation == 0:
            low = LowState.at_rest(physics.time, physics.joint_pos())
            low = dataclasses.replace(low, quat=quat, gyro=gyro, rpy=rpy, dq=physics.joint_vel())
            obs = builder.build(low, velocity_command, cloud.latest().map if cloud is not None else None)
            targets = builder.targets(bundle.policy(obs))
            pending.append((step + delay_steps, MotorTargets(servo, targets, zeros, kp, kd, zeros)))
        while len(pending) > 1 and pending[1][0] <= step:
            pending.popleft()
        physics.step(pending[0][1])
    return _measured(physics, fell_step, start, odometry, heading, faults, hits)


def _measured(
    physics: MujocoGo2,
    fell_step: int | None,
    start: int,
    odometry: np.ndarray | None,
    heading: list[float],
    faults: int,
    hits: list[int],
) -> LockstepWalk:
    """Return the walk's figures from the window's start to now (zeros if it fell before the window)."""
    seconds = physics.time - start * physics.dt if odometry is not None else 0.0
    moved = (physics.odometry - odometry) / seconds if seconds > 0 else np.zeros(3)
    turned = float(np.unwrap(heading)[-1] - heading[0]) if len(heading) > 1 else 0.0
    return LockstepWalk(
        forward_speed=float(moved[0]),
        lateral_speed=float(moved[1]),
        yaw_rate=turned / seconds if seconds > 0 else 0.0,
        heading_drift=turned,
        fell_at=None if fell_step is None else fell_step * physics.dt,
        perception_faults=int(faults),
        min_ground_hits=min(hits) if hits else None,
        window=float(seconds),
    )

"""The Unitree Go2 as plain data: one description that the USD (Isaac Lab) and MJCF (MuJoCo) writers both read.

Numbers: Unitree ``go2_description`` URDF (links, masses, full inertia tensors, collision primitives, the ``radar``
L1 mount and the ``imu`` frame) and MuJoCo Menagerie ``unitree_go2`` (motor armature). Joint limits and torque limits
come from :mod:`~navila_lab.assets.go2_constants`. Only the standard library is imported here, so this module is cheap.

Conventions: lengths in m, masses in kg, inertia in kg·m² about the link's center of mass in link axes, angles in
rad, quaternions (w, x, y, z). Every joint frame coincides with its child link frame.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .go2_constants import (
    BASE_NAME,
    HEAD_NAME,
    IMU_FRAME_NAME,
    JOINT_POS_LIMITS,
    LEGS,
    LIDAR_FRAME_NAME,
    LIDAR_POS,
    LIDAR_QUAT_WXYZ,
    TORQUE_LIMITS,
    VELOCITY_LIMIT,
    default_joint_pos,
    joint_class,
)

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
IDENTITY_QUAT: Quat = (1.0, 0.0, 0.0, 0.0)

CACHE_DIR_ENV = "NAVILA_LAB_CACHE_DIR"
"""Environment variable that overrides the folder of generated assets (default ``~/.cache/navila_lab``)."""


@dataclass(frozen=True)
class Inertial:
    """Mass properties of one link."""

    mass: float
    com: Vec3
    """Center of mass in the link frame."""
    inertia: tuple[float, float, float, float, float, float]
    """Inertia tensor about the center of mass, ``(ixx, iyy, izz, ixy, ixz, iyz)``."""


@dataclass(frozen=True)
class Collision:
    """One collision primitive attached to a link."""

    name: str
    """Unique over the robot (MJCF geom name)."""
    kind: Literal["box", "sphere", "cylinder"]
    size: tuple[float, ...]
    """Box: half extents ``(hx, hy, hz)``; sphere: ``(radius,)``; cylinder: ``(radius, half_length)`` along the
    primitive's local z axis (MuJoCo's convention)."""
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY_QUAT


@dataclass(frozen=True)
class Link:
    """A rigid body."""

    name: str
    inertial: Inertial
    collisions: tuple[Collision, ...] = ()


@dataclass(frozen=True)
class Joint:
    """A revolute joint (``axis`` set) or a fixed joint (``axis`` is None) between two links."""

    name: str
    parent: str
    child: str
    pos: Vec3
    """Origin of the child frame in the parent frame."""
    quat: Quat = IDENTITY_QUAT
    """Orientation of the child frame in the parent frame at zero joint angle."""
    axis: Vec3 | None = None
    """Rotation axis in the child frame; None for a fixed joint."""
    limits: tuple[float, float] = (0.0, 0.0)
    effort_limit: float = 0.0
    velocity_limit: float = 0.0
    armature: float = 0.0
    """Reflected rotor inertia added to the joint-space inertia."""

    @property
    def is_fixed(self) -> bool:
        """Whether the joint has no degree of freedom."""
        return self.axis is None


@dataclass(frozen=True)
class Frame:
    """A massless reference frame rigidly attached to a link (sensor mount)."""

    name: str
    parent: str
    pos: Vec3
    quat: Quat = IDENTITY_QUAT


@dataclass(frozen=True)
class RobotDescription:
    """A floating-base tree of links; joints are listed parents first, starting from the root link."""

    name: str
    links: tuple[Link, ...]
    joints: tuple[Joint, ...]
    frames: tuple[Frame, ...]

    @property
    def root(self) -> Link:
        """The floating base."""
        return self.links[0]

    @property
    def total_mass(self) -> float:
        """Sum of all link masses."""
        return sum(link.inertial.mass for link in self.links)

    @property
    def actuated_joints(self) -> tuple[Joint, ...]:
        """Revolute joints, in description order (the SDK motor order for the Go2)."""
        return tuple(joint for joint in self.joints if not joint.is_fixed)

    def link(self, name: str) -> Link:
        """Return the link called ``name``."""
        return next(link for link in self.links if link.name == name)

    def joint(self, name: str) -> Joint:
        """Return the joint called ``name``."""
        return next(joint for joint in self.joints if joint.name == name)

    def child_joints(self, link_name: str) -> tuple[Joint, ...]:
        """Joints whose parent is ``link_name``."""
        return tuple(joint for joint in self.joints if joint.parent == link_name)

    def link_poses(self, joint_pos: dict[str, float] | None = None) -> dict[str, tuple[Vec3, Quat]]:
        """Pose of every link in the root frame, for the given joint angles (missing joints at zero)."""
        joint_pos = joint_pos or {}
        poses: dict[str, tuple[Vec3, Quat]] = {self.root.name: ((0.0, 0.0, 0.0), IDENTITY_QUAT)}
        for joint in self.joints:
            parent_pos, parent_quat = poses[joint.parent]
            quat = quat_mul(parent_quat, joint.quat)
            if not joint.is_fixed:
                quat = quat_mul(quat, quat_from_axis_angle(joint.axis, joint_pos.get(joint.name, 0.0)))
            poses[joint.child] = (add(parent_pos, quat_rotate(parent_quat, joint.pos)), quat)
        return poses

    def standing_base_height(self, joint_pos: dict[str, float]) -> float:
        """Height of the root above flat ground when the lowest collision sphere touches it, base level."""
        poses = self.link_poses(joint_pos)
        lowest = min(
            add(poses[link.name][0], quat_rotate(poses[link.name][1], shape.pos))[2] - shape.size[0]
            for link in self.links
            for shape in link.collisions
            if shape.kind == "sphere"
        )
        return -lowest


# ----------------------------------------------------------------------------------------------------------------------
# Small rigid-body math (pure Python, so importing the description stays cheap)
# ----------------------------------------------------------------------------------------------------------------------


def add(a: Vec3, b: Vec3) -> Vec3:
    """Component-wise sum of two vectors."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def quat_mul(a: Quat, b: Quat) -> Quat:
    """Hamilton product ``a ⊗ b``."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def quat_rotate(q: Quat, v: Vec3) -> Vec3:
    """Rotate vector ``v`` by unit quaternion ``q``."""
    _, x, y, z = quat_mul(quat_mul(q, (0.0, *v)), (q[0], -q[1], -q[2], -q[3]))
    return (x, y, z)


def quat_from_axis_angle(axis: Vec3, angle: float) -> Quat:
    """Return the unit quaternion of a rotation by ``angle`` about the unit vector ``axis``."""
    s = math.sin(angle / 2.0)
    return (math.cos(angle / 2.0), axis[0] * s, axis[1] * s, axis[2] * s)


def normalized(q: Quat) -> Quat:
    """``q`` scaled to unit norm."""
    norm = math.sqrt(sum(c * c for c in q))
    return (q[0] / norm, q[1] / norm, q[2] / norm, q[3] / norm)


# ----------------------------------------------------------------------------------------------------------------------
# Go2 numbers (go2_description URDF); legs are written once for FL and mirrored
# ----------------------------------------------------------------------------------------------------------------------

MOTOR_ARMATURE = 0.01
"""Reflected rotor inertia of every Go2 joint (kg·m², MuJoCo Menagerie)."""

FOOT_RADIUS = 0.022
HIP_OFFSET: Vec3 = (0.1934, 0.0465, 0.0)
"""Hip joint in the base frame (front left; other legs mirror the signs)."""
THIGH_OFFSET = 0.0955
"""Lateral offset of the thigh joint from the hip joint."""
THIGH_LENGTH = 0.213
CALF_LENGTH = 0.213
HEAD_OFFSET: Vec3 = (0.285, 0.0, 0.01)
IMU_POS: Vec3 = (-0.02557, 0.0, 0.04232)

_QUAT_Z_TO_Y: Quat = normalized((1.0, 1.0, 0.0, 0.0))
"""Turns a primitive's z axis onto the link's y axis (URDF rpy = (π/2, 0, 0))."""
_QUAT_Z_TO_X: Quat = normalized((1.0, 0.0, 1.0, 0.0))
"""Turns a primitive's z axis onto the link's x axis (URDF rpy = (0, π/2, 0))."""

_HIP = Inertial(0.678, (-0.0054, 0.00194, -0.000105), (0.00048, 0.000884, 0.000596, -3.01e-06, 1.11e-06, -1.42e-06))
_THIGH = Inertial(1.152, (-0.00374, -0.0223, -0.0327), (0.00584, 0.0058, 0.00103, 8.72e-05, -0.000289, 0.000808))
_CALF = Inertial(0.154, (0.00548, -0.000975, -0.115), (0.00108, 0.0011, 3.29e-05, 3.4e-07, 1.72e-05, 8.28e-06))
_FOOT = Inertial(0.04, (0.0, 0.0, 0.0), (9.6e-06, 9.6e-06, 9.6e-06, 0.0, 0.0, 0.0))


def _mirror(inertial: Inertial, sx: float, sy: float) -> Inertial:
    """Mass properties reflected through the y-z plane (``sx = -1``) and/or the x-z plane (``sy = -1``)."""
    ixx, iyy, izz, ixy, ixz, iyz = inertial.inertia
    x, y, z = inertial.com
    return Inertial(inertial.mass, (sx * x, sy * y, z), (ixx, iyy, izz, sx * sy * ixy, sx * ixz, sy * iyz))


def _leg(leg: str) -> tuple[list[Link], list[Joint]]:
    """Hip, thigh, calf and foot of one leg (``FR``, ``FL``, ``RR`` or ``RL``)."""
    sx = 1.0 if leg[0] == "F" else -1.0
    sy = 1.0 if leg[1] == "L" else -1.0
    shank_tilt = quat_from_axis_angle((0.0, 1.0, 0.0), -0.2)
    lower_shank_tilt = quat_from_axis_angle((0.0, 1.0, 0.0), 0.05)
    links = [
        Link(
            f"{leg}_hip",
            _mirror(_HIP, sx, sy),
            (Collision(f"{leg}_hip", "cylinder", (0.046, 0.02), (0.0, sy * 0.08, 0.0), _QUAT_Z_TO_Y),),
        ),
        Link(
            f"{leg}_thigh",
            _mirror(_THIGH, 1.0, sy),
            (Collision(f"{leg}_thigh", "box", (0.1065, 0.01225, 0.017), (0.0, 0.0, -0.1065), _QUAT_Z_TO_X),),
        ),
        Link(
            f"{leg}_calf",
            _mirror(_CALF, 1.0, sy),
            (
                Collision(f"{leg}_shank", "cylinder", (0.013, 0.06), (0.01, 0.0, -0.06), shank_tilt),
                Collision(f"{leg}_lower_shank", "cylinder", (0.011, 0.0325), (0.02, 0.0, -0.148), lower_shank_tilt),
            ),
        ),
        Link(f"{leg}_foot", _FOOT, (Collision(f"{leg}_foot", "sphere", (FOOT_RADIUS,), (-0.002, 0.0, 0.0)),)),
    ]
    joint_frames = [
        (BASE_NAME, "hip", (sx * HIP_OFFSET[0], sy * HIP_OFFSET[1], HIP_OFFSET[2]), (1.0, 0.0, 0.0)),
        (f"{leg}_hip", "thigh", (0.0, sy * THIGH_OFFSET, 0.0), (0.0, 1.0, 0.0)),
        (f"{leg}_thigh", "calf", (0.0, 0.0, -THIGH_LENGTH), (0.0, 1.0, 0.0)),
    ]
    joints = [
        Joint(
            name=f"{leg}_{kind}_joint",
            parent=parent,
            child=f"{leg}_{kind}",
            pos=pos,
            axis=axis,
            limits=JOINT_POS_LIMITS[joint_class(f"{leg}_{kind}_joint")],
            effort_limit=TORQUE_LIMITS[kind],
            velocity_limit=VELOCITY_LIMIT,
            armature=MOTOR_ARMATURE,
        )
        for parent, kind, pos, axis in joint_frames
    ]
    joints.append(Joint(f"{leg}_foot_joint", f"{leg}_calf", f"{leg}_foot", (0.0, 0.0, -CALF_LENGTH)))
    return links, joints


def _go2() -> RobotDescription:
    """Assemble the Go2: base, head, four legs in SDK order, IMU and L1 LiDAR frames."""
    base = Link(
        BASE_NAME,
        Inertial(6.921, (0.021112, 0.0, -0.005366), (0.02448, 0.098077, 0.107, 0.00012166, 0.0014849, -3.12e-05)),
        (Collision("trunk", "box", (0.1881, 0.04675, 0.057)),),
    )
    head = Link(
        HEAD_NAME,
        Inertial(0.001, (0.0, 0.0, 0.0), (9.6e-06, 9.6e-06, 9.6e-06, 0.0, 0.0, 0.0)),
        (
            Collision("head", "cylinder", (0.05, 0.045)),
            Collision("chin", "sphere", (0.047,), (0.008, 0.0, -0.07)),
        ),
    )
    links = [base, head]
    joints = [Joint(f"{HEAD_NAME}_joint", BASE_NAME, HEAD_NAME, HEAD_OFFSET)]
    for leg in LEGS:
        leg_links, leg_joints = _leg(leg)
        links += leg_links
        joints += leg_joints
    frames = (
        Frame(IMU_FRAME_NAME, BASE_NAME, IMU_POS),
        Frame(LIDAR_FRAME_NAME, BASE_NAME, LIDAR_POS, normalized(LIDAR_QUAT_WXYZ)),
    )
    return RobotDescription("go2", tuple(links), tuple(joints), frames)


GO2 = _go2()
"""The project's Unitree Go2 model."""

DEFAULT_JOINT_POS_BY_NAME: dict[str, float] = {
    joint.name: default_joint_pos(joint.name) for joint in GO2.actuated_joints
}
"""Default standing pose (rad) resolved per joint name."""

STANDING_HEIGHT = GO2.standing_base_height(DEFAULT_JOINT_POS_BY_NAME)
"""Base height (m) at which the lowest foot touches flat ground in the default pose (base level)."""


# ----------------------------------------------------------------------------------------------------------------------
# Generated-file cache shared by the USD and MJCF writers
# ----------------------------------------------------------------------------------------------------------------------


def cached_asset_path(
    description: RobotDescription, writer_file: str, suffix: str, render: Callable[[RobotDescription], str]
) -> str:
    """Path of the file that ``render`` makes from ``description``, generated once and reused.

    The file name carries a hash of the description and of the writer's source, so editing either makes a new file.
    Files are written atomically, so concurrent processes never read a partial file.

    Args:
        description: The robot to render.
        writer_file: Source file of the writer (its bytes enter the hash).
        suffix: File extension, e.g. ``".usda"``.
        render: Turns the description into the file's text.

    Returns:
        Absolute path of the generated file.
    """
    digest = hashlib.sha256(repr(description).encode() + Path(writer_file).read_bytes()).hexdigest()[:16]
    folder = Path(os.environ.get(CACHE_DIR_ENV, Path.home() / ".cache" / "navila_lab")).expanduser()
    path = folder / f"{description.name}_{digest}{suffix}"
    if not path.exists():
        text = render(description)
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(text)
        os.replace(partial, path)
    return str(path.resolve())

"""Go2 MJCF for MuJoCo sim2sim, written from the same :data:`~navila_lab.assets.go2_description.GO2` as the USD.

The model has torque motors only (``<motor>``, ctrlrange = the real torque limits): the sim2sim loop computes the PD
torques itself at 500 Hz (``timestep`` 2 ms). Robot geoms collide with the world but not with each other, like the
Isaac Lab articulation (self-collisions off). It adds a floor, an ``imu`` site with gyro / accelerometer /
orientation sensors, the ``utlidar`` site at the L1 mount, and a ``home`` keyframe standing in the default pose.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .go2_constants import IMU_FRAME_NAME
from .go2_description import (
    DEFAULT_JOINT_POS_BY_NAME,
    GO2,
    Link,
    RobotDescription,
    cached_asset_path,
)

SIM2SIM_TIMESTEP = 0.002
"""MuJoCo step (s): one PD update per step at the robot's 500 Hz command rate."""


def go2_mjcf_path() -> str:
    """Path of the Go2 MJCF, generated on first use and cached (see :func:`cached_asset_path`)."""
    return cached_asset_path(GO2, __file__, ".xml", description_to_mjcf)


def description_to_mjcf(description: RobotDescription) -> str:
    """Render the robot on a floor as MJCF text (deterministic)."""
    mujoco = ET.Element("mujoco", model=description.name)
    ET.SubElement(mujoco, "compiler", angle="radian", autolimits="true")
    ET.SubElement(mujoco, "option", timestep=_fmt(SIM2SIM_TIMESTEP), cone="elliptic", impratio="100")
    default = ET.SubElement(mujoco, "default")
    ET.SubElement(default, "geom", contype="1", conaffinity="0")

    height = description.standing_base_height(DEFAULT_JOINT_POS_BY_NAME)
    worldbody = ET.SubElement(mujoco, "worldbody")
    ET.SubElement(worldbody, "light", name="sun", pos="0 0 5", dir="0 0 -1", directional="true")
    ET.SubElement(worldbody, "geom", name="floor", type="plane", size="0 0 0.05", contype="0", conaffinity="1")
    base = ET.SubElement(worldbody, "body", name=description.root.name, pos=_fmt((0.0, 0.0, height)))
    ET.SubElement(base, "freejoint", name="root")
    _fill_body(base, description, description.root)

    actuator = ET.SubElement(mujoco, "actuator")
    for joint in description.actuated_joints:
        ctrlrange = _fmt((-joint.effort_limit, joint.effort_limit))
        ET.SubElement(actuator, "motor", name=joint.name.removesuffix("_joint"), joint=joint.name, ctrlrange=ctrlrange)

    sensor = ET.SubElement(mujoco, "sensor")
    ET.SubElement(sensor, "gyro", name=f"{IMU_FRAME_NAME}_gyro", site=IMU_FRAME_NAME)
    ET.SubElement(sensor, "accelerometer", name=f"{IMU_FRAME_NAME}_acc", site=IMU_FRAME_NAME)
    ET.SubElement(sensor, "framequat", name=f"{IMU_FRAME_NAME}_quat", objtype="site", objname=IMU_FRAME_NAME)

    keyframe = ET.SubElement(mujoco, "keyframe")
    joint_pos = [DEFAULT_JOINT_POS_BY_NAME[joint.name] for joint in description.actuated_joints]
    ET.SubElement(keyframe, "key", name="home", qpos=_fmt((0.0, 0.0, height, 1.0, 0.0, 0.0, 0.0, *joint_pos)))

    ET.indent(mujoco)
    return ET.tostring(mujoco, encoding="unicode") + "\n"


def _fill_body(body: ET.Element, description: RobotDescription, link: Link) -> None:
    """Add the link's inertia, geoms, sites and (recursively) its child bodies to ``body``."""
    inertial = link.inertial
    ET.SubElement(
        body, "inertial", pos=_fmt(inertial.com), mass=_fmt(inertial.mass), fullinertia=_fmt(inertial.inertia)
    )
    for shape in link.collisions:
        ET.SubElement(
            body,
            "geom",
            name=shape.name,
            type=shape.kind,
            size=_fmt(shape.size),
            pos=_fmt(shape.pos),
            quat=_fmt(shape.quat),
        )
    for frame in description.frames:
        if frame.parent == link.name:
            ET.SubElement(body, "site", name=frame.name, pos=_fmt(frame.pos), quat=_fmt(frame.quat))
    for joint in description.child_joints(link.name):
        child = ET.SubElement(body, "body", name=joint.child, pos=_fmt(joint.pos), quat=_fmt(joint.quat))
        if not joint.is_fixed:
            ET.SubElement(
                child,
                "joint",
                name=joint.name,
                axis=_fmt(joint.axis),
                range=_fmt(joint.limits),
                armature=_fmt(joint.armature),
            )
        _fill_body(child, description, description.link(joint.child))


def _fmt(values: float | tuple[float, ...]) -> str:
    """MJCF number list: shortest round-trip text of each value, space separated."""
    if isinstance(values, float | int):
        values = (values,)
    return " ".join(repr(float(v)) for v in values)

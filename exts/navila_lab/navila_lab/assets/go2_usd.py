"""Go2 USD for Isaac Lab, authored with ``pxr`` UsdPhysics schemas from :data:`~navila_lab.assets.go2_description.GO2`.

Layout (what the Isaac Lab URDF importer would make, so body and joint names match the stock asset)::

    /go2                      Xform, default prim, ArticulationRootAPI
        /base, /FR_hip, ...   rigid bodies (MassAPI), siblings posed at zero joint angles
            /collisions/*     UsdGeom primitives with CollisionAPI
        /base/imu, /base/utlidar   plain Xforms (sensor mounts)
        /joints/*             RevoluteJoint + angular DriveAPI (gains 0: Isaac Lab actuators set them), FixedJoint
"""

from __future__ import annotations

import math

import isaaclab  # noqa: F401  (before pxr: puts Newton's USD schemas on the plugin path pxr reads once)
import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics

from .go2_description import GO2, Collision, Inertial, Joint, Link, Quat, RobotDescription, Vec3, cached_asset_path

_AXIS_TOKENS = {(1.0, 0.0, 0.0): "X", (0.0, 1.0, 0.0): "Y", (0.0, 0.0, 1.0): "Z"}


def go2_usd_path() -> str:
    """Path of the Go2 USD, generated on first use and cached (see :func:`cached_asset_path`)."""
    return cached_asset_path(GO2, __file__, ".usda", description_to_usda)


def description_to_usda(description: RobotDescription) -> str:
    """Render the robot as the text of a USD layer (deterministic)."""
    stage = build_stage(description)  # keep the stage alive while its layer is exported
    return stage.GetRootLayer().ExportToString()


def build_stage(description: RobotDescription) -> Usd.Stage:
    """Build an in-memory stage holding the robot as one articulation under ``/<name>``."""
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, f"/{description.name}").GetPrim()
    stage.SetDefaultPrim(root)
    UsdPhysics.ArticulationRootAPI.Apply(root)

    poses = description.link_poses()
    for link in description.links:
        _define_link(stage, root.GetPath().AppendChild(link.name), link, *poses[link.name])
    for frame in description.frames:
        _define_xform(stage, root.GetPath().AppendPath(f"{frame.parent}/{frame.name}"), frame.pos, frame.quat)
    joints_path = UsdGeom.Scope.Define(stage, root.GetPath().AppendChild("joints")).GetPath()
    for joint in description.joints:
        _define_joint(stage, joints_path.AppendChild(joint.name), root.GetPath(), joint)
    return stage


def principal_inertia(inertial: Inertial) -> tuple[Vec3, Quat]:
    """Principal moments and the rotation (w, x, y, z) from the link frame to the principal axes."""
    ixx, iyy, izz, ixy, ixz, iyz = inertial.inertia
    moments, axes = np.linalg.eigh(np.array([[ixx, ixy, ixz], [ixy, iyy, iyz], [ixz, iyz, izz]]))
    if np.linalg.det(axes) < 0.0:
        axes[:, 2] = -axes[:, 2]
    # Gf uses row vectors, so the matrix whose rows are the principal axes maps e_i onto axis i.
    quat = Gf.Matrix3d(*axes.T.flatten().tolist()).ExtractRotation().GetQuat()
    return tuple(moments.tolist()), (quat.GetReal(), *quat.GetImaginary())


def _define_xform(stage: Usd.Stage, path: Sdf.Path, pos: Vec3, quat: Quat) -> UsdGeom.Xform:
    """Define an Xform at ``pos``/``quat`` relative to its parent."""
    xform = UsdGeom.Xform.Define(stage, path)
    xform.AddTranslateOp().Set(Gf.Vec3d(*pos))
    xform.AddOrientOp().Set(Gf.Quatf(quat[0], *quat[1:]))
    return xform


def _define_link(stage: Usd.Stage, path: Sdf.Path, link: Link, pos: Vec3, quat: Quat) -> None:
    """Define a rigid body with authored mass properties and its collision primitives."""
    prim = _define_xform(stage, path, pos, quat).GetPrim()
    UsdPhysics.RigidBodyAPI.Apply(prim)
    mass_api = UsdPhysics.MassAPI.Apply(prim)
    moments, axes = principal_inertia(link.inertial)
    mass_api.CreateMassAttr(link.inertial.mass)
    mass_api.CreateCenterOfMassAttr(Gf.Vec3f(*link.inertial.com))
    mass_api.CreateDiagonalInertiaAttr(Gf.Vec3f(*moments))
    mass_api.CreatePrincipalAxesAttr(Gf.Quatf(axes[0], *axes[1:]))
    collisions_path = UsdGeom.Xform.Define(stage, path.AppendChild("collisions")).GetPath()
    for collision in link.collisions:
        _define_collision(stage, collisions_path.AppendChild(collision.name), collision)


def _define_collision(stage: Usd.Stage, path: Sdf.Path, collision: Collision) -> None:
    """Define a UsdGeom primitive with CollisionAPI matching ``collision``."""
    if collision.kind == "box":
        geom = UsdGeom.Cube.Define(stage, path)
        geom.CreateSizeAttr(2.0)
        scale = Gf.Vec3f(*collision.size)
    elif collision.kind == "sphere":
        geom = UsdGeom.Sphere.Define(stage, path)
        geom.CreateRadiusAttr(collision.size[0])
        scale = None
    else:
        geom = UsdGeom.Cylinder.Define(stage, path)
        geom.CreateAxisAttr(UsdGeom.Tokens.z)
        geom.CreateRadiusAttr(collision.size[0])
        geom.CreateHeightAttr(2.0 * collision.size[1])
        scale = None
    geom.AddTranslateOp().Set(Gf.Vec3d(*collision.pos))
    geom.AddOrientOp().Set(Gf.Quatf(collision.quat[0], *collision.quat[1:]))
    if scale is not None:
        geom.AddScaleOp().Set(scale)
    UsdPhysics.CollisionAPI.Apply(geom.GetPrim())


def _define_joint(stage: Usd.Stage, path: Sdf.Path, root: Sdf.Path, joint: Joint) -> None:
    """Define a revolute joint with limits (deg) and an angular force drive, or a fixed joint."""
    if joint.is_fixed:
        usd_joint = UsdPhysics.FixedJoint.Define(stage, path)
    else:
        usd_joint = UsdPhysics.RevoluteJoint.Define(stage, path)
        usd_joint.CreateAxisAttr(_AXIS_TOKENS[joint.axis])
        usd_joint.CreateLowerLimitAttr(math.degrees(joint.limits[0]))
        usd_joint.CreateUpperLimitAttr(math.degrees(joint.limits[1]))
        drive = UsdPhysics.DriveAPI.Apply(usd_joint.GetPrim(), "angular")
        drive.CreateTypeAttr("force")
        drive.CreateStiffnessAttr(0.0)
        drive.CreateDampingAttr(0.0)
        drive.CreateMaxForceAttr(joint.effort_limit)
        prim = usd_joint.GetPrim()
        prim.CreateAttribute("physxJoint:armature", Sdf.ValueTypeNames.Float).Set(joint.armature)
        velocity_limit = math.degrees(joint.velocity_limit)
        prim.CreateAttribute("physxJoint:maxJointVelocity", Sdf.ValueTypeNames.Float).Set(velocity_limit)
    usd_joint.CreateBody0Rel().SetTargets([root.AppendChild(joint.parent)])
    usd_joint.CreateBody1Rel().SetTargets([root.AppendChild(joint.child)])
    usd_joint.CreateLocalPos0Attr(Gf.Vec3f(*joint.pos))
    usd_joint.CreateLocalRot0Attr(Gf.Quatf(joint.quat[0], *joint.quat[1:]))
    usd_joint.CreateLocalPos1Attr(Gf.Vec3f(0.0, 0.0, 0.0))
    usd_joint.CreateLocalRot1Attr(Gf.Quatf(1.0, 0.0, 0.0, 0.0))

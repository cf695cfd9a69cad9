"""The generated Go2 USD, read back with ``pxr``: bodies, mass properties, joints, collision shapes and the cache."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from navila_lab.assets import go2_usd
from navila_lab.assets.go2_constants import FOOT_NAMES, LIDAR_FRAME_NAME, SDK_JOINT_NAMES
from navila_lab.assets.go2_description import CACHE_DIR_ENV, GO2, cached_asset_path
from navila_lab.assets.go2_usd import description_to_usda, go2_usd_path
from pxr import Gf, Usd, UsdGeom, UsdPhysics


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Usd.Stage:
    """The Go2 USD as written to a fresh cache folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.mktemp("cache")))
        return Usd.Stage.Open(go2_usd_path())


def _prim(stage: Usd.Stage, name: str) -> Usd.Prim:
    return stage.GetPrimAtPath(f"/{GO2.name}/{name}")


def _revolute_joints(stage: Usd.Stage) -> dict[str, UsdPhysics.RevoluteJoint]:
    return {p.GetName(): UsdPhysics.RevoluteJoint(p) for p in stage.Traverse() if p.IsA(UsdPhysics.RevoluteJoint)}


class TestBodies:
    def test_articulation_root_is_the_default_prim(self, stage):
        """The default prim is the articulation root, so Isaac Lab finds it when it references the file."""
        root = stage.GetDefaultPrim()
        assert root.GetName() == GO2.name
        assert root.HasAPI(UsdPhysics.ArticulationRootAPI)

    def test_every_link_is_a_rigid_body(self, stage):
        """Each description link is a direct child of the root with RigidBodyAPI and nothing else is."""
        bodies = [p.GetName() for p in stage.Traverse() if p.HasAPI(UsdPhysics.RigidBodyAPI)]
        assert bodies == [link.name for link in GO2.links]
        assert all(_prim(stage, name).GetParent() == stage.GetDefaultPrim() for name in bodies)

    def test_masses_round_trip(self, stage):
        """Mass and center of mass read back from MassAPI equal the description's."""
        for link in GO2.links:
            mass_api = UsdPhysics.MassAPI(_prim(stage, link.name))
            assert mass_api.GetMassAttr().Get() == pytest.approx(link.inertial.mass, rel=1e-6)
            assert tuple(mass_api.GetCenterOfMassAttr().Get()) == pytest.approx(link.inertial.com, abs=1e-7)
        total = sum(UsdPhysics.MassAPI(_prim(stage, link.name)).GetMassAttr().Get() for link in GO2.links)
        assert total == pytest.approx(GO2.total_mass, rel=1e-6)

    def test_principal_inertia_rebuilds_the_full_tensor(self, stage):
        """R · diag(moments) · Rᵀ from diagonalInertia and principalAxes is the description's full tensor."""
        for link in GO2.links:
            mass_api = UsdPhysics.MassAPI(_prim(stage, link.name))
            moments = np.array(mass_api.GetDiagonalInertiaAttr().Get())
            axes = Gf.Matrix3d(Gf.Rotation(Gf.Quatd(mass_api.GetPrincipalAxesAttr().Get())))
            rotation = np.array(axes).T  # Gf rows map e_i; columns of R are the principal axes
            ixx, iyy, izz, ixy, ixz, iyz = link.inertial.inertia
            expected = np.array([[ixx, ixy, ixz], [ixy, iyy, iyz], [ixz, iyz, izz]])
            rebuilt = rotation @ np.diag(moments) @ rotation.T
            np.testing.assert_allclose(rebuilt, expected, atol=1e-5 * np.abs(expected).max())  # float32 in USD

    def test_bodies_are_posed_at_zero_joint_angles(self, stage):
        """Each body's authored translation is its forward-kinematics position with all joints at zero."""
        for name, (pos, _) in GO2.link_poses().items():
            translate = UsdGeom.Xformable(_prim(stage, name)).GetLocalTransformation().ExtractTranslation()
            assert tuple(translate) == pytest.approx(pos, abs=1e-9)

    def test_feet_collide_through_spheres(self, stage):
        """Each foot body carries one collision sphere of the description's radius."""
        for name in FOOT_NAMES:
            shapes = [p for p in Usd.PrimRange(_prim(stage, name)) if p.HasAPI(UsdPhysics.CollisionAPI)]
            assert len(shapes) == 1 and shapes[0].IsA(UsdGeom.Sphere)
            assert UsdGeom.Sphere(shapes[0]).GetRadiusAttr().Get() == GO2.link(name).collisions[0].size[0]

    def test_lidar_mount_is_a_frame_under_the_base(self, stage):
        """``base/utlidar`` is a plain Xform (no rigid body) at the L1 mount orientation."""
        prim = _prim(stage, f"base/{LIDAR_FRAME_NAME}")
        assert prim.IsA(UsdGeom.Xform) and not prim.HasAPI(UsdPhysics.RigidBodyAPI)
        frame = next(frame for frame in GO2.frames if frame.name == LIDAR_FRAME_NAME)
        quat = UsdGeom.Xformable(prim).GetLocalTransformation().ExtractRotationQuat()
        assert abs(np.dot((quat.GetReal(), *quat.GetImaginary()), frame.quat)) == pytest.approx(1.0, abs=1e-6)


class TestJoints:
    def test_revolute_joints_are_the_sdk_joints(self, stage):
        """Exactly the 12 SDK joints are revolute; feet and head hang on fixed joints."""
        assert sorted(_revolute_joints(stage)) == sorted(SDK_JOINT_NAMES)
        fixed = [p for p in stage.Traverse() if p.IsA(UsdPhysics.FixedJoint)]
        assert len(fixed) == len(GO2.joints) - len(SDK_JOINT_NAMES)

    def test_limits_in_degrees(self, stage):
        """Lower/upper limits are the description's radians converted to degrees."""
        for name, usd_joint in _revolute_joints(stage).items():
            lower, upper = GO2.joint(name).limits
            assert usd_joint.GetLowerLimitAttr().Get() == pytest.approx(math.degrees(lower), rel=1e-6)
            assert usd_joint.GetUpperLimitAttr().Get() == pytest.approx(math.degrees(upper), rel=1e-6)

    def test_axes_and_bodies(self, stage):
        """Each joint turns about its description axis and links its parent to its child."""
        root = stage.GetDefaultPrim().GetPath()
        for name, usd_joint in _revolute_joints(stage).items():
            joint = GO2.joint(name)
            assert usd_joint.GetAxisAttr().Get() == "XYZ"[joint.axis.index(1.0)]
            assert usd_joint.GetBody0Rel().GetTargets() == [root.AppendChild(joint.parent)]
            assert usd_joint.GetBody1Rel().GetTargets() == [root.AppendChild(joint.child)]

    def test_drives_are_force_drives_at_the_torque_limit(self, stage):
        """Every revolute joint has an angular force drive capped at its torque limit, with zero gains."""
        for name, usd_joint in _revolute_joints(stage).items():
            drive = UsdPhysics.DriveAPI.Get(usd_joint.GetPrim(), "angular")
            assert drive.GetTypeAttr().Get() == "force"
            assert drive.GetMaxForceAttr().Get() == pytest.approx(GO2.joint(name).effort_limit)
            assert drive.GetStiffnessAttr().Get() == drive.GetDampingAttr().Get() == 0.0


class TestCache:
    def test_generation_is_deterministic(self):
        """Two renderings of the description are byte-identical."""
        assert description_to_usda(GO2) == description_to_usda(GO2)

    def test_cached_file_is_reused(self, tmp_path, monkeypatch):
        """A second call returns the same file without rewriting it, inside the folder the env var names."""
        monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
        path = Path(go2_usd_path())
        assert path.parent == tmp_path
        mtime = path.stat().st_mtime_ns
        assert Path(go2_usd_path()) == path
        assert path.stat().st_mtime_ns == mtime
        assert path.read_text() == description_to_usda(GO2)

    def test_changed_description_gets_a_new_file(self, tmp_path, monkeypatch):
        """Editing a number in the description changes the cached file's name."""
        monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
        heavier_base = dataclasses.replace(GO2.root, inertial=dataclasses.replace(GO2.root.inertial, mass=7.0))
        heavier = dataclasses.replace(GO2, links=(heavier_base, *GO2.links[1:]))
        path = cached_asset_path(heavier, go2_usd.__file__, ".usda", description_to_usda)
        assert path != go2_usd_path()
        assert UsdPhysics.MassAPI(Usd.Stage.Open(path).GetPrimAtPath("/go2/base")).GetMassAttr().Get() == 7.0

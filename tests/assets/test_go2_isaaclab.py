"""GO2_CFG in Isaac Lab, kitless on Newton (MuJoCo-Warp): loads from our USD and stands for 1 s on a local ground."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.sim

NUM_ENVS = 2
PHYSICS_DT = 0.005
DURATION = 1.0


@dataclass
class StandingRun:
    """What a short standing run recorded."""

    joint_names: list[str]
    body_names: list[str]
    body_mass: dict[str, float]
    base_height: list[list[float]]
    """Per physics step, per env (m)."""
    projected_gravity_z: list[float]
    """Per env, at the end."""
    joint_error: float
    """Largest |joint position − default| at the end (rad)."""
    torque_after_jump: list[dict[str, float]]
    """Per physics step after the targets jump 3 rad away: |applied torque| per joint (N·m)."""


def _physics_cfg():  # noqa: ANN202 - isaaclab is imported lazily so collection stays cheap
    """The stock velocity task's ``newton_mjwarp`` preset (flat-terrain solver sizes)."""
    from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg, NewtonCollisionPipelineCfg, NewtonShapeCfg

    return NewtonCfg(
        solver_cfg=MJWarpSolverCfg(
            njmax=65, nconmax=35, cone="pyramidal", impratio=1.0, integrator="implicitfast", use_mujoco_contacts=False
        ),
        collision_cfg=NewtonCollisionPipelineCfg(),
        num_substeps=2,
        default_shape_cfg=NewtonShapeCfg(margin=0.0, ke=160000.0, kd=1100.0),
    )


@pytest.fixture(scope="module")
def run() -> StandingRun:
    """Two Go2s on a static box ground: joints written to the default pose, PD targets held for 1 s, then a few
    steps with targets 3 rad away to saturate the motors."""
    import torch
    from isaaclab.app import launch_simulation
    from isaaclab.sim import SimulationCfg, build_simulation_context
    from navila_lab.assets.go2 import ACTUATOR_DELAY_STEPS

    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    sim_cfg = SimulationCfg(dt=PHYSICS_DT, device=device, physics=_physics_cfg())
    with (
        launch_simulation(sim_cfg, {"headless": True, "device": device}),
        build_simulation_context(sim_cfg=sim_cfg) as sim,
    ):
        import isaaclab.sim as sim_utils
        from isaaclab.assets import AssetBaseCfg
        from isaaclab.scene import InteractiveScene, InteractiveSceneCfg
        from isaaclab.utils import configclass
        from navila_lab.assets.go2 import GO2_CFG  # generates the USD on first use

        @configclass
        class StandingSceneCfg(InteractiveSceneCfg):
            """A Go2 on a 20 m box: a local ground (the stock ground plane is a cloud asset)."""

            ground = AssetBaseCfg(
                prim_path="/World/ground",
                spawn=sim_utils.CuboidCfg(
                    size=(20.0, 20.0, 0.1),
                    collision_props=sim_utils.UsdPhysicsCollisionCfg(collision_enabled=True),
                    physics_material=sim_utils.RigidBodyMaterialCfg(static_friction=1.0, dynamic_friction=1.0),
                ),
                init_state=AssetBaseCfg.InitialStateCfg(pos=(0.0, 0.0, -0.05)),
            )
            robot = GO2_CFG.replace(prim_path="{ENV_REGEX_NS}/Robot")

        scene = InteractiveScene(StandingSceneCfg(num_envs=NUM_ENVS, env_spacing=2.0))
        sim.reset()
        robot = scene["robot"]
        default = robot.data.default_joint_pos.torch.clone()
        robot.write_joint_position_to_sim_index(position=default)
        robot.write_joint_velocity_to_sim_index(velocity=torch.zeros_like(default))
        heights = []
        for _ in range(round(DURATION / PHYSICS_DT)):
            robot.actuators.target_command.set_position_index(value=default, full_data=True)
            scene.write_data_to_sim()
            sim.step()
            scene.update(PHYSICS_DT)
            heights.append(robot.data.root_pos_w.torch[:, 2].tolist())
        joint_error = (robot.data.joint_pos.torch - default).abs().max().item()
        projected_gravity_z = robot.data.projected_gravity_b.torch[:, 2].tolist()
        torque_after_jump = []
        for _ in range(ACTUATOR_DELAY_STEPS + 2):
            robot.actuators.target_command.set_position_index(value=default + 3.0, full_data=True)
            scene.write_data_to_sim()
            sim.step()
            scene.update(PHYSICS_DT)
            torque_after_jump.append(robot.data.applied_torque.torch[0].abs().tolist())

        return StandingRun(
            joint_names=list(robot.joint_names),
            body_names=list(robot.body_names),
            body_mass=dict(zip(robot.body_names, robot.data.body_mass.torch[0].tolist(), strict=True)),
            base_height=heights,
            projected_gravity_z=projected_gravity_z,
            joint_error=joint_error,
            torque_after_jump=[dict(zip(robot.joint_names, step, strict=True)) for step in torque_after_jump],
        )


class TestLoading:
    def test_joints_are_the_sdk_joints(self, run):
        """The articulation exposes exactly the 12 SDK joints."""
        from navila_lab.assets.go2_constants import SDK_JOINT_NAMES

        assert sorted(run.joint_names) == sorted(SDK_JOINT_NAMES)

    def test_bodies_are_the_description_links(self, run):
        """Every description link is a body (feet and head included, for contact sensors)."""
        from navila_lab.assets.go2_description import GO2

        assert sorted(run.body_names) == sorted(link.name for link in GO2.links)

    def test_masses_match_description(self, run):
        """Newton's body masses are the authored ones: colliders add nothing."""
        from navila_lab.assets.go2_description import GO2

        for link in GO2.links:
            assert run.body_mass[link.name] == pytest.approx(link.inertial.mass, rel=1e-5)

    def test_targets_reach_the_motors_after_20_ms(self, run):
        """For 4 physics steps after a target jump the motors still apply the standing torques."""
        from navila_lab.assets.go2 import ACTUATOR_DELAY_STEPS

        for step in run.torque_after_jump[:ACTUATOR_DELAY_STEPS]:
            assert max(step.values()) < 10.0

    def test_torque_saturates_at_real_limits(self, run):
        """Once the far targets arrive the motors push exactly 23.7 N·m (hip, thigh) and 45.43 N·m (calf)."""
        from navila_lab.assets.go2_constants import TORQUE_LIMITS

        for name, torque in run.torque_after_jump[-1].items():
            assert torque == pytest.approx(TORQUE_LIMITS[name.split("_")[1]], rel=1e-4), name


class TestStanding:
    def test_base_stays_near_standing_height(self, run):
        """Over the whole second the base never drops below 0.25 m, and ends near 0.3 m."""
        assert min(min(step) for step in run.base_height) > 0.25
        assert run.base_height[-1] == pytest.approx([0.30] * NUM_ENVS, abs=0.03)

    def test_base_stays_upright(self, run):
        """Gravity in the base frame stays within 0.1 rad of straight down."""
        assert all(z < -0.995 for z in run.projected_gravity_z)

    def test_joints_hold_the_default_pose(self, run):
        """Under Kp 40 the joints sag less than 0.25 rad from the targets while carrying the robot."""
        assert run.joint_error < 0.25

"""Stand two GO2_CFG robots for 1 s in Isaac Lab on Newton (MuJoCo-Warp) and print what happened as one JSON line.

Run by ``test_go2_isaaclab.py`` in its own process, so the simulation starts from a clean interpreter: the USD plugin
registry and Newton's global manager state do not depend on which other tests ran before.
"""

from __future__ import annotations

import json

import torch
from isaaclab.app import launch_simulation
from isaaclab.sim import SimulationCfg, build_simulation_context
from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg, NewtonCollisionPipelineCfg, NewtonShapeCfg
from navila_lab.assets.go2 import ACTUATOR_DELAY_STEPS, PHYSICS_DT

NUM_ENVS = 2
DURATION = 1.0
TARGET_JUMP = 3.0
"""Offset (rad) added to every target after standing, far enough to saturate every motor."""

PHYSICS = NewtonCfg(
    solver_cfg=MJWarpSolverCfg(
        njmax=65, nconmax=35, cone="pyramidal", impratio=1.0, integrator="implicitfast", use_mujoco_contacts=False
    ),
    collision_cfg=NewtonCollisionPipelineCfg(),
    num_substeps=2,
    default_shape_cfg=NewtonShapeCfg(margin=0.0, ke=160000.0, kd=1100.0),
)
"""The stock velocity task's ``newton_mjwarp`` preset with its flat-terrain solver sizes."""


def main() -> None:
    """Stand, then jump the targets; print names, masses, heights, tilt, contact forces and torques."""
    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    sim_cfg = SimulationCfg(dt=PHYSICS_DT, device=device, physics=PHYSICS)
    with (
        launch_simulation(sim_cfg, {"headless": True, "device": device}),
        build_simulation_context(sim_cfg=sim_cfg) as sim,
    ):
        import isaaclab.sim as sim_utils
        from isaaclab.assets import AssetBaseCfg
        from isaaclab.scene import InteractiveScene, InteractiveSceneCfg
        from isaaclab.sensors import ContactSensorCfg
        from isaaclab.utils import configclass
        from navila_lab.assets.go2 import GO2_CFG

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
            contact_forces = ContactSensorCfg(prim_path="{ENV_REGEX_NS}/Robot/[^/]*", update_period=0.0)

        scene = InteractiveScene(StandingSceneCfg(num_envs=NUM_ENVS, env_spacing=2.0))
        sim.reset()
        robot = scene["robot"]
        default = robot.data.default_joint_pos.torch.clone()
        robot.write_joint_position_to_sim_index(position=default)
        robot.write_joint_velocity_to_sim_index(velocity=torch.zeros_like(default))

        def step(target: torch.Tensor) -> None:
            robot.actuators.target_command.set_position_index(value=target, full_data=True)
            scene.write_data_to_sim()
            sim.step()
            scene.update(PHYSICS_DT)

        base_height = []
        for _ in range(round(DURATION / PHYSICS_DT)):
            step(default)
            base_height.append(robot.data.root_pos_w.torch[:, 2].tolist())
        result = {
            "joint_names": list(robot.joint_names),
            "body_names": list(robot.body_names),
            "body_mass": robot.data.body_mass.torch[0].tolist(),
            "base_height": base_height,
            "projected_gravity_z": robot.data.projected_gravity_b.torch[:, 2].tolist(),
            "joint_error": (robot.data.joint_pos.torch - default).abs().max().item(),
            "contact_names": list(scene["contact_forces"].sensor_names),
            "contact_force_z": scene["contact_forces"].data.net_forces_w.torch[0, :, 2].tolist(),
            "torque_after_jump": [],
        }
        for _ in range(ACTUATOR_DELAY_STEPS + 2):
            step(default + TARGET_JUMP)
            result["torque_after_jump"].append(robot.data.applied_torque.torch[0].abs().tolist())
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

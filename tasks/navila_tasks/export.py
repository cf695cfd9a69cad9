"""Export a trained policy: TorchScript, ONNX and the ``deploy.yaml`` contract the robot side reads."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
from isaaclab.utils.string import resolve_matching_names_values

from navila_lab.assets.go2_constants import sim_to_sdk_indices
from navila_lab.deploy_spec import DeploySpec, ObservationTerm
from navila_lab.sensors.height_map import HeightMapSpec

POLICY_JIT = "policy.pt"
POLICY_ONNX = "policy.onnx"


def _per_joint(robot, field: str) -> list[float]:
    """An actuator cfg value (number or ``{regex: value}``) of every joint, in the simulator's joint order."""
    values = dict.fromkeys(robot.joint_names, 0.0)
    for actuator_cfg in robot.cfg.actuators.values():
        value = getattr(actuator_cfg, field)
        patterns = value if isinstance(value, dict) else {expr: value for expr in actuator_cfg.joint_names_expr}
        _, names, resolved = resolve_matching_names_values(patterns, robot.joint_names)
        values.update(zip(names, map(float, resolved)))
    return list(values.values())


def deploy_spec_of(task: str, env: gym.Env) -> DeploySpec:
    """The deploy contract of a built environment: joint order, gains, action scale, observation layout."""
    unwrapped = env.unwrapped
    robot = unwrapped.scene["robot"]
    joint_names = list(robot.joint_names)
    observations = unwrapped.observation_manager
    proprio_cfg = unwrapped.cfg.observations.policy
    terms = [
        ObservationTerm(
            name=name,
            dim=int(dims[-1]),
            scale=float(getattr(proprio_cfg, name).scale or 1.0),
            clip=getattr(proprio_cfg, name).clip,
        )
        for name, dims in zip(observations.active_terms["policy"], observations.group_obs_term_dim["policy"])
    ]
    history = unwrapped.cfg.observations.proprio_history.history_length
    has_map = "height_map" in observations.active_terms
    lidar = unwrapped.cfg.scene.lidar
    command = unwrapped.cfg.commands.base_velocity.ranges
    x, y, z, w = lidar.offset.rot if lidar is not None else (0.0, 0.0, 0.0, 1.0)
    return DeploySpec(
        task=task,
        joint_names=joint_names,
        sdk_joint_order=sim_to_sdk_indices(joint_names),
        default_joint_pos=robot.data.default_joint_pos.torch[0].tolist(),
        stiffness=_per_joint(robot, "stiffness"),
        damping=_per_joint(robot, "damping"),
        effort_limit=_per_joint(robot, "actuator_effort_limit"),
        action_scale=float(unwrapped.cfg.actions.joint_pos.scale),
        step_dt=float(unwrapped.step_dt),
        observations=terms,
        history_length=int(history),
        height_map=HeightMapSpec() if has_map else None,
        lidar_pos=list(lidar.offset.pos) if lidar is not None else [0.0, 0.0, 0.0],
        lidar_quat_wxyz=[w, x, y, z],
        command_ranges={"lin_vel_x": list(command.lin_vel_x), "lin_vel_y": list(command.lin_vel_y),
                        "ang_vel_z": list(command.ang_vel_z)},
    )


def export_policy(runner, task: str, env: gym.Env, out_dir: str | Path) -> DeploySpec:
    """Write ``policy.pt``, ``policy.onnx`` and ``deploy.yaml`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runner.export_policy_to_jit(str(out_dir), POLICY_JIT)
    runner.export_policy_to_onnx(str(out_dir), POLICY_ONNX)
    spec = deploy_spec_of(task, env)
    spec.save(out_dir)
    return spec

"""Export a trained policy: TorchScript, ONNX and the ``deploy.yaml`` contract the robot side reads.

The contract describes the actor's input as rsl_rl builds it (its observation groups concatenated in order): a
proprioceptive frame group, a history group of the same terms (time-major, the current frame last) and, for LiDAR
policies, a height-map group. Any other layout, or a setting the robot cannot reproduce, stops the export with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
from isaaclab.utils.string import resolve_matching_names_values
from navila_lab.assets.go2_constants import sim_to_sdk_indices
from navila_lab.deploy_spec import POLICY_JIT, POLICY_ONNX, DeploySpec, ObservationTerm
from navila_lab.errors import UserError
from navila_lab.mdp import lidar_height_map
from navila_lab.sensors.height_map import HeightMapSpec

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedRLEnv, ManagerBasedRLEnvCfg
    from isaaclab.managers import ObservationTermCfg
    from rsl_rl.runners import OnPolicyRunner


def _per_joint(robot: Articulation, field: str) -> list[float]:
    """Return an actuator cfg value (number or ``{regex: value}``) of every joint, in the simulator's joint order."""
    values = dict.fromkeys(robot.joint_names, 0.0)
    for actuator_cfg in robot.cfg.actuators.values():
        value = getattr(actuator_cfg, field)
        patterns = value if isinstance(value, dict) else {expr: value for expr in actuator_cfg.joint_names_expr}
        _, names, resolved = resolve_matching_names_values(patterns, robot.joint_names)
        values.update(zip(names, map(float, resolved), strict=True))
    return list(values.values())


def _term(group: str, name: str, term_cfg: ObservationTermCfg, dim: int) -> ObservationTerm:
    """Return the contract of one term; raises :class:`UserError` for settings the robot cannot reproduce."""
    if term_cfg.modifiers or term_cfg.delay_max_lag > 0 or term_cfg.history_length > 0:
        raise UserError(f"observation term {group}/{name}: modifiers, delay and per-term history cannot be exported")
    scale = term_cfg.scale
    scale = 1.0 if scale is None else [float(s) for s in scale] if isinstance(scale, tuple) else float(scale)
    clip = tuple(map(float, term_cfg.clip)) if term_cfg.clip is not None else None
    return ObservationTerm(name=name, dim=dim, scale=scale, clip=clip)


def _group_terms(env: ManagerBasedRLEnv, group: str) -> list[ObservationTerm]:
    """Return the contract of the terms of one observation group (per-frame widths)."""
    manager, group_cfg = env.observation_manager, getattr(env.cfg.observations, group)
    history = group_cfg.history_length or 1
    return [
        _term(group, name, getattr(group_cfg, name), int(dims[-1]) // history)
        for name, dims in zip(manager.active_terms[group], manager.group_obs_term_dim[group], strict=True)
    ]


def observation_layout(
    env: ManagerBasedRLEnv, actor_groups: list[str]
) -> tuple[list[ObservationTerm], int, HeightMapSpec | None]:
    """Return the terms of one proprioceptive frame, the history length and the height-map grid of the actor's input.

    Raises:
        UserError: If the actor's groups are not (frame, history[, height map]) as the robot side rebuilds them.
    """
    if len(actor_groups) not in (2, 3):
        raise UserError(f"actor reads groups {actor_groups}: expected (frame, history[, height map])")
    cfgs = env.cfg.observations
    frame_group, history_group, *map_group = actor_groups
    frame, history = _group_terms(env, frame_group), _group_terms(env, history_group)
    frame_cfg, history_cfg = getattr(cfgs, frame_group), getattr(cfgs, history_group)
    if frame_cfg.history_length or not frame_cfg.concatenate_terms:
        raise UserError(f"observation group '{frame_group}' must be one concatenated frame without history")
    if history != frame:
        raise UserError(f"observation group '{history_group}' must repeat the terms of '{frame_group}'")
    time_major = history_cfg.history_order == "time" and history_cfg.flatten_history_dim
    if not (history_cfg.history_length and time_major and history_cfg.concatenate_terms):
        raise UserError(f"observation group '{history_group}' must be a flattened time-major history")
    if not map_group:
        return frame, history_cfg.history_length, None
    map_cfg = getattr(cfgs, map_group[0])
    map_terms = [getattr(map_cfg, name) for name in env.observation_manager.active_terms[map_group[0]]]
    if len(map_terms) != 1 or map_terms[0].func is not lidar_height_map:
        raise UserError(f"observation group '{map_group[0]}' must hold the lidar_height_map term only")
    (map_term,) = map_terms
    if map_term.scale is not None or map_term.clip is not None or map_cfg.history_length or map_term.modifiers:
        raise UserError(f"observation group '{map_group[0]}': the height map is exported unscaled and unclipped")
    return frame, history_cfg.history_length, map_term.params.get("spec") or HeightMapSpec()


def deploy_spec_of(
    task: str, env: gym.Env, train_cfg: ManagerBasedRLEnvCfg, actor_groups: list[str], action_clip: float | None
) -> DeploySpec:
    """Return the deploy contract of a built env: joint order, gains, action scale, observation layout.

    ``train_cfg`` is the env cfg the policy was trained with: the command ranges come from it (the play cfg fixes
    the command), ``actor_groups`` and ``action_clip`` from the rsl_rl actor and its env wrapper.
    """
    unwrapped = env.unwrapped
    robot = unwrapped.scene["robot"]
    joint_names = list(robot.joint_names)
    action_cfg = unwrapped.cfg.actions.joint_pos
    if not action_cfg.use_default_offset or action_cfg.clip is not None or action_cfg.joint_names != [".*"]:
        raise UserError("the joint_pos action must cover all joints around the default pose, without clipping")
    frame, history_length, height_map = observation_layout(unwrapped, actor_groups)
    lidar = unwrapped.cfg.scene.lidar
    command = train_cfg.commands.base_velocity.ranges
    x, y, z, w = lidar.offset.rot if lidar is not None else (0.0, 0.0, 0.0, 1.0)
    return DeploySpec(
        task=task,
        joint_names=joint_names,
        sdk_joint_order=sim_to_sdk_indices(joint_names),
        default_joint_pos=robot.data.default_joint_pos.torch[0].tolist(),
        stiffness=_per_joint(robot, "stiffness"),
        damping=_per_joint(robot, "damping"),
        effort_limit=_per_joint(robot, "actuator_effort_limit"),
        action_scale=float(action_cfg.scale),
        step_dt=float(unwrapped.step_dt),
        observations=frame,
        history_length=int(history_length),
        height_map=height_map,
        lidar_pos=list(lidar.offset.pos) if lidar is not None else [0.0, 0.0, 0.0],
        lidar_quat_wxyz=[w, x, y, z],
        command_ranges={
            "lin_vel_x": list(command.lin_vel_x),
            "lin_vel_y": list(command.lin_vel_y),
            "ang_vel_z": list(command.ang_vel_z),
        },
        action_clip=None if action_clip is None else float(action_clip),
    )


def export_policy(
    runner: OnPolicyRunner, task: str, env: gym.Env, train_cfg: ManagerBasedRLEnvCfg, out_dir: str | Path
) -> DeploySpec:
    """Write ``policy.pt``, ``policy.onnx`` and ``deploy.yaml`` into ``out_dir`` (see :func:`deploy_spec_of`)."""
    spec = deploy_spec_of(task, env, train_cfg, list(runner.alg.get_policy().obs_groups), runner.env.clip_actions)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runner.export_policy_to_jit(str(out_dir), POLICY_JIT)
    runner.export_policy_to_onnx(str(out_dir), POLICY_ONNX)
    spec.save(out_dir)
    return spec

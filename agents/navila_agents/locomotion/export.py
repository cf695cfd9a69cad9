"""Export a trained policy: TorchScript, ONNX and the ``deploy.yaml`` contract the robot side reads.

The contract describes the actor's input as rsl_rl builds it (its observation groups concatenated in order): a
proprioceptive frame group, a history group of the same terms (time-major, the current frame last) and, for LiDAR
policies, a height-map group; and the actuation, LiDAR and start state of the task. Any other layout, a term outside
the deploy vocabulary, or a setting the robot cannot reproduce, stops the export with one line.
:func:`write_contract` writes the same ``deploy.yaml`` from the task alone (no checkpoint).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
from isaaclab.actuators import DelayedPDActuatorCfg, IdealPDActuatorCfg
from isaaclab.utils.string import resolve_matching_names_values
from navila_lab.assets.go2_constants import BASE_NAME, sim_to_sdk_indices
from navila_lab.deploy_spec import (
    FORMAT_VERSION,
    OBSERVATION_TERMS,
    POLICY_JIT,
    POLICY_ONNX,
    ActuatorSpec,
    DeploySpec,
    HistorySpec,
    LidarSpec,
    ObservationTerm,
    StartState,
)
from navila_lab.errors import UserError
from navila_lab.mdp import lidar_height_map
from navila_lab.sensors.height_map import HeightMapSpec
from navila_lab.sensors.lidar import L1PatternCfg

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
        if value is None:
            raise UserError(f"actuator cfg field '{field}' is not set: the contract needs its value")
        patterns = value if isinstance(value, dict) else {expr: value for expr in actuator_cfg.joint_names_expr}
        _, names, resolved = resolve_matching_names_values(patterns, robot.joint_names)
        values.update(zip(names, map(float, resolved), strict=True))
    return list(values.values())


def _term(group: str, name: str, term_cfg: ObservationTermCfg, dim: int) -> ObservationTerm:
    """Return the contract of one term; raises :class:`UserError` for terms the robot cannot reproduce."""
    if term_cfg.modifiers or term_cfg.delay_max_lag > 0 or term_cfg.history_length > 0:
        raise UserError(f"observation term {group}/{name}: modifiers, delay and per-term history cannot be exported")
    definition = OBSERVATION_TERMS.get(name)
    if definition is None:
        raise UserError(
            f"observation term {group}/{name} is not in the deploy vocabulary ({', '.join(OBSERVATION_TERMS)})"
        )
    if getattr(term_cfg.func, "__name__", None) != definition.function:
        raise UserError(f"observation term {group}/{name} must use mdp.{definition.function}, not {term_cfg.func}")
    scale = term_cfg.scale
    scale = 1.0 if scale is None else [float(s) for s in scale] if isinstance(scale, tuple) else float(scale)
    clip = tuple(map(float, term_cfg.clip)) if term_cfg.clip is not None else None
    return ObservationTerm(name=name, dim=dim, scale=scale, clip=clip, meaning=definition.meaning)


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


def actuator_spec(robot: Articulation, physics_dt: float) -> ActuatorSpec:
    """Return the actuator model of ``robot``: one PD kind and fixed delay for all joints."""
    kinds = {type(cfg) for cfg in robot.cfg.actuators.values()}
    delays = {(getattr(cfg, "min_delay", 0), getattr(cfg, "max_delay", 0)) for cfg in robot.cfg.actuators.values()}
    if not kinds <= {DelayedPDActuatorCfg, IdealPDActuatorCfg} or len(kinds) != 1:
        raise UserError(
            f"actuators {sorted(k.__name__ for k in kinds)}: only one ideal or delayed PD model is exported"
        )
    if len(delays) != 1 or len({*next(iter(delays))}) != 1:
        raise UserError(f"actuator delays {sorted(delays)} (physics steps): one fixed delay is exported")
    ((delay, _),) = delays
    return ActuatorSpec(
        kind="delayed_pd" if delay else "ideal_pd",
        stiffness=_per_joint(robot, "stiffness"),
        damping=_per_joint(robot, "damping"),
        effort_limit=_per_joint(robot, "actuator_effort_limit"),
        velocity_limit=_per_joint(robot, "actuator_velocity_limit"),
        armature=_per_joint(robot, "armature"),
        pd_dt=float(physics_dt),
        delay=float(delay * physics_dt),
    )


def lidar_spec(lidar_cfg: object, robot_prim: str) -> LidarSpec:
    """Return the LiDAR of the contract: mount on its body, ray pattern, whether rays can hit the robot."""
    if not isinstance(lidar_cfg.pattern_cfg, L1PatternCfg) or lidar_cfg.ray_alignment != "base":
        raise UserError("the LiDAR must cast the L1 pattern aligned with its body to be exported")
    x, y, z, w = lidar_cfg.offset.rot
    pattern = dataclasses.replace(
        lidar_cfg.pattern_cfg.spec, max_distance=float(lidar_cfg.max_distance), update_period=lidar_cfg.update_period
    )
    return LidarSpec(
        body=lidar_cfg.prim_path.rsplit("/", 1)[-1],
        pos=[float(v) for v in lidar_cfg.offset.pos],
        quat_wxyz=[float(w), float(x), float(y), float(z)],
        pattern=pattern,
        hits_robot=any(path.startswith(robot_prim) for path in lidar_cfg.mesh_prim_paths),
    )


def start_state(train_cfg: ManagerBasedRLEnvCfg) -> StartState:
    """Return how the training episodes of ``train_cfg`` start (its reset events)."""
    events = train_cfg.events
    yaw = events.reset_base.params["pose_range"].get("yaw", (0.0, 0.0)) if events.reset_base else (0.0, 0.0)
    scale = events.reset_robot_joints.params["position_range"] if events.reset_robot_joints else (1.0, 1.0)
    return StartState(
        base_height=float(train_cfg.scene.robot.init_state.pos[2]),
        base_yaw_range=(float(yaw[0]), float(yaw[1])),
        joint_pos_scale_range=(float(scale[0]), float(scale[1])),
    )


def deploy_spec_of(
    task: str, env: gym.Env, train_cfg: ManagerBasedRLEnvCfg, actor_groups: list[str], action_clip: float | None
) -> DeploySpec:
    """Return the deploy contract of a built env: frames, joints, actuation, observation layout, LiDAR, start state.

    ``train_cfg`` is the env cfg the policy was trained with: the command ranges and the start state come from it
    (the play cfg fixes the command), ``actor_groups`` and ``action_clip`` from the rsl_rl actor and its env wrapper.
    """
    unwrapped = env.unwrapped
    robot = unwrapped.scene["robot"]
    joint_names = list(robot.joint_names)
    action_cfg = unwrapped.cfg.actions.joint_pos
    if not action_cfg.use_default_offset or action_cfg.clip is not None or action_cfg.joint_names != [".*"]:
        raise UserError("the joint_pos action must cover all joints around the default pose, without clipping")
    if BASE_NAME not in robot.body_names:
        raise UserError(f"the robot has no '{BASE_NAME}' body to be the base frame")
    frame, history_length, height_map = observation_layout(unwrapped, actor_groups)
    lidar_cfg = unwrapped.cfg.scene.lidar
    lidar = lidar_spec(lidar_cfg, unwrapped.cfg.scene.robot.prim_path) if height_map is not None else None
    if lidar is not None and lidar.body != BASE_NAME:
        raise UserError(f"the LiDAR is mounted on '{lidar.body}': the contract gives its pose in '{BASE_NAME}'")
    command = train_cfg.commands.base_velocity.ranges
    return DeploySpec(
        format_version=FORMAT_VERSION,
        task=task,
        step_dt=float(unwrapped.step_dt),
        base_body=BASE_NAME,
        joint_names=joint_names,
        sdk_joint_order=sim_to_sdk_indices(joint_names),
        default_joint_pos=robot.data.default_joint_pos.torch[0].tolist(),
        action_scale=float(action_cfg.scale),
        action_clip=None if action_clip is None else float(action_clip),
        actuator=actuator_spec(robot, unwrapped.physics_dt),
        actor_input=["frame", "history"] + (["height_map"] if height_map is not None else []),
        observations=frame,
        history=HistorySpec(length=int(history_length), order="oldest_first", reset="repeat_first_frame"),
        height_map=height_map,
        lidar=lidar,
        command_ranges={
            name: tuple(map(float, getattr(command, name))) for name in ("lin_vel_x", "lin_vel_y", "ang_vel_z")
        },
        start_state=start_state(train_cfg),
    )


def write_contract(task: str, out_dir: str | Path, overrides: list[str] | None = None) -> DeploySpec:
    """Write the ``deploy.yaml`` of ``task`` (as :func:`export_policy` would) without a checkpoint.

    Builds the task's play env with one environment on the CPU; the actor groups and action clip are the rsl_rl
    runner cfg's (those a checkpoint of the task was trained with).
    """
    from navila_agents.locomotion import runtime

    env_cfg, agent_cfg = runtime.load_cfgs(task, overrides or [], play=True)
    train_cfg, _ = runtime.load_cfgs(task.removesuffix("-Play"), overrides or [])
    env_cfg.sim.device, env_cfg.scene.num_envs = "cpu", 1
    with runtime.open_env(task, env_cfg) as env:
        spec = deploy_spec_of(task, env, train_cfg, list(agent_cfg.obs_groups["actor"]), agent_cfg.clip_actions)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    spec.save(out_dir)
    return spec


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

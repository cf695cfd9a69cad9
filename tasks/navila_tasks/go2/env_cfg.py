"""Go2 velocity-tracking tasks: blind base, LiDAR variant, flat variant and their ``_PLAY`` versions.

Reference configuration: NaVILA's locomotion policy (docs/reference.md §2), on top of Isaac Lab's velocity task, with
the glass-safe objective of :mod:`navila_lab.mdp.safety` (the velocity is tracked against a safe target the critic
sees, non-foot contacts with walls end the episode) and the free-path curriculum of :mod:`navila_lab.mdp.curriculums`.
The actor observes projected gravity, not absolute yaw: nothing in its input needs a heading reference.
"""

from __future__ import annotations

import isaaclab.sim as sim_utils
import navila_lab.mdp as mdp
from isaaclab.managers import CurriculumTermCfg as CurrTerm
from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import ObservationGroupCfg as ObsGroup
from isaaclab.managers import ObservationTermCfg as ObsTerm
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import SceneEntityCfg
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.sensors import ContactSensorCfg
from isaaclab.sensors.ray_caster import patterns
from isaaclab.utils import configclass, replace
from isaaclab.utils.noise import UniformNoiseCfg as Unoise
from isaaclab_tasks.core.velocity.velocity_env_cfg import LocomotionVelocityRoughEnvCfg, MySceneCfg, RewardsCfg
from navila_lab.assets.go2 import GO2_CFG
from navila_lab.assets.go2_constants import STANDING_BASE_HEIGHT
from navila_lab.barrier import STOP_DISTANCE, TURN_STOP_RADIUS
from navila_lab.sensors.height_map import HeightMapSpec
from navila_lab.sensors.lidar import L1_LIDAR_CFG, MaskedRayCasterCfg
from navila_lab.terrains.config import EXTRA_TERRAINS, NAVILA_TERRAINS_CFG
from navila_lab.terrains.generator import WallTerrainImporterCfg
from navila_lab.terrains.walls import WALL_KINDS

HISTORY_LENGTH = 9
"""Proprioceptive frames in the actor's history group."""
NON_FOOT_BODIES = ["base", "Head.*", ".*_hip", ".*_thigh", ".*_calf"]
"""Every Go2 body but the feet."""

##
# Scene
##


@configclass
class Go2SceneCfg(MySceneCfg):
    """Go2 on the NaVILA terrain mix (local assets only); the LiDAR is added by the LiDAR variant."""

    terrain = WallTerrainImporterCfg(
        prim_path="/World/ground",
        terrain_type="generator",
        terrain_generator=NAVILA_TERRAINS_CFG,
        max_init_terrain_level=5,
        collision_group=-1,
        physics_material=sim_utils.RigidBodyMaterialCfg(
            friction_combine_mode="multiply",
            restitution_combine_mode="multiply",
            static_friction=1.0,
            dynamic_friction=1.0,
        ),
        visual_material=sim_utils.PreviewSurfaceCfg(diffuse_color=(0.45, 0.45, 0.42)),
        debug_vis=False,
    )
    robot = replace(GO2_CFG, prim_path="{ENV_REGEX_NS}/Robot")
    # privileged critic scan, 31 × 21 = 651 rays, cast like Isaac Lab's but only for the environments being updated
    height_scanner = MaskedRayCasterCfg(
        prim_path="{ENV_REGEX_NS}/Robot/base",
        offset=MaskedRayCasterCfg.OffsetCfg(pos=(0.0, 0.0, 20.0)),
        ray_alignment="yaw",
        pattern_cfg=patterns.GridPatternCfg(resolution=0.1, size=[3.0, 2.0]),
        mesh_prim_paths=["/World/ground"],
        debug_vis=False,
    )
    wall_contacts = ContactSensorCfg(
        prim_path="{ENV_REGEX_NS}/Robot/.*", filter_shape_prim_expr=[f"/World/ground/({'|'.join(WALL_KINDS)})/.*"]
    )
    """Contact forces of every robot body with the walls (obstacle boxes, glass panes)."""
    lidar = None
    sky_light = None


##
# MDP
##


WIDE_STOP_DISTANCE = 0.25
"""Gap (m) the LiDAR task's safe target keeps between the footprint and a wall; at the map's reach (~0.65 m of
free way) it still allows 0.8 m/s, on free ground (lookahead 0.8 m) 1.1 m/s: more than any command."""

WALL_CLEARANCE_WEIGHT = -1.0
"""Weight of the dense penalty on bodies near a wall (:func:`~navila_lab.mdp.safety.wall_clearance_penalty`)."""

LIDAR_WALL_CLEARANCE_WEIGHT = -4.0
"""The LiDAR task's :data:`WALL_CLEARANCE_WEIGHT`, that of the LiDAR policy shipped since 2026-12-06. Its glass
collisions are within the training-seed spread of −1.0's (two seeds each, GPU set: 4.0 and 7.2% against 5.1 and 4.8%;
−12.0: 6.5%; ``results/locomotion.md``)."""

SLOPE_HEAVY_PROPORTIONS = {"flat": 0.05, "random_rough": 0.05, "hf_pyramid_slope": 0.1, "hf_pyramid_slope_inv": 0.1}
"""Sub-terrain shares of :class:`Go2RoughLidarSlopesEnvCfg` that differ from the reference mix (0.1 / 0.1 / 0.05 /
0.05); obstacles and glass keep 0.2 each."""


@configclass
class ObservationsCfg:
    """Actor: current proprioception + history (+ height map in the LiDAR variant); critic adds privileged terms."""

    @configclass
    class ProprioCfg(ObsGroup):
        """One 45-D proprioceptive frame, noisy."""

        base_ang_vel = ObsTerm(func=mdp.base_ang_vel, noise=Unoise(n_min=-0.2, n_max=0.2))
        projected_gravity = ObsTerm(func=mdp.projected_gravity, noise=Unoise(n_min=-0.05, n_max=0.05))
        velocity_commands = ObsTerm(func=mdp.generated_commands, params={"command_name": "base_velocity"})
        joint_pos = ObsTerm(func=mdp.joint_pos_rel, noise=Unoise(n_min=-0.01, n_max=0.01))
        joint_vel = ObsTerm(func=mdp.joint_vel_rel, noise=Unoise(n_min=-1.5, n_max=1.5))
        actions = ObsTerm(func=mdp.last_action)

        def __post_init__(self) -> None:
            self.enable_corruption = True
            self.concatenate_terms = True

    @configclass
    class ProprioHistoryCfg(ProprioCfg):
        """The last :data:`HISTORY_LENGTH` proprioceptive frames, oldest first, frame by frame."""

        def __post_init__(self) -> None:
            super().__post_init__()
            self.history_length = HISTORY_LENGTH
            self.flatten_history_dim = True
            self.history_order = "time"

    @configclass
    class CriticCfg(ObsGroup):
        """Privileged terms for the critic: true base velocity, the safe velocity target, a 3.0 × 2.0 m height scan."""

        base_lin_vel = ObsTerm(func=mdp.base_lin_vel)
        safe_velocity_command = ObsTerm(func=mdp.safe_velocity_command, params={"command_name": "base_velocity"})
        height_scan = ObsTerm(
            func=mdp.height_scan, params={"sensor_cfg": SceneEntityCfg("height_scanner")}, clip=(-1.0, 1.0)
        )

        def __post_init__(self) -> None:
            self.enable_corruption = False
            self.concatenate_terms = True

    @configclass
    class HeightMapCfg(ObsGroup):
        """LiDAR height map (17 × 27), noisy."""

        height_map = ObsTerm(
            func=mdp.lidar_height_map,
            params={"sensor_cfg": SceneEntityCfg("lidar")},
            noise=Unoise(n_min=-0.02, n_max=0.02),
        )

        def __post_init__(self) -> None:
            self.enable_corruption = True
            self.concatenate_terms = True

    policy: ProprioCfg = ProprioCfg()
    proprio_history: ProprioHistoryCfg = ProprioHistoryCfg()
    critic: CriticCfg = CriticCfg()
    height_map: HeightMapCfg | None = None


@configclass
class Go2RewardsCfg(RewardsCfg):
    """NaVILA's reward terms on top of Isaac Lab's velocity rewards; weights are set in the env cfg.

    The planar velocity is tracked against the safe target (:func:`~navila_lab.mdp.safety.safe_velocity_command`)
    instead of the raw command, a robot stands still when that target is zero, and the bodies that end an episode
    on a wall contact are penalized within :data:`~navila_lab.mdp.safety.CLEARANCE` of a wall.
    """

    track_lin_vel_xy_exp = None
    track_safe_lin_vel_xy_exp = RewTerm(
        func=mdp.track_safe_lin_vel_xy_exp, weight=1.5, params={"command_name": "base_velocity", "std": 0.5}
    )
    termination_penalty = RewTerm(func=mdp.is_terminated, weight=-200.0)
    hip_deviation = RewTerm(
        func=mdp.joint_deviation_l1,
        weight=-0.4,
        params={"asset_cfg": SceneEntityCfg("robot", joint_names=".*_hip_joint")},
    )
    thigh_calf_deviation = RewTerm(
        func=mdp.joint_deviation_l1,
        weight=-0.04,
        params={"asset_cfg": SceneEntityCfg("robot", joint_names=[".*_thigh_joint", ".*_calf_joint"])},
    )
    base_height_l2 = RewTerm(
        func=mdp.base_height_l2,
        weight=-5.0,
        params={"target_height": STANDING_BASE_HEIGHT, "sensor_cfg": SceneEntityCfg("height_scanner")},
    )
    stand_still_at_safe_target_l1 = RewTerm(
        func=mdp.stand_still_at_safe_target_l1, weight=-1.0, params={"command_name": "base_velocity"}
    )
    action_smoothness_l2 = RewTerm(func=mdp.action_smoothness_l2, weight=-0.02)
    joint_power_l1 = RewTerm(func=mdp.joint_power_l1, weight=-2e-5)
    feet_slide = RewTerm(
        func=mdp.feet_slide,
        weight=-0.05,
        params={
            "sensor_cfg": SceneEntityCfg("contact_forces", body_names=".*_foot"),
            "asset_cfg": SceneEntityCfg("robot", body_names=".*_foot"),
        },
    )
    wall_clearance = RewTerm(
        func=mdp.wall_clearance_penalty,
        weight=WALL_CLEARANCE_WEIGHT,
        params={"asset_cfg": SceneEntityCfg("robot", body_names=["Head.*", ".*_hip", ".*_thigh", ".*_calf"])},
    )
    collisions = RewTerm(
        func=mdp.undesired_contacts,
        weight=-5.0,
        params={
            "sensor_cfg": SceneEntityCfg("contact_forces", body_names=["Head.*", ".*_hip", ".*_thigh", ".*_calf"]),
            "threshold": 0.1,
        },
    )


def _illegal_contact(body_names: str) -> DoneTerm:
    return DoneTerm(
        func=mdp.illegal_contact,
        params={"sensor_cfg": SceneEntityCfg("contact_forces", body_names=body_names), "threshold": 1.0},
    )


@configclass
class Go2TerminationsCfg:
    """Time-out, contacts of base/hip/head/calf with anything, of any body but a foot with a wall, tilt beyond 1 rad."""

    time_out = DoneTerm(func=mdp.time_out, time_out=True)
    base_contact = _illegal_contact("base")
    hip_contact = _illegal_contact(".*_hip")
    head_contact = _illegal_contact("Head.*")
    calf_contact = _illegal_contact(".*_calf")
    wall_contact = DoneTerm(
        func=mdp.wall_contact, params={"sensor_cfg": SceneEntityCfg("wall_contacts", body_names=NON_FOOT_BODIES)}
    )
    bad_orientation = DoneTerm(func=mdp.bad_orientation, params={"limit_angle": 1.0})


@configclass
class Go2CurriculumCfg:
    """Terrain levels by progress along free paths, and their curve per sub-terrain type (logged)."""

    terrain_levels = CurrTerm(func=mdp.terrain_levels_free_path)
    terrain_levels_by_type = CurrTerm(func=mdp.terrain_levels_by_type)


##
# Environments
##


def use_mujoco_warp(env_cfg: LocomotionVelocityRoughEnvCfg, njmax: int, nconmax: int) -> None:
    """Run ``env_cfg`` on Newton / MuJoCo-Warp with per-world constraint and contact buffers sized for its scene."""
    newton_mjwarp = env_cfg.sim.physics.newton_mjwarp
    newton_mjwarp.solver_cfg.njmax = njmax
    newton_mjwarp.solver_cfg.nconmax = nconmax
    env_cfg.sim.physics.default = newton_mjwarp


@configclass
class Go2RoughBlindEnvCfg(LocomotionVelocityRoughEnvCfg):
    """Go2 on the NaVILA terrain mix with proprioception and history only."""

    scene: Go2SceneCfg = Go2SceneCfg(num_envs=16384, env_spacing=2.5)
    observations: ObservationsCfg = ObservationsCfg()
    rewards: Go2RewardsCfg = Go2RewardsCfg()
    terminations: Go2TerminationsCfg = Go2TerminationsCfg()
    curriculum: Go2CurriculumCfg = Go2CurriculumCfg()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.wall_contacts.update_period = self.sim.dt
        self.scene.wall_contacts.history_length = self.decimation
        # MuJoCo-Warp buffers sized to the measured demand on the heightfield ground: at most 88 constraint rows per
        # world and 15 contacts per world on average (results/physics_budget.md) instead of the rough preset's 1000, 300
        use_mujoco_warp(self, njmax=128, nconmax=20)
        # actions and commands
        self.actions.joint_pos.scale = 0.25
        # reference commands (10% standing), plus 10% turning in place: the VLA layer's "turn left 30 degrees"
        self.commands.base_velocity = mdp.TurnInPlaceVelocityCommandCfg(
            asset_name="robot",
            resampling_time_range=self.commands.base_velocity.resampling_time_range,
            heading_command=False,
            rel_heading_envs=0.0,
            rel_standing_envs=0.1,
            rel_turning_envs=0.1,
            debug_vis=False,  # its arrow markers are cloud assets
            ranges=mdp.TurnInPlaceVelocityCommandCfg.Ranges(
                lin_vel_x=(0.0, 1.0), lin_vel_y=(0.0, 0.0), ang_vel_z=(-1.0, 1.0)
            ),
        )
        # reward weights of the reference
        rewards = self.rewards
        rewards.track_ang_vel_z_exp.weight = 1.5
        rewards.lin_vel_z_l2.weight = -2.0
        rewards.ang_vel_xy_l2.weight = -0.05
        rewards.dof_torques_l2.weight = -2e-4
        rewards.dof_acc_l2.weight = -2.5e-7
        rewards.action_rate_l2.weight = -0.04
        rewards.feet_air_time.weight = 0.02
        rewards.feet_air_time.params["sensor_cfg"].body_names = ".*_foot"
        rewards.flat_orientation_l2.weight = -2.5
        rewards.undesired_contacts = None
        # randomization of the reference
        events = self.events
        # Newton has one friction coefficient and samples it from the static range: the reference's dynamic range
        # (0.4-2.0) is used for it, since MuJoCo-Warp's pyramidal cone lets feet sink into the ground at mu > 2
        events.physics_material.params.update(static_friction_range=(0.4, 2.0), dynamic_friction_range=(0.4, 2.0))
        events.add_base_mass.params.update(
            mass_distribution_params=(-3.0, 3.0), operation="add", distribution="uniform"
        )
        events.base_com = None
        events.motor_strength = EventTerm(
            func=mdp.randomize_actuator_gains,
            mode="reset",
            params={
                "asset_cfg": SceneEntityCfg("robot", joint_names=".*"),
                "stiffness_distribution_params": (0.9, 1.1),
                "damping_distribution_params": (0.9, 1.1),
                "operation": "scale",
            },
        )

    def drop_wall_contacts(self) -> None:
        """No wall-contact sensor and termination: for grounds without terrain walls (the sensor matches nothing)."""
        self.scene.wall_contacts = None
        self.terminations.wall_contact = None

    def limit_turns(self, stop_radius: float = TURN_STOP_RADIUS) -> None:
        """Cap the safe target's yaw rate near walls beside or behind the base (``turn_stop_radius``).

        The yaw rate is tracked against the capped target; the critic and the stand-still term read it.
        """
        self.rewards.track_ang_vel_z_exp = None
        self.rewards.track_safe_ang_vel_z_exp = RewTerm(
            func=mdp.track_safe_ang_vel_z_exp,
            weight=1.5,
            params={"command_name": "base_velocity", "std": 0.5, "turn_stop_radius": stop_radius},
        )
        for term in (self.observations.critic.safe_velocity_command, self.rewards.stand_still_at_safe_target_l1):
            term.params["turn_stop_radius"] = stop_radius

    def play_mode(self) -> None:
        """Few robots, no noise or randomization, a fixed 0.5 m/s forward command."""
        super().play_mode()
        self.scene.num_envs = min(self.scene.num_envs, 16)
        self.events.physics_material = None
        self.events.add_base_mass = None
        self.events.motor_strength = None
        command = self.commands.base_velocity
        command.rel_standing_envs = 0.0
        command.rel_turning_envs = 0.0
        command.ranges.lin_vel_x = (0.5, 0.5)
        command.ranges.ang_vel_z = (0.0, 0.0)


@configclass
class Go2RoughLidarEnvCfg(Go2RoughBlindEnvCfg):
    """Blind task plus the L1 LiDAR and its 17 × 27 height map in the actor's input.

    The map takes each cell from the newest sweep that covers it (``HeightMapSpec.fusion``): the reference's max over
    the last sweeps shows a wall where the oldest fused sweep saw it, up to 0.32 m too far at 1 m/s
    (``results/map_lag.md``). The safe target stops the footprint :data:`WIDE_STOP_DISTANCE` short of a wall: with the
    blind task's 0.15 m the policy overshot it at a pane by ~0.2 m (``results/pane_edge.md``). Bodies near a wall cost
    :data:`LIDAR_WALL_CLEARANCE_WEIGHT`.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.lidar = L1_LIDAR_CFG
        self.observations.height_map = ObservationsCfg.HeightMapCfg()
        self.observations.height_map.height_map.params["spec"] = HeightMapSpec(fusion="newest")
        self.set_stop_distance(WIDE_STOP_DISTANCE)
        self.rewards.wall_clearance.weight = LIDAR_WALL_CLEARANCE_WEIGHT

    def set_stop_distance(self, stop_distance: float) -> None:
        """The gap (m) the safe target keeps between the footprint and a wall."""
        for term in (
            self.observations.critic.safe_velocity_command,
            self.rewards.track_safe_lin_vel_xy_exp,
            self.rewards.stand_still_at_safe_target_l1,
        ):
            term.params["stop_distance"] = stop_distance

    def govern_commands(self) -> None:
        """Give the actor its command capped by the robot-side height-map governor (:mod:`navila_lab.barrier`).

        The governor bins the sweeps as the actor's map does (on the robot both read ``deploy.yaml``).
        """
        spec = self.observations.height_map.height_map.params["spec"]
        for group in (self.observations.policy, self.observations.proprio_history):
            group.velocity_commands = ObsTerm(
                func=mdp.governed_velocity_commands,
                params={"command_name": "base_velocity", "sensor_cfg": SceneEntityCfg("lidar"), "spec": spec},
            )

    def use_height_map(self, spec: HeightMapSpec) -> None:
        """Build the actor's height map, and the governor's if any, as ``spec`` says.

        For a task hosting a policy trained on another map (the VLN task).
        """
        self.observations.height_map.height_map.params["spec"] = spec
        for group in (self.observations.policy, self.observations.proprio_history):
            if group.velocity_commands.func is mdp.governed_velocity_commands:
                group.velocity_commands.params["spec"] = spec


@configclass
class Go2RoughLidarMaxMapEnvCfg(Go2RoughLidarEnvCfg):
    """The reference's LiDAR recipe: the map is the element-wise max of the last sweeps, the blind task's stop gap.

    The LiDAR policy shipped until 2026-12-05 was trained on it; kept as the ablation of the map and the gap.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.observations.height_map.height_map.params["spec"] = HeightMapSpec()
        self.set_stop_distance(STOP_DISTANCE)
        self.rewards.wall_clearance.weight = WALL_CLEARANCE_WEIGHT


@configclass
class Go2RoughLidarGapsEnvCfg(Go2RoughLidarEnvCfg):
    """LiDAR task whose map max-pools only the empty cells (``HeightMapSpec.pool = "gaps"``).

    The reference pool shows each cell's lowest neighbour, which erases the one-cell walls of the glass panes where
    floor hits lie beside them: in 10 of 11 glass contacts of the shipped recipe the map had not shown the pane in
    time, and the same sweeps binned this way show it from 0.5–0.6 m (``results/glass_contacts.md``). Trained on two
    seeds: fewer glass collisions than the shipped recipe on the CPU set, within the seed spread; not shipped
    (``results/locomotion.md``, 2026-12-06).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        params = self.observations.height_map.height_map.params
        params["spec"] = replace(params["spec"], pool="gaps")


@configclass
class Go2RoughLidarGapsTurnEnvCfg(Go2RoughLidarGapsEnvCfg):
    """The gaps task whose safe target also stops turning in place near a wall beside or behind the base.

    Turning away from a wall 0.30–0.40 m beside the base, the shipped policy swings a rear thigh into it
    (``results/wall_turn.md``); the VLA's falls while turning in place came from there (``results/vla.md``).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.limit_turns()


@configclass
class Go2RoughLidarGapsWallsEnvCfg(Go2RoughLidarGapsEnvCfg):
    """The gaps task with thin-wall tiles: 0.1 m walls and glass panes whose ends the robots meet head-on.

    Both gaps policies walk their head into the end of a 0.1 m wall met head-on (a VLN scene's wall end or door jamb)
    and stop for the same wall met face-on (``results/wall_turn.md``); the reference mix has no such ends.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.terrain.terrain_generator.sub_terrains["thin_walls"] = EXTRA_TERRAINS["thin_walls"].copy()


@configclass
class Go2RoughLidarOpenWallsEnvCfg(Go2RoughLidarGapsWallsEnvCfg):
    """The thin-wall task whose map keeps tall returns' shadows unseen (``HeightMapSpec.pool = "open"``).

    With the gaps pool a thin wall met end-on reads as a post with floor behind it, and 177 iterations on the thin-wall
    tiles taught the policy nothing about such ends; the open pool shows the wall's body as an unseen band, as the
    walls the policy stops for read (``results/wall_turn.md``). One run from scratch (seed 0, 348 iterations,
    2026-12-07): glass and thin walls within the shipped weights' spread on this map, slopes tracked better, every
    wall end of ``wall_turn_probe.py corner`` stopped for; not shipped, it drifts in sim2sim without the heading hold
    (``results/locomotion.md``, ``results/wall_turn.md``, ``results/sim2real.md``).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        params = self.observations.height_map.height_map.params
        params["spec"] = replace(params["spec"], pool="open")


@configclass
class Go2RoughLidarSlopesEnvCfg(Go2RoughLidarEnvCfg):
    """LiDAR task with twice the share of sloped tiles, taken from the flat and rough ones.

    With its own map the LiDAR policy slows to ~0.7 m/s on slopes at a 1 m/s command, and walks them at the command
    when shown flat ground instead (``results/slope_map.md``): a rising slope reads like the approach to a wall.
    More slope tiles make slowing there cost tracking reward more often. One training run (2026-12-06, with the
    wall-clearance weight of then, −1.0; ``results/locomotion.md``): slope tracking error 0.12 vs 0.18 m/s for the
    policy shipped then, glass collisions 3.8 vs 2.4% (CPU sets); not shipped.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        tiles = self.scene.terrain.terrain_generator.sub_terrains
        for name, proportion in SLOPE_HEAVY_PROPORTIONS.items():
            tiles[name].proportion = proportion


@configclass
class Go2FlatEnvCfg(Go2RoughLidarEnvCfg):
    """LiDAR task on flat ground only (no terrain curriculum)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        generator = self.scene.terrain.terrain_generator
        generator.sub_terrains = {"flat": generator.sub_terrains["flat"]}
        generator.num_rows, generator.num_cols = 4, 4
        generator.curriculum = False
        self.scene.terrain.max_init_terrain_level = None
        self.drop_wall_contacts()
        self.curriculum.terrain_levels = None
        self.curriculum.terrain_levels_by_type = None
        use_mujoco_warp(self, njmax=65, nconmax=35)


@configclass
class Go2RoughBlindEnvCfg_PLAY(Go2RoughBlindEnvCfg):
    """Play version of :class:`Go2RoughBlindEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()


@configclass
class Go2RoughLidarEnvCfg_PLAY(Go2RoughLidarEnvCfg):
    """Play version of :class:`Go2RoughLidarEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()


@configclass
class Go2RoughLidarMaxMapEnvCfg_PLAY(Go2RoughLidarMaxMapEnvCfg):
    """Play version of :class:`Go2RoughLidarMaxMapEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()


@configclass
class Go2RoughLidarGapsEnvCfg_PLAY(Go2RoughLidarGapsEnvCfg):
    """Play version of :class:`Go2RoughLidarGapsEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()


@configclass
class Go2RoughLidarGapsTurnEnvCfg_PLAY(Go2RoughLidarGapsTurnEnvCfg):
    """Play version of :class:`Go2RoughLidarGapsTurnEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()


@configclass
class Go2RoughLidarGapsWallsEnvCfg_PLAY(Go2RoughLidarGapsWallsEnvCfg):
    """Play version of :class:`Go2RoughLidarGapsWallsEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()


@configclass
class Go2RoughLidarOpenWallsEnvCfg_PLAY(Go2RoughLidarOpenWallsEnvCfg):
    """Play version of :class:`Go2RoughLidarOpenWallsEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()


@configclass
class Go2RoughLidarSlopesEnvCfg_PLAY(Go2RoughLidarSlopesEnvCfg):
    """Play version of :class:`Go2RoughLidarSlopesEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()


@configclass
class Go2FlatEnvCfg_PLAY(Go2FlatEnvCfg):
    """Play version of :class:`Go2FlatEnvCfg`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.play_mode()

"""Go2 VLN task: the LiDAR play task in procedural indoor scenes, driven by the VLA command layer, with a camera.

The scene (walls, furniture, clutter, glass) replaces the terrain; the robot gets a front RGB camera rendered kitless
by the Newton warp renderer, which does not see glass. Both ray casters read warp meshes of the scene's USD prims (the
LiDAR always does, see :class:`~navila_lab.sensors.lidar.LidarCfg`): Newton's own ray caster would put every collider
into the shape BVH the renderer shares, glass included.
"""

from __future__ import annotations

import math

import isaaclab.sim as sim_utils
from isaaclab.assets import AssetBaseCfg
from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.sensors import CameraCfg, ContactSensorCfg, MultiMeshRayCasterCfg, RayCasterCfg
from isaaclab.utils import configclass, replace
from isaaclab_newton.renderers import NewtonWarpRendererCfg

from navila_tasks.go2.env_cfg import Go2RoughLidarEnvCfg_PLAY, Go2SceneCfg, Go2TerminationsCfg, use_mujoco_warp
from navila_tasks.vln import mdp
from navila_tasks.vln.spawner import VlnScenesCfg

SCENE_PRIM_PATH = "/World/ground"
"""Where the scenes are authored (the path the LiDAR and the height scanner cast against)."""
GLASS_SHAPES = f"{SCENE_PRIM_PATH}/scene_.*/glass_.*"
"""Shape paths (regular expression) of every glass box."""
OBSTACLE_SHAPES = f"{SCENE_PRIM_PATH}/scene_.*/(wall|furniture|clutter)_.*"
"""Shape paths (regular expression) of every obstacle that is not glass (the floor excluded)."""
CAMERA_POS = (0.3, 0.0, 0.5)
"""Camera position (m) in the base frame: above the head, ~0.5 m above the base (docs/reference.md §1)."""
CAMERA_PITCH = math.radians(15.0)
"""Downward tilt of the camera (rad)."""


def warp_mesh_ray_caster(cfg: RayCasterCfg) -> MultiMeshRayCasterCfg:
    """Copy a ray caster cfg into one casting against warp meshes built from the USD prims it names."""
    fields = {name: getattr(cfg, name) for name in RayCasterCfg.__dataclass_fields__ if name != "class_type"}
    return MultiMeshRayCasterCfg(**fields)


VLN_CAMERA_CFG = CameraCfg(
    prim_path="{ENV_REGEX_NS}/Robot/base/front_camera",
    offset=CameraCfg.OffsetCfg(
        pos=CAMERA_POS, rot=(0.0, math.sin(CAMERA_PITCH / 2), 0.0, math.cos(CAMERA_PITCH / 2)), convention="world"
    ),
    data_types=["rgb"],
    width=512,
    height=512,
    spawn=sim_utils.PinholeCameraCfg(focal_length=10.0, horizontal_aperture=20.0, clipping_range=(0.05, 50.0)),
    renderer_cfg=NewtonWarpRendererCfg(),
    update_latest_camera_pose=True,
)
"""Front RGB camera, 512 × 512, 90° horizontal field of view, kitless (Newton warp renderer)."""


@configclass
class Go2VlnSceneCfg(Go2SceneCfg):
    """Go2 with LiDAR and front camera; the procedural scenes replace the terrain (see :class:`Go2VlnEnvCfg`)."""

    vln_scenes = AssetBaseCfg(prim_path=SCENE_PRIM_PATH, spawn=VlnScenesCfg(), collision_group=-1)
    camera = VLN_CAMERA_CFG
    glass_contact = ContactSensorCfg(prim_path="{ENV_REGEX_NS}/Robot/.*", filter_shape_prim_expr=[GLASS_SHAPES])
    """Contact forces of every robot body with glass."""
    obstacle_contact = ContactSensorCfg(prim_path="{ENV_REGEX_NS}/Robot/.*", filter_shape_prim_expr=[OBSTACLE_SHAPES])
    """Contact forces of every robot body with walls, furniture and clutter."""


@configclass
class Go2VlnTerminationsCfg(Go2TerminationsCfg):
    """Falls as in training; episodes end when the VLN loop asks (no time-out of the env's own)."""

    time_out = None
    episode_end = DoneTerm(func=mdp.episode_end_requested, time_out=True)


@configclass
class Go2VlnEnvCfg(Go2RoughLidarEnvCfg_PLAY):
    """LiDAR play task in VLN scenes: set ``scene.vln_scenes.spawn.scene_ids`` to the scenes of the episodes."""

    scene: Go2VlnSceneCfg = Go2VlnSceneCfg(num_envs=256, env_spacing=2.5)
    terminations: Go2VlnTerminationsCfg = Go2VlnTerminationsCfg()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.num_envs = 256  # episodes in parallel on one GPU; navila vln runs fewer when it has fewer
        self.scene.terrain = None
        self.curriculum.terrain_levels = None
        self.drop_wall_contacts()  # the scenes' walls are not terrain walls: the glass/obstacle sensors above see them
        self.curriculum.terrain_levels_by_type = None
        self.commands.base_velocity = mdp.EpisodeVelocityCommandCfg()
        self.scene.height_scanner = warp_mesh_ray_caster(self.scene.height_scanner)
        self.events.reset_base = EventTerm(func=mdp.reset_root_to_episode_start, mode="reset")
        self.events.reset_robot_joints.params["position_range"] = (1.0, 1.0)
        # flat floors and boxes: feet on the floor plus a few bodies against walls (the mesh terrain needs more)
        use_mujoco_warp(self, njmax=160, nconmax=40)


@configclass
class Go2VlnDepthEnvCfg(Go2VlnEnvCfg):
    """:class:`Go2VlnEnvCfg` whose camera also renders depth (distance to the image plane)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.camera = replace(VLN_CAMERA_CFG, data_types=["rgb", "distance_to_image_plane"])

"""Subprocess body of the VLN scene tests: NaVILA-Go2-VLN-Depth on CPU around a glass panel, a JSON report printed.

Robot 0 stands 1.2 m in front of the longest glass partition of ``procedural_00001``, facing it; robot 1 is thrown
head first at the same panel (envs do not collide with each other; head and base contacts do not terminate here).
The report holds what the USD stage, the Newton model, the camera, the LiDAR and the contact sensors say, plus what
ray casts against the scene's boxes expect. With ``--scenes-dir`` the scene is spawned from its file there (the
procedural scene written as one), while the expectations still come from the procedural boxes.
"""

import argparse
import json
import math
import sys

import numpy as np
import torch
import trimesh
from navila_agents.locomotion import runtime
from navila_lab.terrains.generator import GLASS_ATTRIBUTE
from navila_tasks.vln.scenes import BoxKind, scene_from_id

TASK = "NaVILA-Go2-VLN-Depth"
SCENE_ID = "procedural_00001"
SIZE = 64
GRID = (16, 32, 48)
"""Pixel rows and columns checked in the depth image."""


def facing_pose(panel, distance: float, free) -> tuple[float, float, float]:
    """Base pose ``distance`` from the panel's plane, on a free side, facing the panel's center."""
    along_y = panel.size[1] > panel.size[0]
    normal = np.array([1.0, 0.0]) if along_y else np.array([0.0, 1.0])
    center = np.asarray(panel.center[:2])
    side = next(side for side in (1.0, -1.0) if free(center + side * 1.2 * normal))
    x, y = center + side * distance * normal
    return float(x), float(y), math.atan2(-side * normal[1], -side * normal[0])


def expected_depths(meshes: trimesh.Trimesh, origin: np.ndarray, directions: np.ndarray, forward: np.ndarray) -> list:
    """Distance to the image plane of the first hit of each ray (inf where nothing is hit)."""
    locations, ray_ids, _ = meshes.ray.intersects_location(np.repeat(origin[None], len(directions), 0), directions)
    depth = np.full(len(directions), np.inf)
    for location, ray in zip(locations, ray_ids, strict=True):
        depth[ray] = min(depth[ray], float((location - origin) @ forward))
    return depth.tolist()


def main(scenes_dir: str | None, panel_margin: float) -> None:
    env_cfg, agent_cfg = runtime.load_cfgs(TASK, [])
    env_cfg.sim.device = agent_cfg.device = "cpu"
    env_cfg.scene.num_envs = 2
    env_cfg.scene.vln_scenes.spawn.scene_ids = [SCENE_ID]
    env_cfg.scene.vln_scenes.spawn.scenes_dir = scenes_dir
    env_cfg.scene.camera.width = env_cfg.scene.camera.height = SIZE
    env_cfg.terminations.head_contact = env_cfg.terminations.base_contact = None  # robot 1 leans on the glass
    env_cfg.scene.lidar.height_map_window = None  # the report reads hits beyond the map's window: full-length rays
    layout = env_cfg.scene.vln_scenes.spawn.layout()
    scene, offset = scene_from_id(SCENE_ID), layout.offsets[0]
    panel = max((box for box in scene.boxes if box.kind == BoxKind.GLASS), key=lambda box: max(box.size[:2]))
    free = layout.nav_grids[SCENE_ID].is_free
    starts = [facing_pose(panel, 1.2, free), facing_pose(panel, 0.45, free)]
    with runtime.open_env(TASK, env_cfg) as env:
        from isaaclab.sim import get_current_stage
        from isaaclab_newton.physics import NewtonManager
        from navila_agents.vln.simulator import IsaacVlnSim
        from newton import ShapeFlags
        from pxr import UsdGeom

        sim = IsaacVlnSim(env, layout, policy=None)
        sim.set_next_starts([0, 1], torch.tensor([[x + offset[0], y + offset[1], yaw] for x, y, yaw in starts]))
        sim.reset()
        push = torch.tensor([[1.5 * math.cos(starts[1][2]), 1.5 * math.sin(starts[1][2]), 0.0, 0.0, 0.0, 0.0]])
        env.unwrapped.scene["robot"].write_root_velocity_to_sim_index(root_velocity=push, env_ids=torch.tensor([1]))
        on_glass = in_collision = fell = torch.zeros(2, dtype=torch.bool)
        for _ in range(15):
            env.step(torch.zeros(2, 12))
            fell |= env.unwrapped.reset_terminated
            touching, glass = sim.contacts()
            in_collision, on_glass = in_collision | touching, on_glass | glass

        stage = get_current_stage()
        glass_prims = [prim for prim in stage.Traverse() if prim.HasAttribute(GLASS_ATTRIBUTE)]
        model = NewtonManager.get_model()
        labels, flags = list(model.shape_label), model.shape_flags.numpy()
        glass_flags = [int(flags[i]) for i, label in enumerate(labels) if "/glass_" in label]
        wall_flags = [int(flags[i]) for i, label in enumerate(labels) if "/wall_" in label]

        camera = env.unwrapped.scene["camera"]
        depth = sim.depth([0])[0]
        position = camera.data.pos_w.torch[0].numpy().astype(float)
        quat_wxyz = np.roll(camera.data.quat_w_world.torch[0].numpy(), 1)
        rotation = trimesh.transformations.quaternion_matrix(quat_wxyz)[:3, :3]
        k = camera.data.intrinsic_matrices.torch[0].numpy()
        pixels = [(row, col) for row in GRID for col in GRID]
        local = [(1.0, -(col + 0.5 - k[0, 2]) / k[0, 0], -(row + 0.5 - k[1, 2]) / k[1, 1]) for row, col in pixels]
        directions = np.asarray(local) @ rotation.T
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        shift = trimesh.transformations.translation_matrix((*offset, 0.0))
        seen = scene.meshes(include_glass=False).to_geometry().apply_transform(shift)
        everything = scene.meshes().to_geometry().apply_transform(shift)

        hits = env.unwrapped.scene["lidar"].data.ray_hits_w.torch[0].numpy() - np.array([*offset, 0.0])
        (x0, y0, x1, y1), top = panel.footprint, panel.size[2]
        on_panel = (
            (hits[:, 0] > x0 - panel_margin) & (hits[:, 0] < x1 + panel_margin) & (hits[:, 1] > y0 - panel_margin)
        )
        on_panel &= (hits[:, 1] < y1 + panel_margin) & (hits[:, 2] > 0.02) & (hits[:, 2] < top)
        report = {
            "glass_prims": [str(prim.GetPath()) for prim in glass_prims],
            "glass_guide": [UsdGeom.Imageable(prim).ComputePurpose() == UsdGeom.Tokens.guide for prim in glass_prims],
            "glass_boxes": sum(box.kind == BoxKind.GLASS for box in scene.boxes),
            "glass_visible": [bool(f & ShapeFlags.VISIBLE) for f in glass_flags],
            "glass_collides": [bool(f & ShapeFlags.COLLIDE_SHAPES) for f in glass_flags],
            "walls_visible": [bool(f & ShapeFlags.VISIBLE) for f in wall_flags],
            "depth": [float(depth[row, col]) for row, col in pixels],
            "expected_without_glass": expected_depths(seen, position, directions, rotation[:, 0]),
            "expected_with_glass": expected_depths(everything, position, directions, rotation[:, 0]),
            "frames_shape": list(sim.frames([0, 1]).shape),
            "lidar_hits_on_glass": int(on_panel.sum()),
            "on_glass": on_glass.tolist(),
            "in_collision": in_collision.tolist(),
            "fell": fell.tolist(),
            "start_error": (sim.poses()[:, :2].numpy() - np.array(starts)[:, :2] - offset).tolist(),
            "termination_terms": list(sim.termination_terms),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes-dir", default=None, help="spawn the scene from the file of its id in this folder")
    parser.add_argument("--panel-margin", type=float, default=0.02, help="LiDAR hits this close to the pane count (m)")
    arguments = parser.parse_args()
    main(arguments.scenes_dir, arguments.panel_margin)
    sys.exit(0)

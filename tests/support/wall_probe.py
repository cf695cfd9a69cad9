"""Subprocess body of the wall-physics test: robots pushed into an obstacle box and a glass pane, on CPU.

Usage: ``wall_probe.py``. Builds ``NaVILA-Go2-Rough-Lidar-Play`` on two tiles (a box, a pane, each :data:`FACE`
ahead of the spawn, off the 0.1 m heightfield grid), keeps only the time-out termination, pushes both robots forward at
:data:`PUSH` m/s for :data:`STEPS` env steps with zero actions, and prints a JSON line: how far each robot's head got,
where the LiDAR, the critic's height scan and the wall map see the wall's face, and the head's contact with it.
"""

import json

import newton
import numpy as np
import torch
import trimesh
from isaaclab_newton.physics import NewtonManager
from navila_agents.locomotion import runtime
from navila_agents.locomotion.evaluation import end_on_time_out_only, spawn_still
from navila_lab.terrains.flat import FlatSlabTerrainCfg, flat_slab_terrain
from navila_lab.terrains.generator import WallTerrainGeneratorCfg
from navila_lab.terrains.walls import GLASS, OBSTACLES, tag_wall

TASK = "NaVILA-Go2-Rough-Lidar-Play"
FACE = 0.87
"""Distance (m) from the spawn point to the wall's near face along +x (not a multiple of the heightfield's 0.1 m)."""
PUSH = 0.5
"""Forward base velocity (m/s) written at every env step."""
STEPS = 90
HEAD_REACH = 0.055
"""Front of the head's collision shapes ahead of the head body's origin (m): cylinder radius 0.05, chin sphere."""


def wall_terrain(difficulty: float, cfg: FlatSlabTerrainCfg, kind: str) -> tuple[list[trimesh.Trimesh], np.ndarray]:
    """Flat tile with one wall across +x: an obstacle box 0.4 m deep, 0.5 m tall, or a 2 cm glass pane 1 m tall."""
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    depth, height = (0.4, 0.5) if kind == OBSTACLES else (0.02, 1.0)
    wall = trimesh.creation.box((depth, 3.0, height))
    wall.apply_translation((origin[0] + FACE + 0.5 * depth, origin[1], 0.5 * height))
    return [*meshes, tag_wall(wall, kind)], origin


def configure(env_cfg) -> None:
    """Two tiles (box, pane), one robot each at its center facing +x, nothing ends the episode but its time-out; the
    ground is a heightfield for physics, as in the task."""
    env_cfg.sim.device = "cpu"
    env_cfg.scene.num_envs = 2
    env_cfg.scene.terrain.terrain_generator = WallTerrainGeneratorCfg(
        size=(6.0, 6.0),
        border_width=1.0,
        num_rows=1,
        num_cols=2,
        curriculum=True,
        use_cache=False,
        sub_terrains={
            kind: FlatSlabTerrainCfg(
                function=lambda d, c, k=kind: wall_terrain(d, c, k), proportion=0.5, convert_to_heightfield=True
            )
            for kind in (OBSTACLES, GLASS)
        },
    )
    spawn_still(env_cfg)
    end_on_time_out_only(env_cfg)


def faces(env, origins: torch.Tensor) -> dict[str, list[float]]:
    """Distance ahead of each spawn at which the LiDAR, the height scan and the wall map first see the wall."""
    unwrapped = env.unwrapped
    lidar = unwrapped.scene.sensors["lidar"].data.ray_hits_w.torch
    ahead = lidar[..., :2] - origins[:, None, :2]
    on_wall = torch.isfinite(lidar).all(-1) & (lidar[..., 2] > 0.15) & (ahead[..., 1].abs() < 0.3)
    lidar_face = torch.where(on_wall, ahead[..., 0], torch.inf).min(-1).values
    scan = unwrapped.scene.sensors["height_scanner"].data.ray_hits_w.torch
    scan_ahead = scan[..., :2] - origins[:, None, :2]
    raised = (scan[..., 2] > 0.15) & (scan_ahead[..., 1].abs() < 0.3) & (scan_ahead[..., 0] > 0)
    scan_face = torch.where(raised, scan_ahead[..., 0], torch.inf).min(-1).values
    line = torch.arange(0.0, 1.5, 0.005)
    points = origins[:, None, :2] + torch.stack((line, torch.zeros_like(line)), -1)
    blocked = unwrapped.scene.terrain.wall_map.blocked(points)
    map_face = torch.where(blocked, line, torch.inf).min(-1).values
    return {"lidar": lidar_face.tolist(), "height_scan": scan_face.tolist(), "wall_map": map_face.tolist()}


def main() -> None:
    env_cfg, _ = runtime.load_cfgs(TASK, [], play=True)
    configure(env_cfg)
    with runtime.open_env(TASK, env_cfg) as env:
        unwrapped = env.unwrapped
        robot, contacts = unwrapped.scene["robot"], unwrapped.scene.sensors["wall_contacts"]
        head = robot.body_names.index(next(name for name in robot.body_names if name.startswith("Head")))
        head_in_sensor = contacts.sensor_names.index(robot.body_names[head])
        env.reset()
        origins = robot.data.root_pos_w.torch.clone()
        seen = faces(env, origins)
        reach = torch.full((2,), -torch.inf)
        head_force = torch.zeros(2)
        for _ in range(STEPS):
            velocity = torch.zeros(2, 6)
            velocity[:, 0] = PUSH
            robot.write_root_velocity_to_sim_index(root_velocity=velocity)
            env.step(torch.zeros(2, 12))
            front = robot.data.body_pos_w.torch[:, head, 0] - origins[:, 0] + HEAD_REACH
            reach = torch.maximum(reach, front)
            forces = contacts.data.normal_force_matrix_w_history.torch[:, :, head_in_sensor]
            head_force = torch.maximum(head_force, torch.linalg.norm(forces, dim=-1).flatten(1).max(-1).values)
        model = NewtonManager.get_model()
        static = model.shape_body.numpy() == -1
        report = {
            "static_shape_types": sorted(newton.GeoType(kind).name for kind in model.shape_type.numpy()[static]),
            "kinds": [OBSTACLES, GLASS],
            "face": FACE,
            "seen": seen,
            "head_reach": reach.tolist(),
            "head_wall_force": head_force.tolist(),
            "base_height": robot.data.root_pos_w.torch[:, 2].tolist(),
            "wall_partners": contacts.num_filter_objects,
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()

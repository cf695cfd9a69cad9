"""Subprocess body of the simulator tests: builds one env on CPU, steps it, prints a JSON report on the last line."""

import copy
import json
import sys

import isaaclab.terrains as terrain_gen
import newton
import numpy as np
import torch
import trimesh
from isaaclab.managers import SceneEntityCfg
from isaaclab.sensors import RayCasterCfg
from isaaclab.utils import configclass, replace
from isaaclab_newton.physics import NewtonManager
from navila_agents.locomotion import runtime
from navila_agents.locomotion.evaluation import spawn_still
from navila_lab.mdp import lidar_points
from navila_lab.sensors.height_map import HeightMapSpec, height_map_from_points
from navila_lab.terrains.flat import FlatSlabTerrainCfg, flat_slab_terrain
from navila_lab.terrains.generator import WallTerrainGeneratorCfg
from navila_lab.terrains.walls import GLASS, OBSTACLES, tag_wall

WALL_DISTANCE = 1.0
"""Distance (m) from the spawn point to the glass wall ahead of the robot in the known scene."""


def wall_terrain(difficulty, cfg):
    """Flat tile with one glass wall across the way, WALL_DISTANCE ahead of the tile center (+x)."""
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    wall = trimesh.creation.box((0.02, 3.0, 1.0))
    wall.apply_translation((origin[0] + WALL_DISTANCE, origin[1], 0.5))
    return [*meshes, tag_wall(wall, GLASS)], origin


@configclass
class GlassWallTileCfg(FlatSlabTerrainCfg):
    """Flat tile with one glass wall ahead (:func:`wall_terrain`)."""

    function = wall_terrain

    def wall_kinds(self) -> tuple[str, ...]:
        """Wall kinds of the tile (the evaluation's contact sensors follow them)."""
        return (GLASS,)


def known_scene(env_cfg) -> None:
    """Two tiles, robot 0 facing a glass wall, robot 1 on open ground; no spawn randomization."""
    env_cfg.scene.terrain.terrain_generator = WallTerrainGeneratorCfg(
        size=(8.0, 8.0),
        border_width=2.0,
        num_rows=1,
        num_cols=2,
        curriculum=True,
        use_cache=False,
        sub_terrains={
            "wall": GlassWallTileCfg(proportion=0.5),
            "flat": FlatSlabTerrainCfg(proportion=0.5),
        },
    )
    spawn_still(env_cfg)


PEN_DISTANCE = 0.75
"""Distance (m) from the tile center to the four walls of a pen."""
LIDARS = ("lidar", "lidar_unbounded", "lidar_newton")
"""The task's LiDAR, the same sensor without its window bound, and Newton's BVH ray caster over the full pattern."""
SCANNERS = ("height_scanner", "height_scanner_newton")
"""The task's (masked) critic height scanner and Newton's BVH ray caster with the same rays."""


def newton_twin(cfg) -> RayCasterCfg:
    """Isaac Lab's Newton BVH ray caster with the rays of ``cfg``, against the terrain and glass only."""
    fields = {name: getattr(cfg, name) for name in RayCasterCfg.__dataclass_fields__}
    return RayCasterCfg(**(fields | {"class_type": RayCasterCfg().class_type, "global_world_only": True}))


def pen_terrain(difficulty, cfg, glass: bool):
    """Flat tile with four walls around its center (glass panels 1 m high, or 0.25 m obstacle walls)."""
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    height = 1.0 if glass else 0.25
    for angle in np.arange(4) * 0.5 * np.pi:
        wall = trimesh.creation.box((0.02, 1.0, height))
        wall.apply_transform(trimesh.transformations.rotation_matrix(angle, (0.0, 0.0, 1.0)))
        wall.apply_translation(
            (origin[0] + PEN_DISTANCE * np.cos(angle), origin[1] + PEN_DISTANCE * np.sin(angle), 0.5 * height)
        )
        meshes.append(tag_wall(wall, GLASS if glass else OBSTACLES))
    return meshes, origin


def pen_scene(env_cfg) -> None:
    """One tile per robot: a glass pen, an obstacle pen, rough ground and discrete obstacles; spawns near the center."""
    env_cfg.scene.terrain.terrain_generator = WallTerrainGeneratorCfg(
        size=(6.0, 6.0),
        border_width=1.0,
        num_rows=1,
        num_cols=4,
        horizontal_scale=0.1,
        vertical_scale=0.005,
        curriculum=True,
        use_cache=False,
        seed=0,
        sub_terrains={
            "glass_pen": FlatSlabTerrainCfg(function=lambda d, c: pen_terrain(d, c, glass=True), proportion=0.25),
            "box_pen": FlatSlabTerrainCfg(function=lambda d, c: pen_terrain(d, c, glass=False), proportion=0.25),
            "rough": terrain_gen.HfRandomUniformTerrainCfg(proportion=0.25, noise_range=(0.01, 0.06), noise_step=0.01),
            "obstacles": terrain_gen.HfDiscreteObstaclesTerrainCfg(
                proportion=0.25,
                num_obstacles=40,
                obstacle_height_mode="fixed",
                obstacle_height_range=(0.2, 0.6),
                obstacle_width_range=(0.2, 0.5),
                platform_width=0.6,
            ),
        },
    )
    env_cfg.scene.terrain.max_init_terrain_level = 0
    env_cfg.events.reset_base.params["pose_range"] = {"x": (-0.2, 0.2), "y": (-0.2, 0.2), "yaw": (-3.14, 3.14)}
    env_cfg.scene.lidar_unbounded = replace(env_cfg.scene.lidar, height_map_window=None)
    env_cfg.scene.lidar_newton = newton_twin(env_cfg.scene.lidar)
    env_cfg.scene.height_scanner_newton = newton_twin(env_cfg.scene.height_scanner)


def lidar_exactness(env) -> dict:
    """Steps with random actions and a reset of half the robots, comparing the three LiDARs' maps and hits and the two
    height scanners' hits each step; then moves every robot and resets the sensors of half of them only, to see which
    hits a masked update changes."""
    unwrapped, spec = env.unwrapped, HeightMapSpec()
    num_envs, generator = unwrapped.num_envs, torch.Generator().manual_seed(0)
    resets = torch.arange(0, num_envs, 2)

    def sweep(name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sensor = unwrapped.scene.sensors[name]
        points = lidar_points(unwrapped, SceneEntityCfg(name))
        return height_map_from_points(points, spec), points, sensor.data.ray_hits_w.torch.clone()

    report = {
        "steps": 0,
        "maps_equal_unbounded": True,
        "maps_equal_newton": True,
        "hits_equal_newton": True,
        "window_hits_equal_newton": True,
        "cut_hits": 0,
        "tall_window_hits": [0] * num_envs,
        "scanner_hits_equal_newton": True,
        "scanner_hits_finite": True,
    }
    env.reset()
    for name in LIDARS:  # the map term read the task's LiDAR on reset: the others sweep from the same poses
        sweep(name)
    for step in range(16):
        if step == 7:
            unwrapped.episode_length_buf[resets] = unwrapped.max_episode_length - 1
        env.step(0.5 * torch.randn(num_envs, 12, generator=generator))
        (maps, points, hits), (free_maps, _, _), (newton_maps, newton_points, newton_hits) = map(sweep, LIDARS)
        kept = torch.isfinite(hits).all(-1)
        x, y = newton_points[..., 0], newton_points[..., 1]
        in_window = (x >= spec.x_range[0]) & (x <= spec.x_range[1]) & (y >= spec.y_range[0]) & (y <= spec.y_range[1])
        report["steps"] += 1
        report["maps_equal_unbounded"] &= torch.equal(maps, free_maps)
        report["maps_equal_newton"] &= torch.equal(maps, newton_maps)
        report["hits_equal_newton"] &= torch.equal(hits[kept], newton_hits[kept])
        report["window_hits_equal_newton"] &= torch.equal(hits[in_window], newton_hits[in_window])
        report["cut_hits"] += int((torch.isfinite(newton_hits).all(-1) & ~kept).sum())
        tall = in_window & (newton_hits[..., 2] > 0.15)
        report["tall_window_hits"] = [a + int(b) for a, b in zip(report["tall_window_hits"], tall.sum(-1), strict=True)]
        scan, newton_scan = (unwrapped.scene.sensors[name].data.ray_hits_w.torch for name in SCANNERS)
        report["scanner_hits_equal_newton"] &= torch.equal(scan, newton_scan)
        report["scanner_hits_finite"] &= bool(torch.isfinite(scan).all())
    report["map_cells_nonzero"] = int(torch.count_nonzero(maps))
    report["episode_lengths"] = unwrapped.episode_length_buf.tolist()

    # a masked update: every robot moves, but only the sensors of ``resets`` are due
    before = {name: unwrapped.scene.sensors[name].data.ray_hits_w.torch.clone() for name in LIDARS + SCANNERS}
    for _ in range(8):
        unwrapped.sim.step(render=False)
    for name in LIDARS + SCANNERS:
        unwrapped.scene.sensors[name].reset(resets.tolist())
    (maps, _, hits), _, (newton_maps, _, _) = map(sweep, LIDARS)
    due = torch.zeros(num_envs, dtype=torch.bool)
    due[resets] = True
    report["masked_others_unchanged"] = torch.equal(hits[~due], before["lidar"][~due])
    report["masked_due_changed"] = [not torch.equal(hits[i], before["lidar"][i]) for i in resets.tolist()]
    report["masked_maps_equal_newton"] = torch.equal(maps[due], newton_maps[due])
    scan, newton_scan = (unwrapped.scene.sensors[name].data.ray_hits_w.torch for name in SCANNERS)
    report["scanner_masked_others_unchanged"] = torch.equal(scan[~due], before["height_scanner"][~due])
    report["scanner_masked_due_equal_newton"] = torch.equal(scan[due], newton_scan[due])
    unwrapped.scene.sensors["lidar"].reset()
    hits = unwrapped.scene.sensors["lidar"].data.ray_hits_w.torch
    report["others_moved"] = [not torch.equal(hits[i], before["lidar"][i]) for i in torch.nonzero(~due).flatten()]
    unwrapped.scene.sensors["height_scanner"].reset()
    scan = unwrapped.scene.sensors["height_scanner"].data.ray_hits_w.torch
    report["scanner_others_moved"] = [
        not torch.equal(scan[i], before["height_scanner"][i]) for i in torch.nonzero(~due).flatten()
    ]
    return report


def main(task: str, scenario: str) -> None:
    env_cfg, agent_cfg = runtime.load_cfgs(task, [], play=scenario.startswith("lidar_wall"))
    env_cfg.sim.device = agent_cfg.device = "cpu"
    env_cfg.scene.num_envs = 2
    if scenario == "lidar_wall_second_scene":
        # the task's own ground first, in the same process: the wall scene built next must be what its LiDAR casts on
        with runtime.open_env(task, copy.deepcopy(env_cfg)) as env:
            env.reset()
    if scenario.startswith("lidar_wall"):
        known_scene(env_cfg)
    if scenario == "lidar_exact":
        env_cfg.scene.num_envs, env_cfg.seed = 4, 0
        pen_scene(env_cfg)
        with runtime.open_env(task, env_cfg) as env:
            print(json.dumps(lidar_exactness(env)))
        return
    with runtime.open_env(task, env_cfg) as env:
        obs, _ = env.reset()
        for _ in range(10):
            obs, reward, terminated, truncated, _ = env.step(torch.zeros(2, 12))
        report = {
            "shapes": {name: list(value.shape) for name, value in obs.items()},
            "finite": bool(all(torch.isfinite(value).all() for value in obs.values()) and torch.isfinite(reward).all()),
            "base_height": env.unwrapped.scene["robot"].data.root_pos_w.torch[:, 2].tolist(),
        }
        if "height_map" in obs:
            report["height_map"] = obs["height_map"].view(2, 17, 27).tolist()
        command_term, commands = env.unwrapped.command_manager.get_term("base_velocity"), []
        for _ in range(2000):  # 4000 draws: the shares' sampling spread (~0.005) stays far inside the test's bounds
            command_term.reset()
            command_term.compute(0.0)
            commands.append(command_term.command.clone())
        commands = torch.cat(commands)
        report["turn_in_place_share"] = float(((commands[:, 0] == 0) & (commands[:, 2] != 0)).float().mean())
        report["standing_share"] = float((commands == 0).all(dim=1).float().mean())
        glass = getattr(env.unwrapped.scene.terrain, "glass_mesh", None)
        report["glass_vertices"] = 0 if glass is None else int(np.asarray(glass.vertices).shape[0])
        model = NewtonManager.get_model()
        static = model.shape_body.numpy() == -1
        report["static_shape_types"] = sorted(newton.GeoType(kind).name for kind in model.shape_type.numpy()[static])
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])

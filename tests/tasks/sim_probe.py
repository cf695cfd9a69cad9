"""Subprocess body of the simulator tests: builds one env on CPU, steps it, prints a JSON report on the last line."""

import json
import sys

import numpy as np
import torch
import trimesh

from navila_lab.terrains.flat import FlatSlabTerrainCfg, flat_slab_terrain
from navila_lab.terrains.generator import GlassTerrainGeneratorCfg
from navila_lab.terrains.glass import GLASS_TAG
from navila_tasks import runtime

WALL_DISTANCE = 1.0
"""Distance (m) from the spawn point to the glass wall ahead of the robot in the known scene."""


def wall_terrain(difficulty, cfg):
    """Flat tile with one glass wall across the way, WALL_DISTANCE ahead of the tile center (+x)."""
    meshes, origin = flat_slab_terrain(difficulty, cfg)
    wall = trimesh.creation.box((0.02, 3.0, 1.0))
    wall.apply_translation((origin[0] + WALL_DISTANCE, origin[1], 0.5))
    wall.metadata[GLASS_TAG] = True
    return [*meshes, wall], origin


def known_scene(env_cfg) -> None:
    """Two tiles, robot 0 facing a glass wall, robot 1 on open ground; no spawn randomization."""
    env_cfg.scene.terrain.terrain_generator = GlassTerrainGeneratorCfg(
        size=(8.0, 8.0), border_width=2.0, num_rows=1, num_cols=2, curriculum=True, use_cache=False,
        sub_terrains={"wall": FlatSlabTerrainCfg(function=wall_terrain, proportion=0.5),
                      "flat": FlatSlabTerrainCfg(proportion=0.5)},
    )
    env_cfg.scene.terrain.max_init_terrain_level = 0
    env_cfg.events.reset_base.params = {"pose_range": {}, "velocity_range": {}}
    env_cfg.events.reset_robot_joints.params["position_range"] = (1.0, 1.0)


def main(task: str, scenario: str) -> None:
    env_cfg, agent_cfg = runtime.load_cfgs(task, [], play=scenario == "lidar_wall")
    env_cfg.sim.device = agent_cfg.device = "cpu"
    env_cfg.scene.num_envs = 2
    if scenario == "lidar_wall":
        known_scene(env_cfg)
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
        for _ in range(200):
            command_term.reset()
            command_term.compute(0.0)
            commands.append(command_term.command.clone())
        commands = torch.cat(commands)
        report["turn_in_place_share"] = float(((commands[:, 0] == 0) & (commands[:, 2] != 0)).float().mean())
        report["standing_share"] = float((commands == 0).all(dim=1).float().mean())
        glass = getattr(env.unwrapped.scene.terrain, "glass_mesh", None)
        report["glass_vertices"] = 0 if glass is None else int(np.asarray(glass.vertices).shape[0])
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Eval test support: a freshly initialised exported policy, and the subprocess body of the glass-contact test."""

import dataclasses
import json
import sys
from pathlib import Path

import torch
from navila_lab.deploy_spec import DeploySpec

SHIPPED = Path(__file__).resolve().parents[2] / "policies"

SPAWN_OFFSET = 0.8
"""Forward spawn offset (m): with sim_probe's wall 1.0 m ahead of the tile center, the head starts in the glass."""


def write_fresh_policy(directory: Path, task: str = "NaVILA-Go2-Flat", seed: int = 0, blind: bool = False) -> Path:
    """Export a freshly initialised MLP (small last layer: the robot holds its default pose) with the deploy.yaml of
    the shipped LiDAR (or blind) policy, its task and height map replaced by ``task``'s."""
    from navila_agents.locomotion.runtime import load_cfgs

    shipped = DeploySpec.load(SHIPPED / ("go2_rough_blind" if blind else "go2_rough_lidar"))
    spec = dataclasses.replace(shipped, task=task)
    group = getattr(load_cfgs(task, [])[0].observations, "height_map", None)
    if not blind and group is not None:
        spec = dataclasses.replace(spec, height_map=group.height_map.params["spec"])
    directory.mkdir(parents=True, exist_ok=True)
    spec.save(directory)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(spec.obs_dim, 64), torch.nn.ELU(), torch.nn.Linear(64, 12))
    with torch.no_grad():
        model[-1].weight.mul_(0.01)
        model[-1].bias.zero_()
    torch.jit.script(model).save(str(directory / "policy.pt"))
    return directory


def glass_scene(env_cfg) -> None:
    """Column 0: robot 0 spawned with its head in a glass wall; column 1: robot 1 on open ground."""
    from sim_probe import known_scene

    known_scene(env_cfg)
    generator = env_cfg.scene.terrain.terrain_generator
    generator.sub_terrains = {"glass": generator.sub_terrains["wall"], "flat": generator.sub_terrains["flat"]}
    env_cfg.events.reset_base.params["pose_range"] = {"x": (SPAWN_OFFSET, SPAWN_OFFSET)}


def main(policy_dir: str) -> None:
    from navila_agents.locomotion.evaluation import EvalSet, evaluate
    from navila_agents.locomotion.policy import resolve_policy

    eval_set = EvalSet(terrains=["all"], speeds=(0.0,), num_envs=2, steps=10, seeds=(0,), device="cpu")
    (result,) = evaluate([resolve_policy(policy_dir, None)], eval_set, edit_cfg=glass_scene)
    print(json.dumps(result["terrains"]))


if __name__ == "__main__":
    main(*sys.argv[1:])

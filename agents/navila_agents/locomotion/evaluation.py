"""Locomotion evaluation: a policy on a fixed-seed set of terrains and commanded speeds (the simulator side).

The evaluation set is the task's play configuration (no noise, no randomization, no pushes) with three edits made
by :func:`make_eval_cfg`: the terrain grid keeps one curriculum column per selected sub-terrain, every env keeps one
forward speed of the set for the whole run (:class:`~navila_lab.mdp.commands.FixedVelocityCommand`), and a recorder
term (:class:`~navila_lab.mdp.recorders.EvalMetricsRecorder`) accumulates :mod:`navila_lab.mdp.locomotion_metrics`
after each step, before resets clear the sensors. Three contact sensors filter the robot's contacts by partner shape:
the ground, the obstacle boxes and the glass panes (the collision rate counts non-foot contacts with the last two).
Every seed of the set is a separate run (terrain layout, spawns, noise); the report gives the mean over seeds and
their spread.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import gymnasium as gym
import torch
from isaaclab.sensors import ContactSensorCfg
from isaaclab.utils import replace
from navila_lab.mdp.commands import FixedVelocityCommandCfg
from navila_lab.mdp.locomotion_metrics import SPEED_BINS
from navila_lab.mdp.recorders import (
    GLASS_SENSOR,
    OBSTACLE_SENSOR,
    RECORDER_NAME,
    TERRAIN_SENSOR,
    EvalMetricsRecorder,
    EvalMetricsRecorderCfg,
    EvalRecorderManagerCfg,
)
from navila_lab.progress import progress
from navila_lab.provenance import git_commit
from navila_lab.terrains.config import EXTRA_TERRAINS, sub_terrain_of_column
from navila_lab.terrains.walls import GLASS, OBSTACLES, wall_kinds

from navila_agents.locomotion import runtime
from navila_agents.locomotion.eval_report import combine_seeds, summarize, terrain_group
from navila_agents.locomotion.policy import PolicySource, load_policy

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnvCfg

FORMAT_VERSION = 1
"""Version of the results file layout."""
ENVS_PER_CELL = {"cpu": 2, "cuda": 16}
"""Default envs per (terrain column, commanded speed) pair."""
LAYOUTS = {"cpu": 1, "cuda": 4}
"""Default terrain columns per terrain type: layouts drawn per difficulty row and seed (all robots of a column and row
share one layout, so one column holds only as many layouts as rows)."""


def metrics_recorder(env: gym.Env) -> EvalMetricsRecorder:
    """Return the metrics recorder of an env built from an eval cfg."""
    return env.unwrapped.recorder_manager._terms[RECORDER_NAME]  # the manager has no public term getter


##
# Evaluation set
##


@dataclass
class EvalSet:
    """What every evaluated policy is run on; equal sets give equal terrains, spawns and commands."""

    terrains: list[str]
    """Terrain types (keys of :data:`~navila_agents.locomotion.eval_report.TERRAIN_GROUPS`), or ``["all"]``."""
    speeds: tuple[float, ...] = SPEED_BINS
    yaw_rate: float = 0.0
    """Commanded yaw rate (rad/s) of every env."""
    num_envs: int | None = None
    """None: :data:`ENVS_PER_CELL` per (terrain column, speed)."""
    layouts: int | None = None
    """Terrain columns per terrain type; None: :data:`LAYOUTS` of the device."""
    steps: int | None = None
    """Policy steps; None: run ``episodes`` episodes per env."""
    episodes: int = 1
    seeds: tuple[int, ...] = (0,)
    """One run per seed (terrain layout, spawns, noise); the report gives their mean and spread."""
    device: str = "auto"
    overrides: tuple[str, ...] = ()
    """Hydra overrides of the env cfg (applied before the eval edits)."""
    governor: bool = False
    """Cap every command with the robot-side height-map governor (:mod:`navila_lab.barrier`; LiDAR tasks only)."""


def fix_velocity_command(env_cfg: ManagerBasedRLEnvCfg, speeds: Sequence[float], yaw_rate: float = 0.0) -> None:
    """Replace the task's velocity command: each env keeps one of ``speeds`` forward and ``yaw_rate`` all episode."""
    previous = env_cfg.commands.base_velocity
    env_cfg.commands.base_velocity = FixedVelocityCommandCfg(
        asset_name=previous.asset_name,
        resampling_time_range=(env_cfg.episode_length_s, env_cfg.episode_length_s),
        ranges=replace(previous.ranges, heading=None),
        heading_command=False,
        debug_vis=False,
        speeds=tuple(speeds),
        yaw_rate=yaw_rate,
    )


def spawn_still(env_cfg: ManagerBasedRLEnvCfg) -> None:
    """Robots start on the first row at their tile's center, heading +x, at rest, in the default joint pose."""
    env_cfg.scene.terrain.max_init_terrain_level = 0
    env_cfg.events.reset_base.params = {"pose_range": {}, "velocity_range": {}}
    env_cfg.events.reset_robot_joints.params["position_range"] = (1.0, 1.0)


def end_on_time_out_only(env_cfg: ManagerBasedRLEnvCfg) -> None:
    """No pushes and no termination but the time-out: a probe follows every robot, contacts included, to the end."""
    env_cfg.events.push_robot = None
    for name in list(vars(env_cfg.terminations)):
        if name != "time_out":
            setattr(env_cfg.terminations, name, None)


def make_eval_cfg(
    env_cfg: ManagerBasedRLEnvCfg, eval_set: EvalSet, seed: int, max_episodes: int | None, layouts: int = 1
) -> list[str]:
    """Edit a play env cfg into the evaluation set's run of ``seed``; returns the sub-terrain of each terrain column.

    Each sub-terrain gets ``layouts`` columns: Isaac Lab draws every cell's difficulty within its row, so the columns of
    one type hold distinct layouts. "all" is the task's own sub-terrains; a task with walls can also be put on the
    :data:`~navila_lab.terrains.config.EXTRA_TERRAINS` it did not train on, by name.
    """
    generator = env_cfg.scene.terrain.terrain_generator
    tiles = dict(generator.sub_terrains)
    if any(wall_kinds(sub) for sub in tiles.values()):
        tiles |= {name: sub for name, sub in EXTRA_TERRAINS.items() if name not in tiles}
    own = list(dict.fromkeys(terrain_group(name) for name in generator.sub_terrains))
    available = list(dict.fromkeys(terrain_group(name) for name in tiles))
    wanted = own if "all" in eval_set.terrains else eval_set.terrains
    missing = [terrain for terrain in wanted if terrain not in available]
    if missing:
        raise runtime.UserError(f"this task has no '{missing[0]}' terrain (it has: {', '.join(available)})")
    generator.sub_terrains = {
        name: replace(sub, proportion=1.0) for name, sub in tiles.items() if terrain_group(name) in wanted
    }
    kinds = {kind for sub in generator.sub_terrains.values() for kind in wall_kinds(sub)}
    generator.num_cols = len(generator.sub_terrains) * layouts
    generator.curriculum = True  # one sub-terrain per column, rows of increasing difficulty
    generator.seed = seed
    fix_velocity_command(env_cfg, eval_set.speeds, eval_set.yaw_rate)
    terrain_prim = env_cfg.scene.terrain.prim_path
    contacts = ContactSensorCfg(
        prim_path="{ENV_REGEX_NS}/Robot/.*", history_length=env_cfg.decimation, update_period=env_cfg.sim.dt
    )
    partners = {
        TERRAIN_SENSOR: f"{terrain_prim}/terrain/.*",
        OBSTACLE_SENSOR: f"{terrain_prim}/{OBSTACLES}/.*" if OBSTACLES in kinds else None,
        GLASS_SENSOR: f"{terrain_prim}/{GLASS}/.*" if GLASS in kinds else None,
    }
    for name, shapes in partners.items():
        if shapes is not None:
            setattr(env_cfg.scene, name, replace(contacts, filter_shape_prim_expr=[shapes]))
    if partners[OBSTACLE_SENSOR] is None and partners[GLASS_SENSOR] is None:
        env_cfg.drop_wall_contacts()
    env_cfg.recorders = EvalRecorderManagerCfg(eval_metrics=EvalMetricsRecorderCfg(max_episodes=max_episodes))
    return sub_terrain_of_column(generator)


##
# Run
##


def roll_out(env: gym.Env, policy: Callable, steps: int, label: str) -> EvalMetricsRecorder:
    """Step the wrapped ``env`` with ``policy`` for up to ``steps`` steps (less once every env's episodes are done)."""
    recorder = metrics_recorder(env)
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in progress(range(steps), desc=label, unit="step"):
            obs, _, _, _ = env.step(policy(obs))
            if recorder.finished:
                break
    return recorder


def evaluate_seed(
    source: PolicySource, eval_set: EvalSet, seed: int, edit_cfg: Callable[[object], None] | None = None
) -> dict:
    """Run one policy on the evaluation set's run of ``seed``: its summary per terrain type and speed, env count."""
    env_cfg, agent_cfg = runtime.load_cfgs(source.task, list(eval_set.overrides), play=True)
    if edit_cfg is not None:
        edit_cfg(env_cfg)
    if eval_set.governor:
        if not hasattr(env_cfg, "govern_commands"):
            raise runtime.UserError(f"--governor reads the LiDAR height map, which task {source.task} does not have")
        env_cfg.govern_commands()
    max_episodes = None if eval_set.steps is not None else eval_set.episodes
    device = runtime.resolve_device(eval_set.device)
    kind = device.split(":")[0]
    layouts = eval_set.layouts or LAYOUTS[kind]
    columns = make_eval_cfg(env_cfg, eval_set, seed, max_episodes, layouts)
    num_envs = eval_set.num_envs or len(columns) * len(eval_set.speeds) * ENVS_PER_CELL[kind]
    runtime.configure(env_cfg, agent_cfg, argparse.Namespace(device=device, num_envs=num_envs, seed=seed))
    with runtime.open_env(source.task, env_cfg) as env:
        wrapped, policy = load_policy(source, env, agent_cfg)
        unwrapped = env.unwrapped
        steps = eval_set.steps or eval_set.episodes * int(unwrapped.max_episode_length)
        recorder = roll_out(wrapped, policy, steps, f"{source.name} seed {seed}")
        terrain_of_env = [terrain_group(columns[column]) for column in unwrapped.scene.terrain.terrain_types.tolist()]
        speed_of_env = unwrapped.command_manager.get_term("base_velocity").fixed_command[:, 0]
        return {
            "num_envs": unwrapped.num_envs,
            "num_levels": env_cfg.scene.terrain.terrain_generator.num_rows,
            "layouts": layouts,
            "terrains": summarize(recorder.totals, terrain_of_env, speed_of_env),
        }


PARALLEL_RUNS = {"cpu": 1, "cuda": 6}
"""Default runs (policy × seed) at once: one run of ~2000 envs leaves most of a GPU idle; CPU cores are scarce."""


def evaluate(
    sources: list[PolicySource],
    eval_set: EvalSet,
    edit_cfg: Callable[[object], None] | None = None,
    jobs: int | None = None,
) -> list[dict]:
    """Run every policy on every seed of the evaluation set; per policy its per-seed summaries, their mean and spread.

    Each (policy, seed) run is a fresh process (``jobs`` of them at once, default :data:`PARALLEL_RUNS` of the
    device), so that no state of one run's env reaches the next (a ray-cast mesh cache did: see
    :class:`~navila_lab.sensors.lidar_sensor.MaskedRayCaster`).
    ``terrains`` holds the mean over seeds (counts summed), ``spread`` the sample standard deviation across seeds
    (None for one seed), ``per_seed`` each run's summary. ``edit_cfg`` edits the task's play env cfg before the
    evaluation edits (e.g. a hand-made terrain).
    """
    pairs = [(source, seed) for source in sources for seed in eval_set.seeds]
    workers = min(len(pairs), jobs or PARALLEL_RUNS[runtime.resolve_device(eval_set.device).split(":")[0]])
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1) as pool:
        futures = [pool.submit(evaluate_seed, source, eval_set, seed, edit_cfg) for source, seed in pairs]
        runs = [future.result() for future in futures]
    count = len(eval_set.seeds)
    return [policy_result(source, eval_set, runs[i * count : (i + 1) * count]) for i, source in enumerate(sources)]


def policy_result(source: PolicySource, eval_set: EvalSet, runs: list[dict]) -> dict:
    """One policy's entry of the results file from its runs (one per seed)."""
    mean, spread = combine_seeds([run["terrains"] for run in runs])
    return {
        "name": source.name,
        "policy": source.path,
        "kind": "checkpoint" if source.checkpoint else "exported",
        "checkpoint": source.checkpoint,
        "task": source.task,
        "num_envs": runs[0]["num_envs"],
        "num_levels": runs[0]["num_levels"],
        "layouts": runs[0]["layouts"],
        "seeds": list(eval_set.seeds),
        "terrains": mean,
        "spread": spread,
        "per_seed": [run["terrains"] for run in runs],
    }


def report(results: list[dict], eval_set: EvalSet) -> dict:
    """Build the results file: format version, evaluation set, date, commit, device, one entry per policy."""
    device = runtime.resolve_device(eval_set.device)
    cpu = f"cpu ({os.cpu_count()} × {platform.machine()})"
    return {
        "format_version": FORMAT_VERSION,
        "eval_set": asdict(eval_set),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "device": torch.cuda.get_device_name(device) if device.startswith("cuda") else cpu,
        "policies": results,
    }

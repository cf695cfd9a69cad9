"""The VLN task (``NaVILA-Go2-VLN``) built for a run: its command-line arguments and its env cfg.

``navila vln``, ``navila vla-data``, ``navila vla-dagger`` and the VLA benchmark build the task through
:func:`vln_env_cfg`: the scenes of their episodes, one env per episode at most, cameras of the VLA's size, the height
map of the locomotion policy it hosts and, optionally, the robot-side governor on its commands.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from navila_lab.errors import UserError

if TYPE_CHECKING:
    import gymnasium as gym
    from isaaclab.envs import ManagerBasedRLEnvCfg
    from navila_tasks.vln.layout import SceneSource

    from navila_agents.locomotion.policy import PolicySource

VLN_TASK = "NaVILA-Go2-VLN"


def add_env_args(parser: argparse.ArgumentParser, num_envs: int) -> None:
    """Arguments of the commands that roll out VLN episodes."""
    from navila_agents.locomotion import runtime

    runtime.add_common_args(parser, task_default=VLN_TASK)
    parser.set_defaults(num_envs=num_envs)
    parser.add_argument("--camera-size", type=int, default=96, help="camera width and height (pixels)")
    parser.add_argument("--max-steps", type=int, default=2500, help="policy steps after which an episode ends")


def vln_env_cfg(
    args: argparse.Namespace,
    scene_ids: Sequence[str],
    num_episodes: int,
    governed: bool = False,
    policy: PolicySource | None = None,
    source: SceneSource | None = None,
) -> ManagerBasedRLEnvCfg:
    """The VLN task's env cfg with these scenes, ``args.camera_size`` cameras and at most one env per episode.

    ``governed``: the locomotion policy's commands are capped by the robot-side height-map governor. ``policy``: the
    locomotion policy it will host (its height map is built). ``source``: where the scenes come from (default: the
    generated scenes).
    """
    from navila_agents.locomotion import runtime
    from navila_agents.locomotion.policy import host_height_map

    if args.camera_size <= 0:
        raise UserError(f"--camera-size must be positive, got {args.camera_size}")
    env_cfg, agent_cfg = runtime.load_cfgs(args.task, args.overrides)
    runtime.configure(env_cfg, agent_cfg, args)
    host_height_map(policy, env_cfg)
    if governed:
        env_cfg.govern_commands()
    env_cfg.scene.num_envs = min(env_cfg.scene.num_envs, num_episodes)
    spawn = env_cfg.scene.vln_scenes.spawn
    spawn.scene_ids = list(dict.fromkeys(scene_ids))
    if source is not None:
        spawn.scenes_dir, spawn.glass_pattern, spawn.floor_heights = (
            source.scenes_dir,
            source.glass_pattern,
            source.floor_heights,
        )
    env_cfg.scene.camera.width = env_cfg.scene.camera.height = args.camera_size
    return env_cfg


@contextlib.contextmanager
def open_vln_env(
    args: argparse.Namespace,
    scene_ids: Sequence[str],
    num_episodes: int,
    governed: bool = False,
    policy: PolicySource | None = None,
) -> Iterator[gym.Env]:
    """The VLN task of :func:`vln_env_cfg`, closed on exit."""
    from navila_agents.locomotion import runtime

    env_cfg = vln_env_cfg(args, scene_ids, num_episodes, governed, policy)
    with runtime.open_env(args.task, env_cfg) as env:
        yield env

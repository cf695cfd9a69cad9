"""Terrain curriculum that measures progress along free paths, and the terrain-level curve per sub-terrain type.

Isaac Lab's ``terrain_levels_vel`` (after Rudin et al., "Learning to Walk in Minutes Using Massively Parallel Deep
Reinforcement Learning", CoRL 2021) demotes a robot that walked less than half of ``‖command‖ · episode length``: on
obstacle and glass tiles that is every robot that stopped, as it should, in front of a wall, so the curriculum drifts
to the easy rows. Here progress is measured along the safe target
(:class:`~navila_lab.mdp.safety.track_safe_lin_vel_xy_exp`) against the distance it allowed, so stopping at a wall and
walking an arc under a yaw-rate command both count as following the command; falls and collisions demote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from isaaclab.managers import CurriculumTermCfg, ManagerTermBase

from navila_lab.terrains.config import sub_terrain_of_column

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv


def terrain_levels_free_path(
    env: ManagerBasedRLEnv,
    env_ids: Sequence[int],
    tracking_term: str = "track_safe_lin_vel_xy_exp",
) -> torch.Tensor:
    """Mean terrain level after moving the reset robots by their progress along the free path.

    Up when their progress along the safe target of ``tracking_term`` exceeds half a tile; down when they fell or
    progressed less than half the distance that target allowed since their reset.
    """
    terrain = env.scene.terrain
    tracker = env.reward_manager.get_term_cfg(tracking_term).func
    progress, allowed = tracker.progress[env_ids], tracker.allowed_distance[env_ids]
    move_up = progress > 0.5 * terrain.cfg.terrain_generator.size[0]
    move_down = ((progress < 0.5 * allowed) | env.termination_manager.terminated[env_ids]) & ~move_up
    terrain.update_env_origins(env_ids, move_up, move_down)
    return torch.mean(terrain.terrain_levels.float())


class terrain_levels_by_type(ManagerTermBase):
    """Mean terrain level of the robots on each sub-terrain type (logging only: it moves no robot).

    Logged by the curriculum manager as ``Curriculum/<term name>/<sub-terrain>``, next to the overall curve.
    """

    def __init__(self, cfg: CurriculumTermCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        names = sub_terrain_of_column(env.scene.terrain.cfg.terrain_generator)
        self.types = list(dict.fromkeys(names))
        """Sub-terrain names in column order."""
        self.type_of_column = torch.tensor([self.types.index(name) for name in names], device=env.device)

    def __call__(self, env: ManagerBasedRLEnv, env_ids: Sequence[int]) -> dict[str, torch.Tensor]:
        """Mean level per sub-terrain type, over all robots (one-hot sums: no host sync)."""
        terrain = env.scene.terrain
        one_hot = torch.nn.functional.one_hot(self.type_of_column[terrain.terrain_types], len(self.types)).float()
        means = (terrain.terrain_levels.float() @ one_hot) / one_hot.sum(dim=0)
        return dict(zip(self.types, means.unbind(), strict=True))

"""Geodesic distance to each env's goal, looked up for every env at once on the simulator's device.

Each env's table comes from :meth:`~navila_tasks.vln.navgrid.NavGrid.goal_field` when its episode starts; the per-step
lookup is a gather, with no Python loop over envs and no host round trip, so it costs the same for 2 or 512 envs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from navila_tasks.vln.navgrid import NavGrid


class GoalDistances:
    """Per env: the goal-distance table of its episode's grid, shifted to where the scene lies in the world."""

    def __init__(self, num_envs: int, device: str | torch.device = "cpu") -> None:
        """Create empty tables; :meth:`set_goals` fills them."""
        self.device = torch.device(device)
        self._origin = torch.zeros(num_envs, 2, device=self.device)
        self._resolution = torch.ones(num_envs, device=self.device)
        self._shape = torch.ones(num_envs, 2, dtype=torch.long, device=self.device)
        self._distance = torch.full((num_envs, 1), torch.inf, device=self.device)
        self._center = torch.zeros(num_envs, 1, 2, device=self.device)

    def set_goals(
        self, env_ids: Sequence[int], grids: Sequence[NavGrid], goals: Sequence[np.ndarray], offsets: np.ndarray
    ) -> None:
        """Give these envs their goals.

        Args:
            env_ids: Envs starting an episode.
            grids: Their scenes' grids (scene frame).
            goals: Their goals (x, y) in the scene frame.
            offsets: (M, 2) world (x, y) of each scene's origin.
        """
        for env_id, grid, goal, offset in zip(env_ids, grids, goals, offsets, strict=True):
            distance, center = grid.goal_field(np.asarray(goal, dtype=float)[:2])
            cells = distance.size
            if cells > self._distance.shape[1]:
                self._grow(cells)
            self._distance[env_id, :cells] = torch.as_tensor(distance.reshape(-1), device=self.device)
            self._center[env_id, :cells] = torch.as_tensor((center + offset).reshape(-1, 2), device=self.device)
            self._origin[env_id] = torch.as_tensor(np.asarray(grid.origin) + offset, device=self.device)
            self._resolution[env_id] = grid.resolution
            self._shape[env_id] = torch.as_tensor(grid.free.shape, device=self.device)

    def _grow(self, cells: int) -> None:
        pad = cells - self._distance.shape[1]
        self._distance = torch.nn.functional.pad(self._distance, (0, pad), value=torch.inf)
        self._center = torch.nn.functional.pad(self._center, (0, 0, 0, pad))

    def __call__(self, xy: torch.Tensor) -> torch.Tensor:
        """(N,) geodesic distance (m) from world points (N, 2), one per env, to the env's goal."""
        cell = torch.floor((xy - self._origin) / self._resolution[:, None]).long()
        cell = torch.minimum(cell.clamp(min=0), self._shape.flip(-1) - 1)
        index = (cell[:, 1] * self._shape[:, 1] + cell[:, 0])[:, None]
        center = torch.gather(self._center, 1, index[..., None].expand(-1, -1, 2))[:, 0]
        return torch.gather(self._distance, 1, index)[:, 0] + (xy - center).norm(dim=-1)

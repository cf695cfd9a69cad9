"""Terrain curriculum state in checkpoints: saved per robot, restored only where it fits the terrain."""

from types import SimpleNamespace

import torch
from navila_agents.locomotion.ppo_runner import restore_terrain_state, terrain_state


def grid_terrain(levels: list[int], types: list[int], rows: int = 4, cols: int = 3) -> SimpleNamespace:
    """A terrain of ``rows`` x ``cols`` tiles whose tile (r, c) has its origin at (r, c, 0)."""
    grid = torch.stack(torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij"), dim=-1).float()
    origins = torch.cat([grid, torch.zeros(rows, cols, 1)], dim=-1)
    levels, types = torch.tensor(levels), torch.tensor(types)
    return SimpleNamespace(
        terrain_levels=levels, terrain_types=types, terrain_origins=origins, env_origins=origins[levels, types].clone()
    )


def test_state_round_trips_and_keeps_spawn_origins_until_the_next_reset():
    saved = terrain_state(grid_terrain([3, 2, 1], [0, 1, 2]))
    fresh = grid_terrain([0, 0, 0], [0, 1, 2])
    assert restore_terrain_state(fresh, saved)
    assert fresh.terrain_levels.tolist() == [3, 2, 1]
    # the curriculum measures the distance walked from where the robots spawned, so the origins stay
    assert fresh.env_origins.tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 2.0, 0.0]]


def test_state_that_does_not_fit_is_ignored():
    saved = terrain_state(grid_terrain([3, 2, 1], [0, 1, 2]))
    other_count = grid_terrain([0, 0], [0, 1])
    smaller_grid = grid_terrain([0, 0, 0], [0, 1, 2], rows=2)
    assert not restore_terrain_state(other_count, saved) and other_count.terrain_levels.tolist() == [0, 0]
    assert not restore_terrain_state(smaller_grid, saved) and smaller_grid.terrain_levels.tolist() == [0, 0, 0]
    assert not restore_terrain_state(grid_terrain([0], [0]), None)
    assert terrain_state(SimpleNamespace(terrain_levels=None)) is None

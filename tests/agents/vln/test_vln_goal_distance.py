"""GoalDistances: the per-env table lookup equals NavGrid.distances_to for every env, whatever its scene and tile."""

import numpy as np
import torch
from navila_agents.vln.goal_distance import GoalDistances
from navila_tasks.vln.scenes import SceneCfg, generate_scene


def test_lookup_matches_the_grids():
    """Three envs in two scenes of different sizes on different tiles; points inside, blocked and outside."""
    small, large = generate_scene(1).nav_grid(), generate_scene(2, SceneCfg(size=(14.0, 8.0))).nav_grid()
    grids = [small, large, small]
    goals = [grid.to_world(np.argwhere(grid.free)[index]) for grid, index in zip(grids, (50, 900, 2000), strict=True)]
    offsets = np.array([[0.0, 0.0], [12.0, 0.0], [0.0, 12.0]])
    lookup = GoalDistances(3)
    lookup.set_goals([0, 1, 2], grids, goals, offsets)
    rng = np.random.default_rng(0)
    for _ in range(50):
        local = rng.uniform(-1.0, 15.0, (3, 2))
        got = lookup(torch.as_tensor(local + offsets, dtype=torch.float32)).numpy()
        expected = [
            grid.distances_to(goal, point[None])[0] for grid, goal, point in zip(grids, goals, local, strict=True)
        ]
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_a_new_goal_replaces_the_old_one():
    grid = generate_scene(1).nav_grid()
    free = grid.to_world(np.argwhere(grid.free))
    lookup = GoalDistances(1)
    lookup.set_goals([0], [grid], [free[0]], np.zeros((1, 2)))
    lookup.set_goals([0], [grid], [free[-1]], np.zeros((1, 2)))
    assert lookup(torch.as_tensor(free[-1:], dtype=torch.float32)).item() < 0.1

"""The navila train runner: terrain curriculum state in checkpoints (saved per robot, restored only where it fits the
terrain) and PPO updates that train the critic alone."""

import copy
from types import SimpleNamespace

import torch
from navila_agents.locomotion.ppo_runner import ADAPTIVE_LR_FLOOR, NavilaPPO, restore_terrain_state, terrain_state
from rsl_rl.models import MLPModel
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict


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


def ppo_with_one_rollout(seed: int = 0) -> NavilaPPO:
    """A small NavilaPPO whose storage holds 8 steps of 16 envs with random observations and rewards."""
    torch.manual_seed(seed)
    envs, steps, actions = 16, 8, 3
    obs = TensorDict({"policy": torch.randn(envs, 5)}, batch_size=[envs])
    groups = {"actor": ["policy"], "critic": ["policy"]}
    distribution = {"class_name": "GaussianDistribution", "init_std": 0.3}
    actor = MLPModel(obs, groups, "actor", actions, hidden_dims=[8], distribution_cfg=distribution)
    critic = MLPModel(obs, groups, "critic", 1, hidden_dims=[8])
    storage = RolloutStorage("rl", envs, steps, obs, [actions], "cpu")
    ppo = NavilaPPO(actor, critic, storage, num_learning_epochs=2, num_mini_batches=2)
    for _ in range(steps):
        obs = TensorDict({"policy": torch.randn(envs, 5)}, batch_size=[envs])
        with torch.inference_mode():
            ppo.act(obs)
        ppo.process_env_step(obs, torch.randn(envs), torch.zeros(envs, dtype=torch.bool), {})
    with torch.inference_mode():
        ppo.compute_returns(obs)
    return ppo


def test_critic_only_updates_hold_the_actor_and_train_the_critic():
    ppo = ppo_with_one_rollout()
    ppo.critic_only_updates = 1
    actor, critic = (copy.deepcopy(model.state_dict()) for model in (ppo.actor, ppo.critic))
    ppo.update()
    assert all(torch.equal(value, ppo.actor.state_dict()[name]) for name, value in actor.items()), "actor held"
    assert not torch.equal(critic["mlp.0.weight"], ppo.critic.state_dict()["mlp.0.weight"]), "critic trained"
    assert ppo.critic_only_updates == 0 and all(p.requires_grad for p in ppo.actor.parameters())
    # the actor's first update starts from the adaptive schedule's floor, not the rate the critic learned with
    assert ppo.learning_rate == ADAPTIVE_LR_FLOOR
    assert all(group["lr"] == ADAPTIVE_LR_FLOOR for group in ppo.optimizer.param_groups)
    ppo = ppo_with_one_rollout()  # without critic-only updates left, an update trains the actor too
    before = copy.deepcopy(ppo.actor.state_dict())
    ppo.update()
    assert not torch.equal(before["mlp.0.weight"], ppo.actor.state_dict()["mlp.0.weight"])

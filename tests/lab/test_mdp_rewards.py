"""Reward terms of ours that need no simulator: stand-still penalty semantics."""

from types import SimpleNamespace

import torch
from isaaclab.managers import SceneEntityCfg
from navila_lab.mdp.rewards import stand_still_joint_deviation_l1


def fake_env(command: list[list[float]], joint_offset: float) -> SimpleNamespace:
    """An env of len(command) robots with 12 joints, each ``joint_offset`` away from its default."""
    count = len(command)
    proxy = SimpleNamespace
    data = SimpleNamespace(
        joint_pos=proxy(torch=torch.full((count, 12), 0.3 + joint_offset)),
        default_joint_pos=proxy(torch=torch.full((count, 12), 0.3)),
    )
    return SimpleNamespace(
        command_manager=SimpleNamespace(get_command=lambda name: torch.tensor(command)),
        scene={"robot": SimpleNamespace(data=data)},
    )


def test_stand_still_penalizes_only_a_zero_command():
    """Standing still is penalized for moving joints; walking and turning in place are not."""
    env = fake_env([[0.0, 0.0, 0.0], [0.0, 0.0, 0.5], [0.5, 0.0, 0.0], [0.03, 0.0, 0.02]], joint_offset=0.1)
    penalty = stand_still_joint_deviation_l1(
        env, "base_velocity", asset_cfg=SceneEntityCfg("robot", joint_ids=slice(None))
    )
    assert torch.allclose(penalty, torch.tensor([1.2, 0.0, 0.0, 1.2]))

"""Test doubles and expectations shared by the VLN tests."""

import numpy as np
import torch
from navila_agents.vln.rollout import StepResult
from navila_tasks.vln.teleport import TELEPORT_CLEARANCE, TeleportBase

METRIC_FIELDS = frozenset(
    {
        "distance_to_goal",
        "min_distance_to_goal",
        "path_length",
        "shortest_path_length",
        "success",
        "oracle_success",
        "spl",
        "falls",
        "collisions",
        "glass_contacts",
        "steps",
        "end_reason",
        "answers",
        "path",
        "fall_cause",
    }
)
"""Keys every object of ``episodes.json`` must have."""


class KinematicSim:
    """N bases moving exactly as commanded over the layout's free space (a ``VlnSim`` without physics)."""

    termination_terms = ("base_contact", "hip_contact", "head_contact", "calf_contact", "bad_orientation")

    def __init__(self, layout, num_envs, fall_at=None):
        self.num_envs, self.device, self.step_dt = num_envs, torch.device("cpu"), 0.02
        self.teleport = TeleportBase(layout.free_space(TELEPORT_CLEARANCE))
        self._poses = torch.zeros(num_envs, 3)
        self._next = torch.zeros(num_envs, 3)
        self._requested = torch.zeros(num_envs, dtype=torch.bool)
        self.fall_at = fall_at or {}
        """Simulated step → (env that falls at that step, names of the termination terms that fire)."""
        self.steps = 0
        self.resets = 0

    def reset(self):
        self._poses = self._next.clone()
        self.resets += 1

    def poses(self):
        return self._poses.clone()

    def frames(self, env_ids):
        return np.zeros((len(env_ids), 8, 8, 3), dtype=np.uint8)

    def contacts(self):
        return torch.zeros(self.num_envs, dtype=torch.bool), torch.zeros(self.num_envs, dtype=torch.bool)

    def set_next_starts(self, env_ids, poses):
        self._next[list(env_ids)] = poses

    def request_reset(self, env_ids):
        self._requested[list(env_ids)] = True

    def step(self, commands):
        self.steps += 1
        self._poses = self.teleport.advance(self._poses, commands, self.step_dt)
        terminations = torch.zeros(self.num_envs, len(self.termination_terms), dtype=torch.bool)
        if self.steps in self.fall_at:
            env_id, terms = self.fall_at[self.steps]
            terminations[env_id, [self.termination_terms.index(term) for term in terms]] = True
        reset = terminations.any(dim=1) | self._requested
        self._poses[reset] = self._next[reset]
        self._requested[:] = False
        return StepResult(reset=reset, terminations=terminations)

"""The perfect (teleported) low level without physics: kinematic motion, the VLN task's renderer for the frames.

For data generation and DAgger rollouts, where only the camera frames and the poses matter: every policy step moves
the bases exactly as commanded over the free space (:class:`~navila_tasks.vln.teleport.TeleportBase`), and the
simulator is touched only when frames are asked for: the robots are placed at their poses, the kinematics updated
and the cameras rendered, with no physics step. Nobody falls and contacts are not measured; a base stopped by an
obstacle (e.g. glass it walked into) stays in front of it, as the teleported low level of ``navila vln`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch
from isaaclab.utils.math import quat_from_euler_xyz
from navila_tasks.vln.layout import SceneLayout
from navila_tasks.vln.teleport import TELEPORT_CLEARANCE, TeleportBase

from navila_agents.vln.rollout import StepResult


class RenderSim:
    """A :class:`~navila_agents.vln.rollout.VlnSim` over a built ``NaVILA-Go2-VLN`` env that only renders."""

    termination_terms: tuple[str, ...] = ()

    def __init__(self, env: gym.Env, layout: SceneLayout) -> None:
        """Use ``env``'s robots and cameras; its physics is never stepped."""
        unwrapped = env.unwrapped
        self.env = env
        self.num_envs = unwrapped.num_envs
        self.device = torch.device(unwrapped.device)
        self.step_dt = unwrapped.step_dt
        self._robot = unwrapped.scene["robot"]
        self._camera = unwrapped.scene["camera"]
        self._teleport = TeleportBase(layout.free_space(TELEPORT_CLEARANCE), self.device)
        self._poses = torch.zeros(self.num_envs, 3, device=self.device)
        self._next = torch.zeros(self.num_envs, 3, device=self.device)
        self._requested = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        self._started = False

    def reset(self) -> None:
        """Every env stands at its next start."""
        if not self._started:
            self.env.reset()
            self._started = True
        self._poses = self._next.clone()
        self._requested[:] = False

    def poses(self) -> torch.Tensor:
        """(N, 3) base (x, y, yaw) in the world."""
        return self._poses.clone()

    def frames(self, env_ids: Sequence[int]) -> np.ndarray:
        """(M, H, W, 3) uint8 images of these envs' cameras, every robot placed at its pose first."""
        zeros = torch.zeros(self.num_envs, device=self.device)
        height = self._robot.data.default_root_pose.torch[:, 2:3]
        orientation = quat_from_euler_xyz(zeros, zeros, self._poses[:, 2])
        self._robot.write_root_pose_to_sim_index(root_pose=torch.cat((self._poses[:, :2], height, orientation), -1))
        self.env.unwrapped.sim.forward()
        self._camera.update(0.0, force_recompute=True)
        return self._camera.data.output["rgb"].torch[list(env_ids), ..., :3].cpu().numpy()

    def contacts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """No contacts are measured: (N,) False, twice."""
        none = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        return none, none

    def set_next_starts(self, env_ids: Sequence[int], poses: torch.Tensor) -> None:
        """Where these envs stand (M, 3) after their next reset."""
        self._next[list(env_ids)] = poses.to(self.device, torch.float32)

    def request_reset(self, env_ids: Sequence[int]) -> None:
        """Reset these envs during the next step."""
        self._requested[list(env_ids)] = True

    def step(self, commands: torch.Tensor) -> StepResult:
        """Move every base by its command for one policy step; requested resets jump to the next starts."""
        self._poses = self._teleport.advance(self._poses, commands, self.step_dt)
        reset = self._requested.clone()
        self._poses[reset] = self._next[reset]
        self._requested[:] = False
        return StepResult(reset=reset, terminations=torch.zeros(self.num_envs, 0, dtype=torch.bool, device=self.device))

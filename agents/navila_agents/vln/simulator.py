"""The VLN task as the simulator of the VLN loop (:class:`~navila_agents.vln.rollout.VlnSim`).

The low level is a frozen locomotion policy at 50 Hz (an exported directory from ``navila export`` or an rsl_rl
checkpoint), or perfect teleported execution: each step sets the base pose the velocity command leads to.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch
from isaaclab.utils.math import euler_xyz_from_quat, quat_from_euler_xyz
from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
from navila_lab.sensors.height_map import HeightMapSpec
from navila_tasks.vln.layout import SceneLayout
from navila_tasks.vln.teleport import TELEPORT_CLEARANCE, TeleportBase
from tensordict import TensorDict

from navila_agents.locomotion.policy import Policy, PolicySource, load_policy, runner_cfg_for
from navila_agents.vln.rollout import StepResult

CONTACT_THRESHOLD = 1.0
"""Contact force (N) above which a robot body counts as touching."""


class IsaacVlnSim:
    """A built ``NaVILA-Go2-VLN`` env seen through the :class:`~navila_agents.vln.rollout.VlnSim` protocol."""

    def __init__(self, env: gym.Env, layout: SceneLayout, policy: PolicySource | None) -> None:
        """Drive ``env`` with the locomotion ``policy``, or teleport its robots when it is None.

        The policy is loaded at the first :meth:`reset` (wrapping the env resets it).
        """
        self.env = env
        unwrapped = env.unwrapped
        self.num_envs = unwrapped.num_envs
        self.device = torch.device(unwrapped.device)
        self.step_dt = unwrapped.step_dt
        self._terminations = unwrapped.termination_manager
        self.termination_terms = tuple(
            name for name in self._terminations.active_terms if not self._terminations.get_term_cfg(name).time_out
        )
        self._robot = unwrapped.scene["robot"]
        self._camera = unwrapped.scene["camera"]
        self._glass = unwrapped.scene["glass_contact"]
        self._obstacles = unwrapped.scene["obstacle_contact"]
        self._command = unwrapped.command_manager.get_term("base_velocity")
        self._source = policy
        teleport = policy is None
        self._teleport = TeleportBase(layout.free_space(TELEPORT_CLEARANCE), self.device) if teleport else None
        self._wrapper: RslRlVecEnvWrapper | None = None
        self._policy: Policy | None = None
        self._obs: TensorDict | None = None

    def reset(self) -> None:
        """Reset every env (the first call also loads the policy)."""
        if self._wrapper is None:
            if self._source is None:
                self._wrapper = RslRlVecEnvWrapper(self.env)
            else:
                agent_cfg = runner_cfg_for(self._source, self.env, self.env.unwrapped.device)
                self._wrapper, self._policy = load_policy(self._source, self.env, agent_cfg)
        else:
            self._wrapper.reset()
        self._obs = self._wrapper.get_observations()

    def poses(self) -> torch.Tensor:
        """(N, 3) base (x, y, yaw) in the world."""
        yaw = euler_xyz_from_quat(self._robot.data.root_quat_w.torch)[2]
        return torch.cat((self._robot.data.root_pos_w.torch[:, :2], torch.atan2(yaw.sin(), yaw.cos())[:, None]), -1)

    def frames(self, env_ids: Sequence[int]) -> np.ndarray:
        """(M, H, W, 3) uint8 RGB images of these envs' cameras (rendered on access)."""
        return self._camera.data.output["rgb"].torch[list(env_ids), ..., :3].cpu().numpy()

    def depth(self, env_ids: Sequence[int]) -> np.ndarray:
        """(M, H, W) distance to the image plane (m; 0 where nothing is hit), with the ``-Depth`` task only."""
        return self._camera.data.output["distance_to_image_plane"].torch[list(env_ids), ..., 0].cpu().numpy()

    def height_maps(self, env_ids: Sequence[int]) -> np.ndarray | None:
        """(M, rows, cols) LiDAR height maps of these envs as the policy last read them (m); None without LiDAR."""
        if self._obs is None or "height_map" not in self._obs.keys():
            return None
        maps = self._obs["height_map"][list(env_ids)]
        return maps.reshape(len(env_ids), *HeightMapSpec().shape).cpu().numpy()

    @staticmethod
    def _touching(sensor: object) -> torch.Tensor:
        """(N,) whether any robot body presses on any of the sensor's filter shapes."""
        forces = sensor.data.force_matrix_w.torch
        return forces.norm(dim=-1).flatten(1).amax(dim=1) > CONTACT_THRESHOLD

    def contacts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,) touching a wall, furniture or clutter; (N,) touching glass."""
        return self._touching(self._obstacles), self._touching(self._glass)

    def set_next_starts(self, env_ids: Sequence[int], poses: torch.Tensor) -> None:
        """Where these envs stand after their next reset, (M, 3) world (x, y, yaw)."""
        self._command.next_start[list(env_ids)] = poses.to(self.device, torch.float32)

    def request_reset(self, env_ids: Sequence[int]) -> None:
        """Reset these envs during the next step."""
        self._command.end_requested[list(env_ids)] = True

    def step(self, commands: torch.Tensor) -> StepResult:
        """One policy step: the low level follows the velocity commands (N, 3)."""
        self._command.velocity[:] = commands.to(self.device)
        with torch.inference_mode():
            if self._teleport is None:
                actions = self._policy(self._obs)
            else:
                self._place(self._teleport.advance(self.poses(), commands, self.step_dt))
                actions = torch.zeros(
                    self.num_envs, self.env.unwrapped.action_manager.total_action_dim, device=self.device
                )
            self._obs, _, dones, _ = self._wrapper.step(actions)
        terminations = torch.stack([self._terminations.get_term(name) for name in self.termination_terms], dim=1)
        return StepResult(reset=dones.bool(), terminations=terminations)

    def _place(self, poses: torch.Tensor) -> None:
        """Teleport every base to (x, y, yaw), upright at its current height and at rest."""
        zeros = torch.zeros_like(poses[:, 2])
        position = torch.cat((poses[:, :2], self._robot.data.root_pos_w.torch[:, 2:3]), -1)
        pose = torch.cat((position, quat_from_euler_xyz(zeros, zeros, poses[:, 2])), -1)
        self._robot.write_root_pose_to_sim_index(root_pose=pose)
        self._robot.write_root_velocity_to_sim_index(root_velocity=torch.zeros(self.num_envs, 6, device=self.device))

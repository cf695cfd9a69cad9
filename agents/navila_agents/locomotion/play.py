"""Roll out a policy and draw it: a top-down video of the robots' paths, glass, and robot 0's height map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
import torch
from navila_lab.progress import progress

if TYPE_CHECKING:
    from tensordict import TensorDict


@dataclass
class Rollout:
    """Base poses (steps, envs, 3 = x, y, yaw) and robot 0's height maps of a rollout."""

    poses: list[np.ndarray] = field(default_factory=list)
    height_maps: list[np.ndarray] = field(default_factory=list)


def roll_out(env: gym.Env, policy: Callable[[TensorDict], torch.Tensor], steps: int) -> Rollout:
    """Step ``env`` (an ``RslRlVecEnvWrapper``) with ``policy`` for ``steps`` policy steps, recording poses."""
    from isaaclab.utils.math import euler_xyz_from_quat

    robot = env.unwrapped.scene["robot"]
    rollout = Rollout()
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in progress(range(steps), desc="play", unit="step"):
            obs, _, _, _ = env.step(policy(obs))
            yaw = euler_xyz_from_quat(robot.data.root_quat_w.torch)[2]
            xy = robot.data.root_pos_w.torch[:, :2]
            rollout.poses.append(torch.cat((xy, yaw.unsqueeze(1)), dim=1).cpu().numpy())
            if "height_map" in obs.keys():
                rollout.height_maps.append(obs["height_map"][0].cpu().numpy())
    return rollout


def render_video(
    rollout: Rollout, glass_xy: np.ndarray | None, map_shape: tuple[int, int], path: str, fps: int = 25, stride: int = 2
) -> None:
    """Write an mp4: robots' trails and headings seen from above (glass in cyan), and robot 0's height map."""
    import matplotlib
    from navila_lab.video import mp4_writer

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    poses = np.stack(rollout.poses)
    has_map = bool(rollout.height_maps)
    fig, axes = plt.subplots(1, 2 if has_map else 1, figsize=(10 if has_map else 6, 5), squeeze=False)
    top, margin = axes[0, 0], 1.5
    lo, hi = poses[..., :2].reshape(-1, 2).min(0) - margin, poses[..., :2].reshape(-1, 2).max(0) + margin
    with mp4_writer(path, fps) as writer:
        for t in range(0, len(poses), stride):
            top.clear()
            if glass_xy is not None:
                top.scatter(glass_xy[:, 0], glass_xy[:, 1], s=1, c="c", label="glass")
            for env_id in range(poses.shape[1]):
                top.plot(poses[: t + 1, env_id, 0], poses[: t + 1, env_id, 1], lw=1)
                x, y, yaw = poses[t, env_id]
                top.arrow(x, y, 0.3 * np.cos(yaw), 0.3 * np.sin(yaw), head_width=0.1, color="k")
            top.set(
                xlim=(lo[0], hi[0]),
                ylim=(lo[1], hi[1]),
                aspect="equal",
                title=f"t = {0.02 * t:.2f} s",
                xlabel="x (m)",
                ylabel="y (m)",
            )
            if has_map:
                axes[0, 1].clear()
                axes[0, 1].imshow(rollout.height_maps[t].reshape(map_shape), vmin=0.0, vmax=0.5, cmap="viridis")
                axes[0, 1].set(title="robot 0: LiDAR height map", xlabel="y cell", ylabel="x cell")
            fig.canvas.draw()
            writer.append_data(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    plt.close(fig)

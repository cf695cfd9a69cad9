"""Observation terms of the navila tasks."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import torch
from isaaclab.managers import ManagerTermBase, ObservationTermCfg, SceneEntityCfg
from isaaclab.utils.math import matrix_from_quat, quat_apply, quat_apply_inverse, quat_mul

from navila_lab.barrier import HeightMapGovernor
from navila_lab.sensors.height_map import HeightMapSpec, SweepHistory, bin_sweep

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedEnv


@functools.cache
def _constants(*values: tuple[float, ...], device: torch.device) -> tuple[torch.Tensor, ...]:
    """Each tuple as a (1, len) tensor on ``device``, made once: a copy to the GPU per step would stall the host."""
    return tuple(torch.tensor([value], device=device) for value in values)


def lidar_points(
    env: ManagerBasedEnv, sensor_cfg: SceneEntityCfg, env_ids: torch.Tensor | slice = slice(None)
) -> torch.Tensor:
    """LiDAR hits (N, rays, 3) of ``env_ids`` in the LiDAR frame of the moment they were cast, as the L1 reports them.

    That frame is the sensor's base pose at the cast composed with its mounting offset; misses are ``inf``.
    """
    sensor = env.scene.sensors[sensor_cfg.name]
    base_pos, base_quat = sensor.data.pos_w.torch[env_ids], sensor.data.quat_w.torch[env_ids]
    hits = sensor.data.ray_hits_w.torch[env_ids]
    count, num_rays = hits.shape[:2]
    offset = sensor.cfg.offset
    offset_pos, offset_quat = (
        x.expand(count, -1) for x in _constants(tuple(offset.pos), tuple(offset.rot), device=hits.device)
    )
    lidar_pos = base_pos + quat_apply(base_quat, offset_pos)
    lidar_quat = quat_mul(base_quat, offset_quat)
    relative = (hits - lidar_pos.unsqueeze(1)).reshape(-1, 3)
    return quat_apply_inverse(lidar_quat.repeat_interleave(num_rays, dim=0), relative).view(count, num_rays, 3)


def _window_holds(outer: HeightMapSpec, inner: HeightMapSpec) -> bool:
    """Whether the x-y window of ``outer`` contains that of ``inner``."""
    ranges = ((outer.x_range, inner.x_range), (outer.y_range, inner.y_range))
    return all(out[0] <= into[0] and into[1] <= out[1] for out, into in ranges)


class lidar_height_map(ManagerTermBase):
    """LiDAR height map (N, rows·cols) of the sweeps the robot would have fused.

    Each new sweep is binned by :func:`~navila_lab.sensors.height_map.bin_sweep`, then the maps of the last
    ``spec.num_sweeps`` sweeps are fused as ``spec.fusion`` says (as on the robot).
    """

    def __init__(self, cfg: ObservationTermCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        self.spec: HeightMapSpec = cfg.params.get("spec") or HeightMapSpec()
        self.history = SweepHistory(env.num_envs, self.spec, env.device)
        sensor = env.scene.sensors[cfg.params["sensor_cfg"].name]
        window = getattr(sensor.cfg, "height_map_window", None)
        if window is not None and not _window_holds(window, self.spec):
            raise ValueError(f"the LiDAR's height_map_window {window} cuts rays short of this map's window {self.spec}")
        self.steps_per_sweep = max(1, math.ceil(sensor.cfg.update_period / env.step_dt - 1e-6))
        self._last_step: int | None = None

    def reset(self, env_ids: torch.Tensor | None = None) -> None:
        """Restart the reset environments' history with one sweep from their new pose: no episode starts blind.

        The sensor recasts reset environments when read, so the sweep is of the new pose.
        """
        ids = slice(None) if env_ids is None else env_ids
        points = lidar_points(self._env, self.cfg.params["sensor_cfg"], ids)
        self.history.reset(ids, *bin_sweep(points, self.spec))

    def __call__(
        self,
        env: ManagerBasedEnv,
        sensor_cfg: SceneEntityCfg,
        spec: HeightMapSpec | None = None,
    ) -> torch.Tensor:
        """Bin the sweep that arrived this step (if any) and return the fused maps, flattened row-major."""
        step = env.common_step_counter if hasattr(env, "common_step_counter") else 0
        if self._last_step is None or step - self._last_step >= self.steps_per_sweep:
            self.history.push(*bin_sweep(lidar_points(env, sensor_cfg), self.spec))
            self._last_step = step
        return self.history.value.flatten(1)


class governed_velocity_commands(lidar_height_map):
    """The velocity command capped by a :class:`~navila_lab.barrier.HeightMapGovernor` on the newest LiDAR sweep.

    Replaces ``generated_commands`` in the actor's input to put the robot-side safety filter in front of a policy
    (``navila evaluate --governor``); it keeps its own sweep history, as :class:`lidar_height_map` does.
    """

    def __init__(self, cfg: ObservationTermCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        offset = env.scene.sensors[cfg.params["sensor_cfg"].name].cfg.offset
        rotation = matrix_from_quat(torch.tensor([offset.rot]))[0]
        self.governor = HeightMapGovernor(self.spec, offset.pos, rotation)

    def __call__(
        self,
        env: ManagerBasedEnv,
        sensor_cfg: SceneEntityCfg,
        command_name: str,
        spec: HeightMapSpec | None = None,
    ) -> torch.Tensor:
        """The capped command (N, 3) for the sweep that arrived this step or before."""
        super().__call__(env, sensor_cfg, spec)
        return self.governor(env.command_manager.get_command(command_name)[:, :3], self.history.latest)

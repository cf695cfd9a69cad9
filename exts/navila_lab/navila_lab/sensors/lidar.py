"""The L1-like LiDAR as an Isaac Lab ray-caster sensor (warp raycast against terrain, obstacles and glass)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import field

import torch
from isaaclab.sensors import RayCasterCfg
from isaaclab.sensors.ray_caster.patterns import PatternBaseCfg
from isaaclab.utils import configclass

from navila_lab.assets.go2_constants import LIDAR_POS, LIDAR_QUAT_WXYZ
from navila_lab.sensors.lidar_pattern import L1PatternSpec, l1_ray_directions


def l1_pattern(cfg: L1PatternCfg, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray starts (all at the sensor origin) and directions of the L1 pattern, in the sensor frame."""
    directions = l1_ray_directions(cfg.spec, device)
    return torch.zeros_like(directions), directions


@configclass
class L1PatternCfg(PatternBaseCfg):
    """Ray pattern of the Unitree L1 (see :class:`L1PatternSpec`)."""

    func: Callable = l1_pattern
    spec: L1PatternSpec = field(default_factory=L1PatternSpec)


def _normalized_xyzw(wxyz: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    norm = math.sqrt(sum(c * c for c in wxyz))
    w, x, y, z = (c / norm for c in wxyz)
    return (x, y, z, w)


L1_LIDAR_CFG = RayCasterCfg(
    prim_path="{ENV_REGEX_NS}/Robot/base",
    offset=RayCasterCfg.OffsetCfg(pos=LIDAR_POS, rot=_normalized_xyzw(LIDAR_QUAT_WXYZ)),
    ray_alignment="base",
    pattern_cfg=L1PatternCfg(),
    max_distance=L1PatternSpec().max_distance,
    update_period=L1PatternSpec().update_period,
    mesh_prim_paths=["/World/ground"],
    global_world_only=True,
)
"""L1 mounted inverted and tilted on the Go2 head, sweeping at 15 Hz; offsets are in the base frame."""

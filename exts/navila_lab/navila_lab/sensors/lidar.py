"""The L1-like LiDAR as an Isaac Lab ray-caster sensor, and the masked ray caster it is built on.

Both cast against warp meshes of the terrain, obstacles and glass; the masked caster is also the critic's height
scanner. The cfgs live here; the sensors they name are in :mod:`navila_lab.sensors.lidar_sensor`, kept in its own module
(as Isaac Lab splits ``ray_caster_cfg`` from ``ray_caster``) so that task cfgs import without Newton and warp.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import field

import torch
from isaaclab.sensors import MultiMeshRayCasterCfg
from isaaclab.sensors.ray_caster.patterns import PatternBaseCfg
from isaaclab.utils import configclass

from navila_lab.assets.go2_constants import LIDAR_POS, LIDAR_QUAT_WXYZ
from navila_lab.sensors.height_map import HeightMapSpec
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


@configclass
class MaskedRayCasterCfg(MultiMeshRayCasterCfg):
    """Ray caster over warp meshes of USD prims that casts only the environments being updated.

    After a reset only the reset environments are recast, where Isaac Lab's Newton ray caster recasts all of them.
    """

    class_type: type | str = "{DIR}.lidar_sensor:MaskedRayCaster"


@configclass
class LidarCfg(MaskedRayCasterCfg):
    """Masked ray-caster LiDAR.

    With :attr:`height_map_window` set, each ray is also cut short where its point can no longer fall in the window:
    hits and misses inside the window are those of an unbounded cast, a first hit beyond the cut reads as a miss.
    """

    class_type: type | str = "{DIR}.lidar_sensor:Lidar"
    height_map_window: HeightMapSpec | None = None
    """Window (its ``x_range`` and ``y_range``, in the sensor frame) that the only consumer of the hits keeps, or None
    for full-length rays. Needs rays from the sensor origin aligned with the base and no x-y ray-cast drift."""

    window_margin: float = 0.01
    """Relative slack on each ray's window bound, far above the rounding between the cast and the framing of hits."""


def _normalized_xyzw(wxyz: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    norm = math.sqrt(sum(c * c for c in wxyz))
    w, x, y, z = (c / norm for c in wxyz)
    return (x, y, z, w)


L1_LIDAR_CFG = LidarCfg(
    prim_path="{ENV_REGEX_NS}/Robot/base",
    offset=LidarCfg.OffsetCfg(pos=LIDAR_POS, rot=_normalized_xyzw(LIDAR_QUAT_WXYZ)),
    ray_alignment="base",
    pattern_cfg=L1PatternCfg(),
    max_distance=L1PatternSpec().max_distance,
    update_period=L1PatternSpec().update_period,
    mesh_prim_paths=["/World/ground"],
    height_map_window=HeightMapSpec(),
)
"""L1 mounted inverted and tilted on the Go2 head, sweeping at 15 Hz; offsets are in the base frame.

It casts against every mesh under ``/World/ground`` (terrain and glass in training, the scenes in VLN) and only as far
as the reference height map reads; the height-map term checks that its window lies inside the sensor's.
"""

"""Ray pattern of a Unitree L1-like LiDAR, shared by the Isaac Lab sensor and the MuJoCo sim2sim robot."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class L1PatternSpec:
    """Scan pattern in the sensor frame: channels spread in elevation, a full turn in azimuth."""

    channels: int = 32
    """Number of elevation channels."""
    elevation_range: tuple[float, float] = (0.0, 90.0)
    """Elevation (deg) of the first and last channel above the sensor's x-y plane."""
    azimuth_step: float = 4.0
    """Azimuth increment (deg) over −180..180."""
    max_distance: float = 10.0
    """Rays longer than this (m) report no hit."""
    update_period: float = 1.0 / 15.0
    """Time (s) between sweeps; the real L1 sweeps at about 15 Hz."""

    @property
    def num_rays(self) -> int:
        """Rays per sweep (2,880 for the defaults)."""
        return self.channels * round(360.0 / self.azimuth_step)


def l1_ray_directions(spec: L1PatternSpec, device: torch.device | str = "cpu") -> torch.Tensor:
    """Unit ray directions in the sensor frame, shape (num_rays, 3), channel-major."""
    elevation = torch.deg2rad(torch.linspace(*spec.elevation_range, spec.channels, device=device))
    num_azimuth = round(360.0 / spec.azimuth_step)
    azimuth = torch.deg2rad(-180.0 + spec.azimuth_step * torch.arange(num_azimuth, device=device))
    elevation, azimuth = torch.meshgrid(elevation, azimuth, indexing="ij")
    directions = torch.stack(
        (elevation.cos() * azimuth.cos(), elevation.cos() * azimuth.sin(), elevation.sin()), dim=-1
    ).reshape(-1, 3)
    return directions / directions.norm(dim=-1, keepdim=True).clamp_min(math.ulp(1.0))

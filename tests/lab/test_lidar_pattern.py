"""The L1 ray pattern shared by the Isaac Lab sensor and the MuJoCo sim2sim robot."""

import torch
from isaaclab.sensors.ray_caster.patterns import LidarPatternCfg, lidar_pattern
from navila_lab.sensors.lidar_pattern import L1PatternSpec, l1_ray_directions


class TestL1Pattern:
    def test_reference_ray_count(self):
        """32 channels × 90 azimuth steps of 4° = 2,880 unit rays in the upper hemisphere of the sensor frame."""
        directions = l1_ray_directions(L1PatternSpec())
        assert directions.shape == (2880, 3)
        assert torch.allclose(directions.norm(dim=-1), torch.ones(2880), atol=1e-6)
        assert (directions[:, 2] >= -1e-6).all()

    def test_matches_isaac_labs_lidar_pattern(self):
        """Our pattern equals Isaac Lab's LidarPatternCfg with the L1 parameters (same rays, same order)."""
        cfg = LidarPatternCfg(
            channels=32, vertical_fov_range=(0.0, 90.0), horizontal_fov_range=(-180.0, 180.0), horizontal_res=4.0
        )
        _, reference = lidar_pattern(cfg, "cpu")
        assert torch.allclose(l1_ray_directions(L1PatternSpec()), reference, atol=1e-5)

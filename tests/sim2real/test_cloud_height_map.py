import numpy as np
import torch
from navila_lab.assets.go2_constants import LIDAR_POS, LIDAR_QUAT_WXYZ
from navila_lab.sensors.height_map import HeightMapSpec, height_map_from_points
from navila_sim2real.cloud_height_map import CloudHeightMap
from navila_sim2real.geometry import quat_to_matrix


def ground_and_box_in_base() -> np.ndarray:
    """Points of a floor 0.32 m below the base and a 0.2 m box in front, in the base frame."""
    xs, ys = np.meshgrid(np.linspace(-0.5, 1.5, 60), np.linspace(-1.0, 1.0, 60))
    floor = np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, -0.32)], axis=-1)
    box = floor[(floor[:, 0] > 0.6) & (floor[:, 0] < 0.9) & (np.abs(floor[:, 1]) < 0.3)] + [0.0, 0.0, 0.2]
    return np.concatenate([floor, box])


class TestCloudHeightMap:
    def test_frames_agree(self):
        """The same points given in the base frame or in the L1 frame give the same map, via the extrinsics."""
        spec = HeightMapSpec(num_sweeps=1)
        base_points = ground_and_box_in_base()
        rot = quat_to_matrix(np.asarray(LIDAR_QUAT_WXYZ))
        lidar_points = (base_points - np.asarray(LIDAR_POS)) @ rot
        from_base = CloudHeightMap(spec, list(LIDAR_POS), list(LIDAR_QUAT_WXYZ))
        from_lidar = CloudHeightMap(spec, list(LIDAR_POS), list(LIDAR_QUAT_WXYZ))
        assert from_base.update(base_points, "base", 1.0) and from_lidar.update(lidar_points, "utlidar_lidar", 2.0)
        (map_a, stamp_a), (map_b, stamp_b) = from_base.latest(), from_lidar.latest()
        assert (stamp_a, stamp_b) == (1.0, 2.0)
        assert len(np.unique(np.round(map_a, 3))) > 3
        assert np.allclose(map_a, map_b, atol=1e-5)
        expected = height_map_from_points(torch.tensor(lidar_points, dtype=torch.float32)[None], spec)[0]
        assert np.allclose(map_b, expected.numpy(), atol=1e-5)

    def test_unknown_frame_rejected(self):
        """A cloud in an unknown frame does not update the map (its stamp stays)."""
        hm = CloudHeightMap(HeightMapSpec(), list(LIDAR_POS), list(LIDAR_QUAT_WXYZ))
        assert not hm.update(np.zeros((10, 3)), "odom", 1.0)
        assert hm.latest() == (None, None) and hm.rejected == 1

    def test_sweeps_fused_by_max(self):
        """Partial sweeps accumulate: the map is the max over the last num_sweeps sweeps."""
        spec = HeightMapSpec(num_sweeps=2, pool_size=1)
        hm = CloudHeightMap(spec, [0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0])
        xs, ys = np.meshgrid(np.arange(-0.79, 0.2, 0.03), np.arange(-0.79, 0.8, 0.03))
        floor = np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, 0.1)], axis=-1)
        bump = floor + np.where(floor[:, :1] > 0.0, [0.0, 0.0, 0.2], [0.0, 0.0, -0.04])
        hm.update(floor, "utlidar_lidar", 1.0)
        hm.update(bump, "utlidar_lidar", 2.0)
        fused = hm.latest()[0]
        assert np.any(np.isclose(fused, 0.1)) and np.any(np.isclose(fused, 0.3))
        hm.update(bump, "utlidar_lidar", 3.0)
        assert not np.any(np.isclose(hm.latest()[0], 0.1))

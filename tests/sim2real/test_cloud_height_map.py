import numpy as np
import pytest
import torch
from navila_lab.assets.go2_constants import LIDAR_POS, LIDAR_QUAT_WXYZ
from navila_lab.sensors.height_map import HeightMapSpec, height_map_from_points
from navila_sim2real.cloud_height_map import LIDAR_FRAME_ID, CloudHeightMap
from navila_sim2real.geometry import quat_to_matrix
from navila_sim2real.safety import Fault


def ground_and_box_in_base() -> np.ndarray:
    """Points of a floor 0.32 m below the base and a 0.2 m box in front, in the base frame."""
    xs, ys = np.meshgrid(np.linspace(-0.5, 1.5, 60), np.linspace(-1.0, 1.0, 60))
    floor = np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, -0.32)], axis=-1)
    box = floor[(floor[:, 0] > 0.6) & (floor[:, 0] < 0.9) & (np.abs(floor[:, 1]) < 0.3)] + [0.0, 0.0, 0.2]
    return np.concatenate([floor, box])


def in_lidar_frame(base_points: np.ndarray) -> np.ndarray:
    return (base_points - np.asarray(LIDAR_POS)) @ quat_to_matrix(np.asarray(LIDAR_QUAT_WXYZ))


def lidar_floor(depth: float) -> np.ndarray:
    """A floor ``depth`` below the sensor across the default map window, in the (upright) LiDAR frame."""
    xs, ys = np.meshgrid(np.arange(-0.79, 0.2, 0.03), np.arange(-0.79, 0.8, 0.03))
    return np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, depth)], axis=-1)


def go2_map(spec: HeightMapSpec | None = None) -> CloudHeightMap:
    return CloudHeightMap(spec or HeightMapSpec(), list(LIDAR_POS), list(LIDAR_QUAT_WXYZ))


class TestCloudHeightMap:
    def test_frames_agree(self):
        """The same points given in the base frame or in the L1 frame give the same map, via the extrinsics."""
        spec = HeightMapSpec(num_sweeps=1)
        base_points = ground_and_box_in_base()
        lidar_points = in_lidar_frame(base_points)
        from_base, from_lidar = go2_map(spec), go2_map(spec)
        assert from_base.update(base_points, "base", 1.0) is None
        assert from_lidar.update(lidar_points, LIDAR_FRAME_ID, 2.0) is None
        (map_a, stamp_a, *_), (map_b, stamp_b, *_) = from_base.latest(), from_lidar.latest()
        assert (stamp_a, stamp_b) == (1.0, 2.0)
        assert len(np.unique(np.round(map_a, 3))) > 3
        assert np.allclose(map_a, map_b, atol=1e-5)
        expected = height_map_from_points(torch.tensor(lidar_points, dtype=torch.float32)[None], spec)[0]
        assert np.allclose(map_b, expected.numpy(), atol=1e-5)

    def test_sweeps_fused_by_max(self):
        """Partial sweeps accumulate: the map is the max over the last num_sweeps sweeps; the newest sweep's map is
        kept beside it."""
        spec = HeightMapSpec(num_sweeps=2, pool_size=1)
        hm = CloudHeightMap(spec, [0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0])
        floor = lidar_floor(0.1)
        bump = floor + np.where(floor[:, :1] > 0.0, [0.0, 0.0, 0.2], [0.0, 0.0, -0.04])
        hm.update(floor, LIDAR_FRAME_ID, 1.0)
        hm.update(bump, LIDAR_FRAME_ID, 2.0)
        fused, newest = hm.latest().map, hm.latest().sweep
        assert np.any(np.isclose(fused, 0.1)) and np.any(np.isclose(fused, 0.3))
        assert not np.any(np.isclose(newest, 0.1)) and np.any(np.isclose(newest, 0.06))
        hm.update(bump, LIDAR_FRAME_ID, 3.0)
        assert not np.any(np.isclose(hm.latest().map, 0.1))

    def test_newest_fusion_keeps_the_newest_sweep_where_it_has_hits(self):
        """With ``fusion: newest`` a cell the newest sweep hits reads that sweep, one it misses reads an older one."""
        spec = HeightMapSpec(num_sweeps=2, pool_size=1, fusion="newest")
        hm = CloudHeightMap(spec, [0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0])
        deep = lidar_floor(0.4)
        tall_half = deep[deep[:, 0] > -0.3] - [0.0, 0.0, 0.38]  # 0.02 below the sensor: tall, reads 0
        hm.update(deep, LIDAR_FRAME_ID, 1.0)
        hm.update(tall_half, LIDAR_FRAME_ID, 2.0)
        fused = hm.latest().map
        rows = np.arange(spec.shape[0]) * spec.resolution + spec.x_range[0]
        assert np.all(fused[rows > -0.27] == 0.0), "the newest sweep's tall surface wins over the older floor"
        assert np.allclose(fused[rows < -0.36], 0.4), "cells the newest sweep missed keep the older floor"


class TestDegeneratePerception:
    def test_unknown_frame(self):
        """A cloud in an unknown frame is a fault and leaves the map (and its stamp) as it was."""
        hm = go2_map()
        hm.update(ground_and_box_in_base(), "base", 1.0)
        before = hm.latest()
        assert hm.update(ground_and_box_in_base(), "odom", 2.0) is Fault.LIDAR_FRAME
        after = hm.latest()
        assert after.fault is Fault.LIDAR_FRAME and after.stamp == 1.0 and np.array_equal(after.map, before.map)

    @pytest.mark.parametrize("count", [0, 10])
    def test_too_few_ground_hits(self, count):
        """A sweep with fewer points than min_ground_hits in the map's window is a fault, even if the map is full."""
        hm = go2_map()
        hm.update(ground_and_box_in_base(), "base", 1.0)
        assert hm.ground_hits >= hm.min_ground_hits
        points = ground_and_box_in_base()
        x, y = hm.to_lidar_frame(points, "base")[:, :2].T
        window = (x > -0.8) & (x < 0.2) & (np.abs(y) < 0.8)
        sparse = np.concatenate([points[window][:count], points[~window]])
        assert hm.update(sparse, "base", 2.0) is Fault.LIDAR_TOO_FEW_HITS
        assert hm.latest().map.any() and hm.latest().fault is Fault.LIDAR_TOO_FEW_HITS

    def test_map_all_empty(self):
        """Points in the window that leave every cell empty (all below z_clip) make an empty map: a fault."""
        flat = in_lidar_frame(ground_and_box_in_base()) * [1.0, 1.0, 0.0]
        assert go2_map().update(flat, LIDAR_FRAME_ID, 1.0) is Fault.HEIGHT_MAP_EMPTY

    def test_nan_in_the_sweep(self):
        """NaN coordinates in a sweep are a fault; the map is left as it was."""
        hm = go2_map()
        points = ground_and_box_in_base()
        points[::7, 2] = np.nan
        assert hm.update(points, "base", 1.0) is Fault.HEIGHT_MAP_NON_FINITE
        assert hm.latest().map is None

    def test_fault_clears_with_a_good_sweep(self):
        """The fault is that of the latest sweep: a good sweep after a bad one clears it."""
        hm = go2_map()
        hm.update(np.zeros((0, 3)), "base", 1.0)
        assert hm.latest().fault is Fault.LIDAR_TOO_FEW_HITS
        assert hm.update(ground_and_box_in_base(), "base", 2.0) is None and hm.latest().fault is None

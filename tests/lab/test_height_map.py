"""The shared LiDAR → height-map function on hand-built clouds with known answers."""

from dataclasses import replace

import torch
from navila_lab.sensors.height_map import (
    HeightMapSpec,
    SweepHistory,
    bin_sweep,
    height_map_from_points,
    window_exit_distance,
)
from navila_lab.sensors.lidar_pattern import L1PatternSpec, l1_ray_directions

SPEC = HeightMapSpec()


def cell_center(row: int, col: int) -> tuple[float, float]:
    return (SPEC.x_range[0] + (row + 0.5) * SPEC.resolution, SPEC.y_range[0] + (col + 0.5) * SPEC.resolution)


def ground_cloud(depth: float, spacing: float = 0.02) -> torch.Tensor:
    """A dense flat cloud ``depth`` below the sensor (z points down in the inverted L1 frame)."""
    xs = torch.arange(SPEC.x_range[0], SPEC.x_range[1], spacing)
    ys = torch.arange(SPEC.y_range[0], SPEC.y_range[1], spacing)
    x, y = torch.meshgrid(xs, ys, indexing="ij")
    return torch.stack((x.flatten(), y.flatten(), torch.full_like(x.flatten(), depth)), dim=-1)


def wall_cloud(x: float) -> torch.Tensor:
    """Floor 0.3 m below the sensor up to a vertical wall across the map at ``x``, which hides the floor beyond."""
    floor = ground_cloud(0.3)
    wall_y = torch.arange(SPEC.y_range[0], SPEC.y_range[1], 0.02)
    wall_z = torch.arange(0.0, 0.3, 0.02)
    y, z = torch.meshgrid(wall_y, wall_z, indexing="ij")
    wall = torch.stack((torch.full_like(y.flatten(), x), y.flatten(), z.flatten()), dim=-1)
    return torch.cat((floor[floor[:, 0] > x], wall), 0).unsqueeze(0)


class TestHeightMap:
    def test_shape_is_17_by_27(self):
        """The reference grid (0.06 m over 1.0 × 1.6 m) has 17 rows and 27 columns."""
        assert SPEC.shape == (17, 27)
        assert height_map_from_points(torch.zeros(2, 5, 3), SPEC).shape == (2, 17, 27)

    def test_empty_space_is_zero(self):
        """No points (or only invalid and non-finite ones) give an all-zero map."""
        points = torch.full((1, 10, 3), float("inf"))
        points[0, :5] = torch.tensor([-0.3, 0.0, 0.3])
        valid = torch.zeros(1, 10, dtype=torch.bool)
        assert torch.count_nonzero(height_map_from_points(points, SPEC, valid)) == 0

    def test_flat_ground_reads_its_depth(self):
        """A flat floor 0.3 m below the sensor fills every cell with 0.3."""
        hmap = height_map_from_points(ground_cloud(0.3).unsqueeze(0), SPEC)
        assert torch.allclose(hmap, torch.full_like(hmap, 0.3))

    def test_step_keeps_the_minimum_depth_per_cell(self):
        """A 0.1 m step on half the map shows 0.2 there and 0.3 elsewhere, apart from the max-pool's one-cell rim."""
        cloud = ground_cloud(0.3)
        raised = cloud[:, 0] < cell_center(8, 0)[0] - 0.03
        cloud[raised, 2] = 0.2
        # the floor below the step is seen too (min z wins within a cell)
        hmap = height_map_from_points(torch.cat((cloud, ground_cloud(0.3)), 0).unsqueeze(0), SPEC)[0]
        assert torch.allclose(hmap[:7], torch.full_like(hmap[:7], 0.2))
        assert torch.allclose(hmap[9:], torch.full_like(hmap[9:], 0.3))

    def test_values_are_clipped_and_near_points_dropped(self):
        """Depths beyond 0.5 are clipped to 0.5; cells whose minimum is below 0.05 become 0."""
        deep = height_map_from_points(ground_cloud(0.9).unsqueeze(0), SPEC)
        assert torch.allclose(deep, torch.full_like(deep, 0.5))
        near = height_map_from_points(ground_cloud(0.01).unsqueeze(0), SPEC)
        assert torch.count_nonzero(near) == 0

    def test_wall_and_glass_shadow_the_cells_behind_them(self):
        """A vertical wall (glass reads like any surface) at x = −0.5 hides the floor beyond it: those cells are 0."""
        hmap = height_map_from_points(wall_cloud(-0.5), SPEC)[0]
        wall_row = int((-0.5 - SPEC.x_range[0]) / SPEC.resolution)
        assert torch.count_nonzero(hmap[: wall_row - 1]) == 0, "cells behind the wall must read empty"
        assert torch.allclose(hmap[wall_row + 2 :], torch.full_like(hmap[wall_row + 2 :], 0.3))

    def test_max_pool_fills_a_single_missing_cell(self):
        """A lone empty cell in a floor (sparse rings of the real L1) is filled by the 3 × 3 max-pool."""
        cloud = ground_cloud(0.3)
        x0, y0 = cell_center(8, 13)
        hole = ((cloud[:, 0] - x0).abs() < 0.03) & ((cloud[:, 1] - y0).abs() < 0.03)
        hmap = height_map_from_points(cloud[~hole].unsqueeze(0), SPEC)[0]
        assert hmap[8, 13] == torch.tensor(0.3)

    def test_gaps_pool_keeps_a_pane_one_cell_thick_that_the_max_pool_erases(self):
        """A 0.02 m pane across the map with floor hits on both sides (rays past its ends): the reference pool shows
        every cell's lowest neighbour, the floor; pooling only the empty cells keeps the pane's row (tall: 0)."""
        row = 8
        x = cell_center(row, 0)[0]
        wall_y = torch.arange(SPEC.y_range[0], SPEC.y_range[1], 0.02)
        y, z = torch.meshgrid(wall_y, torch.arange(0.0, 0.3, 0.02), indexing="ij")
        pane = torch.stack((torch.full_like(y.flatten(), x), y.flatten(), z.flatten()), dim=-1)
        cloud = torch.cat((ground_cloud(0.3), pane)).unsqueeze(0)
        reference = height_map_from_points(cloud, SPEC)[0]
        gaps = height_map_from_points(cloud, replace(SPEC, pool="gaps"))[0]
        assert torch.allclose(reference[row], torch.full_like(reference[row], 0.3))
        assert torch.count_nonzero(gaps[row]) == 0
        assert torch.allclose(gaps[row + 1], torch.full_like(gaps[row + 1], 0.3))

    def test_gaps_pool_still_fills_a_single_missing_cell(self):
        """Pooling only the empty cells still fills a lone hole in a floor."""
        cloud = ground_cloud(0.3)
        x0, y0 = cell_center(8, 13)
        hole = ((cloud[:, 0] - x0).abs() < 0.03) & ((cloud[:, 1] - y0).abs() < 0.03)
        assert height_map_from_points(cloud[~hole].unsqueeze(0), replace(SPEC, pool="gaps"))[0, 8, 13] == 0.3

    def test_open_pool_keeps_a_thin_walls_shadow_that_the_gaps_pool_fills(self):
        """A 0.06 m wall met end-on 0.4 m ahead (x < 0, y 0–0.06): the LiDAR sees its end face, not its body in the
        face's shadow. Behind it the gaps pool shows floor (hits from beside the wall, and the pool filling from
        them); the open pool reads the cells whose centers lie in the shadow as unseen."""
        floor = ground_cloud(0.3)
        in_shadow = (floor[:, 0] < -0.4) & (floor[:, 1] >= 0.0) & (floor[:, 1] < 0.06 * floor[:, 0] / -0.4)
        face_y, face_z = torch.meshgrid(torch.arange(0.0, 0.06, 0.01), torch.arange(0.0, 0.3, 0.02), indexing="ij")
        face = torch.stack((torch.full_like(face_y.flatten(), -0.4), face_y.flatten(), face_z.flatten()), dim=-1)
        cloud = torch.cat((floor[~in_shadow], face)).unsqueeze(0)
        gaps = height_map_from_points(cloud, replace(SPEC, pool="gaps"))[0]
        opened = height_map_from_points(cloud, replace(SPEC, pool="open"))[0]
        behind = (slice(0, 4), slice(13, 15))  # 0.59–0.77 m ahead, centers y 0.01 and 0.07
        assert torch.all(gaps[behind] == 0.3), "the gaps pool shows floor behind the end face"
        assert torch.all(opened[behind] == 0.0), "the open pool keeps the shadow unseen"
        assert torch.equal(opened[:, :12], gaps[:, :12]) and torch.equal(opened[8:], gaps[8:]), "elsewhere alike"

    def test_open_pool_fills_a_lone_hole_like_the_gaps_pool(self):
        """Without a tall return the open pool is the gaps pool: a lone hole in a floor is filled."""
        cloud = ground_cloud(0.3)
        x0, y0 = cell_center(8, 13)
        hole = ((cloud[:, 0] - x0).abs() < 0.03) & ((cloud[:, 1] - y0).abs() < 0.03)
        assert height_map_from_points(cloud[~hole].unsqueeze(0), replace(SPEC, pool="open"))[0, 8, 13] == 0.3

    def test_batch_entries_are_independent(self):
        """Each batch entry is binned on its own."""
        points = torch.stack((ground_cloud(0.3), ground_cloud(0.4)))
        hmap = height_map_from_points(points, SPEC)
        assert torch.allclose(hmap[0], torch.full_like(hmap[0], 0.3))
        assert torch.allclose(hmap[1], torch.full_like(hmap[1], 0.4))


def first_wall_row(hmap: torch.Tensor) -> int:
    """Row nearest the sensor (highest x) of the map's middle column that reads 0, i.e. wall or shadow."""
    return int(torch.nonzero(hmap[:, SPEC.shape[1] // 2] == 0).max())


class TestSweepHistory:
    def test_fuses_the_last_sweeps_by_max(self):
        """The fused value is the element-wise max of the last ``num_sweeps`` maps; older ones drop out."""
        history = SweepHistory(1, SPEC)
        history.push(torch.full((1, 17, 27), 0.4))
        for _ in range(SPEC.num_sweeps - 1):
            history.push(torch.full((1, 17, 27), 0.1))
        assert torch.allclose(history.value, torch.full((1, 17, 27), 0.4))
        history.push(torch.full((1, 17, 27), 0.1))
        assert torch.allclose(history.value, torch.full((1, 17, 27), 0.1))

    def test_reset_forgets_only_selected_entries(self):
        """Resetting entry 0 zeroes its history and leaves entry 1 untouched."""
        history = SweepHistory(2, SPEC)
        history.push(torch.full((2, 17, 27), 0.3))
        history.reset(torch.tensor([0]))
        assert torch.count_nonzero(history.value[0]) == 0
        assert torch.allclose(history.value[1], torch.full((17, 27), 0.3))

    def test_reset_with_maps_restarts_from_that_sweep(self):
        """A reset with maps leaves exactly those maps for the entries; older sweeps no longer count."""
        history = SweepHistory(3, SPEC)
        history.push(torch.full((3, 17, 27), 0.4))
        history.push(torch.full((3, 17, 27), 0.2))
        history.reset(torch.tensor([0, 2]), torch.full((2, 17, 27), 0.1))
        assert torch.allclose(history.value[[0, 2]], torch.full((2, 17, 27), 0.1))
        assert torch.allclose(history.value[1], torch.full((17, 27), 0.4))
        history.push(torch.full((3, 17, 27), 0.3))
        assert torch.allclose(history.value[0], torch.full((17, 27), 0.3))

    def test_coverage_tells_a_tall_surface_from_a_gap(self):
        """Both read 0, but only cells whose pooling window holds a point, of any height, are covered."""
        hmap, covered = bin_sweep(wall_cloud(-0.5), SPEC)
        row = first_wall_row(hmap[0])
        assert (hmap[0, row] == 0).all() and covered[0, row].all()
        assert not covered[0, : row - 1].any(), "the shadow beyond the wall's own row is a gap"

    def test_max_fusion_shows_a_wall_where_the_oldest_sweep_saw_it(self):
        """Walking at a wall, the reference's max keeps the floor older sweeps saw where the newest sees the wall."""
        history = SweepHistory(1, SPEC)
        for x in (-0.74, -0.68, -0.62, -0.56, -0.5):  # the wall comes 0.06 m nearer every sweep
            history.push(*bin_sweep(wall_cloud(x), SPEC))
        newest = first_wall_row(history.latest[0])
        assert first_wall_row(history.value[0]) == newest - 4

    def test_newest_fusion_shows_a_wall_where_the_newest_sweep_sees_it(self):
        """Each cell reads the newest sweep covering it: the wall is where the newest sweep sees it."""
        history = SweepHistory(1, replace(SPEC, fusion="newest"))
        for x in (-0.74, -0.68, -0.62, -0.56, -0.5):
            history.push(*bin_sweep(wall_cloud(x), SPEC))
        assert first_wall_row(history.value[0]) == first_wall_row(history.latest[0])
        assert torch.allclose(history.value[0, -5:], torch.full((5, 27), 0.3)), "floor in front from the newest"

    def test_newest_fusion_fills_gaps_from_older_sweeps(self):
        """Cells the newest sweep does not cover keep the newest older value that does; never covered reads 0."""
        history = SweepHistory(1, replace(SPEC, fusion="newest"))
        history.push(torch.full((1, 17, 27), 0.4), torch.ones(1, 17, 27, dtype=torch.bool))
        left = torch.zeros(1, 17, 27, dtype=torch.bool)
        left[..., :10] = True
        history.push(torch.full((1, 17, 27), 0.2), left)
        assert torch.allclose(history.value[0, :, :10], torch.full((17, 10), 0.2))
        assert torch.allclose(history.value[0, :, 10:], torch.full((17, 17), 0.4))
        history.reset(torch.tensor([0]), torch.full((1, 17, 27), 0.3), left)
        assert torch.count_nonzero(history.value[0, :, 10:]) == 0

    def test_spec_round_trips_through_plain_data(self):
        """The spec written to deploy.yaml reads back equal."""
        assert HeightMapSpec.from_dict(SPEC.to_dict()) == SPEC


class TestWindowExitDistance:
    def test_points_inside_the_window_are_within_the_bound(self):
        """For random points in the window (any z), the distance from the origin is at most their ray's bound."""
        generator = torch.Generator().manual_seed(0)
        low = torch.tensor((SPEC.x_range[0], SPEC.y_range[0], -1.0))
        high = torch.tensor((SPEC.x_range[1], SPEC.y_range[1], 1.0))
        points = low + (high - low) * torch.rand(10_000, 3, generator=generator)
        distance = points.norm(dim=-1)
        bound = window_exit_distance(points / distance.unsqueeze(-1), SPEC)
        assert (distance <= bound * (1 + 1e-6)).all()

    def test_points_just_beyond_the_bound_leave_the_window(self):
        """The bound is tight: 0.1 % further along any ray of the L1 pattern, x or y is outside the window."""
        directions = l1_ray_directions(L1PatternSpec())
        bound = window_exit_distance(directions, SPEC)
        finite = torch.isfinite(bound)
        points = (bound[finite] * 1.001).unsqueeze(-1) * directions[finite]
        x, y = points[:, 0], points[:, 1]
        inside = (x >= SPEC.x_range[0]) & (x <= SPEC.x_range[1]) & (y >= SPEC.y_range[0]) & (y <= SPEC.y_range[1])
        assert not inside.any()
        assert torch.equal(directions[~finite, :2], torch.zeros(int((~finite).sum()), 2))

    def test_axis_rays_get_the_boundary_distance(self):
        """Rays projecting onto ±x or ±y reach the window's edge after L / cos(elevation); vertical rays never leave."""
        elevation = torch.deg2rad(torch.tensor([0.0, 30.0, 60.0]))
        cos, sin = elevation.cos(), elevation.sin()
        zero = torch.zeros_like(cos)
        for planar, edge in (
            ((1, 0), SPEC.x_range[1]),
            ((-1, 0), -SPEC.x_range[0]),
            ((0, 1), SPEC.y_range[1]),
            ((0, -1), -SPEC.y_range[0]),
        ):
            directions = torch.stack((planar[0] * cos + zero, planar[1] * cos + zero, sin), dim=-1)
            assert torch.allclose(window_exit_distance(directions, SPEC), edge / cos)
        assert window_exit_distance(torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]), SPEC).isinf().all()

    def test_windows_off_the_origin(self):
        """A ray parallel to a slab that misses the origin never enters the window: its bound is 0."""
        spec = HeightMapSpec(x_range=(0.1, 0.5))
        bound = window_exit_distance(torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), spec)
        assert torch.equal(bound, torch.tensor([0.5, 0.0, 0.0]))

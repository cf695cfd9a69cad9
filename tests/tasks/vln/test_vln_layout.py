"""Scenes side by side: tile offsets, the stitched free-space grid, and the perfect low level moving over it."""

import math

import numpy as np
import pytest
import torch
from navila_tasks.vln.layout import SceneLayout
from navila_tasks.vln.teleport import FRONT_REACH, TeleportBase


@pytest.fixture(scope="module")
def layout():
    return SceneLayout.from_ids(["procedural_00001", "procedural_00002", "procedural_00001", "procedural_00003"])


class TestSceneLayout:
    def test_tiles_are_distinct_and_do_not_overlap(self, layout):
        """Duplicate ids are built once; tiles are at least scene size + gap apart."""
        assert [scene.scene_id for scene in layout.scenes] == [
            "procedural_00001",
            "procedural_00002",
            "procedural_00003",
        ]
        size = np.asarray(layout.scenes[0].cfg.size)
        for i in range(3):
            for j in range(i + 1, 3):
                assert np.any(np.abs(layout.offsets[i] - layout.offsets[j]) >= size + 2.0 - 1e-9)

    def test_world_grid_matches_each_scene_grid(self, layout):
        """With the robot radius as clearance, a world point is free exactly where its scene's own grid says so."""
        rng = np.random.default_rng(0)
        free = layout.free_space(layout.scenes[0].cfg.robot_radius)
        for scene in layout.scenes:
            local = rng.uniform(0.0, 10.0, size=(500, 2))
            expected = layout.nav_grids[scene.scene_id].is_free(local)
            assert np.array_equal(free.is_free(local + layout.offset(scene.scene_id)), expected)

    def test_smaller_clearance_frees_more(self, layout):
        """Less clearance leaves every free cell free and frees cells next to obstacles."""
        tight, wide = layout.free_space(0.15).free, layout.free_space(0.3).free
        assert np.all(tight[wide]) and tight.sum() > wide.sum()

    def test_unknown_scene_is_an_error(self):
        """External scene ids cannot be regenerated."""
        with pytest.raises(ValueError, match="not a procedural scene"):
            SceneLayout.from_ids(["17DRP5sb8fy"])


class TestTeleportBase:
    def test_moves_exactly_in_free_space(self, layout):
        """Commands integrate exactly (0.5 m/s for 1 s = 0.5 m; π/6 rad/s turns 30° in 1 s)."""
        base = TeleportBase(layout.free_space(0.3))
        grid = layout.nav_grids["procedural_00001"]
        start = grid.to_world(np.argwhere(grid.free)[len(np.argwhere(grid.free)) // 2]) + layout.offsets[0]
        poses = torch.tensor([[*start, 0.0], [*start, 0.0]], dtype=torch.float32)
        commands = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.0, math.pi / 6]])
        for _ in range(50):
            poses = base.advance(poses, commands, 0.02)
        moved = poses[0, :2] - torch.as_tensor(start, dtype=torch.float32)
        assert bool(base.is_free(poses[:1, :2])[0]) and (moved.norm() <= 0.5 + 1e-4)
        assert poses[1, 2] == pytest.approx(math.pi / 6, abs=1e-5)
        assert torch.allclose(poses[1, :2], torch.as_tensor(start, dtype=torch.float32))

    def test_never_enters_blocked_cells(self, layout):
        """Driving straight at 1 m/s for 30 s from anywhere free never ends on a blocked cell."""
        grid = layout.free_space(0.2)
        base = TeleportBase(grid)
        free = np.argwhere(grid.free)
        rng = np.random.default_rng(1)
        starts = grid.to_world(free[rng.choice(len(free), 64)])
        poses = torch.tensor(np.c_[starts, rng.uniform(-math.pi, math.pi, 64)], dtype=torch.float32)
        commands = torch.tensor([[1.0, 0.0, 0.0]]).expand(64, 3)
        for _ in range(1500):
            poses = base.advance(poses, commands, 0.02)
            assert bool(base.is_free(poses[:, :2]).all())

    def test_head_and_camera_stay_out_of_walls(self, layout):
        """Walking at 1 m/s while turning from anywhere free never puts any point between the base center and the
        body's front inside an obstacle: the camera does not see from inside a wall or past a pane."""
        grid = layout.free_space(0.2)
        base, solid = TeleportBase(grid), TeleportBase(layout.free_space(0.0))
        free = np.argwhere(grid.free)
        rng = np.random.default_rng(2)
        starts = grid.to_world(free[rng.choice(len(free), 256)])
        poses = torch.tensor(np.c_[starts, rng.uniform(-math.pi, math.pi, 256)], dtype=torch.float32)
        poses = poses[base.front_clearance(poses) >= base.front_margin][:64]  # starts facing no nearby wall
        commands = torch.tensor([[1.0, 0.0, 0.3]]).expand(len(poses), 3)
        reach = torch.linspace(0.0, FRONT_REACH, 8)
        for _ in range(1000):
            poses = base.advance(poses, commands, 0.02)
            heading = torch.stack((poses[:, 2].cos(), poses[:, 2].sin()), -1)
            body = poses[:, None, :2] + reach[None, :, None] * heading[:, None]
            assert bool(solid.is_free(body.reshape(-1, 2)).all())

    def test_clearance_is_the_distance_to_the_nearest_obstacle(self, layout):
        """Zero on obstacle cells; a cell free with clearance r lies at least about r from every obstacle."""
        blocked, grid = layout.free_space(0.0), layout.free_space(0.3)
        assert np.all(blocked.clearance[~blocked.free] == 0.0)
        assert np.all(grid.clearance[grid.free] >= 0.3 - grid.resolution)

    def test_slides_along_a_wall(self, layout):
        """Heading diagonally into free space bounded by a wall keeps moving along the wall instead of stopping."""
        grid = layout.free_space(0.3)
        base = TeleportBase(grid)
        row, col = next((r, c) for r, c in np.argwhere(grid.free) if not grid.free[r - 1, c] and grid.free[r, c + 5])
        start = grid.to_world((row, col))
        poses = torch.tensor([[*start, -math.pi / 4]], dtype=torch.float32)  # down-right: into the wall below
        for _ in range(20):
            poses = base.advance(poses, torch.tensor([[0.5, 0.0, 0.0]]), 0.02)
        assert poses[0, 0] > start[0] + 0.1, "slides right along the wall"
        assert poses[0, 1] == pytest.approx(start[1], abs=0.1)


class TestNearestFree:
    def test_snaps_blocked_points_only(self, layout):
        """Free points stay put; a point next to an obstacle moves to the nearest free cell center, close by."""
        grid = layout.nav_grids["procedural_00001"]
        free_point = grid.to_world(np.argwhere(grid.free)[0])
        blocked = grid.to_world(next((r, c) for r, c in np.argwhere(~grid.free[:, :-1]) if grid.free[r, c + 1]))
        snapped = grid.nearest_free(np.array([free_point, blocked]))
        assert np.allclose(snapped[0], free_point)
        assert grid.is_free(snapped[1]) and np.linalg.norm(snapped[1] - blocked) == pytest.approx(grid.resolution)

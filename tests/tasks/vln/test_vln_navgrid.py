import math

import numpy as np
import pytest
from navila_tasks.vln.navgrid import NavGrid, path_length

BOUNDS = (0.0, 0.0, 5.0, 5.0)
WALL_WITH_GAP = [(2.4, 0.0, 2.6, 3.5)]  # a wall at x = 2.5 from y = 0 to 3.5; pass above it


def true_detour(radius: float = 0.3) -> float:
    """Exact shortest path (1, 1) → (4, 1) around the wall inflated by ``radius``: tangents, arcs and the flat top."""
    to_corner = np.hypot(2.4 - 1.0, 3.5 - 1.0)
    tangent = math.sqrt(to_corner**2 - radius**2)
    tangent_point_angle = math.atan2(1.0 - 3.5, 1.0 - 2.4) + 2 * math.pi - math.acos(radius / to_corner)
    arc = tangent_point_angle - math.pi / 2  # from the tangent point over to the top of the corner's circle
    return 2 * (tangent + radius * arc) + 0.2


class TestNavGrid:
    def test_rasterizes_and_inflates(self):
        """Cells within the robot radius of an obstacle or of the bounds are blocked; the rest is free."""
        grid = NavGrid.from_footprints(WALL_WITH_GAP, BOUNDS, resolution=0.1, robot_radius=0.3)
        assert grid.free.shape == (50, 50)
        assert not grid.is_free([2.5, 1.0]) and not grid.is_free([2.25, 1.0]) and grid.is_free([2.0, 1.0])
        assert not grid.is_free([0.2, 2.0]) and grid.is_free([0.45, 2.0])
        assert not grid.is_free([-1.0, 2.0])  # outside

    def test_cell_world_round_trip(self):
        """A cell center maps back to the same cell."""
        grid = NavGrid.from_footprints([], BOUNDS, resolution=0.1, robot_radius=0.0)
        cells = np.array([[0, 0], [3, 7], [49, 12]])
        assert np.array_equal(grid.to_cell(grid.to_world(cells)), cells)

    def test_geodesic_goes_around_walls(self):
        """Geodesic distance around a wall exceeds the straight line and matches the detour's length."""
        grid = NavGrid.from_footprints(WALL_WITH_GAP, BOUNDS, resolution=0.05, robot_radius=0.3)
        start, goal = np.array([1.0, 1.0]), np.array([4.0, 1.0])
        distance = grid.geodesic_distances(goal)[tuple(grid.to_cell(start))]
        assert true_detour() - 0.1 < distance < true_detour() * 1.04  # 16-connected: within ~3%

    def test_shortest_path_is_free_short_and_exact_at_ends(self):
        """The path starts and ends exactly at the requested points, stays free, and is nearly as short as possible."""
        grid = NavGrid.from_footprints(WALL_WITH_GAP, BOUNDS, resolution=0.05, robot_radius=0.3)
        start, goal = np.array([1.0, 1.0]), np.array([4.0, 1.0])
        path = grid.shortest_path(start, goal)
        assert np.allclose(path[0], start) and np.allclose(path[-1], goal)
        assert all(grid.line_is_free(a, b) for a, b in zip(path[:-1], path[1:], strict=True))
        assert path_length(path) < true_detour() * 1.02 and len(path) <= 6

    def test_distances_to_many_points(self):
        """Batched distances match the geodesic map on free cells and add the offset for points off them."""
        grid = NavGrid.from_footprints(WALL_WITH_GAP, BOUNDS, resolution=0.05, robot_radius=0.3)
        goal = [4.0, 1.0]
        free_point, near_wall, outside = [1.0, 1.0], [2.2, 1.0], [6.0, 1.0]
        distances = grid.distances_to(goal, np.array([free_point, near_wall, outside]))
        field = grid.geodesic_distances(goal)
        assert distances[0] == pytest.approx(field[tuple(grid.to_cell(free_point))] + np.hypot(0.025, 0.025))
        nearest_free = [2.075, 1.025]  # cells whose centers lie within 0.3 m of the wall (x >= 2.1) are blocked
        assert distances[1] == pytest.approx(field[tuple(grid.to_cell(nearest_free))] + np.hypot(0.125, 0.025))
        assert distances[2] == pytest.approx(2.0, abs=0.1)  # clipped to the grid edge, then straight to the goal

    def test_straight_line_when_visible(self):
        """With nothing in the way the path is the straight segment."""
        grid = NavGrid.from_footprints([], BOUNDS, resolution=0.1, robot_radius=0.3)
        path = grid.shortest_path([1.0, 1.0], [4.0, 4.0])
        assert len(path) == 2 and path_length(path) == pytest.approx(3 * math.sqrt(2))

    def test_unreachable_and_blocked_ends_are_errors(self):
        """A goal behind a closed wall, or a start inside an obstacle, raises ValueError."""
        grid = NavGrid.from_footprints([(2.4, 0.0, 2.6, 5.0)], BOUNDS, resolution=0.1, robot_radius=0.3)
        assert np.isinf(grid.geodesic_distances([4.0, 1.0])[tuple(grid.to_cell([1.0, 1.0]))])
        with pytest.raises(ValueError, match="unreachable"):
            grid.shortest_path([1.0, 1.0], [4.0, 1.0])
        with pytest.raises(ValueError, match="not on a free cell"):
            grid.shortest_path([2.5, 1.0], [4.0, 1.0])


class TestBatchedQueries:
    @pytest.fixture(scope="class")
    def grid(self):
        from navila_tasks.vln.scenes import generate_scene

        return generate_scene(3).nav_grid()

    def test_lines_are_free_samples_like_linspace(self, grid):
        """The batched segment check agrees with sampling each segment by np.linspace, axis-aligned ones included."""
        rng = np.random.default_rng(0)
        for trial in range(300):
            start = np.round(rng.uniform(0, 10, 2), 1 if trial % 2 else 6)
            ends = np.round(rng.uniform(0, 10, (6, 2)), 1 if trial % 2 else 6)
            ends[:2, trial % 2] = start[trial % 2]  # two horizontal or vertical segments
            expected = []
            for end in ends:
                count = max(2, math.ceil(np.linalg.norm(end - start) / (0.5 * grid.resolution)) + 1)
                expected.append(bool(grid.is_free(np.linspace(start, end, count)).all()))
            assert grid.lines_are_free(start, ends).tolist() == expected

    def test_goal_field_gives_distances_to(self, grid):
        """Looking a point up in the goal's tables gives distances_to, inside, on blocked cells and outside the grid."""
        goal = grid.to_world(np.argwhere(grid.free)[100])
        points = np.random.default_rng(1).uniform(-1.0, 11.0, (500, 2))
        distance, center = grid.goal_field(goal)
        cells = np.clip(grid.to_cell(points), 0, np.array(grid.free.shape) - 1)
        looked_up = distance[cells[:, 0], cells[:, 1]] + np.linalg.norm(
            points - center[cells[:, 0], cells[:, 1]], axis=1
        )
        assert np.allclose(looked_up, grid.distances_to(goal, points))

"""2-D navigability grid: where the robot's center may be, geodesic distances and shortest paths."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

_MOVES: dict[tuple[int, int], tuple[tuple[int, int], ...]] = {
    (0, 1): (),
    (1, 0): (),
    (1, 1): ((1, 0), (0, 1)),
    (1, -1): ((1, 0), (0, -1)),
    (1, 2): ((0, 1), (1, 1)),
    (2, 1): ((1, 0), (1, 1)),
    (1, -2): ((0, -1), (1, -1)),
    (2, -1): ((1, 0), (1, -1)),
}
"""Half of the 16-neighbourhood (the graph is undirected) → the cells each move crosses, which must be free too."""


@dataclass
class NavGrid:
    """Occupancy grid of an indoor floor.

    Row ``r``, column ``c`` is the cell centred at ``origin + ((c, r) + 0.5) · resolution`` in the world (x along
    columns, y along rows). Geodesic distances run over the free cells, 16-connected (within 3% of the Euclidean
    length) and without cutting obstacle corners.
    """

    free: np.ndarray
    """(H, W) bool: the robot's center may be in this cell (obstacles inflated by the robot radius)."""
    clearance: np.ndarray = field(repr=False)
    """(H, W) float: distance (m) from each cell's center to the nearest obstacle before inflation (0 inside one;
    to the obstacle cells' edges, as far as the grid tells)."""
    resolution: float
    """Cell edge (m)."""
    origin: tuple[float, float] = (0.0, 0.0)
    """World (x, y) of the grid's lower-left corner."""
    _distance_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_footprints(
        cls,
        footprints: Sequence[tuple[float, float, float, float]],
        bounds: tuple[float, float, float, float],
        resolution: float = 0.1,
        robot_radius: float = 0.3,
    ) -> NavGrid:
        """Rasterize axis-aligned obstacle footprints and inflate them by the robot radius.

        Args:
            footprints: Obstacles as (x_min, y_min, x_max, y_max) in the world (m).
            bounds: Area covered (x_min, y_min, x_max, y_max) (m); outside it counts as blocked.
            resolution: Cell edge (m).
            robot_radius: Clearance kept from every obstacle and from the bounds (m).
        """
        return cls.from_blocked(rasterize_footprints(footprints, bounds, resolution), bounds, resolution, robot_radius)

    @classmethod
    def from_blocked(
        cls, blocked: np.ndarray, bounds: tuple[float, float, float, float], resolution: float, robot_radius: float
    ) -> NavGrid:
        """Inflate the blocked cells (H, W) of an area by the robot radius; outside the area counts as blocked."""
        blocked = np.pad(blocked, 1, constant_values=True)
        reach = math.ceil(robot_radius / resolution - 1e-9)
        offsets = np.arange(-reach, reach + 1) * resolution
        disk = np.hypot(*np.meshgrid(offsets, offsets)) <= robot_radius + 1e-9
        inflated = ndimage.binary_dilation(blocked, structure=disk)[1:-1, 1:-1]
        clearance = np.maximum(ndimage.distance_transform_edt(~blocked) - 0.5, 0.0)[1:-1, 1:-1] * resolution
        return cls(free=~inflated, resolution=resolution, origin=(bounds[0], bounds[1]), clearance=clearance)

    def to_cell(self, xy: np.ndarray | Sequence[float]) -> np.ndarray:
        """(row, col) integer cells of world points (..., 2), unclipped."""
        xy = np.asarray(xy, dtype=float)
        col_row = np.floor((xy - np.asarray(self.origin)) / self.resolution).astype(int)
        return col_row[..., ::-1]

    def to_world(self, cells: np.ndarray | Sequence[int]) -> np.ndarray:
        """World (x, y) of cell centers given as (..., 2) (row, col)."""
        cells = np.asarray(cells, dtype=float)
        return np.asarray(self.origin) + (cells[..., ::-1] + 0.5) * self.resolution

    def is_free(self, xy: np.ndarray | Sequence[float]) -> np.ndarray:
        """Whether world points (..., 2) lie on free cells (False outside the grid)."""
        cells = self.to_cell(xy)
        rows, cols = cells[..., 0], cells[..., 1]
        inside = (rows >= 0) & (rows < self.free.shape[0]) & (cols >= 0) & (cols < self.free.shape[1])
        result = np.zeros(rows.shape, dtype=bool)
        result[inside] = self.free[rows[inside], cols[inside]]
        return result

    @cached_property
    def _graph(self) -> csr_matrix:
        """Sparse graph over all cells, edges between free cells one 16-neighbourhood move apart (weights in cells)."""
        height, width = self.free.shape
        padded = np.pad(self.free, 2)

        def free_at(dr: int, dc: int) -> np.ndarray:
            return padded[2 + dr : 2 + dr + height, 2 + dc : 2 + dc + width]

        sources, targets, weights = [], [], []
        for (dr, dc), crossed in _MOVES.items():
            ok = self.free & free_at(dr, dc)
            for cell in crossed:
                ok &= free_at(*cell)
            rows, cols = np.nonzero(ok)
            sources.append(rows * width + cols)
            targets.append((rows + dr) * width + cols + dc)
            weights.append(np.full(len(rows), math.hypot(dr, dc)))
        sources, targets, weights = map(np.concatenate, (sources, targets, weights))
        return csr_matrix((weights, (sources, targets)), shape=(height * width,) * 2)

    def goal_cell(self, goal_xy: Sequence[float]) -> tuple[int, int]:
        """(row, col) of the goal's cell, or of its nearest free cell when the goal is off the free cells.

        A goal of an external episode file may lie closer to a wall than the robot radius.
        """
        return tuple(int(index) for index in self.to_cell(self.nearest_free(np.asarray(goal_xy, dtype=float))[0]))

    def _from_goal(self, goal_xy: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Distances (cells) and predecessors of every cell toward the goal's cell, cached per goal cell."""
        row, col = key = self.goal_cell(goal_xy)
        if key not in self._distance_cache:
            node = row * self.free.shape[1] + col
            self._distance_cache[key] = dijkstra(self._graph, directed=False, indices=node, return_predecessors=True)
        return self._distance_cache[key]

    def geodesic_distances(self, goal_xy: Sequence[float]) -> np.ndarray:
        """(H, W) geodesic distance (m) from every cell to the goal; ``inf`` where unreachable."""
        distances, _ = self._from_goal(goal_xy)
        return distances.reshape(self.free.shape) * self.resolution

    @cached_property
    def _nearest_free_cell(self) -> np.ndarray:
        """(2, H, W) row and column of the nearest free cell to every cell."""
        return ndimage.distance_transform_edt(~self.free, return_distances=False, return_indices=True)

    def nearest_free(self, points: np.ndarray) -> np.ndarray:
        """World (x, y) of points (M, 2), each moved to its nearest free cell's center where it is not free."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        cells = np.clip(self.to_cell(points), 0, np.array(self.free.shape) - 1)
        snapped = self.to_world(self._nearest_free_cell[:, cells[:, 0], cells[:, 1]].T)
        return np.where(self.is_free(points)[:, None], points, snapped)

    def goal_field(self, goal_xy: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Tables to look up :meth:`distances_to` anywhere (e.g. on a GPU, for many robots at once).

        A point in cell (r, c) (clipped to the grid) is ``distance[r, c] + |point - center[r, c]|`` from the goal.

        Returns:
            (H, W) geodesic distance (m) of each cell's nearest free cell (``inf`` where the goal is unreachable),
            and (H, W, 2) the world (x, y) of that free cell's center.
        """
        nearest = self._nearest_free_cell
        return self.geodesic_distances(goal_xy)[nearest[0], nearest[1]], self.to_world(np.moveaxis(nearest, 0, -1))

    def distances_to(self, goal_xy: Sequence[float], points: np.ndarray) -> np.ndarray:
        """Geodesic distances (m) from many points to one goal, for NE and OS of a batch of robots.

        A point off the free cells (a robot brushing a wall, or outside the grid) takes the distance of its nearest
        free cell plus the straight offset to that cell's center.

        Args:
            goal_xy: World (x, y) of the goal (see :meth:`goal_cell`).
            points: World (x, y) of the points (M, 2).

        Returns:
            (M,) distances; ``inf`` where the nearest free cell cannot reach the goal.
        """
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        cells = np.clip(self.to_cell(points), 0, np.array(self.free.shape) - 1)
        nearest = self._nearest_free_cell[:, cells[:, 0], cells[:, 1]].T
        offsets = np.linalg.norm(points - self.to_world(nearest), axis=1)
        return self.geodesic_distances(goal_xy)[nearest[:, 0], nearest[:, 1]] + offsets

    def shortest_path(self, start_xy: Sequence[float], goal_xy: Sequence[float]) -> np.ndarray:
        """Shortest free path from start to goal, shortened wherever a straight line stays free.

        Args:
            start_xy: World (x, y) of the start; must be free.
            goal_xy: World (x, y) of the goal (see :meth:`goal_cell`).

        Returns:
            Waypoints (K, 2): the exact start, the corners, the exact goal.

        Raises:
            ValueError: If the start is blocked or the goal cannot be reached.
        """
        _, predecessors = self._from_goal(goal_xy)
        if not self.is_free(start_xy):
            raise ValueError(f"start {tuple(np.round(start_xy, 2))} is not on a free cell")
        (row, col), (goal_row, goal_col) = self.to_cell(start_xy), self.goal_cell(goal_xy)
        node, goal_node = int(row * self.free.shape[1] + col), goal_row * self.free.shape[1] + goal_col
        cells = [node]
        while node != goal_node:
            node = predecessors[node]
            if node < 0:
                raise ValueError(
                    f"goal {tuple(np.round(goal_xy, 2))} is unreachable from {tuple(np.round(start_xy, 2))}"
                )
            cells.append(node)
        points = self.to_world(np.stack(np.unravel_index(cells, self.free.shape), axis=-1))
        points[0], points[-1] = start_xy, goal_xy
        return self._shortcut(points)

    def line_is_free(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether the straight segment a → b crosses only free cells (sampled every half cell)."""
        return bool(self.lines_are_free(np.asarray(a, dtype=float), np.asarray(b, dtype=float)[None])[0])

    def lines_are_free(self, a: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """(M,) whether each straight segment from ``a`` (2,) to ``ends`` (M, 2) crosses only free cells.

        Each segment is sampled every half cell, at exactly the points ``np.linspace(a, end, n)`` gives (its
        arithmetic is repeated, special case for a zero step included), all segments in one batch.
        """
        counts = np.maximum(2, np.ceil(np.linalg.norm(ends - a, axis=1) / (0.5 * self.resolution)).astype(int) + 1)
        segment = np.repeat(np.arange(len(ends)), counts)
        first = np.cumsum(counts) - counts
        index = np.arange(counts.sum(), dtype=float) - first[segment]
        delta, div = ends - a, (counts - 1).astype(float)[:, None]
        step = delta / div
        zero_step = (step == 0).any(axis=1)[segment, None]
        index = index[:, None]
        samples = np.where(zero_step, (index / div[segment]) * delta[segment], index * step[segment]) + a
        samples[first + counts - 1] = ends
        blocked = np.bincount(segment, weights=~self.is_free(samples), minlength=len(ends))
        return blocked == 0

    def _shortcut(self, points: np.ndarray) -> np.ndarray:
        """Pull the string: from each kept point, jump to the farthest later point in straight sight."""
        kept, anchor = [points[0]], 0
        while anchor < len(points) - 1:
            free = self.lines_are_free(points[anchor], points[anchor + 2 :])
            anchor = anchor + 2 + int(np.flatnonzero(free)[-1]) if free.any() else anchor + 1
            kept.append(points[anchor])
        return np.stack(kept)


def grid_shape(bounds: tuple[float, float, float, float], resolution: float) -> tuple[int, int]:
    """(rows, cols) of a grid over ``bounds`` at ``resolution``."""
    x_min, y_min, x_max, y_max = bounds
    return round((y_max - y_min) / resolution), round((x_max - x_min) / resolution)


def rasterize_footprints(
    footprints: Sequence[tuple[float, float, float, float]],
    bounds: tuple[float, float, float, float],
    resolution: float,
) -> np.ndarray:
    """(H, W) bool: the cells each axis-aligned footprint (x_min, y_min, x_max, y_max) overlaps (touching excluded)."""
    x_min, y_min = bounds[:2]
    blocked = np.zeros(grid_shape(bounds, resolution), dtype=bool)
    for fx_min, fy_min, fx_max, fy_max in footprints:
        c0, r0 = np.floor((np.array([fx_min, fy_min]) - (x_min, y_min)) / resolution + 1e-6).astype(int)
        c1, r1 = np.ceil((np.array([fx_max, fy_max]) - (x_min, y_min)) / resolution - 1e-6).astype(int)
        blocked[max(r0, 0) : max(r1, 0), max(c0, 0) : max(c1, 0)] = True
    return blocked


def rasterize_triangles(
    triangles: np.ndarray, bounds: tuple[float, float, float, float], resolution: float, chunk: int = 200_000
) -> np.ndarray:
    """(H, W) bool: the cells each triangle's x-y projection overlaps (touching excluded, as for footprints).

    Exact separating-axis test of each triangle (a segment when it stands vertical) against the cells of its
    bounding box, in batches of ``chunk`` (triangle, cell) pairs.

    Args:
        triangles: (T, 3, 2) x-y corners (m).
        bounds: Area covered (x_min, y_min, x_max, y_max) (m).
        resolution: Cell edge (m).
        chunk: Pairs tested at once (memory).
    """
    shape = grid_shape(bounds, resolution)
    blocked = np.zeros(shape, dtype=bool)
    cells = (np.asarray(triangles, dtype=float) - np.asarray(bounds[:2])) / resolution  # in cell units
    low = np.clip(np.floor(cells.min(axis=1) + 1e-6).astype(int), 0, None)
    high = np.minimum(np.ceil(cells.max(axis=1) - 1e-6).astype(int), (shape[1], shape[0]))
    counts = np.maximum(high - low, 0).prod(axis=1)
    tri_of_pair = np.repeat(np.arange(len(cells)), counts)
    for start in range(0, len(tri_of_pair), chunk):
        tri = tri_of_pair[start : start + chunk]
        within = np.arange(start, start + len(tri)) - (np.cumsum(counts) - counts)[tri]
        width = (high - low)[tri, 0]
        col, row = low[tri, 0] + within % width, low[tri, 1] + within // width
        corners = cells[tri]
        square = np.stack((col, row), -1)[:, None] + np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
        overlap = np.ones(len(tri), dtype=bool)
        for a, b in ((0, 1), (1, 2), (2, 0)):  # triangle edge normals (zero for a collapsed edge: no test)
            edge = corners[:, b] - corners[:, a]
            normal = np.stack((-edge[:, 1], edge[:, 0]), -1)
            normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-12)
            on_tri = np.einsum("nkd,nd->nk", corners, normal)
            on_square = np.einsum("nkd,nd->nk", square, normal)
            separated = (on_square.max(1) <= on_tri.min(1) + 1e-6) | (on_square.min(1) >= on_tri.max(1) - 1e-6)
            overlap &= ~(separated & (np.linalg.norm(edge, axis=-1) > 1e-9))
        blocked[row[overlap], col[overlap]] = True
    return blocked


def path_length(points: np.ndarray) -> float:
    """Length (m) of a polyline (K, 2) or (K, 3)."""
    return float(np.linalg.norm(np.diff(np.asarray(points), axis=0), axis=-1).sum())

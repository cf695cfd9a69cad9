"""Newton collides with the ground as a heightfield rasterized from the ground mesh that the LiDAR casts against, and
with the walls (obstacle boxes, glass panes) as their own meshes.

Two tiles of each column of the NaVILA mix are generated, Isaac Lab's rasterization (``Heightfield.create_from_mesh``
at the generator's horizontal scale) is applied to the ground mesh, and the two surfaces are compared at random points
inside the cells: equal everywhere, obstacle tiles included, since their boxes are walls and not ground.
"""

import newton
import numpy as np
import pytest
import warp as wp
from isaaclab.utils import replace
from navila_lab.terrains.config import NAVILA_TERRAINS_CFG, sub_terrain_of_column
from navila_lab.terrains.generator import WallTerrainGenerator
from navila_lab.terrains.walls import GLASS, OBSTACLES


@wp.kernel
def _mesh_height(mesh: wp.uint64, xy: wp.array(dtype=wp.vec2), top: float, heights: wp.array(dtype=float)):
    tid = wp.tid()
    query = wp.mesh_query_ray(mesh, wp.vec3(xy[tid][0], xy[tid][1], top), wp.vec3(0.0, 0.0, -1.0), 1.0e3)
    heights[tid] = top - query.t if query.result else wp.nan


def heightfield_height(hfield: newton.Heightfield, center: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Height of Newton's heightfield surface at ``xy``: cells split along the p00-p11 diagonal (Newton's triangles)."""
    z = hfield.min_z + np.asarray(hfield.data) * (hfield.max_z - hfield.min_z)
    dx, dy = 2 * hfield.hx / (hfield.ncol - 1), 2 * hfield.hy / (hfield.nrow - 1)
    u, v = (xy[:, 0] - center[0] + hfield.hx) / dx, (xy[:, 1] - center[1] + hfield.hy) / dy
    col, row = np.floor(u).astype(int), np.floor(v).astype(int)
    fu, fv = u - col, v - row
    z00, z10, z01, z11 = z[row, col], z[row, col + 1], z[row + 1, col], z[row + 1, col + 1]
    lower = fu >= fv  # triangle (p00, p10, p11)
    return np.where(lower, z00 + fu * (z10 - z00) + fv * (z11 - z10), z00 + fv * (z01 - z00) + fu * (z11 - z01))


def mesh_heights(mesh: wp.Mesh, xy: np.ndarray, top: float) -> np.ndarray:
    """Height of the first surface a downward ray at each ``xy`` hits (NaN where it falls through)."""
    heights = wp.empty(len(xy), dtype=float, device="cpu")
    wp.launch(_mesh_height, len(xy), inputs=[mesh.id, wp.array(xy.astype(np.float32), dtype=wp.vec2), top, heights])
    return heights.numpy()


@pytest.fixture(scope="module")
def terrain() -> tuple:
    """Two curriculum rows of the NaVILA mix (6 columns), its ground as a warp mesh, Newton's heightfield of it, and the
    generator (its walls)."""
    cfg = replace(NAVILA_TERRAINS_CFG, num_rows=2, num_cols=6, border_width=1.0, seed=0, curriculum=True)
    generator = WallTerrainGenerator(cfg, device="cpu")
    ground = generator.terrain_mesh
    mesh = wp.Mesh(
        points=wp.array(np.asarray(ground.vertices, dtype=np.float32), dtype=wp.vec3, device="cpu"),
        indices=wp.array(np.asarray(ground.faces, dtype=np.int32).flatten(), dtype=wp.int32, device="cpu"),
    )
    hfield, xform = newton.Heightfield.create_from_mesh(mesh, cfg.horizontal_scale)
    return cfg, ground, mesh, hfield, np.asarray(wp.transform_get_translation(xform)), generator


@pytest.fixture(scope="module")
def surfaces(terrain) -> dict[str, np.ndarray]:
    """|mesh − heightfield| height at random points of each column (per sub-terrain name)."""
    cfg, ground, mesh, hfield, center, _ = terrain
    rng = np.random.default_rng(0)
    origin = -0.5 * np.array([cfg.size[0] * cfg.num_rows, cfg.size[1] * cfg.num_cols])
    top = float(ground.vertices[:, 2].max()) + 1.0
    result = {}
    for col, name in enumerate(sub_terrain_of_column(cfg)):
        low, high = (0.0, col * cfg.size[1]), (cfg.num_rows * cfg.size[0], (col + 1) * cfg.size[1])
        xy = origin + rng.uniform(low, high, (4000, 2))
        result[name] = np.abs(mesh_heights(mesh, xy, top) - heightfield_height(hfield, center, xy))
    return result


def test_ground_is_one_heightfield_at_the_tiles_resolution():
    """Every sub-terrain asks for the heightfield (Isaac Lab converts only when all do), at one horizontal scale."""
    assert all(sub.convert_to_heightfield for sub in NAVILA_TERRAINS_CFG.sub_terrains.values())


def test_ground_mesh_has_no_holes(terrain):
    """A downward ray at every heightfield sample hits the ground: where one falls through, Newton's rasterization
    leaves a pit at the mesh's lowest height (obstacle walls on a tile's edge used to open such cracks)."""
    cfg, ground, mesh, _, _, _ = terrain
    (x_min, y_min, _), (x_max, y_max, z_max) = ground.bounds
    step = cfg.horizontal_scale
    x, y = np.meshgrid(np.arange(x_min, x_max + 0.5 * step, step), np.arange(y_min, y_max + 0.5 * step, step))
    heights = mesh_heights(mesh, np.stack((x.ravel(), y.ravel()), axis=-1), float(z_max) + 1.0)
    assert np.isfinite(heights).all(), f"{np.isnan(heights).sum()} samples fall through the ground mesh"


@pytest.mark.parametrize("name", ["flat", "random_rough", "hf_pyramid_slope", "obstacles", "glass"])
def test_heightfield_is_the_mesh_surface(surfaces, name):
    """Every tile's ground, obstacle tiles included: the heightfield is the mesh surface (same triangles)."""
    assert surfaces[name].max() < 1e-4


def test_walls_stand_on_their_tiles_apart_from_the_ground(terrain):
    """Obstacle boxes and glass panes are separate meshes on their own columns' tiles, standing on the ground."""
    cfg, ground, _, _, _, generator = terrain
    columns = sub_terrain_of_column(cfg)
    origin_y = -0.5 * cfg.size[1] * cfg.num_cols
    for kind, name in ((OBSTACLES, "obstacles"), (GLASS, "glass")):
        walls = generator.walls[kind]
        assert len(walls) >= 2 * cfg.num_rows, f"no {kind} walls"
        tiles = {int((wall.centroid[1] - origin_y) // cfg.size[1]) for wall in walls}
        assert {columns[col] for col in tiles} == {name}
        assert all(abs(wall.bounds[0, 2]) < 1e-6 and wall.bounds[1, 2] >= 0.3 for wall in walls)
    obstacle_col = columns.index("obstacles")
    on_obstacle_tiles = (ground.vertices[:, 1] - origin_y) // cfg.size[1] == obstacle_col
    assert ground.vertices[on_obstacle_tiles, 2].max() < 1e-6, "no obstacle stands in the obstacle tiles' ground"


def test_an_unseeded_terrain_follows_the_global_seed():
    """Without a seed of its own (training), the terrain, walls included, is drawn from numpy's global seed (the
    env's seed): equal seeds give equal glass panes and obstacle boxes, other seeds others."""
    cfg = replace(NAVILA_TERRAINS_CFG, num_rows=2, num_cols=6, border_width=1.0, seed=None, curriculum=True)

    def walls(seed: int) -> np.ndarray:
        np.random.seed(seed)
        generator = WallTerrainGenerator(cfg, device="cpu")
        return np.concatenate([wall.vertices for kind in (GLASS, OBSTACLES) for wall in generator.walls[kind]])

    first = walls(3)
    np.testing.assert_array_equal(first, walls(3))
    assert first.shape != walls(4).shape or not np.allclose(first, walls(4))

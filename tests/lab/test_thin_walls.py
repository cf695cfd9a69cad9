"""The thin-wall tile: walls pointing at the tile center, their near ends outside the spawn disc, all on the tile."""

import numpy as np
import pytest
from navila_lab.terrains.thin_walls import ThinWallsTerrainCfg, thin_walls_terrain
from navila_lab.terrains.walls import GLASS, OBSTACLES, wall_kind, wall_kinds


def walls_of(difficulty: float, seed: int, **overrides) -> list:
    cfg = ThinWallsTerrainCfg(size=(8.0, 8.0), seed=seed, **overrides)
    meshes, origin = thin_walls_terrain(difficulty, cfg)
    assert np.allclose(origin, (4.0, 4.0, 0.0)) and wall_kind(meshes[0]) is None  # the ground slab
    return meshes[1:]


@pytest.mark.parametrize("seed", range(5))
def test_walls_point_at_the_center_from_outside_the_spawn_disc(seed):
    """Each wall's nearest point to the tile center is one of its short ends, 1.0–2.5 m away; its far end stays 0.2 m
    inside the tile's edge; the long side is the wall's length, the short side its kind's thickness."""
    cfg = ThinWallsTerrainCfg()
    for wall in walls_of(1.0, seed):
        corners = wall.vertices[:, :2] - 4.0
        radii = np.linalg.norm(corners, axis=1)
        near = corners[radii < radii.min() + 0.11]  # the near end's two corners (a wall is at most 0.1 m thick)
        assert len(near) == 4  # bottom and top of both corners
        assert cfg.end_distance_range[0] - 0.06 <= radii.min() <= cfg.end_distance_range[1] + 0.01
        assert radii.max() <= 0.5 * 8.0 - cfg.edge_margin + 0.06
        length, thickness, _ = wall.metadata["extents"]  # the box before its placement
        assert thickness == {GLASS: cfg.glass_thickness, OBSTACLES: cfg.wall_thickness}[wall_kind(wall)]
        assert 0.5 < length <= cfg.length_range[1]
        assert wall.bounds[:, 2].tolist() == pytest.approx([0.0, cfg.height])


def test_harder_levels_have_more_walls_of_both_kinds():
    easy = [len(walls_of(0.0, seed)) for seed in range(4)]
    hard = [walls_of(1.0, seed) for seed in range(4)]
    assert easy == [4] * 4 and [len(walls) for walls in hard] == [12] * 4
    kinds = [wall_kind(wall) for walls in hard for wall in walls]
    assert 0.3 < kinds.count(GLASS) / len(kinds) < 0.7


def test_wall_kinds_follow_the_glass_fraction():
    assert ThinWallsTerrainCfg().wall_kinds() == (GLASS, OBSTACLES)
    assert ThinWallsTerrainCfg(glass_fraction=0.0).wall_kinds() == (OBSTACLES,)
    assert {wall_kind(wall) for wall in walls_of(1.0, 0, glass_fraction=1.0)} == {GLASS}
    assert wall_kinds(object()) == ()

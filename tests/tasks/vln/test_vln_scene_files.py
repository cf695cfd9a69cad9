"""Scenes from files: lookup by scene id, USD and glTF read into metres z up, glass by name, the grid from the
collision triangles (equal to the procedural scene's when the file is one), one-line errors."""

import numpy as np
import pytest
from navila_tasks.vln.episodes import generate_episodes
from navila_tasks.vln.layout import SceneLayout, SceneSource, scene_floor_heights
from navila_tasks.vln.navgrid import rasterize_footprints, rasterize_triangles
from navila_tasks.vln.scene_files import merged_rectangles, resolve_scene_file
from navila_tasks.vln.scenes import generate_scene
from scene_writers import glass_count, write_glb, write_usd


@pytest.fixture(scope="module")
def scene():
    return generate_scene(1)


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory, scene):
    """scene 1 as mp3d_usd/mp3d_usd.usd (NaVILA-Bench layout), as flat.glb, lifted 1.5 m as high.usd, and a USD
    without colliders."""
    root = tmp_path_factory.mktemp("scenes")
    write_usd(scene, root / "mp3d_usd" / "mp3d_usd.usd")
    write_glb(scene, root / "flat.glb")
    write_usd(scene, root / "high.usd", lift=1.5)
    write_usd(scene, root / "visual_only.usd", colliders=False)
    return root


def same_grid(procedural, other) -> bool:
    """Whether two grids agree at every cell center of the procedural one (the file's may extend further out)."""
    centers = procedural.to_world(np.argwhere(np.ones_like(procedural.free)))
    return bool((procedural.is_free(centers) == other.is_free(centers)).all())


class TestLookup:
    def test_navila_bench_layout_plain_files_and_r2r_ids(self, scenes_dir):
        """'<id>/<id>.usd', '<id>.glb', and R2R-CE's 'mp3d/<id>/<id>.glb' ids resolve by their stem."""
        assert resolve_scene_file(scenes_dir, "mp3d_usd") == scenes_dir / "mp3d_usd" / "mp3d_usd.usd"
        assert resolve_scene_file(scenes_dir, "mp3d/flat/flat.glb") == scenes_dir / "flat.glb"

    def test_missing_scene(self, scenes_dir):
        with pytest.raises(ValueError, match="scene 'nowhere' not found in .*: expected nowhere/nowhere.usd"):
            SceneSource(str(scenes_dir)).load("nowhere")

    def test_procedural_ids_still_generate(self, scenes_dir, scene):
        assert SceneSource(str(scenes_dir)).load("procedural_00001").boxes == scene.boxes


class TestRead:
    @pytest.mark.parametrize("scene_id", ["mp3d_usd", "flat"])
    def test_grid_equals_the_procedural_one(self, scenes_dir, scene, scene_id):
        """USD (z up) and GLB (y up) copies of a procedural scene: same parts, same glass, same grids with and
        without glass."""
        loaded = SceneSource(str(scenes_dir)).load(scene_id)
        assert len(loaded.parts) == len(scene.boxes) and sum(part.glass for part in loaded.parts) == glass_count(scene)
        assert same_grid(scene.nav_grid(), loaded.nav_grid())
        assert same_grid(scene.nav_grid(include_glass=False), loaded.nav_grid(include_glass=False))

    def test_floor_where_the_episodes_start(self, scenes_dir, scene):
        """A scene 1.5 m up, with its episodes starting at z = 1.5: the same grid (the band follows the floor)."""
        episodes = [
            e.__class__(**{**e.__dict__, "scene_id": "high", "start_position": (*e.start_position[:2], 1.5)})
            for e in generate_episodes(scene, 2, seed=0)
        ]
        floors = scene_floor_heights(episodes)
        assert floors == {"high": 1.5}
        assert same_grid(scene.nav_grid(), SceneSource(str(scenes_dir), floor_heights=floors).load("high").nav_grid())

    def test_episodes_on_two_floors_are_refused(self, scene):
        episodes = generate_episodes(scene, 2, seed=0)
        episodes[1] = episodes[1].__class__(**{**episodes[1].__dict__, "start_position": (1.0, 1.0, 3.0)})
        with pytest.raises(ValueError, match="start on different floors"):
            scene_floor_heights(episodes)

    def test_glass_pattern(self, scenes_dir, scene):
        """With a pattern that names nothing, nothing is glass: the camera's grid is the full one."""
        loaded = SceneSource(str(scenes_dir), glass_pattern="no such name").load("flat")
        assert not any(part.glass for part in loaded.parts)
        assert same_grid(scene.nav_grid(), loaded.nav_grid(include_glass=False))

    def test_usd_without_colliders_is_refused(self, scenes_dir):
        with pytest.raises(ValueError, match="has no collision geometry .no prim with UsdPhysics.CollisionAPI"):
            SceneSource(str(scenes_dir)).load("visual_only")


class TestRasters:
    def test_triangles_rasterize_like_footprints(self, scene):
        """Every face of every box, projected: exactly the cells of the boxes' footprints."""
        triangles = np.concatenate([box.mesh().triangles[..., :2] for box in scene.obstacles()])
        footprints = [box.footprint for box in scene.obstacles()]
        assert (
            rasterize_triangles(triangles, scene.bounds, 0.1) == rasterize_footprints(footprints, scene.bounds, 0.1)
        ).all()

    def test_slanted_triangle(self):
        """A thin sliver just below the diagonal marks the diagonal cells and, where it dips under a corner, the cell
        to the right (y < x) of each, never those above it."""
        blocked = rasterize_triangles(np.array([[[0.05, 0.05], [0.95, 0.95], [0.96, 0.94]]]), (0, 0, 1, 1), 0.1)
        assert blocked.trace() == 10 and np.diagonal(blocked, 1).all() and blocked.sum() == 19

    def test_merged_rectangles_cover_exactly(self, scene):
        blocked = scene.blocked()
        covered = np.zeros_like(blocked)
        rectangles = merged_rectangles(blocked)
        for row0, col0, row1, col1 in rectangles:
            assert not covered[row0:row1, col0:col1].any(), "rectangles do not overlap"
            covered[row0:row1, col0:col1] = True
        assert (covered == blocked).all() and len(rectangles) < blocked.sum() / 5


def test_layout_mixes_procedural_and_file_scenes(scenes_dir, scene):
    """A file scene whose bounds start below zero is shifted onto its tile; free space stitches both scenes."""
    layout = SceneLayout.from_ids(["procedural_00001", "flat"], source=SceneSource(str(scenes_dir)))
    flat = layout.scenes[1]
    assert np.allclose(layout.offset("flat") + flat.bounds[:2], [12.2, 0.0]), "pitch: 10.2 m wide + 2 m gap"
    world = layout.free_space(0.2)
    for scene_id in ("procedural_00001", "flat"):
        grid = layout.nav_grids[scene_id]
        free = grid.to_world(np.argwhere(grid.free))
        assert world.is_free(free + layout.offset(scene_id)).all(), scene_id
    assert layout.inside_geometry("flat", scene.obstacles()[0].center[:2])

import numpy as np
import pytest
from navila_tasks.vln.scenes import BoxKind, SceneCfg, generate_scene, scene_from_id
from scipy import ndimage

SEEDS = range(6)


@pytest.fixture(scope="module")
def scenes():
    return [generate_scene(seed) for seed in SEEDS]


class TestGenerateScene:
    def test_deterministic(self):
        """The same seed gives the same scene; another seed a different one."""
        assert generate_scene(3).boxes == generate_scene(3).boxes
        assert generate_scene(3).boxes != generate_scene(4).boxes

    def test_free_space_is_one_piece(self, scenes):
        """Every room is reachable: the navigable cells form a single connected component."""
        for scene in scenes:
            assert ndimage.label(scene.nav_grid().free)[1] == 1, scene.scene_id

    def test_rooms_doors_and_landmarks(self, scenes):
        """Scenes have several rooms joined by doorways and furniture landmarks with unique descriptions."""
        for scene in scenes:
            assert len(scene.rooms) >= 2 and len(scene.doorways) == len(scene.rooms) - 1
            descriptions = [box.description for box in scene.landmarks]
            assert descriptions and len(descriptions) == len(set(descriptions))
            assert all(box.label and box.color for box in scene.landmarks)

    def test_corridors_and_glass_occur(self, scenes):
        """Across seeds the generator makes corridors, glass partitions and glass door leaves."""
        rooms = [room for scene in scenes for room in scene.rooms]
        labels = {box.label for scene in scenes for box in scene.boxes}
        assert any(room.is_corridor for room in rooms)
        assert {"glass partition", "glass door"} <= labels

    def test_objects_stay_inside_and_apart(self, scenes):
        """Furniture and clutter lie inside the floor and do not overlap each other."""
        for scene in scenes:
            objects = [box for box in scene.boxes if box.kind in (BoxKind.FURNITURE, BoxKind.CLUTTER)]
            for i, a in enumerate(objects):
                ax0, ay0, ax1, ay1 = a.footprint
                assert 0 <= ax0 and ax1 <= 10 and 0 <= ay0 and ay1 <= 10
                for b in objects[:i]:
                    bx0, by0, bx1, by1 = b.footprint
                    assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, (a.name, b.name)

    def test_doorways_are_open(self, scenes):
        """The center of every doorway is navigable."""
        for scene in scenes:
            grid = scene.nav_grid()
            assert all(grid.is_free(door.center) for door in scene.doorways), scene.scene_id

    def test_camera_grid_lets_through_glass_only(self, scenes):
        """Without glass the grid frees cells (the glass's), and frees no cell that walls or furniture block."""
        scene = next(scene for scene in scenes if any(box.kind == BoxKind.GLASS for box in scene.boxes))
        full, camera = scene.nav_grid().free, scene.nav_grid(include_glass=False).free
        assert (camera & ~full).any() and not (full & ~camera).any()
        bare = generate_scene(0, SceneCfg(glass_probability=0.0))
        assert (bare.nav_grid(include_glass=False).free == bare.nav_grid().free).all()

    def test_scene_id_regenerates_the_scene(self):
        """A scene id names its seed; unknown ids are rejected."""
        scene = generate_scene(11)
        assert scene_from_id(scene.scene_id).boxes == scene.boxes
        with pytest.raises(ValueError, match="procedural"):
            scene_from_id("17DRP5sb8fy")

    def test_size_follows_cfg(self):
        """A smaller floor gives a grid of that size at the chosen resolution."""
        scene = generate_scene(0, SceneCfg(size=(6.0, 8.0), grid_resolution=0.2))
        assert scene.nav_grid().free.shape == (40, 30)


class TestSceneMeshes:
    def test_glass_is_separate_and_hidden_from_cameras(self, scenes):
        """Physics meshes include each glass box under its own name; camera meshes are the same minus glass."""
        scene = next(scene for scene in scenes if any(box.kind == BoxKind.GLASS for box in scene.boxes))
        physics, camera = scene.meshes(), scene.meshes(include_glass=False)
        glass = {box.name for box in scene.boxes if box.kind == BoxKind.GLASS}
        assert glass <= set(physics.geometry) and all(name.startswith("glass_") for name in glass)
        assert set(camera.geometry) == set(physics.geometry) - glass
        assert len(physics.geometry) == len(scene.boxes)

    def test_meshes_match_boxes(self, scenes):
        """Each mesh is a closed box with its box's bounds and colour; merged, they span the floor and walls."""
        scene = scenes[0]
        meshes = scene.meshes().geometry
        for box in scene.boxes:
            mesh = meshes[box.name]
            x0, y0, x1, y1 = box.footprint
            assert mesh.is_watertight
            assert np.allclose(mesh.bounds[:, :2], [[x0, y0], [x1, y1]])
            assert tuple(mesh.visual.face_colors[0]) == box.rgba
        merged = scene.meshes().dump(concatenate=True)
        assert np.allclose(merged.bounds[:, :2], [[-0.05, -0.05], [10.05, 10.05]])

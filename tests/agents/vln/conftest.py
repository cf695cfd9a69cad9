"""Fixtures of the VLN tests: one procedural scene, its layout and three short episodes in it."""

import pytest
from navila_tasks.vln.episodes import generate_episodes
from navila_tasks.vln.layout import SceneLayout
from navila_tasks.vln.scenes import generate_scene


@pytest.fixture(scope="module")
def scene():
    return generate_scene(1)


@pytest.fixture(scope="module")
def layout(scene):
    return SceneLayout.from_ids([scene.scene_id])


@pytest.fixture(scope="module")
def short_episodes(scene):
    """Three episodes of 1.5-3 m in the scene (seed 0)."""
    return generate_episodes(scene, 3, seed=0, min_distance=1.5, max_distance=3.0)

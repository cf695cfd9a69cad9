"""What a VLN run leaves for people to look at: episode videos with the height map, and the summary image."""

import imageio.v2 as imageio
import numpy as np
import pytest
from navila_agents.vla.backends.oracle import ShortestPathOracle
from navila_agents.vln.rollout import VlnRunCfg, VlnRunner
from navila_agents.vln.summary_image import summary_image
from navila_agents.vln.video import EpisodeVideos
from navila_tasks.vln.episodes import generate_episodes
from navila_tasks.vln.layout import SceneLayout
from navila_tasks.vln.scenes import generate_scene
from vln_support import KinematicSim

MAP_SHAPE = (17, 27)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two short oracle episodes on the kinematic sim, both recorded, with a height-map source."""
    scene = generate_scene(1)
    episodes = generate_episodes(scene, 2, seed=0, min_distance=1.5, max_distance=3.0)
    layout = SceneLayout.from_ids([scene.scene_id])
    sim = KinematicSim(layout, 2)
    asked = []

    def height_maps(env_ids):
        asked.extend(env_ids)
        return np.full((len(env_ids), *MAP_SHAPE), 0.3, dtype=np.float32)

    out = tmp_path_factory.mktemp("vln_outputs")
    videos = EpisodeVideos(out / "videos", [0, 1], layout, height_maps)
    backend = ShortestPathOracle(2, sim.poses, waypoint_radius=0.15)
    results = VlnRunner(sim, backend, episodes, layout, VlnRunCfg(), videos).run(progress=False)
    return out, results, episodes, layout, videos, asked


class TestEpisodeVideos:
    def test_one_video_per_episode_with_three_panels(self, run):
        """Each recorded episode has an mp4; its frames are wide enough for camera, map and height map."""
        out, results, _, _, videos, asked = run
        assert sorted(path.name for path in videos.written) == ["episode_0.mp4", "episode_1.mp4"]
        frame = imageio.get_reader(videos.written[0]).get_data(0)
        assert frame.shape[1] > 2.5 * frame.shape[0] and set(asked) == {0, 1}

    def test_frames_change_as_the_robot_moves(self, run):
        """Later frames differ from the first (the driven path and the camera are redrawn, not frozen)."""
        _, _, _, _, videos, _ = run
        reader = imageio.get_reader(videos.written[0])
        first, last = reader.get_data(0), reader.get_data(reader.count_frames() - 1)
        assert np.abs(first.astype(int) - last.astype(int)).sum() > 0

    def test_without_a_source_two_panels(self, run, tmp_path):
        _, results, episodes, layout, _, _ = run
        videos = EpisodeVideos(tmp_path, [0], layout)
        videos.begin(0, episodes[0])
        videos.add(0, np.zeros((8, 8, 3), np.uint8), np.zeros(3))
        videos.end(0, results[0])
        frame = imageio.get_reader(videos.written[0]).get_data(0)
        assert frame.shape[1] < 2.2 * frame.shape[0]


def test_summary_image(run):
    """The summary PNG is written, one map per episode."""
    out, results, episodes, layout, _, _ = run
    summary = {
        "metrics": {"episodes": 2, "NE": 0.5, "OS": 100.0, "SR": 100.0, "SPL": 90.0, "falls": 0, "collisions": 0}
        | {"glass_contacts": 0},
        "config": {"low_level": "perfect", "vla": "oracle", "num_envs": 2, "device": "cpu", "camera": "8x8"},
    }
    summary_image(results, episodes, layout, summary, out / "summary.png")
    image = imageio.imread(out / "summary.png")
    assert image.shape[1] > 1.5 * image.shape[0]

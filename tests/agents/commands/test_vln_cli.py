"""``navila vln`` and ``navila vln-episodes`` without the simulator: inputs are checked before any scene is built."""

import json
import subprocess
import sys
import threading

import pytest
from navila_agents.vla.backends.base import FunctionBackend
from navila_agents.vla.backends.server import make_server
from navila_tasks.vln.episodes import load_episodes
from navila_tasks.vln.scenes import scene_from_id
from scene_writers import write_glb, write_usd


def navila(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "navila_cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def episode_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("episodes") / "glass.json.gz"
    result = navila("vln-episodes", "--out", str(path), "--scenes", "2", "--per-scene", "2", "--with-glass")
    assert result.returncode == 0, result.stderr
    return path


def last_line(result: subprocess.CompletedProcess) -> str:
    return [line for line in result.stderr.splitlines() if line.strip() and "Warning" not in line][-1]


class TestVlnEpisodes:
    def test_writes_numbered_episodes_of_glass_scenes(self, episode_file):
        """Episodes get ids 0..N-1 across scenes, and every scene kept has glass."""
        from navila_tasks.vln.scenes import BoxKind, scene_from_id

        episodes = load_episodes(episode_file)
        assert [episode.episode_id for episode in episodes] == [0, 1, 2, 3]
        scene_ids = {episode.scene_id for episode in episodes}
        assert len(scene_ids) == 2
        assert all(any(box.kind == BoxKind.GLASS for box in scene_from_id(s).boxes) for s in scene_ids)


class TestVlnInputErrors:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--episodes", "/nonexistent/episodes.json.gz", "--perfect-low-level"), "does not exist"),
            (("--policy", "/nonexistent/policy_dir"), "does not exist"),
            (("--perfect-low-level", "--vla", "hf"), "--vla hf needs --vla-model"),
            (("--perfect-low-level", "--vla", "server"), "--vla server needs --vla-url"),
            (("--perfect-low-level", "--vla", "/nonexistent/vla_small"), "or a VLA model folder"),
            (("--perfect-low-level", "--vla", "{empty_dir}"), "has no config file"),
            (("--perfect-low-level", "--query-period", "0"), "--query-period must be positive"),
            (("--perfect-low-level", "--governor"), "--governor caps a locomotion policy's commands"),
            (
                (
                    "--perfect-low-level",
                    "--vla",
                    "server",
                    "--vla-url",
                    "http://127.0.0.1:1",
                    "--oracle-view",
                    "camera",
                ),
                "--oracle-view applies to --vla oracle only",
            ),
        ],
    )
    def test_one_line_error(self, episode_file, tmp_path, args, message):
        """Missing files and inconsistent options end in one stderr line naming the problem, exit code 2."""
        if "--episodes" not in args:
            args = ("--episodes", str(episode_file), *args)
        args = tuple(arg.replace("{empty_dir}", str(tmp_path)) for arg in args)
        result = navila("vln", *args)
        assert result.returncode == 2, result.stderr[-2000:]
        assert message in last_line(result) and "Traceback" not in result.stderr

    def test_hf_speaks_language_only(self, episode_file, tiny_vla_path):
        result = navila(
            "vln",
            "--episodes",
            str(episode_file),
            "--perfect-low-level",
            "--vla",
            "hf",
            "--vla-model",
            str(tiny_vla_path),
            "--interface",
            "tokens",
        )
        assert result.returncode == 2 and "--vla hf answers in language" in last_line(result)

    def test_server_is_asked_before_the_simulator_is_built(self, episode_file):
        """A server that does not answer /health is a one-line error at once."""
        args = ("--perfect-low-level", "--vla", "server", "--vla-url", "http://127.0.0.1:1")
        result = navila("vln", "--episodes", str(episode_file), *args)
        assert result.returncode == 2 and "does not answer /health" in last_line(result)

    def test_server_of_another_interface(self, episode_file):
        """A tokens server with the default language interface: the error names the server's interface."""
        server = make_server(FunctionBackend(lambda frames, text: "A", "tokens"), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_port}"
            result = navila(
                "vln", "--episodes", str(episode_file), "--perfect-low-level", "--vla", "server", "--vla-url", url
            )
        finally:
            server.shutdown()
            server.server_close()
        assert result.returncode == 2 and "answers in the tokens interface; pass --interface tokens" in last_line(
            result
        )

    def test_malformed_episode_file_names_episode_and_field(self, tmp_path):
        """A malformed episode is reported with its id and field."""
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"episodes": [{"episode_id": 3, "scene_id": "procedural_00001"}]}))
        result = navila("vln", "--episodes", str(path), "--perfect-low-level")
        assert result.returncode == 2 and "episode 3" in last_line(result) and "'instruction'" in last_line(result)

    def test_external_scene_is_refused(self, tmp_path, episode_file):
        """Episodes of scenes that cannot be generated (e.g. Matterport ids) are a one-line error."""
        data = {"episodes": [e.to_dict() | {"scene_id": "17DRP5sb8fy"} for e in load_episodes(episode_file)[:1]]}
        path = tmp_path / "external.json"
        path.write_text(json.dumps(data))
        result = navila("vln", "--episodes", str(path), "--perfect-low-level")
        assert result.returncode == 2 and "not a procedural scene" in last_line(result)

    @pytest.fixture
    def renamed(self, tmp_path, episode_file):
        """The first episode with scene id 'house' (its start moved to ``start`` when given), written to a file."""

        def write(start=None):
            episode = load_episodes(episode_file)[0]
            data = episode.to_dict() | {"scene_id": "house"}
            data["start_position"] = list(start or episode.start_position)
            path = tmp_path / "house_episodes.json"
            path.write_text(json.dumps({"episodes": [data]}))
            return path, scene_from_id(episode.scene_id)

        return write

    def test_missing_scene_file(self, tmp_path, renamed):
        path, _ = renamed()
        result = navila("vln", "--episodes", str(path), "--perfect-low-level", "--scenes-dir", str(tmp_path))
        assert result.returncode == 2 and "scene 'house' not found in" in last_line(result)

    def test_scene_without_collision_geometry(self, tmp_path, renamed):
        path, scene = renamed()
        write_usd(scene, tmp_path / "house" / "house.usd", colliders=False)
        result = navila("vln", "--episodes", str(path), "--perfect-low-level", "--scenes-dir", str(tmp_path))
        assert result.returncode == 2 and "has no collision geometry" in last_line(result)

    def test_start_inside_geometry(self, tmp_path, renamed):
        """An episode starting in the middle of a piece of furniture: the error names the episode, scene and place."""
        _, scene = renamed()
        furniture = scene.landmarks[0]
        path, _ = renamed(start=(*furniture.center[:2], 0.0))
        write_glb(scene, tmp_path / "house.glb")
        result = navila("vln", "--episodes", str(path), "--perfect-low-level", "--scenes-dir", str(tmp_path))
        assert result.returncode == 2 and "episode 0 starts inside the geometry of scene 'house'" in last_line(result)

    def test_low_level_is_required(self, episode_file):
        """Neither --policy nor --perfect-low-level: argparse names the missing choice."""
        result = navila("vln", "--episodes", str(episode_file))
        assert result.returncode == 2 and "--policy" in result.stderr and "--perfect-low-level" in result.stderr

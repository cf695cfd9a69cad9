"""VLN in the simulator on CPU: scene import with glass, a camera that sees through glass, short end-to-end runs."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from navila_lab.assets.go2_constants import JOINT_TYPES
from navila_lab.deploy_spec import DeploySpec
from navila_tasks.vln.episodes import generate_episodes, save_episodes
from navila_tasks.vln.scenes import generate_scene
from scene_writers import write_glb, write_usd
from vln_support import METRIC_FIELDS

pytestmark = pytest.mark.sim
PROBE = Path(__file__).with_name("vln_sim_probe.py")
SIM_JOINT_NAMES = [f"{leg}_{kind}_joint" for leg in ("FL", "FR", "RL", "RR") for kind in JOINT_TYPES]
"""The simulated Go2's joint order (what ``navila export`` writes)."""
SHIPPED_LIDAR = Path(__file__).resolve().parents[3] / "policies" / "go2_rough_lidar"
TERMINATION_TERMS = {"base_contact", "hip_contact", "head_contact", "calf_contact", "bad_orientation"}
"""The VLN task's termination terms that end an episode as a fall."""


def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def navila_vln(episodes: Path, out: Path, *args: str) -> list[dict]:
    run(
        "-m",
        "navila_cli",
        "vln",
        "--episodes",
        str(episodes),
        "--device",
        "cpu",
        "--num_envs",
        "2",
        "--camera-size",
        "32",
        "--out",
        str(out),
        *args,
    )
    return json.loads((out / "episodes.json").read_text())


@pytest.fixture(scope="module")
def probe():
    return json.loads(run(str(PROBE)).stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def short_episodes(tmp_path_factory):
    path = tmp_path_factory.mktemp("vln") / "short.json.gz"
    save_episodes(path, generate_episodes(generate_scene(1), 2, seed=0, min_distance=1.5, max_distance=3.0))
    return path


def export_random_actor(directory: Path, weight_scale: float, bias: torch.Tensor | None = None) -> Path:
    """Write an exported-policy directory: the reference deploy contract and a random TorchScript actor (909 → 12).

    ``weight_scale`` scales the output layer's random weights; ``bias``, if given, replaces its bias.
    """
    spec = replace(DeploySpec.load(SHIPPED_LIDAR), task="NaVILA-Go2-VLN")
    spec.save(directory)
    torch.manual_seed(0)
    actor = torch.nn.Sequential(torch.nn.Linear(spec.obs_dim, 32), torch.nn.ELU(), torch.nn.Linear(32, 12))
    with torch.no_grad():
        actor[2].weight.mul_(weight_scale)
        if bias is not None:
            actor[2].bias.copy_(bias)
    torch.jit.script(actor).save(str(directory / "policy.pt"))
    return directory


@pytest.fixture(scope="module")
def random_lidar_policy(tmp_path_factory):
    """Small random actions: the robot stays near its default pose."""
    return export_random_actor(tmp_path_factory.mktemp("policy"), 0.01)


@pytest.fixture(scope="module")
def collapsing_lidar_policy(tmp_path_factory):
    """Constant actions that fold every leg (thighs forward, calves in): the robot drops onto its body and falls."""
    fold = torch.tensor([6.0 if "thigh" in name else -6.0 if "calf" in name else 0.0 for name in SIM_JOINT_NAMES])
    return export_random_actor(tmp_path_factory.mktemp("collapsing"), 0.0, bias=fold)


class TestSceneImport:
    def test_glass_is_marked_and_collides_but_is_not_drawn(self, probe):
        """Every glass box is its own prim with navila:glass and the guide purpose; Newton keeps it a collider only."""
        assert len(probe["glass_prims"]) == probe["glass_boxes"] > 0 and all(probe["glass_guide"])
        assert len(probe["glass_visible"]) == probe["glass_boxes"]
        assert not any(probe["glass_visible"]) and all(probe["glass_collides"])
        assert probe["walls_visible"] and all(probe["walls_visible"])

    def test_lidar_and_contacts_see_glass(self, probe):
        """The LiDAR hits the panel robot 0 faces; robot 1 thrown at it touches glass, which is not an obstacle hit."""
        assert probe["lidar_hits_on_glass"] > 50
        assert probe["on_glass"] == [False, True]
        assert probe["in_collision"] == [False, False] and probe["fell"] == [False, False]
        assert np.linalg.norm(probe["start_error"][0]) < 0.05, "robot 0 stands where its episode starts"


class TestCamera:
    def test_camera_sees_through_glass(self, probe):
        """Depth where glass is in view equals the first non-glass surface behind it, not the glass."""
        depth = np.asarray(probe["depth"])
        behind, glass = np.asarray(probe["expected_without_glass"]), np.asarray(probe["expected_with_glass"])
        occluded = behind - glass > 0.3
        assert occluded.sum() >= 3, "the glass panel must fill part of the view"
        assert np.allclose(depth[occluded], behind[occluded], atol=0.02)
        hit = np.isfinite(behind)
        assert np.allclose(depth[hit], behind[hit], atol=0.02) and np.all(depth[~hit] == 0.0)
        assert probe["frames_shape"] == [2, 64, 64, 3]


class TestTerminations:
    def test_sim_names_the_enabled_termination_terms(self, probe):
        """The sim's termination terms are the enabled ones in the manager's order, without the episode_end time-out."""
        assert probe["termination_terms"] == ["hip_contact", "calf_contact", "bad_orientation"]

    def test_fall_names_its_cause(self, short_episodes, collapsing_lidar_policy, tmp_path):
        """A collapsing robot falls: episodes.json and summary.json name the termination terms that ended each fall."""
        episodes = navila_vln(short_episodes, tmp_path, "--policy", str(collapsing_lidar_policy), "--max-steps", "100")
        causes = [e["fall_cause"] for e in episodes if e["end_reason"] == "fall"]
        assert causes and all(set(cause.split("+")) <= TERMINATION_TERMS for cause in causes)
        assert all(e["fall_cause"] is None for e in episodes if e["end_reason"] != "fall")
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert sum(summary["fall_causes"].values()) == len(causes)


class TestEndToEnd:
    def test_perfect_low_level(self, short_episodes, tmp_path):
        """Oracle VLA + teleported execution: both short episodes end by stop within the success radius; a video."""
        episodes = navila_vln(short_episodes, tmp_path, "--perfect-low-level", "--max-steps", "400", "--video", "1")
        assert len(episodes) == 2 and METRIC_FIELDS <= set(episodes[0])
        assert all(e["end_reason"] == "stop" and e["success"] and e["spl"] > 0.3 for e in episodes)
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert summary["metrics"]["SR"] == 100.0 and summary["config"]["low_level"].startswith("perfect")
        assert (tmp_path / "videos" / "episode_0.mp4").stat().st_size > 1000

    def test_exported_policy(self, short_episodes, random_lidar_policy, tmp_path):
        """Oracle VLA + an exported LiDAR policy at 50 Hz: both episodes run and are scored."""
        episodes = navila_vln(short_episodes, tmp_path, "--policy", str(random_lidar_policy), "--max-steps", "60")
        assert len(episodes) == 2 and METRIC_FIELDS <= set(episodes[0])
        assert {e["end_reason"] for e in episodes} <= {"max_steps", "fall", "stop"}
        assert all(e["answers"] for e in episodes)

    def test_tiny_hf_vla(self, short_episodes, tiny_vla_path, tmp_path):
        """A tiny random transformers VLA drives the loop (its answers are parsed, invalid ones re-queried)."""
        episodes = navila_vln(
            short_episodes,
            tmp_path,
            "--perfect-low-level",
            "--vla",
            "hf",
            "--vla-model",
            str(tiny_vla_path),
            "--max-steps",
            "60",
            "--limit",
            "1",
        )
        assert len(episodes) == 1 and METRIC_FIELDS <= set(episodes[0]) and episodes[0]["answers"]


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory):
    """procedural_00001 written as a USD file in the NaVILA-Bench layout (a file of a scene's id wins over generating
    it), and as house.glb."""
    root = tmp_path_factory.mktemp("scene_files")
    write_usd(generate_scene(1), root / "procedural_00001" / "procedural_00001.usd")
    write_glb(generate_scene(1), root / "house.glb")
    return root


@pytest.fixture(scope="module")
def file_probe(scene_files):
    """The scene probe on the USD copy; LiDAR hits within one grid cell of the pane count (box colliders)."""
    result = run(str(PROBE), "--scenes-dir", str(scene_files), "--panel-margin", "0.12")
    return json.loads(result.stdout.strip().splitlines()[-1])


class TestSceneFromFile:
    def test_camera_sees_through_file_glass_and_the_lidar_hits_it(self, file_probe):
        """The file's meshes are drawn (glass as guides): depth is the first non-glass surface; the LiDAR sees glass."""
        depth = np.asarray(file_probe["depth"])
        behind, glass = np.asarray(file_probe["expected_without_glass"]), np.asarray(file_probe["expected_with_glass"])
        occluded = behind - glass > 0.3
        assert occluded.sum() >= 3 and np.allclose(depth[occluded], behind[occluded], atol=0.02)
        assert file_probe["lidar_hits_on_glass"] > 50
        assert not any(file_probe["glass_visible"]) and all(file_probe["glass_collides"])
        assert np.linalg.norm(file_probe["start_error"][0]) < 0.05

    def test_episodes_in_a_glb_scene(self, scene_files, tmp_path):
        """navila vln --scenes-dir with episodes of house.glb: oracle + teleported execution reach both goals."""
        episodes = generate_episodes(generate_scene(1), 2, seed=0, min_distance=1.5, max_distance=3.0)
        path = tmp_path / "house.json.gz"
        save_episodes(path, [replace(episode, scene_id="house") for episode in episodes])
        results = navila_vln(
            path, tmp_path / "out", "--perfect-low-level", "--max-steps", "400", "--scenes-dir", str(scene_files)
        )
        assert len(results) == 2 and all(e["end_reason"] == "stop" and e["success"] for e in results)
        summary = json.loads((tmp_path / "out" / "summary.json").read_text())
        assert summary["config"]["scenes_dir"] == str(scene_files)

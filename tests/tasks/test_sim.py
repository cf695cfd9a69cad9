"""Simulator tests on CPU: every task builds and steps, the LiDAR sees a glass wall, train/resume, export."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
import yaml
from navila_lab.deploy_spec import DeploySpec

pytestmark = pytest.mark.sim
PROBE = Path(__file__).parents[1] / "support" / "sim_probe.py"
POLICIES = Path(__file__).parents[2] / "policies"
SMALL_TERRAIN = ["env.scene.terrain.terrain_generator.num_rows=2", "env.scene.terrain.terrain_generator.num_cols=2"]


def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def probe(task: str, scenario: str = "step") -> dict:
    return json.loads(run(str(PROBE), task, scenario).stdout.strip().splitlines()[-1])


class TestTasksStep:
    @pytest.mark.parametrize("task", ["NaVILA-Go2-Flat", "NaVILA-Go2-Rough-Blind", "NaVILA-Go2-Rough-Lidar"])
    def test_builds_and_steps(self, task):
        """Each task builds on CPU, steps, and yields finite observations of the reference sizes (45 + 9·45 [+ 459])."""
        report = probe(task)
        shapes = report["shapes"]
        assert shapes["policy"] == [2, 45] and shapes["proprio_history"] == [2, 405]
        assert shapes["critic"] == [2, 3 + 3 + 651], "base velocity, safe velocity target, height scan"
        assert ("height_map" in shapes) == (task != "NaVILA-Go2-Rough-Blind")
        assert report["finite"]
        # physics collides with the ground as one heightfield; the rough mix's glass panes and obstacle boxes are meshes
        walls = [] if task == "NaVILA-Go2-Flat" else ["MESH", "MESH"]
        assert report["static_shape_types"] == ["HFIELD", *walls]
        assert min(report["base_height"]) > 0.2, "the robots stand on the heightfield"
        # commands: 10% standing, and 10% of the others turning in place (the VLA's turn actions)
        assert 0.05 < report["standing_share"] < 0.15
        assert 0.05 < report["turn_in_place_share"] < 0.13


class TestLidarKnownScene:
    @pytest.mark.parametrize("scenario", ["lidar_wall", "lidar_wall_second_scene"])
    def test_glass_wall_shows_up_at_the_right_cells(self, scenario):
        """A glass wall 1 m ahead of robot 0 empties its map's far rows; robot 1 on open ground sees floor there.

        Also when another scene was built before in the same process: Isaac Lab's ray casters share their meshes by
        prim path for as long as any ray caster lives, and cast on the first scene's ground otherwise.
        """
        report = probe("NaVILA-Go2-Flat", scenario)
        wall, open_ground = np.array(report["height_map"][0]), np.array(report["height_map"][1])
        assert report["glass_vertices"] > 0, "the glass must be its own prim"
        # the L1 looks backwards (inverted mount): row 0 is the farthest ahead, ~0.8 m in front of the sensor
        assert np.count_nonzero(open_ground[0]) > 0.8 * open_ground[0].size
        assert np.count_nonzero(wall[0, 8:19]) == 0, "cells beyond the wall must be shadowed"
        assert np.abs(wall[:3] - open_ground[:3]).max() > 0.05, "the wall rows must differ from open ground"
        # near the robot both maps read the same floor
        assert np.allclose(wall[10:], open_ground[10:], atol=0.05)


@pytest.fixture(scope="module")
def exactness_report() -> dict:
    """Pens, rough ground and obstacles, 16 steps with resets: the ray casters compared (see ``lidar_exactness``)."""
    return probe("NaVILA-Go2-Rough-Lidar", "lidar_exact")


class TestLidarCast:
    def test_bounded_masked_cast_gives_the_full_casts_maps(self, exactness_report):
        """Glass and obstacle pens, rough ground, obstacles; 16 steps with a reset of half the robots: the task's LiDAR
        (masked, rays cut at the map window) gives the maps of the same cast without the cut and of Newton's BVH ray
        caster over the full pattern bit for bit, and the hits it keeps are Newton's; a masked update recasts only
        the due robots, although all of them moved."""
        report = exactness_report
        assert report["steps"] == 16 and report["episode_lengths"] == [8, 16, 8, 16], "robots 0 and 2 were reset"
        assert report["maps_equal_unbounded"] and report["maps_equal_newton"]
        assert report["hits_equal_newton"] and report["window_hits_equal_newton"]
        assert report["cut_hits"] > 0, "some hits must lie beyond the window for the cut to be tested"
        assert report["tall_window_hits"][0] > 0 and report["tall_window_hits"][1] > 0, "glass and obstacles in view"
        assert report["map_cells_nonzero"] > 0
        assert report["masked_others_unchanged"] and all(report["others_moved"])
        assert all(report["masked_due_changed"]) and report["masked_maps_equal_newton"]

    def test_masked_height_scanner_gives_newtons_hits(self, exactness_report):
        """Same run: the critic's masked height scanner hits what Isaac Lab's Newton caster hits, bit for bit, every
        step; a masked update recasts only the due robots, although all of them moved (Newton's casts every robot's
        rays and keeps the due ones)."""
        report = exactness_report
        assert report["scanner_hits_equal_newton"] and report["scanner_hits_finite"]
        assert report["scanner_masked_others_unchanged"] and report["scanner_masked_due_equal_newton"]
        assert all(report["scanner_others_moved"])


class TestTrainResumeExport:
    def test_two_iterations_checkpoint_resume_and_export(self, tmp_path):
        """Training writes a checkpoint, resuming continues from it, and the exported ONNX matches TorchScript;
        the resume and the export name no task: both take the run's recorded task and overrides."""
        common = ["-m", "navila_cli", "train", "--num_envs", "4", "--device", "cpu", "--log_dir", str(tmp_path)]
        overrides = SMALL_TERRAIN
        run(*common, "--task", "NaVILA-Go2-Flat", *overrides, "--max_iterations", "2", "--run_name", "first")
        first = sorted((tmp_path / "go2_flat" / "first").glob("model_*.pt"))
        assert [path.name for path in first] == ["model_0.pt", "model_1.pt"]
        saved = torch.load(first[-1], weights_only=False)["infos"]["terrain"]
        assert saved["levels"].shape == saved["types"].shape == (4,), "checkpoints keep each robot's terrain tile"
        resumed = run(*common, "--max_iterations", "1", "--run_name", "second", "--resume", str(first[-1]))
        assert "terrain curriculum restored" in resumed.stdout and "training NaVILA-Go2-Flat" in resumed.stdout
        record = yaml.safe_load((tmp_path / "go2_flat" / "second" / "params" / "run.yaml").read_text())
        assert record == {"task": "NaVILA-Go2-Flat", "overrides": overrides}
        second = sorted((tmp_path / "go2_flat" / "second").glob("model_*.pt"))
        assert second and torch.load(second[-1], weights_only=False)["iter"] == 2

        out = tmp_path / "exported"
        run(
            "-m",
            "navila_cli",
            "export",
            "--checkpoint",
            str(second[-1]),
            "--out",
            str(out),
            "--device",
            "cpu",
        )
        spec = DeploySpec.load(out)
        assert spec.task == "NaVILA-Go2-Flat" and spec.obs_dim == 909 and spec.action_scale == 0.25
        assert [spec.joint_names[i] for i in spec.sdk_joint_order][:3] == [
            "FR_hip_joint",
            "FR_thigh_joint",
            "FR_calf_joint",
        ]
        obs = torch.randn(5, spec.obs_dim)
        expected = torch.jit.load(str(out / "policy.pt"))(obs).detach().numpy()
        session = ort.InferenceSession(str(out / "policy.onnx"))
        name = session.get_inputs()[0].name  # the robot runs one observation at a time
        actual = np.concatenate([session.run(None, {name: row[None].numpy()})[0] for row in obs])
        assert np.allclose(actual, expected, atol=1e-5)

        # an exported folder resumes as a fine-tune of its actor: a new run from iteration 0, std 0.3, its task and
        # the overrides it was trained with (the export's record); the new critic trains alone for the first
        # iteration here (20 by default), then the actor moves too
        assert yaml.safe_load((out / "params" / "run.yaml").read_text()) == record
        tuned = run(
            *common,
            "agent.critic_warmup_iterations=1",
            "--max_iterations",
            "2",
            "--run_name",
            "tuned",
            "--seed",
            "7",
            "--resume",
            str(out),
        )
        assert f"fine-tuning the actor of {out}" in tuned.stdout and "training NaVILA-Go2-Flat" in tuned.stdout
        record = yaml.safe_load((tmp_path / "go2_flat" / "tuned" / "params" / "run.yaml").read_text())
        assert record["overrides"] == [
            *overrides,
            "agent.critic_warmup_iterations=1",
            "agent.actor.distribution_cfg.init_std=0.3",
        ]
        exported = torch.jit.load(str(out / "policy.pt")).state_dict()
        warm, moved = (
            torch.load(tmp_path / "go2_flat" / "tuned" / f"model_{it}.pt", weights_only=False) for it in (0, 1)
        )
        assert torch.allclose(warm["actor_state_dict"]["distribution.std_param"], torch.full((12,), 0.3))
        assert all(torch.equal(value, warm["actor_state_dict"][name]) for name, value in exported.items()), "held"
        distance = (moved["actor_state_dict"]["mlp.0.weight"] - exported["mlp.0.weight"]).norm()
        assert 0 < distance < 0.5 * exported["mlp.0.weight"].norm(), "one update from the export after the warm-up"

    @pytest.mark.parametrize(
        ("task", "extra", "misfit"),
        [
            ("NaVILA-Go2-Flat", [], "mlp.0.weight (512, 450) (task: (512, 909))"),  # a LiDAR task's actor
            ("NaVILA-Go2-Rough-Blind", ["agent.actor.obs_normalization=true"], "none (task: obs_normalizer."),
        ],
    )
    def test_fine_tuning_an_export_that_does_not_fit_the_task_is_one_line(self, tmp_path, task, extra, misfit):
        """The shipped blind policy (450 inputs, no observation normalizer) cannot start an actor that reads 909 or
        normalizes its inputs."""
        blind = str(POLICIES / "go2_rough_blind")
        args = ["--task", task, "--num_envs", "4", "--device", "cpu", "--max_iterations", "1", "--resume", blind]
        result = subprocess.run(
            [sys.executable, "-m", "navila_cli", "train", *args, "--log_dir", str(tmp_path), *SMALL_TERRAIN, *extra],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr
        message = result.stderr.strip().splitlines()[-1]
        assert f"does not fit the actor of {task}: {misfit}" in message

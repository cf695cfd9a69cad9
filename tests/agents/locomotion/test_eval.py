"""navila evaluate: metric functions on synthetic tensors, one-line CLI errors, and small CPU runs."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from eval_probe import write_fresh_policy
from navila_agents.locomotion.eval_report import combine_seeds, results_table, summarize, terrain_group
from navila_lab.deploy_spec import DEPLOY_FILE, OBSERVATION_TERMS
from navila_lab.mdp.locomotion_metrics import (
    EvalTotals,
    each_partner,
    joint_power,
    non_foot_contact,
    obstacle_contact,
    onsets,
    speed_slots,
    touching,
    tracking_errors,
)
from rich.console import Console

PROBE = Path(__file__).parents[2] / "support" / "eval_probe.py"
FEET = torch.tensor([False, True])
"""Two bodies per env in the synthetic contact tensors: a calf and a foot."""


def navila(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "navila_cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def forces(calf=(0.0, 0.0, 0.0), foot=(0.0, 0.0, 0.0), history: int = 4, at: int = 0) -> torch.Tensor:
    """(1 env, history, 2 bodies, 3) normal forces: zero except sub-step ``at``."""
    value = torch.zeros(1, history, 2, 3)
    value[0, at, 0] = torch.tensor(calf)
    value[0, at, 1] = torch.tensor(foot)
    return value


class TestStepQuantities:
    def test_tracking_errors(self):
        """Planar error is the norm of the xy difference; yaw error the absolute yaw-rate difference."""
        lin, yaw = tracking_errors(
            torch.tensor([[0.3, 0.4, 9.0]]), torch.tensor([[9.0, 9.0, -0.2]]), torch.tensor([[0.0, 0.0, 0.3]])
        )
        assert lin.tolist() == pytest.approx([0.5]) and yaw.tolist() == pytest.approx([0.5])

    def test_joint_power_counts_braking(self):
        """Negative joint power (a joint braking) adds to the energy like positive power."""
        power = joint_power(torch.tensor([[2.0, -3.0], [0.0, 1.0]]), torch.tensor([[1.0, 1.0], [5.0, 0.0]]))
        assert power.tolist() == [5.0, 0.0]

    def test_touching_in_any_substep(self):
        """A force above the threshold in one sub-step is a touch; forces below it are not."""
        assert touching(forces(calf=(0.0, 2.0, 0.0), at=3)).tolist() == [True]
        assert touching(forces(calf=(0.0, 0.5, 0.0), foot=(0.0, 0.0, 0.9))).tolist() == [False]

    @pytest.mark.parametrize(
        ("calf", "foot", "hit"),
        [
            ((0.0, 0.0, 0.0), (0.0, 0.0, 60.0), False),  # standing on the ground
            ((0.0, 0.0, 0.0), (5.0, 2.0, 40.0), False),  # foot on a slope
            ((0.0, 0.0, 0.0), (30.0, 0.0, 5.0), True),  # foot against an obstacle's side
            ((0.0, 0.0, 3.0), (0.0, 0.0, 60.0), True),  # calf on anything
            ((0.0, 0.5, 0.0), (0.8, 0.0, 0.0), False),  # below the threshold
        ],
    )
    def test_obstacle_contact(self, calf, foot, hit):
        """Non-foot contacts and feet pushed sideways by steep faces are obstacle hits; feet on ground or slopes not."""
        assert obstacle_contact(forces(calf, foot), FEET).tolist() == [hit]

    def test_non_foot_contact(self):
        """Any body but a foot touching a wall is a collision, feet never are, light touches neither."""
        assert non_foot_contact(forces(calf=(3.0, 0.0, 0.0), at=2), FEET).tolist() == [True]
        assert non_foot_contact(forces(foot=(50.0, 0.0, 0.0)), FEET).tolist() == [False]
        assert non_foot_contact(forces(calf=(0.5, 0.0, 0.0)), FEET).tolist() == [False]

    def test_each_partner_keeps_every_filter_partner(self):
        """A force on the second of two partners (e.g. glass after the obstacles) reaches the per-body tests."""
        matrix = torch.zeros(1, 4, 2, 2, 3)  # envs, sub-steps, bodies (calf, foot), partners, xyz
        matrix[0, 1, 0, 1] = torch.tensor([4.0, 0.0, 0.0])
        flat = each_partner(matrix)
        assert flat.shape == (1, 8, 2, 3) and non_foot_contact(flat, FEET).tolist() == [True]

    def test_onsets(self):
        """A contact counts once, at the step it begins."""
        now = torch.tensor([True, True, False, False])
        before = torch.tensor([False, True, True, False])
        assert onsets(now, before).tolist() == [True, False, False, False]

    def test_speed_slots_cycle_within_each_column(self):
        """Envs of one terrain column take the speeds in turn, whatever the order of the envs."""
        assert speed_slots(torch.tensor([0, 0, 0, 1, 1, 1, 1]), 2).tolist() == [0, 1, 0, 0, 1, 0, 1]
        assert speed_slots(torch.tensor([1, 0, 1, 0, 1]), 3).tolist() == [0, 0, 1, 1, 2]

    def test_terrain_groups(self):
        """Both slope sub-terrains report as slopes; a sub-terrain outside the groups keeps its name."""
        assert [terrain_group(name) for name in ("hf_pyramid_slope_inv", "random_rough", "wall")] == [
            "slopes",
            "rough",
            "wall",
        ]


@pytest.mark.sim
def test_layouts_give_each_terrain_type_distinct_columns():
    """With three layouts every terrain type fills three neighbouring columns, and their obstacle boxes differ."""
    from navila_agents.locomotion import runtime
    from navila_agents.locomotion.evaluation import EvalSet, make_eval_cfg

    env_cfg, _ = runtime.load_cfgs("NaVILA-Go2-Rough-Lidar", [], play=True)
    columns = make_eval_cfg(env_cfg, EvalSet(terrains=["obstacles", "flat"]), seed=5, max_episodes=1, layouts=3)
    assert [terrain_group(name) for name in columns] == ["flat"] * 3 + ["obstacles"] * 3
    generator = env_cfg.scene.terrain.terrain_generator
    generator.num_rows = 1
    boxes = generator.class_type(generator, device="cpu").walls["obstacles"]  # generated column by column
    per_column = len(boxes) // 3
    layouts = {
        tuple(sorted(tuple(box.extents.round(3)) for box in boxes[i : i + per_column]))
        for i in range(0, len(boxes), per_column)
    }
    assert per_column == 10 and len(layouts) == 3


def synthetic_totals() -> EvalTotals:
    """Four envs: two on flat (speeds 0.0, 0.5), two on glass (0.0, 0.5), one still on its first step."""
    totals = EvalTotals.zeros(4, ["time_out", "head_contact"], "cpu")
    totals.steps[:] = torch.tensor([100.0, 100.0, 50.0, 0.0])
    totals.episodes[:] = torch.tensor([1.0, 1.0, 2.0, 0.0])
    totals.falls[:] = torch.tensor([0.0, 0.0, 1.0, 0.0])
    totals.terminations["head_contact"][:] = torch.tensor([0.0, 0.0, 1.0, 0.0])
    totals.forward_speed[:] = torch.tensor([0.0, 45.0, 10.0, 0.0])
    totals.lin_vel_error[:] = torch.tensor([5.0, 10.0, 20.0, 0.0])
    totals.distance[:] = torch.tensor([0.1, 9.0, 2.0, 0.0])
    totals.glass_contacts[:] = torch.tensor([0.0, 0.0, 3.0, 0.0])
    totals.collisions[:] = torch.tensor([0.0, 0.0, 1.0, 0.0])
    totals.level_start[:] = torch.tensor([0.0, 2.0, 4.0, 1.0])
    totals.level_end[:] = torch.tensor([1.0, 3.0, 3.0, 1.0])
    return totals


class TestSummary:
    @pytest.fixture
    def summary(self):
        return summarize(synthetic_totals(), ["flat", "flat", "glass", "glass"], torch.tensor([0.0, 0.5, 0.0, 0.5]))

    def test_terrains_in_order_then_all(self, summary):
        """One entry per terrain type in order of appearance, then the whole set."""
        assert list(summary) == ["flat", "glass", "all"]
        assert [summary[name]["envs"] for name in summary] == [2, 2, 4]

    def test_rates_per_episode_and_means_per_step(self, summary):
        """Counts are divided by episodes, velocities and errors by env steps, levels averaged over envs."""
        glass, every = summary["glass"], summary["all"]
        assert glass["fall_rate"] == pytest.approx(0.5) and glass["terminations"]["head_contact"] == pytest.approx(0.5)
        assert glass["glass_contacts_per_episode"] == pytest.approx(1.5)
        assert glass["collision_rate"] == pytest.approx(0.5) and summary["flat"]["collision_rate"] == 0.0
        assert every["fall_rate"] == pytest.approx(0.25) and every["env_steps"] == 250
        assert every["forward_speed"] == pytest.approx(55.0 / 250.0)
        assert summary["flat"]["distance_per_episode"] == pytest.approx(4.55)
        assert every["terrain_level"] == pytest.approx({"start": 1.75, "end": 2.0})

    def test_by_speed(self, summary):
        """Each commanded speed gets its own summary; an env without counted steps yields None, not a number."""
        flat = summary["flat"]["by_speed"]
        assert flat["0.50"]["forward_speed"] == pytest.approx(0.45)
        assert flat["0.00"]["lin_vel_error"] == pytest.approx(0.05)
        assert summary["glass"]["by_speed"]["0.50"]["lin_vel_error"] is None

    def test_table_side_by_side(self, summary):
        """With two policies, each cell reads 'A / B' and terrains missing from one policy show a dash."""
        other = {"name": "B", "terrains": {"flat": summary["flat"], "all": summary["all"]}}
        console = Console(width=200, record=True)
        console.print(results_table([{"name": "A", "terrains": summary}, other]))
        text = console.export_text()
        assert "A / B" in text
        falls = next(line for line in text.splitlines() if line.startswith("│ falls"))
        assert [cell.strip() for cell in falls.split("│")[2:5]] == ["0.0 / 0.0", "50.0 / —", "25.0 / 25.0"]


class TestSeeds:
    def test_mean_and_spread_over_seeds(self):
        """Rates and means are averaged over seeds with their sample standard deviation; counts are summed; an entry
        missing in one seed (no steps) stays None; one seed has no spread."""
        speeds = torch.tensor([0.0, 0.5, 0.0, 0.5])
        first = summarize(synthetic_totals(), ["flat", "flat", "glass", "glass"], speeds)
        totals = synthetic_totals()
        totals.falls[2] = 0.0
        second = summarize(totals, ["flat", "flat", "glass", "glass"], speeds)
        mean, spread = combine_seeds([first, second])
        assert mean["glass"]["fall_rate"] == pytest.approx(0.25) and spread["glass"]["fall_rate"] == pytest.approx(
            math.sqrt(0.125)
        )
        assert mean["all"]["episodes"] == 8 and spread["all"]["episodes"] is None
        assert mean["glass"]["by_speed"]["0.50"]["lin_vel_error"] is None
        assert combine_seeds([first]) == (first, None)

    def test_table_reads_mean_and_spread(self):
        """Over seeds a rate cell reads 'mean ± sd' and the title names envs and seeds; counts have no spread."""
        speeds = torch.tensor([0.0, 0.5, 0.0, 0.5])
        first = summarize(synthetic_totals(), ["flat", "flat", "glass", "glass"], speeds)
        totals = synthetic_totals()
        totals.falls[2] = 0.0
        mean, spread = combine_seeds([first, summarize(totals, ["flat", "flat", "glass", "glass"], speeds)])
        console = Console(width=200, record=True)
        console.print(
            results_table([{"name": "A", "terrains": mean, "spread": spread, "seeds": [0, 1], "num_envs": 4}])
        )
        text = console.export_text()
        assert "(4 envs × 2 seeds)" in text
        falls = next(line for line in text.splitlines() if line.startswith("│ falls"))
        assert [cell.strip() for cell in falls.split("│")[2:5]] == ["0.0 ± 0.0", "25.0 ± 35.4", "12.5 ± 17.7"]
        episodes = next(line for line in text.splitlines() if line.startswith("│ episodes"))
        assert "±" not in episodes


class TestCliErrors:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--policy", "/nonexistent/policy"), "policy '/nonexistent/policy' does not exist"),
            (("--policy", "{tmp}", "--terrain", "lava"), "unknown terrain 'lava'"),
            (("--policy", "{tmp}"), "holds neither an exported policy"),
            (("--policy", "{tmp}", "--steps", "0"), "--steps must be positive"),
            (("--policy", "{tmp}", "--jobs", "0"), "--jobs must be positive"),
            (("--policy", "{tmp}", "--speeds", "fast"), "--speeds must be comma-separated numbers"),
            (("--policy", "{tmp}", "--seeds", "0", "1", "0"), "--seeds lists a seed twice: 0 1 0"),
            (("--compare", "{fresh}", "/nonexistent/b"), "policy '/nonexistent/b' does not exist"),
            (("--policy", "{fresh}", "--terrain", "glass"), "this task has no 'glass' terrain (it has: flat)"),
        ],
    )
    def test_one_line_error(self, tmp_path, args, message):
        """Mistakes in the command line or the policy path end in one stderr line and exit code 2."""
        fresh = write_fresh_policy(tmp_path / "fresh")
        (tmp_path / "empty").mkdir()
        args = [arg.format(tmp=tmp_path / "empty", fresh=fresh) for arg in args]
        result = navila("evaluate", *args, "--out", str(tmp_path / "out.json"))
        assert result.returncode == 2, result.stderr[-2000:]
        lines = [line for line in result.stderr.splitlines() if line.strip() and "Warning" not in line]
        assert message in lines[-1] and "Traceback" not in result.stderr
        assert not (tmp_path / "out.json").exists()

    def test_exported_dir_without_torchscript(self, tmp_path):
        """An exported directory missing policy.pt is named as such."""
        (write_fresh_policy(tmp_path / "policy") / "policy.pt").unlink()
        result = navila("evaluate", "--policy", str(tmp_path / "policy"))
        assert result.returncode == 2 and "has no policy.pt" in result.stderr


@pytest.mark.sim
class TestEvalRuns:
    def test_compare_a_policy_with_itself(self, tmp_path):
        """A fresh policy holding its pose, evaluated twice on one set by two processes at once: same numbers, a
        complete, plausible file."""
        policy = write_fresh_policy(tmp_path / "fresh")
        out = tmp_path / "eval.json"
        result = navila(
            "evaluate",
            "--compare",
            str(policy),
            str(policy),
            "--speeds",
            "0,0.5",
            "--num_envs",
            "4",
            "--steps",
            "50",
            "--device",
            "cpu",
            "--seed",
            "3",
            "--jobs",
            "2",
            "--out",
            str(out),
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "lin. vel. error" in result.stdout and " / " in result.stdout
        report = json.loads(out.read_text())
        assert (
            report["format_version"] == 1 and report["eval_set"]["seeds"] == [3] and report["device"].startswith("cpu")
        )
        first, second = report["policies"]
        assert first["terrains"] == second["terrains"], "same seed, same set: the runs must agree exactly"
        assert first["kind"] == "exported" and first["task"] == "NaVILA-Go2-Flat" and first["num_envs"] == 4
        flat = first["terrains"]["flat"]
        assert list(first["terrains"]) == ["flat", "all"] and flat["env_steps"] == 200
        assert set(flat) >= {
            "fall_rate",
            "terminations",
            "forward_speed",
            "lin_vel_error",
            "yaw_vel_error",
            "power",
            "distance_per_episode",
            "obstacle_contacts_per_episode",
            "glass_contacts_per_episode",
            "terrain_level",
            "by_speed",
        }
        assert all(math.isfinite(flat[key]) for key in ("power", "yaw_vel_error", "distance_per_episode"))
        # every fall has its terms; on flat ground a body contact that ends an episode is an obstacle contact
        terms = flat["terminations"]
        assert flat["episodes"] >= 4 and 0.0 <= flat["fall_rate"] <= 1.0
        assert sum(rate for name, rate in terms.items() if name != "time_out") >= flat["fall_rate"]
        body_contact_ends = max(terms[name] for name in ("base_contact", "hip_contact", "head_contact", "calf_contact"))
        assert flat["obstacle_contacts_per_episode"] >= body_contact_ends
        # a robot holding its pose hardly moves, spends power holding it, and its error is the commanded speed
        assert abs(flat["forward_speed"]) < 0.1 and flat["distance_per_episode"] < 0.5 and 1.0 < flat["power"] < 500.0
        assert flat["by_speed"]["0.00"]["lin_vel_error"] < 0.2
        assert flat["by_speed"]["0.50"]["lin_vel_error"] == pytest.approx(0.5, abs=0.1)
        assert flat["by_speed"]["0.50"]["envs"] == 2

    def test_glass_contacts_are_counted_apart_from_obstacles(self, tmp_path):
        """A robot spawned into a glass wall touches glass once per episode (and no obstacle); one in the open never."""
        policy = write_fresh_policy(tmp_path / "fresh")
        result = subprocess.run([sys.executable, str(PROBE), str(policy)], capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        glass, flat = summary["glass"], summary["flat"]
        assert glass["glass_contacts_per_episode"] == pytest.approx(1.0) and glass["fall_rate"] == pytest.approx(1.0)
        assert glass["obstacle_contacts_per_episode"] == 0.0
        assert flat["glass_contacts_per_episode"] == 0.0 and flat["fall_rate"] == 0.0
        # NaVILA Table V's collision rate: every glass episode has a non-foot contact with a wall, no flat one has
        assert glass["collision_rate"] == pytest.approx(1.0) and flat["collision_rate"] == 0.0

    def test_observation_size_mismatch(self, tmp_path):
        """A blind-sized policy on the LiDAR task is a one-line error naming both sizes."""
        policy = write_fresh_policy(tmp_path / "blind", blind=True)
        result = navila(
            "evaluate",
            "--policy",
            str(policy),
            "--num_envs",
            "1",
            "--steps",
            "1",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "out.json"),
        )
        assert result.returncode == 2, result.stderr[-2000:]
        assert "reads 450-D observations but task NaVILA-Go2-Flat gives 909-D" in result.stderr
        assert "Traceback" not in result.stderr

    def test_observation_terms_mismatch(self, tmp_path):
        """A policy whose contract reads other terms than the task (e.g. exported before base_rpy became projected
        gravity) is a one-line error naming both term lists, even when the widths agree."""
        policy = write_fresh_policy(tmp_path / "old")
        contract = yaml.safe_load((policy / DEPLOY_FILE).read_text())
        term = next(term for term in contract["observations"] if term["name"] == "projected_gravity")
        term["name"], term["meaning"] = "base_rpy", OBSERVATION_TERMS["base_rpy"].meaning
        (policy / DEPLOY_FILE).write_text(yaml.safe_dump(contract, sort_keys=False))
        args = ("--num_envs", "1", "--steps", "1", "--device", "cpu", "--out", str(tmp_path / "out.json"))
        result = navila("evaluate", "--policy", str(policy), *args)
        assert result.returncode == 2, result.stderr[-2000:]
        assert "'base_rpy'" in result.stderr and "'projected_gravity'" in result.stderr
        assert "Traceback" not in result.stderr


def test_wall_sensor_only_where_the_terrains_have_walls():
    """Free terrains alone have no walls for the wall-contact sensor to match: it and its termination are dropped."""
    from navila_agents.locomotion import runtime
    from navila_agents.locomotion.evaluation import EvalSet, make_eval_cfg

    free, _ = runtime.load_cfgs("NaVILA-Go2-Rough-Lidar", [], play=True)
    make_eval_cfg(free, EvalSet(terrains=["flat", "rough", "slopes"]), seed=0, max_episodes=1)
    assert free.scene.wall_contacts is None and free.terminations.wall_contact is None
    walled, _ = runtime.load_cfgs("NaVILA-Go2-Rough-Lidar", [], play=True)
    make_eval_cfg(walled, EvalSet(terrains=["flat", "glass"]), seed=0, max_episodes=1)
    assert walled.scene.wall_contacts is not None and walled.terminations.wall_contact is not None


def test_a_wall_task_is_evaluated_on_extra_terrains_by_name_only():
    """The thin-wall tiles are offered to a task with walls that did not train on them; "all" stays the task's own
    terrains, and the wall sensors follow the kinds of wall the chosen tiles hold."""
    from navila_agents.locomotion import runtime
    from navila_agents.locomotion.evaluation import EvalSet, make_eval_cfg
    from navila_lab.mdp.recorders import GLASS_SENSOR, OBSTACLE_SENSOR

    env_cfg, _ = runtime.load_cfgs("NaVILA-Go2-Rough-Lidar", [], play=True)
    assert "thin_walls" not in make_eval_cfg(env_cfg, EvalSet(terrains=["all"]), seed=0, max_episodes=1)
    env_cfg, _ = runtime.load_cfgs("NaVILA-Go2-Rough-Lidar", [], play=True)
    assert set(make_eval_cfg(env_cfg, EvalSet(terrains=["thin_walls"]), seed=0, max_episodes=1)) == {"thin_walls"}
    assert hasattr(env_cfg.scene, OBSTACLE_SENSOR) and hasattr(env_cfg.scene, GLASS_SENSOR)
    env_cfg, _ = runtime.load_cfgs("NaVILA-Go2-Rough-Lidar", [], play=True)
    make_eval_cfg(env_cfg, EvalSet(terrains=["glass"]), seed=0, max_episodes=1)
    assert not hasattr(env_cfg.scene, OBSTACLE_SENSOR) and hasattr(env_cfg.scene, GLASS_SENSOR)
    flat, _ = runtime.load_cfgs("NaVILA-Go2-Flat", [], play=True)
    with pytest.raises(runtime.UserError, match="no 'thin_walls' terrain"):
        make_eval_cfg(flat, EvalSet(terrains=["thin_walls"]), seed=0, max_episodes=1)

"""benchmarks/vla_results.py over the teleported low level on CPU: every method on a tiny test set, kinematic."""

import json
import shutil
import subprocess
import sys
from argparse import Namespace
from dataclasses import dataclass

import pytest
from navila_benchmarks import vla_results
from navila_lab.errors import UserError

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A ``navila vla-data`` dataset of one scene per split, one episode each, 16 px frames."""
    data = tmp_path_factory.mktemp("vla_results") / "data"
    command = [sys.executable, "-m", "navila_cli", "vla-data", "--out", str(data), "--device", "cpu"]
    command += ["--train-scenes", "1", "--val-scenes", "1", "--test-scenes", "1", "--per-scene", "1"]
    command += ["--camera-size", "16", "--num_envs", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return data


def test_teleported_scoring_runs_every_method_without_physics(tmp_path, tiny_data, small_vla_path):
    """The teleported worker scores the VLA, its mirror-averaged and by-action rankings, the VLA with the oracle's
    stops, its ablations and both oracles on both sets; the full-view oracle reaches the clear goals; falls and
    contacts, which the kinematic low level does not measure, read "–"."""
    data = tiny_data
    report = tmp_path / "report.md"
    argv = ["--vla", str(small_vla_path), "--data", str(data), "--low-levels", "perfect", "--device", "cpu"]
    argv += ["--max-steps", "1500", "--out-dir", str(tmp_path / "runs"), "--report", str(report)]
    argv += ["--mirror-average", "--rank-by-action", "--expert-stops"]
    assert vla_results.main(argv) == 0
    rows = [line for line in report.read_text().splitlines() if "| teleported |" in line]
    assert len(rows) == 2 * len(vla_results.METHODS)
    assert all(row.endswith("| – | – | – |") for row in rows)
    clear_oracle = next(row for row in rows if row.startswith("| oracle, full view |"))
    assert "| 100.0 | 100.0 |" in clear_oracle

    card = tmp_path / "shipped"
    shutil.copytree(small_vla_path, card)
    assert vla_results.main([*argv, "--from-runs", "--card", str(card)]) == 0
    sections = report.read_text().split("\n## ")
    assert len(sections) == 3 and sections[1].split("\n\n", 2)[2] == sections[2].split("\n\n", 2)[2]
    assert clear_oracle in (card / "MODEL_CARD.md").read_text()


def test_governed_lidar_policy_runs_behind_the_governor(tmp_path, tiny_data, small_vla_path):
    """``--low-levels lidar_governed`` steps the LiDAR policy with its commands capped by the height-map governor (the
    policy's command observation is the governed one; the plain LiDAR low level keeps the raw command) and reports
    its rows with physics: falls and contacts are counted."""
    from navila_agents.vln.env import VLN_TASK, vln_env_cfg
    from navila_lab import mdp

    env_args = Namespace(task=VLN_TASK, overrides=[], device="cpu", num_envs=1, seed=None, camera_size=16)
    governed, plain = (vln_env_cfg(env_args, [], 1, governed=flag).observations.policy for flag in (True, False))
    assert governed.velocity_commands.func is mdp.governed_velocity_commands
    assert plain.velocity_commands.func is not mdp.governed_velocity_commands

    report = tmp_path / "report.md"
    argv = ["--vla", str(small_vla_path), "--data", str(tiny_data), "--low-levels", "lidar_governed"]
    argv += ["--methods", "vla", "--max-steps", "100", "--device", "cpu"]
    assert vla_results.main([*argv, "--out-dir", str(tmp_path / "runs"), "--report", str(report)]) == 0
    rows = [line for line in report.read_text().splitlines() if "| LiDAR policy + governor |" in line]
    assert len(rows) == 2 and not any("–" in row for row in rows)


def test_from_runs_without_runs_is_one_line_error(tmp_path, small_vla_path):
    """--from-runs with an empty --out-dir says what is missing instead of writing empty tables."""
    data = tmp_path / "data"
    (data / "episodes").mkdir(parents=True)
    for file in vla_results.SETS.values():
        (data / "episodes" / f"{file}.json.gz").touch()
    argv = ["--vla", str(small_vla_path), "--data", str(data), "--low-levels", "perfect", "--from-runs"]
    with pytest.raises(UserError, match="no run under"):
        vla_results.main([*argv, "--out-dir", str(tmp_path / "runs"), "--report", str(tmp_path / "report.md")])


@dataclass(frozen=True)
class Episode:
    instruction_text: str


def test_methods_keep_only_their_jobs():
    """--methods plans only the named methods' jobs; a pass left without jobs is empty (and skipped)."""
    clear, glass = [Episode("a"), Episode("b")], [Episode("c")]
    sets = {"clear": clear, "glass": glass}
    every = vla_results.plan_jobs(sets, "perfect", ["sft"], list(vla_results.VARIANT_FLAGS))
    assert {job.method for jobs in every.values() for job in jobs} == {*vla_results.METHODS, "sft"}
    only = vla_results.plan_jobs(sets, "perfect", ["sft"], ["mirrored"], methods=["mirrored", "sft"])
    assert [(job.method, job.set_name) for job in only[True]] == [
        ("sft", "clear"),
        ("sft", "clear"),
        ("mirrored", "clear"),
        ("mirrored", "clear"),
        ("sft", "glass"),
        ("mirrored", "glass"),
    ]
    assert only[False] == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--methods", "vla", "mirror"], "unknown mirror"),
        (["--methods", "mirrored"], "needs --mirror-average"),
        (["--methods", "by_action"], "needs --rank-by-action"),
        (["--methods", "expert_stop"], "needs --expert-stops"),
    ],
)
def test_bad_methods_are_one_line_errors(tmp_path, small_vla_path, extra, message):
    """An unknown --methods name, or a variant without its flag, is refused before any episode runs."""
    argv = ["--vla", str(small_vla_path), "--data", str(tmp_path), "--low-levels", "perfect", *extra]
    with pytest.raises(UserError, match=message):
        vla_results.main(argv)


def fake_run(out_dir, method: str, set_name: str, successes: list[bool]) -> None:
    """A teleported run folder as the worker writes it, with only what the tables read."""
    from navila_agents.vln.metrics import METRIC_COLUMNS

    run = out_dir / "perfect" / f"{method}_{set_name}"
    run.mkdir(parents=True)
    episodes = [{"episode_id": i, "success": success} for i, success in enumerate(successes)]
    (run / "episodes.json").write_text(json.dumps(episodes))
    metrics = dict.fromkeys(METRIC_COLUMNS, 0) | {"episodes": len(successes), "SR": 100.0 * sum(successes) / 4}
    label = f"{vla_results.METHODS.get(method, f'VLA after {method}')} | teleported | {set_name}"
    (run / "summary.json").write_text(json.dumps({"label": label, "metrics": metrics, "config": {"method": method}}))


def test_tables_add_seed_means_and_episode_pairs(tmp_path):
    """Rounds named NAME@SEED get a mean ± sd row of their recipe; every round's successes are counted against the
    VLA's on the same episodes."""
    runs = {"vla": [True, False, False, False], "r@0": [True, True, False, False], "r@1": [False, False, True, True]}
    for set_name in vla_results.SETS:
        for method, successes in runs.items():
            fake_run(tmp_path, method, set_name, successes)
    text = vla_results.tables(tmp_path, ["perfect"])
    clear = text.split("### Test scenes with glass")[0]
    recipe_row = next(line for line in clear.splitlines() if "mean ± sd" in line)
    assert recipe_row.startswith("| VLA after r, mean ± sd of 2 seeds | teleported | 4 × 2 |")
    assert "| 50.0 ± 0.0 |" in recipe_row  # SR: both seeds reach 2 of 4
    assert "| r@0 | 2 | 1 | 0 |" in clear
    assert "| r@1 | 2 | 2 | 1 |" in clear
    assert text.count("mean ± sd of 2 seeds") == 2  # one row per set

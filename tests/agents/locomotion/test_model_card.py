"""``navila card``: facts read from TensorBoard events over resumed sessions, curves PNG, eval table, input errors."""

import json

import numpy as np
import pytest
from navila_agents.locomotion.model_card import eval_table, read_scalars, run_size, training_seconds, write_model_card
from navila_agents.locomotion.runtime import record_run
from navila_cli import main as navila
from torch.utils.tensorboard import SummaryWriter

ENV_YAML = """scene:
  num_envs: 4096
  env_spacing: 2.5
events:
  reset:
    joint_ids: !!python/object/apply:builtins.slice
    - null
    - null
sim:
  gravity: !!python/tuple
  - 0.0
  - -9.81
"""


def make_run(root, sessions=((0, 10), (10, 20))):
    """A run dir with two events files (a resumed run) logging rewards 0..19 and the dumped cfgs."""
    run = root / "run"
    (run / "params").mkdir(parents=True)
    (run / "params" / "env.yaml").write_text(ENV_YAML)
    (run / "params" / "agent.yaml").write_text("num_steps_per_env: 24\nmax_iterations: 2000\n")
    for first, last in sessions:
        writer = SummaryWriter(str(run), filename_suffix=f".{first}")
        for step in range(first, last):
            writer.add_scalar("Train/mean_reward", float(step), step)
            writer.add_scalar("Curriculum/terrain_levels", 1.0 + 0.1 * step, step)
        writer.close()
    return run


def eval_report(path, name="pol"):
    terrain = {
        "fall_rate": 0.125,
        "forward_speed": 0.5,
        "lin_vel_error": 0.06,
        "yaw_vel_error": 0.05,
        "glass_contacts_per_episode": 0.25,
        "obstacle_contacts_per_episode": 0.1,
        "power": 30.0,
    }
    report = {
        "device": "NVIDIA H200",
        "date": "2026-11-24T06:49:14+00:00",
        "eval_set": {"seeds": [0, 1, 2]},
        "policies": [
            {
                "name": name,
                "terrains": {"flat": terrain, "glass": dict(terrain, fall_rate=0.5, collision_rate=0.25)},
                "spread": {"flat": {"fall_rate": 0.0}, "glass": {"fall_rate": 0.1, "collision_rate": 0.05}},
            }
        ],
    }
    path.write_text(json.dumps(report))
    return path


def test_scalars_join_resumed_sessions_in_iteration_order(tmp_path):
    series = read_scalars(str(make_run(tmp_path)), ["Train/mean_reward", "Missing/tag"])
    assert series["Train/mean_reward"].steps.tolist() == list(range(20))
    assert series["Train/mean_reward"].values.tolist() == [float(step) for step in range(20)]
    assert series["Missing/tag"].steps.size == 0


def test_training_seconds_skip_pauses_between_sessions():
    wall = np.array([0.0, 2.0, 4.0, 500.0, 502.0])
    assert training_seconds(wall) == pytest.approx(6.0)


def test_run_size_reads_isaac_lab_dumps_with_python_tags(tmp_path):
    assert run_size(str(make_run(tmp_path))) == (4096, 24)


def test_eval_table_rows_per_terrain(tmp_path):
    report = json.loads(eval_report(tmp_path / "eval.json").read_text())
    table = eval_table(report, "pol").splitlines()
    assert table[0] == "| metric | flat | glass |"
    assert "| falls | 12.5 ± 0.0% | 50.0 ± 10.0% |" in table
    assert "| collisions (episodes touching a box or pane) | – | 25.0 ± 5.0% |" in table
    assert "| forward speed (m/s) | 0.50 | 0.50 |" in table
    assert all(row.count("|") == 4 for row in table)
    with pytest.raises(ValueError, match="no policy 'other'"):
        eval_table(report, "other")


def test_card_and_curves_written(tmp_path):
    policy = tmp_path / "pol"
    policy.mkdir()
    run = make_run(tmp_path)
    path = write_model_card(
        str(policy), str(run), "NaVILA-Go2-Flat", "abc1234", "cpu", str(eval_report(tmp_path / "e.json"))
    )
    card = open(path).read()
    assert "iterations: 20 x 4096 envs x 24 steps = 2.0 M env steps" in card
    assert "final mean episode reward: 19.00 (mean of the last 10 iterations: 14.50)" in card
    assert "| glass contacts / episode | 0.25 | 0.25 |" in card
    assert (policy / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_card_of_a_policy_evaluated_under_another_name(tmp_path):
    """A policy evaluated from its export directory and shipped under another name finds its row by ``eval_name``."""
    policy = tmp_path / "pol"
    policy.mkdir()
    report = str(eval_report(tmp_path / "e.json", name="run7"))
    with pytest.raises(ValueError, match=r"no policy 'pol' \(it has: run7\)"):
        write_model_card(str(policy), str(make_run(tmp_path)), "NaVILA-Go2-Flat", "abc", "cpu", report)
    path = write_model_card(str(policy), str(tmp_path / "run"), "NaVILA-Go2-Flat", "abc", "cpu", report, "", "run7")
    assert "| glass contacts / episode | 0.25 | 0.25 |" in open(path).read()


def test_cli_takes_the_task_from_the_run_record(tmp_path, capsys):
    policy = tmp_path / "pol"
    policy.mkdir()
    run = make_run(tmp_path)
    common = ["--policy", str(policy), "--run", str(run), "--commit", "abc", "--device", "cpu"]
    assert navila(["card", *common]) == 2  # no record, no --task
    record_run(str(run), "NaVILA-Go2-Rough-Lidar-Gaps", [])
    assert navila(["card", *common, "--task", "NaVILA-Go2-Flat"]) == 2  # not the recorded task
    errors = capsys.readouterr().err.strip().splitlines()
    assert "records no task" in errors[0] and "NaVILA-Go2-Rough-Lidar-Gaps, not NaVILA-Go2-Flat" in errors[1]
    assert navila(["card", *common]) == 0
    assert "NaVILA-Go2-Rough-Lidar-Gaps" in (policy / "MODEL_CARD.md").read_text()


def test_cli_errors_are_one_line(tmp_path, capsys):
    run = make_run(tmp_path)
    common = ["--task", "NaVILA-Go2-Flat", "--commit", "abc", "--device", "cpu"]
    assert navila(["card", "--policy", str(tmp_path / "nope"), "--run", str(run), *common]) == 2
    assert navila(["card", "--policy", str(tmp_path), "--run", str(tmp_path), *common]) == 2
    assert navila(["card", "--policy", str(tmp_path), "--run", str(run), "--eval", "missing.json", *common]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("navila card: error:") for line in errors)

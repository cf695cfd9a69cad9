"""benchmarks/train_speed.py without a simulator: figures of hand-made training records, and its input errors."""

import math

import pytest
from bench_script import navila_bench
from navila_benchmarks import train_speed


def run(task: str = "ours", rewards=(None, -2.0, 4.0, 9.0, 10.0, 10.0), first: float = 60.0, step: float = 2.0):
    """A run launched at t=0 whose first iteration ends at ``first`` s and the next ones every ``step`` s."""
    records = [
        {"time": first + step * index, "collect": 1.5, "learn": 0.5, "reward": reward}
        for index, reward in enumerate(rewards)
    ]
    return train_speed.Run(task, num_envs=1000, steps_per_env=24, launched=0.0, records=records)


class TestRunFigures:
    def test_throughput_excludes_the_first_iteration(self):
        """env-steps/s counts the iterations after the first over their own wall time (compilation excluded)."""
        ours = run()
        assert ours.first_iteration_s == 60.0
        assert ours.steps_per_s == pytest.approx(5 * 1000 * 24 / 10.0)
        assert ours.mean_of("collect") == 1.5 and ours.mean_of("learn") == 0.5

    def test_reward_curve_and_when_it_flattens(self):
        """The final reward is the mean of the last ones; the curve flattens when it covers 90% of the way there."""
        ours = run()
        assert ours.final_reward == pytest.approx(31.0 / 5)
        assert ours.reward_at(63.0) == -2.0 and ours.reward_at(59.0) is None
        assert ours.reward_at(70.0) == 10.0 and ours.reward_at(71.0) is None  # past the run's end: not measured
        # from -2 to 6.2: 90% of the way is 5.38, first reached by 9.0 at t = 66 s
        assert ours.flattened_at() == 66.0

    def test_a_run_without_episodes_has_no_curve(self):
        """Before any episode ends there is no reward: the figures say so instead of inventing one."""
        empty = run(rewards=(None, None))
        assert math.isnan(empty.final_reward) and empty.flattened_at() is None and empty.reward_at(62.0) is None


class TestReport:
    def test_section_names_both_tasks_and_the_ratio(self):
        """The markdown section has a row per task, the rewards at the marks and the ours / stock env-steps/s ratio."""
        ours, stock = run("ours", step=2.0), run("stock", step=4.0)
        section = train_speed.report_section([ours, stock], "cpu", [62.0])
        assert "| ours | 1000 | 6 | 60.0 | 12,000 |" in section
        assert "| stock | 1000 | 6 | 60.0 | 6,000 |" in section
        assert "env-steps/s ours / stock: **2.00**" in section


def test_a_budget_is_required():
    """Without --seconds or --iterations (or with both) the command stops with one line and exit code 2."""
    for args in ((), ("--seconds", "10", "--iterations", "5")):
        result = navila_bench("train_speed", *args)
        assert result.returncode == 2 and "give one budget" in result.stderr


@pytest.mark.sim
@pytest.mark.slow
def test_log_dir_keeps_the_run(tmp_path):
    """With --log_dir the run stays as ``navila train`` leaves one: cfgs, events and the last iteration's checkpoint."""
    args = ["--tasks", "NaVILA-Go2-Rough-Lidar", "--device", "cpu", "--num_envs", "4", "--iterations", "2"]
    args += ["--log_dir", str(tmp_path / "runs"), "--results", str(tmp_path / "t.md")]
    result = navila_bench("train_speed", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    run = tmp_path / "runs" / "NaVILA-Go2-Rough-Lidar"
    assert (run / "params" / "env.yaml").is_file() and (run / "params" / "agent.yaml").is_file()
    assert (run / "model_1.pt").is_file() and list(run.glob("events.out.tfevents.*"))
    assert "| NaVILA-Go2-Rough-Lidar | 4 | 2 |" in (tmp_path / "t.md").read_text()

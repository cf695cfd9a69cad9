"""A policy meets only a task that builds its inputs the way it was trained: an exported one through its
deploy.yaml, a checkpoint through its run's record."""

from pathlib import Path

import pytest
from navila_agents.locomotion.policy import (
    FINE_TUNE_STD_KEY,
    FINE_TUNE_WARMUP_KEY,
    check_height_map,
    fine_tune_overrides,
    host_height_map,
    resolve_policy,
)
from navila_agents.locomotion.runtime import (
    DEFAULT_TASK,
    RUN_FILE,
    checkpoint_task,
    load_cfgs,
    record_run,
    recorded_run,
    resume_task,
)
from navila_lab.errors import UserError

POLICIES = Path(__file__).resolve().parents[3] / "policies"
LIDAR, BLIND = str(POLICIES / "go2_rough_lidar"), str(POLICIES / "go2_rough_blind")


def test_policy_on_its_own_task_passes():
    """The shipped LiDAR policy's map (deploy.yaml) is the one its task builds."""
    source = resolve_policy(LIDAR)
    env_cfg, _ = load_cfgs(f"{source.task}-Play", [], play=True)
    check_height_map(source, env_cfg)


def test_policy_on_a_task_with_another_map_fusion_is_refused():
    """A newest-fused policy on the max-map task is one line naming the field, not a silently different input."""
    source = resolve_policy(LIDAR, "NaVILA-Go2-Rough-Lidar-MaxMap")
    env_cfg, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-MaxMap-Play", [], play=True)
    with pytest.raises(
        UserError, match=r"height map with pool open \(task: max\), fusion newest \(task: max\); choose"
    ):
        check_height_map(source, env_cfg)


def test_the_vln_task_builds_the_map_of_the_policy_it_hosts():
    """The VLN task hosts any LiDAR policy: it builds the policy's map, and the governor bins sweeps the same way."""
    source = resolve_policy(LIDAR)
    env_cfg, _ = load_cfgs("NaVILA-Go2-VLN", [])
    env_cfg.govern_commands()
    with pytest.raises(UserError, match="pool open"):
        check_height_map(source, env_cfg)
    host_height_map(source, env_cfg)
    check_height_map(source, env_cfg)
    governed = (env_cfg.observations.policy.velocity_commands, env_cfg.observations.proprio_history.velocity_commands)
    assert [term.params["spec"] for term in governed] == [source.spec.height_map] * 2
    host_height_map(resolve_policy(BLIND), env_cfg)  # a blind policy reads no map: nothing changes
    check_height_map(source, env_cfg)


class TestRunRecord:
    """A checkpoint is built on the task it was trained on (``params/run.yaml``), not the default one."""

    @pytest.fixture
    def run(self, tmp_path):
        record_run(str(tmp_path), "NaVILA-Go2-Rough-Lidar-Gaps", ["env.rewards.wall_clearance.weight=-4.0"])
        (tmp_path / "model_9.pt").touch()
        (tmp_path / "stripped").mkdir()
        (tmp_path / "stripped" / "actor_critic_5.pt").touch()
        return tmp_path

    def test_recorded_task_and_overrides_come_first(self, run):
        task, overrides = checkpoint_task(str(run / "model_9.pt"), None, ["env.scene.num_envs=2"])
        assert task == "NaVILA-Go2-Rough-Lidar-Gaps"
        assert overrides == ["env.rewards.wall_clearance.weight=-4.0", "env.scene.num_envs=2"]

    def test_stripped_checkpoint_reads_its_runs_record(self, run):
        assert recorded_run(str(run / "stripped" / "actor_critic_5.pt"))[0] == "NaVILA-Go2-Rough-Lidar-Gaps"

    def test_play_variant_of_the_recorded_task_is_accepted(self, run):
        assert checkpoint_task(str(run / "model_9.pt"), "NaVILA-Go2-Rough-Lidar-Gaps-Play", [])[0].endswith("-Play")

    def test_another_task_is_refused_in_one_line(self, run):
        with pytest.raises(UserError, match=r"Gaps, not NaVILA-Go2-Rough-Lidar: leave --task out"):
            checkpoint_task(str(run / "model_9.pt"), "NaVILA-Go2-Rough-Lidar", [])

    @pytest.mark.parametrize("task", [None, "NaVILA-Go2-Rough-Lidar-Gaps"])
    def test_resuming_on_the_recorded_task_keeps_its_overrides(self, run, task):
        """Naming the recorded task (as scripts/gpu_train_chunk.sh does) changes nothing against leaving it out."""
        assert resume_task(str(run / "model_9.pt"), task, ["a=1"]) == (
            "NaVILA-Go2-Rough-Lidar-Gaps",
            ["env.rewards.wall_clearance.weight=-4.0", "a=1"],
        )

    def test_resuming_on_another_task_fine_tunes_with_the_given_overrides_only(self, run, tmp_path_factory):
        """Another task takes the weights, not the run's overrides; a run without a record keeps what was given."""
        assert resume_task(str(run / "model_9.pt"), "NaVILA-Go2-Rough-Lidar-Gaps-Turn", ["a=1"]) == (
            "NaVILA-Go2-Rough-Lidar-Gaps-Turn",
            ["a=1"],
        )
        bare = tmp_path_factory.mktemp("bare") / "run" / "model_1.pt"
        bare.parent.mkdir()
        bare.touch()
        assert resume_task(str(bare), "NaVILA-Go2-Flat", []) == ("NaVILA-Go2-Flat", [])

    def test_evaluating_a_checkpoint_uses_its_task(self, run):
        assert resolve_policy(str(run)).task == "NaVILA-Go2-Rough-Lidar-Gaps"

    def test_run_without_record_takes_the_default_task(self, tmp_path):
        (tmp_path / "model_1.pt").touch()
        assert checkpoint_task(str(tmp_path / "model_1.pt"), None, ["a=1"]) == (DEFAULT_TASK, ["a=1"])

    @pytest.mark.parametrize("text", ["task: [unclosed", "overrides: []", "task: 3\noverrides: x"])
    def test_unreadable_record_is_one_line(self, run, text):
        (run / RUN_FILE).write_text(text)
        with pytest.raises(UserError, match="run record .* is unreadable"):
            checkpoint_task(str(run / "model_9.pt"), None, [])


class TestFineTuneOverrides:
    """A fine-tune of an export goes on with the objective it was trained with (its record), on its own task only."""

    KERNEL = "env.rewards.track_safe_lin_vel_xy_exp.params.std"

    def test_the_shipped_lidar_policy_keeps_its_tighter_tracking_kernel(self):
        overrides = fine_tune_overrides(resolve_policy(LIDAR), ["a=1"])
        assert overrides[:2] == [f"{self.KERNEL}=0.35", "a=1"]
        assert {item.split("=")[0] for item in overrides[2:]} == {FINE_TUNE_STD_KEY, FINE_TUNE_WARMUP_KEY}

    def test_given_overrides_come_after_the_recorded_ones(self):
        """Later overrides win: a user's kernel replaces the recorded one."""
        assert fine_tune_overrides(resolve_policy(LIDAR), [f"{self.KERNEL}=0.5"])[:2] == [
            f"{self.KERNEL}=0.35",
            f"{self.KERNEL}=0.5",
        ]

    def test_another_task_takes_the_given_overrides_only(self):
        overrides = fine_tune_overrides(resolve_policy(LIDAR, "NaVILA-Go2-Rough-Lidar-Gaps-Turn"), ["a=1"])
        assert overrides[0] == "a=1" and not any(item.startswith(self.KERNEL) for item in overrides)

    def test_an_export_without_a_record_takes_the_given_overrides(self, tmp_path):
        for name in ("deploy.yaml", "policy.pt"):
            (tmp_path / name).write_bytes((Path(BLIND) / name).read_bytes())
        overrides = fine_tune_overrides(resolve_policy(str(tmp_path)), ["a=1"])
        assert overrides[0] == "a=1" and len(overrides) == 3

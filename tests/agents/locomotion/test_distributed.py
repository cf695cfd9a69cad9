"""Data-parallel ``navila train --distributed``: launch, rank setup, two gloo ranks in sync, the scaling benchmark."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest
import torch
from isaaclab.utils.io import dump_yaml, load_yaml
from navila_agents.commands import train
from navila_agents.locomotion import distributed, runtime
from navila_lab.errors import UserError

TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE")
OVERRIDES = [
    "env.scene.terrain.terrain_generator.num_rows=2",
    "env.scene.terrain.terrain_generator.num_cols=2",
    "agent.num_steps_per_env=4",
]


def load_benchmark():
    return importlib.import_module("navila_benchmarks.multi_gpu_scaling")


@pytest.fixture
def outside_torchrun(monkeypatch):
    for name in (*TORCHRUN_VARS, *distributed.NO_MULTICAST_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def in_torchrun(monkeypatch):
    for name, value in zip(TORCHRUN_VARS, ("3", "1", "4", "2"), strict=True):
        monkeypatch.setenv(name, value)


class TestLaunch:
    def test_command_runs_navila_train_under_torchrun(self):
        """The relaunch is torchrun (standalone rendezvous, N processes) over the same arguments minus --nproc."""
        argv = ["--distributed", "--nproc", "2", "--task", "NaVILA-Go2-Flat", "--nproc=2", "env.x=1"]
        command = distributed.launch_command(argv, 2)
        assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
        assert "--standalone" in command and "--nproc_per_node=2" in command
        tail = command[command.index("navila_cli") + 1 :]
        assert tail == ["train", "--distributed", "--task", "NaVILA-Go2-Flat", "env.x=1"]

    def test_multicast_defaults_keep_explicit_choices(self):
        """The three multicast switches are set off by default, but a value the user exported is kept."""
        env = {"NCCL_NVLS_ENABLE": "1"}
        distributed.disable_multicast(env)
        assert env == {"NCCL_NVLS_ENABLE": "1", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}

    def test_launcher_hands_torchrun_multicast_off(self, outside_torchrun, monkeypatch):
        """``navila train --distributed`` runs torchrun (through Isaac Lab's supervisor) with multicast off."""
        import isaaclab.cli.multigpu

        seen = {}

        def fake_run(command):
            seen["command"] = command
            seen["env"] = {name: os.environ.get(name) for name in distributed.NO_MULTICAST_ENV}
            return 7

        monkeypatch.setattr(isaaclab.cli.multigpu, "run_launch_command", fake_run)
        assert train.main(["--distributed", "--device", "cpu", "--nproc", "3", "--num_envs", "8"]) == 7
        assert "--nproc_per_node=3" in seen["command"]
        assert seen["env"] == distributed.NO_MULTICAST_ENV

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--distributed", "--device", "cpu"], "needs --nproc N"),
            (["--nproc", "2"], "pass both"),
            (["--distributed", "--device", "cuda:1"], "puts local rank i on cuda:i"),
            (["--distributed", "--device", "cpu", "--nproc", "0"], "must be positive"),
        ],
    )
    def test_user_errors(self, outside_torchrun, argv, message):
        """Wrong combinations are one-line user errors raised before anything starts."""
        with pytest.raises(UserError, match=re.escape(message)):
            train.main(argv)

    @pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
    def test_gpu_launch_without_cuda(self, outside_torchrun):
        """Asking for GPU ranks where there is no CUDA is a user error."""
        with pytest.raises(UserError, match="CUDA is not available"):
            train.main(["--distributed", "--device", "cuda"])


class TestRank:
    def test_torchrun_environment_is_read(self, in_torchrun):
        """RANK, LOCAL_RANK, WORLD_SIZE and LOCAL_WORLD_SIZE become the rank; only rank 0 is the main one."""
        rank = distributed.torchrun_rank()
        assert rank == distributed.Rank(rank=3, local_rank=1, world_size=4, local_world_size=2)
        assert not rank.is_main

    def test_outside_torchrun(self, outside_torchrun):
        assert distributed.torchrun_rank() is None

    def test_cpu_rank_and_multicast(self, in_torchrun, monkeypatch):
        """A CPU rank stays on the CPU (gloo) and sets the multicast switches before the process group exists."""
        for name in distributed.NO_MULTICAST_ENV:
            monkeypatch.delenv(name, raising=False)
        args = train.parse_args(["--device", "cpu"])
        assert distributed.join(args).rank == 3 and args.device == "cpu"
        assert {name: os.environ[name] for name in distributed.NO_MULTICAST_ENV} == (distributed.NO_MULTICAST_ENV)

    def test_nproc_under_torchrun(self, in_torchrun):
        with pytest.raises(UserError, match="--nproc_per_node sets the process count"):
            distributed.join(train.parse_args(["--device", "cpu", "--nproc", "2"]))


@pytest.mark.sim
@pytest.mark.slow
class TestGlooTraining:
    def test_two_cpu_ranks_hold_identical_trained_weights(self, tmp_path):
        """Two gloo ranks start from different weights (per-rank seed), end identical and moved (one PPO iteration),
        and rank 0 alone writes the run: its checkpoint holds those weights, its log counts both ranks' steps, and
        the scaling benchmark reads its timing."""
        result = subprocess.run(
            [sys.executable, "-m", "navila_cli", "train", "--distributed", "--nproc", "2", "--device", "cpu",
             "--task", "NaVILA-Go2-Flat", "--num_envs", "4", "--max_iterations", "1", "--log_dir", str(tmp_path),
             "--run_name", "dp", *OVERRIDES],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        found = re.search(r"sha256 by rank: start (\w+) (\w+) -> end (\w+) (\w+)", result.stdout)
        assert found, result.stdout[-3000:]
        start, end = found.group(1, 2), found.group(3, 4)
        assert start[0] != start[1], "each rank must seed its own initialisation"
        assert end[0] == end[1], "ranks must hold identical weights after training"
        assert end[0] != start[0], "training must change the (broadcast) initial weights"

        run_dir = tmp_path / "go2_flat" / "dp"
        assert [path.name for path in run_dir.glob("model_*.pt")] == ["model_0.pt"]
        assert distributed.weights_digest(torch.load(run_dir / "model_0.pt", weights_only=False)) == end[0]
        assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1, "only rank 0 logs"
        assert load_yaml(str(run_dir / "params" / "agent.yaml"))["seed"] == 42  # rank 0's seed
        assert runtime.recorded_run(str(run_dir / "model_0.pt")) == ("NaVILA-Go2-Flat", OVERRIDES)
        assert re.search(r"Total steps:\s+32\b", result.stdout), "4 envs x 4 steps x 2 ranks per iteration"
        timing = load_benchmark().read_timing(run_dir, gpus=2, envs_per_gpu=4, warmup=0)  # the benchmark's reader
        assert timing.steps_per_iteration == 32 and len(timing.collection_s) == len(timing.learning_s) == 1


class TestScalingBenchmark:
    @pytest.fixture(scope="class")
    def bench(self):
        return load_benchmark()

    @staticmethod
    def fake_run(run_dir, collection, learning, steps_per_env=24):
        """A run directory as rank 0 leaves it: params/agent.yaml and rsl_rl's Perf/* TensorBoard scalars."""
        from torch.utils.tensorboard import SummaryWriter

        # as runtime.dump_cfgs writes it: python tags included
        dump_yaml(str(run_dir / "params" / "agent.yaml"), {"num_steps_per_env": steps_per_env, "std_range": (0.1, 1.0)})
        writer = SummaryWriter(log_dir=str(run_dir))
        for iteration, (collect, learn) in enumerate(zip(collection, learning, strict=True)):
            writer.add_scalar("Perf/collection_time", collect, iteration)
            writer.add_scalar("Perf/learning_time", learn, iteration)
        writer.close()
        return run_dir

    def test_timing_and_efficiency(self, bench, tmp_path):
        """Warm-up iterations are dropped; steps/s and weak-scaling efficiency follow from rank 0's times."""
        one = bench.read_timing(self.fake_run(tmp_path / "g1", [30.0, 1.0, 1.0], [9.0, 0.2, 0.2]), 1, 4096, 1)
        two = bench.read_timing(self.fake_run(tmp_path / "g2", [40.0, 1.0, 1.0], [9.0, 0.4, 0.4]), 2, 4096, 1)
        assert one.collection_s == [1.0, 1.0] and two.learning_s == pytest.approx([0.4, 0.4])
        assert one.collection_steps_per_s == pytest.approx(24 * 4096)
        assert two.steps_per_s == pytest.approx(2 * 24 * 4096 / 1.4)
        efficiency, collection_efficiency = bench.efficiencies(two, one)
        assert efficiency == pytest.approx(1.2 / 1.4) and collection_efficiency == pytest.approx(1.0)
        rows = bench.table_rows([one, two])
        assert rows[0][-2:] == ["100%", "100%"] and rows[1][-2:] == ["86%", "100%"]

    def test_results_file_gets_header_once(self, bench, tmp_path):
        timing = bench.read_timing(self.fake_run(tmp_path / "g1", [1.0, 1.0], [0.5, 0.5]), 1, 4096, 0)
        meta = {"date": "d", "commit": "c", "device": "2× GPU"}
        results = tmp_path / "multi_gpu.md"
        bench.append_results(results, [timing], meta, "NaVILA-Go2-Rough-Lidar")
        bench.append_results(results, [timing], meta, "NaVILA-Go2-Rough-Lidar")
        lines = results.read_text().splitlines()
        assert sum(line.startswith("| date |") for line in lines) == 1
        assert lines[-1].startswith("| d | c | 2× GPU | NaVILA-Go2-Rough-Lidar | 4096 | 1 | 2 | ")

    def test_too_few_iterations(self, bench, tmp_path):
        with pytest.raises(ValueError, match="no iterations"):
            bench.read_timing(self.fake_run(tmp_path / "g1", [1.0], [0.5]), 1, 4096, 1)

    def test_dry_run_prints_one_torchrun_launch_per_gpu_count(self):
        """--dry-run needs no GPU: one ``navila train --distributed --nproc N`` per count, 4096 envs per GPU."""
        result = subprocess.run(
            [sys.executable, "-m", "navila_cli", "bench", "multi_gpu_scaling", "--dry-run", "--gpus", "2,1"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        lines = result.stdout.strip().splitlines()
        assert len(lines) == 2 and all("train --distributed" in line and "--num_envs 4096" in line for line in lines)
        assert ["--nproc 1" in lines[0], "--nproc 2" in lines[1]] == [True, True]
        assert all("--task NaVILA-Go2-Rough-Lidar" in line for line in lines)

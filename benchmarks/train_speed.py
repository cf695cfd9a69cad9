"""Training speed: our LiDAR task against the stock Isaac Lab Go2 rough task, trained in one run on one device.

Method: each task trains in its own subprocess (Isaac Lab allows one simulation per process), one after the other,
on the same device with the same number of envs and the same budget: ``--seconds`` of wall time from the launch of
the process (start-up, i.e. env creation and kernel compilation, included) or ``--iterations`` PPO iterations. Each
task uses its own rsl_rl runner cfg (ours: ``agents/navila_agents/rsl_rl_cfg.py``, TF32 learner; stock: Isaac Lab's)
and the runner of ``navila train`` (rsl_rl's learning loop unchanged); after every iteration the worker reads rsl_rl's
logger: time, collection and learning seconds, and the mean reward of the last 100 finished episodes.

Printed and appended to ``results/train_speed.md`` (date, commit, device): env-steps/s over the iterations after the
first (which holds the compilation), seconds per iteration split into collection and learning, the time to the end of
the first iteration, the reward at fixed wall times, and the time each run takes to cover 90% of the way from its
first to its final reward (the two tasks' rewards have different terms and scales, so their curves are compared by
when they flatten, not by value); the ratio is ours / stock env-steps/s. The curves go to ``results/train_speed.json``.

    navila bench train_speed --device cuda --num_envs 16384 --seconds 900
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from navila_benchmarks.step_timing import STOCK_TASKS, offline_stock_cfg
from navila_lab.errors import UserError
from navila_lab.provenance import append_markdown, stamp

ROOT = Path(__file__).resolve().parents[1]
OURS_TASK, STOCK_TASK = "NaVILA-Go2-Rough-Lidar", "Isaac-Velocity-Rough-UnitreeGo2"
FLATTENED = 0.9
"""Share of the way from the first to the final reward that counts as converged."""
HEADER = (
    "# Training speed: NaVILA-Go2-Rough-Lidar vs stock Isaac-Velocity-Rough-UnitreeGo2\n"
    "\n"
    "Written by `benchmarks/train_speed.py` (its docstring gives the method): each task trains from scratch in its\n"
    "own process, one after the other, on the same device with the same envs and budget, each with its own PPO cfg.\n"
    "*env-steps/s* and *s/it* exclude the first iteration (compilation); *first it* = launch to the end of iteration\n"
    f"0; *flat at* = wall time at which the reward first covers {FLATTENED:.0%} of the way from its first to its\n"
    "final value (final = mean of the last 10 iterations). Rewards of the two tasks have different terms and scales.\n"
)


@dataclasses.dataclass
class Run:
    """One task's training: its iterations as the worker recorded them."""

    task: str
    num_envs: int
    steps_per_env: int
    launched: float
    """Epoch seconds at which the worker process was started."""
    records: list[dict]
    """Per iteration: ``time`` (epoch s at its end), ``collect`` and ``learn`` (s), ``reward`` (or None)."""

    def seconds(self, record: dict) -> float:
        """Wall time from the launch to the end of ``record``'s iteration."""
        return record["time"] - self.launched

    @property
    def first_iteration_s(self) -> float:
        """Launch to the end of the first iteration (start-up and compilation included)."""
        return self.seconds(self.records[0])

    @property
    def steps_per_s(self) -> float:
        """Env steps per second over the iterations after the first."""
        if len(self.records) < 2:
            return math.nan
        elapsed = self.records[-1]["time"] - self.records[0]["time"]
        return (len(self.records) - 1) * self.num_envs * self.steps_per_env / elapsed

    def mean_of(self, key: str) -> float:
        """Mean of a per-iteration time (``collect``, ``learn``) over the iterations after the first."""
        values = [record[key] for record in self.records[1:]]
        return sum(values) / len(values) if values else math.nan

    @property
    def rewards(self) -> list[tuple[float, float]]:
        """(seconds since launch, mean reward) of the iterations that had finished episodes."""
        return [(self.seconds(r), r["reward"]) for r in self.records if r["reward"] is not None]

    @property
    def final_reward(self) -> float:
        """Mean reward of the last 10 iterations that have one."""
        tail = [reward for _, reward in self.rewards[-10:]]
        return sum(tail) / len(tail) if tail else math.nan

    def reward_at(self, seconds: float) -> float | None:
        """Reward of the last iteration that ended by ``seconds`` after the launch; None before any or past the run."""
        if not self.records or seconds > self.seconds(self.records[-1]):
            return None
        before = [reward for at, reward in self.rewards if at <= seconds]
        return before[-1] if before else None

    def flattened_at(self, share: float = FLATTENED) -> float | None:
        """First time the reward covered ``share`` of the way from its first value to :attr:`final_reward`."""
        if not self.rewards:
            return None
        first, final = self.rewards[0][1], self.final_reward
        return next((at for at, reward in self.rewards if (reward - first) >= share * (final - first)), None)


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def report_section(runs: Sequence[Run], device: str, marks: Sequence[float]) -> str:
    """Markdown section of one benchmark run: provenance, the table, the reward at ``marks`` seconds, the ratio."""
    info = stamp(device)
    budget = f"{len(runs[0].records)}/{len(runs[-1].records)} iterations"
    columns = ["task", "envs", "iterations", "first it (s)", "env-steps/s", "s/it", "collect s", "learn s"]
    columns += [f"reward @{mark / 60:g} min" for mark in marks] + ["final reward", "flat at (min)"]
    lines = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    for run in runs:
        flat = run.flattened_at()
        cells = [run.task, str(run.num_envs), str(len(run.records)), _number(run.first_iteration_s),
                 _number(run.steps_per_s, 0), _number(run.mean_of("collect") + run.mean_of("learn"), 2),
                 _number(run.mean_of("collect"), 2), _number(run.mean_of("learn"), 2)]  # fmt: skip
        cells += [_number(run.reward_at(mark)) for mark in marks]
        cells += [_number(run.final_reward), _number(None if flat is None else flat / 60, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    ratio = runs[0].steps_per_s / runs[-1].steps_per_s if len(runs) > 1 else math.nan
    return (
        f"\n## {info['date']} · {info['commit']} · {info['device']} · {budget}\n\n"
        + "\n".join(lines)
        + f"\n\nenv-steps/s {runs[0].task} / {runs[-1].task}: **{_number(ratio, 2)}**\n"
    )


# --------------------------------------------------------------------------------------------------------------------
# Worker (one task, in its own process)
# --------------------------------------------------------------------------------------------------------------------


def load_cfgs(task: str, device: str, num_envs: int, seed: int):  # noqa: ANN201 (Isaac Lab env cfg, rsl_rl cfg)
    """Env and runner cfgs of ``task`` on ``device`` with ``num_envs`` envs; the stock task made offline-safe."""
    import isaaclab_tasks  # noqa: F401 (registers the stock ids)
    import navila_tasks  # noqa: F401 (registers ours)
    from isaaclab_rl.rsl_rl import check_rsl_rl_version, handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils import resolve_task_config

    env_cfg, agent_cfg = resolve_task_config(task, "rsl_rl_cfg_entry_point", overrides=[])
    if task in STOCK_TASKS:
        offline_stock_cfg(env_cfg)
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
    env_cfg.sim.device = agent_cfg.device = device
    env_cfg.scene.num_envs = num_envs
    env_cfg.seed = agent_cfg.seed = seed
    return env_cfg, agent_cfg


class _Deadline(Exception):
    """Raised from the logger hook once the budget is spent."""


def train_worker(
    task: str, device: str, num_envs: int, deadline: float, iterations: int, seed: int, log_dir: Path | None = None
) -> dict:
    """Train ``task`` until the epoch time ``deadline`` or ``iterations``; return its records and steps per env.

    With ``log_dir`` the run stays there as ``navila train`` leaves one (cfgs in ``params/``, TensorBoard events, the
    runner's checkpoints and one of the last iteration), for ``navila export`` and ``navila evaluate``.
    """
    import gymnasium as gym
    from isaaclab.app import launch_simulation
    from isaaclab.utils import to_dict
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
    from navila_agents.locomotion.ppo_runner import NavilaOnPolicyRunner
    from navila_agents.locomotion.runtime import dump_cfgs

    env_cfg, agent_cfg = load_cfgs(task, device, num_envs, seed)
    records: list[dict] = []
    with launch_simulation(env_cfg, {"device": device}), contextlib.ExitStack() as stack:
        log_dir = str(log_dir) if log_dir else stack.enter_context(tempfile.TemporaryDirectory())
        dump_cfgs(log_dir, env_cfg, agent_cfg)
        env = gym.make(task, cfg=env_cfg)
        try:
            runner = NavilaOnPolicyRunner(
                RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions), to_dict(agent_cfg), log_dir, device
            )
            log = runner.logger.log

            def record(**kwargs) -> None:  # noqa: ANN003 (rsl_rl's Logger.log arguments)
                log(**kwargs)
                rewards = runner.logger.rewbuffer
                records.append({
                    "time": time.time(), "collect": kwargs["collect_time"], "learn": kwargs["learn_time"],
                    "reward": statistics.mean(rewards) if rewards else None,
                })  # fmt: skip
                if time.time() >= deadline:
                    raise _Deadline

            runner.logger.log = record
            try:
                runner.learn(num_learning_iterations=iterations, init_at_random_ep_len=True)
            except _Deadline:
                runner.save(os.path.join(log_dir, f"model_{runner.current_learning_iteration}.pt"))
                runner.logger.stop_logging_writer()
        finally:
            env.close()
    return {"steps_per_env": agent_cfg.num_steps_per_env, "records": records}


# --------------------------------------------------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------------------------------------------------


def run_task(task: str, args: argparse.Namespace) -> Run:
    """Train ``task`` in a subprocess within the budget and return its run."""
    launched = time.time()
    deadline = launched + args.seconds if args.seconds else math.inf
    iterations = args.iterations or 10**6
    command = [
        sys.executable, "-m", "navila_benchmarks.train_speed", "--worker", task, "--device", args.device,
        "--num_envs", str(args.num_envs), "--deadline", str(deadline), "--iterations", str(iterations),
        "--seed", str(args.seed),
    ]  # fmt: skip
    if args.log_dir:
        command += ["--log_dir", str(args.log_dir / task)]
    print(f"[train_speed] {task}: training for {args.seconds or args.iterations} {'s' if args.seconds else 'it'}")
    result = subprocess.run(command, capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not lines[-1].startswith("{"):
        raise UserError(f"{task} failed (exit code {result.returncode}):\n{result.stderr[-3000:]}")
    worker = json.loads(lines[-1])
    return Run(task, args.num_envs, worker["steps_per_env"], launched, worker["records"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=f"{OURS_TASK},{STOCK_TASK}", help="comma-separated, ours first")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--num_envs", type=int, default=16384, help="envs of every task")
    parser.add_argument("--seconds", type=float, default=None, help="wall-time budget per task, start-up included")
    parser.add_argument("--iterations", type=int, default=None, help="iteration budget per task")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--marks", default="2,5,10,15", help="minutes at which the reward is reported")
    parser.add_argument("--results", type=Path, default=ROOT / "results" / "train_speed.md")
    parser.add_argument(
        "--log_dir", type=Path, default=None, help="keep each task's run (cfgs, events, checkpoints) in LOG_DIR/<task>"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=math.inf, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Train every task in turn, print the comparison and record it."""
    args = parse_args(argv)
    if args.worker:
        worker = train_worker(
            args.worker, args.device, args.num_envs, args.deadline, args.iterations, args.seed, args.log_dir
        )
        print(json.dumps(worker))
        return 0
    try:
        if (args.seconds is None) == (args.iterations is None):
            raise UserError("give one budget: --seconds or --iterations")
        runs = [run_task(task.strip(), args) for task in args.tasks.split(",") if task.strip()]
    except UserError as error:
        print(f"train_speed: error: {error}", file=sys.stderr)
        return 2
    section = report_section(runs, args.device, [60 * float(mark) for mark in args.marks.split(",")])
    print(section)
    append_markdown(args.results, HEADER, section)
    curves = args.results.with_suffix(".json")
    history = json.loads(curves.read_text()) if curves.exists() else []
    history.append({**stamp(args.device), "runs": [dataclasses.asdict(run) for run in runs]})
    curves.write_text(json.dumps(history, indent=1))
    print(f"[train_speed] appended to {args.results} and {curves}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

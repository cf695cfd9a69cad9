"""Env-step throughput of the NaVILA LiDAR task against the stock Isaac Lab Go2 task, and the LiDAR's share of it.

Method (one task per process, since Isaac Lab's ``SimulationContext`` is a singleton):

1. Build the env, reset it, and step ``warmup`` times (kernel compilation, first resets).
2. **Throughput pass**: ``steps`` calls of ``env.step`` with random (uniform in [-1, 1]) or zero actions, the device
   synchronized only before and after the pass. env-steps/s = ``num_envs · steps / seconds``. Resets triggered by
   terminations are part of the measured time, as in training; no policy and no learning are included.
3. **Instrumented pass**: another ``steps`` steps with the device synchronized around every ``env.step``, around the
   ``height_map`` observation group (the height-map term, its noise and the raycast it triggers: the sensor is
   lazy, so its rays are cast when the term reads ``ray_hits_w``, once per sweep) and around the LiDAR ray caster's
   buffer update alone. The shares are summed region time over summed step time of this pass; the extra
   synchronizations make this pass slightly slower than the throughput pass, which is why it is a separate one.
   With ``breakdown`` the pass also times every part of ``env.step`` (:data:`STEP_REGIONS`), each observation group
   and each reward and termination term, to show where two tasks differ.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

import torch
from navila_lab.errors import UserError
from navila_lab.provenance import append_markdown

OURS_TASK = "NaVILA-Go2-Rough-Lidar"
STOCK_TASK = "Isaac-Velocity-Rough-UnitreeGo2"
DEFAULT_TASKS = (OURS_TASK, STOCK_TASK)
STOCK_TASKS = (STOCK_TASK, "Isaac-Velocity-Flat-UnitreeGo2")
"""Stock Isaac Lab Go2 tasks the bench can point at the project's offline Go2 asset."""

LIDAR_SENSOR = "lidar"
HEIGHT_MAP_GROUP = "height_map"

RESULTS_HEADER = (
    "# Env-step throughput: NaVILA-Go2-Rough-Lidar vs stock Isaac-Velocity-Rough-UnitreeGo2\n"
    "\n"
    "Written by `navila bench` (`tasks/navila_tasks/bench.py` describes the method). Each task runs in its own\n"
    "process on the same device with the same number of envs; the stock task is pointed at our offline Go2 asset\n"
    "(local terrain material, no sky light, no command arrows). env-steps/s = envs × steps / s of `env.step` with\n"
    "random actions (resets included, no learning). *LiDAR share* = time in the `height_map` observation group (the\n"
    "lazy L1 raycast it triggers once per sweep + binning + max-pool + noise) / step time, from a second pass\n"
    "synchronized around each region; *raycast* = the ray caster's buffer update alone. *load* = the machine's\n"
    "1-minute load average before / after the run (other processes skew CPU numbers when it exceeds the cores).\n"
    "\n"
    "| date | commit | device | envs | steps | ours steps/s | stock steps/s | ours/stock | LiDAR share |"
    " raycast share | ours ms/step | stock ms/step | actions | load |\n"
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n"
)


BREAKDOWN_HEADER = (
    "# Where the env step's time goes: `navila bench --breakdown`\n"
    "\n"
    "Milliseconds per `env.step` (all envs) of each part, from the instrumented pass (device synchronized around\n"
    "every region, so the parts sum to slightly more than the throughput pass's step). Nested regions overlap: the\n"
    "observation groups, *lidar* (the height-map group) and *raycast* are inside *observations* and *resets*;\n"
    "reward and termination terms inside *rewards* and *terminations*.\n"
)


@dataclasses.dataclass
class TaskResult:
    """Measurements of one task in one process."""

    task: str
    device: str
    num_envs: int
    steps: int
    warmup: int
    actions: str
    create_s: float
    """Seconds to build and reset the env (asset, terrain, kernels)."""
    seconds: float
    """Wall time of the throughput pass."""
    instrumented_step_s: float = 0.0
    """Summed ``env.step`` time of the instrumented pass."""
    lidar_s: float = 0.0
    """Summed time in the ``height_map`` observation group (includes the raycast it triggers)."""
    raycast_s: float = 0.0
    """Summed time in the LiDAR ray caster's buffer update (nested in ``lidar_s`` when triggered by it)."""
    raycasts: int = 0
    """LiDAR buffer updates during the instrumented pass."""
    regions: dict[str, float] = dataclasses.field(default_factory=dict)
    """Summed seconds per part of ``env.step`` in the instrumented pass (``breakdown`` only); nested parts overlap."""

    @property
    def steps_per_s(self) -> float:
        """Env-steps per second of the throughput pass."""
        return self.num_envs * self.steps / self.seconds

    @property
    def ms_per_step(self) -> float:
        """Milliseconds per ``env.step`` (all envs) of the throughput pass."""
        return 1e3 * self.seconds / self.steps

    @property
    def has_lidar(self) -> bool:
        """Whether the task had a LiDAR to time."""
        return self.instrumented_step_s > 0 and (self.lidar_s > 0 or self.raycasts > 0)

    @property
    def lidar_share(self) -> float:
        """Fraction of step time in the height-map observation group, raycast included."""
        return self.lidar_s / self.instrumented_step_s if self.instrumented_step_s else 0.0

    @property
    def raycast_share(self) -> float:
        """Fraction of step time in the LiDAR raycast alone."""
        return self.raycast_s / self.instrumented_step_s if self.instrumented_step_s else 0.0


# --------------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------------


def parse_tasks(text: str) -> list[str]:
    """Comma-separated task ids (or the aliases ``ours``, ``stock``, ``blind``), checked against the known ones."""
    import navila_tasks

    aliases = {"ours": OURS_TASK, "stock": STOCK_TASK, "blind": "NaVILA-Go2-Rough-Blind"}
    tasks = [aliases.get(item.strip(), item.strip()) for item in text.split(",") if item.strip()]
    if not tasks:
        raise UserError("--tasks is empty (e.g. --tasks ours,stock)")
    known = [task for task in navila_tasks.TASK_IDS if not task.endswith("-Play")] + list(STOCK_TASKS)
    for task in tasks:
        if task not in known:
            raise UserError(f"unknown task '{task}' (choose from: ours, stock, blind, {', '.join(known)})")
    if len(set(tasks)) != len(tasks):
        raise UserError(f"--tasks lists a task twice: {text}")
    return tasks


# --------------------------------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------------------------------


def offline_stock_cfg(env_cfg) -> None:  # noqa: ANN001 (an Isaac Lab env cfg)
    """Point a stock Isaac Lab Go2 velocity cfg at local assets only.

    Swaps in our Go2, a plain terrain material, no sky light (HDR) and no command arrows; everything else (terrain,
    rewards, actuator path) stays stock.
    """
    import isaaclab.sim as sim_utils
    from isaaclab.utils import replace
    from navila_lab.assets.go2 import GO2_CFG

    env_cfg.scene.robot = replace(GO2_CFG, prim_path="{ENV_REGEX_NS}/Robot")
    env_cfg.scene.terrain.visual_material = sim_utils.PreviewSurfaceCfg(diffuse_color=(0.45, 0.45, 0.42))
    env_cfg.scene.sky_light = None
    env_cfg.commands.base_velocity.debug_vis = False


def load_env_cfg(task: str, device: str, num_envs: int, seed: int):  # noqa: ANN201 (an Isaac Lab env cfg)
    """Resolve the task's env cfg on ``device`` with ``num_envs`` envs; stock tasks are made offline-safe."""
    if task in STOCK_TASKS:
        import isaaclab_tasks  # noqa: F401 (registers the stock ids)
        from isaaclab_tasks.utils import resolve_task_config

        env_cfg, _ = resolve_task_config(task, "rsl_rl_cfg_entry_point", overrides=[])
        offline_stock_cfg(env_cfg)
    else:
        from navila_agents.locomotion import runtime

        env_cfg, _ = runtime.load_cfgs(task, [])
    env_cfg.sim.device = device
    env_cfg.scene.num_envs = num_envs
    env_cfg.seed = seed
    return env_cfg


def synchronizer(device: str) -> Callable[[], None]:
    """Return a function that waits for all queued work on ``device`` (torch and warp streams); no-op on CPU."""
    if not device.startswith("cuda"):
        return lambda: None
    import warp as wp

    def sync() -> None:
        torch.cuda.synchronize(device)
        wp.synchronize_device(device)

    return sync


class RegionTimer:
    """Accumulates wall time of wrapped callables, synchronizing the device on entry and exit while enabled."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self.sync = sync
        self.enabled = False
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, name: str, func: Callable, when: Callable[..., bool] | None = None) -> Callable:
        """``func`` timed under ``name`` (only for calls where ``when(*args)`` holds, if given)."""
        self.seconds.setdefault(name, 0.0)
        self.calls.setdefault(name, 0)

        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            if not self.enabled or (when is not None and not when(*args, **kwargs)):
                return func(*args, **kwargs)
            self.sync()
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.sync()
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1

        return timed


def instrument_lidar(env, timer: RegionTimer) -> bool:  # noqa: ANN001 (a ManagerBasedRLEnv)
    """Time the height-map observation group and the LiDAR ray caster's buffer update; False if the env has none."""
    sensors = env.scene.sensors
    manager = env.observation_manager
    has_group = HEIGHT_MAP_GROUP in manager.active_terms
    if LIDAR_SENSOR not in sensors and not has_group:
        return False
    if LIDAR_SENSOR in sensors:
        sensor = sensors[LIDAR_SENSOR]
        sensor._update_buffers_impl = timer.wrap("raycast", sensor._update_buffers_impl)
    if has_group:
        manager.compute_group = timer.wrap(
            "lidar", manager.compute_group, when=lambda group_name, *_, **__: group_name == HEIGHT_MAP_GROUP
        )
    return True


STEP_REGIONS = {
    "actions": ("action_manager", ("process_action", "apply_action")),
    "write to sim": ("scene", ("write_data_to_sim",)),
    "physics": ("sim", ("step",)),
    "scene update": ("scene", ("update",)),
    "terminations": ("termination_manager", ("compute",)),
    "rewards": ("reward_manager", ("compute",)),
    "resets": (None, ("_reset_idx",)),
    "observations": ("observation_manager", ("compute",)),
}
"""Parts of ``ManagerBasedRLEnv.step`` timed by ``breakdown``: region -> (attribute of the env or None, methods)."""


class _TimedTerm:
    """A manager term's function, timed; forwards attributes (``reset``, ...) of class-based terms."""

    def __init__(self, func: Callable, timed: Callable) -> None:
        self._func = func
        self._timed = timed

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        return self._timed(*args, **kwargs)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._func, name)


def instrument_step(env, timer: RegionTimer) -> None:  # noqa: ANN001 (a ManagerBasedRLEnv)
    """Time the parts of ``env.step`` (:data:`STEP_REGIONS`), each observation group and reward/termination term."""
    for region, (owner_name, methods) in STEP_REGIONS.items():
        owner = env if owner_name is None else getattr(env, owner_name)
        for method in methods:
            setattr(owner, method, timer.wrap(region, getattr(owner, method)))
    observations = env.observation_manager
    for group in observations.active_terms:
        if group != HEIGHT_MAP_GROUP:  # timed as "lidar" by instrument_lidar
            observations.compute_group = timer.wrap(
                f"obs: {group}", observations.compute_group, when=lambda name, *_, _group=group, **__: name == _group
            )
    for kind, manager in (("reward", env.reward_manager), ("termination", env.termination_manager)):
        for name, term_cfg in zip(manager._term_names, manager._term_cfgs, strict=True):
            term_cfg.func = _TimedTerm(term_cfg.func, timer.wrap(f"{kind}: {name}", term_cfg.func))


def action_source(env, actions: str, seed: int) -> Callable[[], torch.Tensor]:  # noqa: ANN001 (a ManagerBasedRLEnv)
    """Return a function making one batch of ``actions`` per call: ``zero``, or ``random`` (uniform in [-1, 1])."""
    shape = (env.num_envs, env.action_manager.total_action_dim)
    if actions == "zero":
        return lambda: torch.zeros(shape, device=env.device)
    generator = torch.Generator(device=env.device).manual_seed(seed)
    return lambda: torch.rand(shape, device=env.device, generator=generator) * 2.0 - 1.0


def measure(
    task: str,
    device: str,
    num_envs: int,
    steps: int,
    warmup: int,
    actions: str = "random",
    seed: int = 42,
    progress: bool = True,
    breakdown: bool = False,
) -> TaskResult:
    """Build ``task`` in this process and measure it (see the module docstring). Call once per process."""
    import gymnasium as gym
    from isaaclab.app import launch_simulation
    from navila_lab.progress import progress

    env_cfg = load_env_cfg(task, device, num_envs, seed)
    sync = synchronizer(device)
    start = time.perf_counter()
    with launch_simulation(env_cfg, {"device": device}):
        env = gym.make(task, cfg=env_cfg)
        try:
            base = env.unwrapped
            base.reset(seed=seed)
            sync()
            create_s = time.perf_counter() - start
            timer = RegionTimer(sync)
            has_lidar = instrument_lidar(base, timer)
            if breakdown:
                instrument_step(base, timer)
            action = action_source(base, actions, seed)

            def loop(count: int, label: str, each: Callable[[], None] | None = None) -> float:
                bar = progress(range(count), desc=f"{task} {label}", unit="step", disable=not progress, leave=False)
                sync()
                begin = time.perf_counter()
                with torch.inference_mode():
                    for _ in bar:
                        (each or (lambda: base.step(action())))()
                sync()
                return time.perf_counter() - begin

            loop(warmup, "warm-up")
            seconds = loop(steps, "throughput")
            result = TaskResult(task, device, base.num_envs, steps, warmup, actions, create_s, seconds)
            if has_lidar or breakdown:
                timer.enabled = True
                step = timer.wrap("step", base.step)
                loop(steps, "region timing", lambda: step(action()))
                result.instrumented_step_s = timer.seconds["step"]
                result.lidar_s = timer.seconds.get("lidar", 0.0)
                result.raycast_s = timer.seconds.get("raycast", 0.0)
                result.raycasts = timer.calls.get("raycast", 0)
                if breakdown:
                    result.regions = {name: seconds for name, seconds in timer.seconds.items() if timer.calls[name]}
        finally:
            env.close()
    return result


def measure_in_subprocess(
    task: str, device: str, num_envs: int, steps: int, warmup: int, actions: str, seed: int, breakdown: bool = False
) -> TaskResult:
    """Run :func:`measure` in a fresh Python process (its output passes through) and return its result."""
    with tempfile.TemporaryDirectory(prefix="navila-bench-") as folder:
        out = os.path.join(folder, "result.json")
        command = [
            sys.executable, "-m", "navila_benchmarks.throughput", "--worker", out, "--tasks", task, "--device", device,
            "--num_envs", str(num_envs), "--steps", str(steps), "--warmup", str(warmup), "--actions", actions,
            "--seed", str(seed), *(["--breakdown"] if breakdown else []),
        ]  # fmt: skip
        code = subprocess.run(command).returncode
        if code != 0 or not os.path.exists(out):
            raise UserError(f"measuring {task} failed (exit code {code}); its output is above")
        with open(out) as file:
            return TaskResult(**json.load(file))


def write_result(path: str, result: TaskResult) -> None:
    """Save a worker's result as JSON for the parent process."""
    with open(path, "w") as file:
        json.dump(dataclasses.asdict(result), file)


# --------------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def summary_rows(results: Sequence[TaskResult]) -> list[list[str]]:
    """One table row per task: steps/s, ms/step, ratio to the stock task, LiDAR and raycast shares, env creation."""
    stock = next((r for r in results if r.task in STOCK_TASKS), None)
    rows = []
    for r in results:
        ratio = f"{r.steps_per_s / stock.steps_per_s:.2f}" if stock is not None else "-"
        lidar = _pct(r.lidar_share) if r.has_lidar else "-"
        raycast = f"{_pct(r.raycast_share)} ({r.raycasts}/{r.steps})" if r.has_lidar else "-"
        rows.append(
            [r.task, f"{r.steps_per_s:,.0f}", f"{r.ms_per_step:.1f}", ratio, lidar, raycast, f"{r.create_s:.0f}"]
        )
    return rows


SUMMARY_COLUMNS = ["task", "env-steps/s", "ms/step", "vs stock", "LiDAR share", "raycast share (calls)", "create s"]


def breakdown_rows(results: Sequence[TaskResult]) -> list[list[str]]:
    """Milliseconds per env step of each timed region, one column per task: step parts first, then terms by cost."""
    measured = [r for r in results if r.regions]
    names = ["step", *STEP_REGIONS]
    terms = {name for r in measured for name in r.regions} - set(names)
    names += sorted(terms, key=lambda name: -max(r.regions.get(name, 0.0) for r in measured))
    rows = []
    for name in names:
        cells = [f"{1e3 * r.regions[name] / r.steps:.2f}" if name in r.regions else "-" for r in measured]
        rows.append([name, *cells])
    return rows


def print_table(title: str, columns: Sequence[str], rows: list[list[str]]) -> None:
    """Print a rich table (plain text when rich is missing); the first column left-aligned, the others right."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=True)]
        for row in [list(columns), *rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        return
    table = Table(title=title)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 150))
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_summary(results: Sequence[TaskResult], meta: dict[str, str]) -> None:
    """Print the comparison table, and the per-region breakdown of the tasks measured with one."""
    title = " · ".join(f"{key} {value}" for key, value in meta.items())
    print_table(title, SUMMARY_COLUMNS, summary_rows(results))
    if any(r.regions for r in results):
        columns = ["region (ms per env step)", *(r.task for r in results if r.regions)]
        print_table("where the step time goes (instrumented pass, device synchronized per region)", columns,
                    breakdown_rows(results))  # fmt: skip


def results_row(results: Sequence[TaskResult], meta: dict[str, str]) -> str:
    """Format the ``results/bench.md`` row of a run, whatever order its tasks ran in.

    Ours is the LiDAR task if it was measured, else the first NaVILA task; stock is the first stock task.
    """
    navila = [r for r in results if r.task not in STOCK_TASKS]
    ours = next((r for r in navila if r.task == OURS_TASK), navila[0] if navila else None)
    stock = next((r for r in results if r.task in STOCK_TASKS), None)

    def rate(r: TaskResult | None) -> str:
        return f"{r.steps_per_s:,.0f}" if r else "-"

    def ms(r: TaskResult | None) -> str:
        return f"{r.ms_per_step:.1f}" if r else "-"

    ratio = f"{ours.steps_per_s / stock.steps_per_s:.2f}" if ours and stock else "-"
    lidar = _pct(ours.lidar_share) if ours and ours.has_lidar else "-"
    raycast = _pct(ours.raycast_share) if ours and ours.has_lidar else "-"
    any_result = ours or stock
    ours_name = "" if ours is None or ours.task == OURS_TASK else f" ({ours.task})"
    cells = [
        meta["date"], meta["commit"], meta["device"], str(any_result.num_envs), str(any_result.steps),
        rate(ours) + ours_name, rate(stock), ratio, lidar, raycast, ms(ours), ms(stock), any_result.actions,
        meta.get("load", "-"),
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |\n"


def append_results(path: str, results: Sequence[TaskResult], meta: dict[str, str]) -> None:
    """Append the run's row to the markdown results file, creating it with its header first."""
    append_markdown(path, RESULTS_HEADER, results_row(results, meta))


def append_breakdown(path: str, results: Sequence[TaskResult], meta: dict[str, str]) -> None:
    """Append the run's per-region breakdown as a markdown section (date, commit, device, envs in its heading)."""
    measured = [r for r in results if r.regions]
    first = measured[0]
    run = f"{meta['date']} · {meta['commit']} · {meta['device']} · {first.num_envs} envs · {first.steps} steps"
    lines = [
        f"\n## {run}\n\n",
        "| region (ms per env step) | " + " | ".join(r.task for r in measured) + " |\n",
        "|---|" + "---:|" * len(measured) + "\n",
        *("| " + " | ".join(row) + " |\n" for row in breakdown_rows(measured)),
    ]
    append_markdown(path, BREAKDOWN_HEADER, "".join(lines))


def load_average() -> str:
    """Return the machine's 1-minute load average, or ``-`` where the OS has none."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "-"

"""How many contacts and constraint rows a task's physics really uses, and where the physics step's GPU time goes.

MuJoCo-Warp sizes its buffers from ``njmax`` (constraint rows per world) and ``nconmax`` (contacts per world, pooled
over all worlds), and launches many of its solver and contact kernels over the whole buffer, so oversized buffers
cost time every substep. Isaac Lab's rough velocity tasks allocate 1000 rows and 300 contacts per world; its flat Go2
task allocates 65 and 35. This probe steps a task, samples after every physics step

- ``nefc``: constraint rows each world asked for (it counts past ``njmax``, so an overflow shows its true size),
- ``nacon``: contacts of all worlds together, and the most any one world had,
- MuJoCo-Warp's sticky per-world overflow bits, by kind: a buffer ran out (``NEFC``, ``NARROWPHASE``, ...) or the
  solver hit its iteration limit (``ITERATIONS``, ``LS_ITERATIONS``),

and prints their distribution with the smallest ``njmax`` / ``nconmax`` that hold every sample times ``--margin``.
``--profile K`` adds a CUDA kernel table (torch.profiler) over K env steps. ``--results`` appends the run to a
markdown file with date, commit and device.

usage: .venv/bin/python benchmarks/physics_budget.py [--task ours] [--device cuda] [--num_envs 4096] [--steps 300]
           [--actions random|zero|policy] [--policy policies/go2_rough_lidar] [--njmax N --nconmax N] [--profile 20]
           [--results results/physics_budget.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
import warp as wp
from navila_benchmarks import step_timing as bench
from navila_lab import provenance
from navila_lab.errors import UserError, run_command

HISTOGRAM_BINS = 4096
"""Constraint-row counts at or above this land in the last histogram bin (the exact maximum is kept apart)."""

PERCENTILES = (50.0, 99.0, 99.9, 99.99, 100.0)

HEADER = (
    "# Physics buffer budget: constraint rows and contacts per world\n"
    "\n"
    "Written by `benchmarks/physics_budget.py` (its docstring describes the method): every physics step of the run\n"
    "is sampled; *nefc* = constraint rows one world asked for, *contacts* = contacts of one world, *pool* = contacts\n"
    "of all worlds together. *suggested* = the smallest `njmax` / `nconmax` holding every sample × the margin.\n"
)


@dataclasses.dataclass(frozen=True)
class Overflow:
    """Worlds with MuJoCo-Warp's sticky overflow bits set, in all and per bit."""

    worlds: int
    kinds: dict[str, int] = dataclasses.field(default_factory=dict)
    """Worlds per bit: a buffer ran out (``NEFC``, ``NARROWPHASE``, ...) or the solver hit an iteration limit."""

    @classmethod
    def of(cls, flags: np.ndarray) -> Overflow:
        """Count the worlds of ``flags`` (one bit field per world)."""
        from mujoco_warp import OverflowType

        kinds = {kind.name: int(np.count_nonzero(flags & kind)) for kind in OverflowType if (flags & kind).any()}
        return cls(int(np.count_nonzero(flags)), kinds)

    def __str__(self) -> str:
        """``N`` flagged worlds, followed by the worlds per bit when there are any: ``3 (ITERATIONS 3)``."""
        per_kind = ", ".join(f"{kind} {count}" for kind, count in self.kinds.items())
        return f"{self.worlds} ({per_kind})" if per_kind else str(self.worlds)


@dataclasses.dataclass
class Budget:
    """Sampled demand of one run."""

    samples: int
    num_worlds: int
    njmax: int
    nconmax: int
    nefc_histogram: list[int]
    nefc_max: int
    contacts_max: int
    """Most contacts one world had in one sample."""
    pool_max: int
    """Most contacts of all worlds together in one sample."""
    pool_mean: float
    overflow: Overflow
    """Worlds whose MuJoCo-Warp overflow bits were set at some sample."""
    overflow_before: Overflow
    """Worlds whose overflow bits were already set when the probe attached (spawn, resets, warm-up steps)."""

    def nefc_percentile(self, q: float) -> int:
        """Constraint rows per world at percentile ``q`` of all (world, sample) pairs; 100 is the exact maximum."""
        if q >= 100.0:
            return self.nefc_max
        counts = torch.tensor(self.nefc_histogram, dtype=torch.float64)
        cumulative = torch.cumsum(counts, 0) / counts.sum()
        return int(torch.searchsorted(cumulative, torch.tensor(q / 100.0, dtype=torch.float64)).item())

    def suggested(self, margin: float) -> tuple[int, int]:
        """``njmax`` and ``nconmax`` that hold every sample with ``margin``, rounded up to a multiple of 5."""

        def up(value: float) -> int:
            return 5 * math.ceil(value / 5)

        return up(self.nefc_max * margin), up(self.pool_max * margin / self.num_worlds)


@wp.kernel(enable_backward=False)
def _count_contacts(
    nacon: wp.array(dtype=wp.int32),
    contact_world: wp.array(dtype=wp.int32),
    per_world: wp.array(dtype=wp.int32),
    pool_max: wp.array(dtype=wp.int32),
    pool_sum: wp.array(dtype=wp.int64),
) -> None:
    """Count each world's contacts of the current substep; fold the pool's total. Launch over ``naconmax``."""
    index = wp.tid()
    count = nacon[0]
    if index == 0:
        wp.atomic_max(pool_max, 0, count)
        wp.atomic_add(pool_sum, 0, wp.int64(count))
    if index < count:
        wp.atomic_add(per_world, contact_world[index], 1)


@wp.kernel(enable_backward=False)
def _fold_world_demand(
    nefc: wp.array(dtype=wp.int32),
    overflow: wp.array(dtype=wp.int32),
    per_world: wp.array(dtype=wp.int32),
    histogram: wp.array(dtype=wp.int32),
    nefc_max: wp.array(dtype=wp.int32),
    contacts_max: wp.array(dtype=wp.int32),
    flagged: wp.array(dtype=wp.int32),
) -> None:
    """Fold each world's constraint rows, contacts and overflow bits; clear its contact count. Launch over worlds."""
    world = wp.tid()
    rows = nefc[world]
    wp.atomic_add(histogram, wp.min(rows, HISTOGRAM_BINS - 1), 1)
    wp.atomic_max(nefc_max, 0, rows)
    wp.atomic_max(contacts_max, 0, per_world[world])
    per_world[world] = 0
    flagged[world] = flagged[world] | overflow[world]


class ConstraintProbe:
    """Folds MuJoCo-Warp's per-world demand into running statistics before every solver substep.

    The fold runs as an in-graph hook of Isaac Lab's Newton manager, so it is captured into the physics CUDA graph
    and sees each substep's result (the first hook of a step sees the previous step's last substep).
    """

    def __init__(self) -> None:
        from isaaclab_newton.physics import NewtonManager

        self.data = NewtonManager._solver.mjw_data  # no public accessor for the solver's buffers
        self.num_worlds = int(self.data.nefc.shape[0])
        device = self.data.nefc.device
        self.per_world = wp.zeros(self.num_worlds, dtype=wp.int32, device=device)
        self.histogram = wp.zeros(HISTOGRAM_BINS, dtype=wp.int32, device=device)
        self.nefc_max = wp.zeros(1, dtype=wp.int32, device=device)
        self.contacts_max = wp.zeros(1, dtype=wp.int32, device=device)
        self.pool_max = wp.zeros(1, dtype=wp.int32, device=device)
        self.pool_sum = wp.zeros(1, dtype=wp.int64, device=device)
        self.flagged = wp.zeros(self.num_worlds, dtype=wp.int32, device=device)
        self.flags_before = self.data.overflow.numpy()
        self.data.overflow.zero_()  # the bits are sticky: count only what the sampled steps raise
        NewtonManager._state_force_callbacks.append(self.sample)
        NewtonManager._invalidate_graph()  # recapture the physics graph with the hook in it

    def sample(self, _state: object = None) -> None:
        """Fold the last substep's counts into the statistics (launches only: safe inside graph capture)."""
        data, device = self.data, self.data.nefc.device
        wp.launch(
            _count_contacts,
            dim=int(data.naconmax),
            inputs=[data.nacon, data.contact.worldid, self.per_world, self.pool_max, self.pool_sum],
            device=device,
        )
        wp.launch(
            _fold_world_demand,
            dim=self.num_worlds,
            inputs=[data.nefc, data.overflow, self.per_world, self.histogram, self.nefc_max, self.contacts_max],
            outputs=[self.flagged],
            device=device,
        )

    def budget(self) -> Budget:
        """Return the statistics so far, on the host."""
        histogram, flags = self.histogram.numpy(), self.flagged.numpy()
        samples = int(histogram.sum()) // self.num_worlds
        return Budget(
            samples=samples,
            num_worlds=self.num_worlds,
            njmax=int(self.data.njmax),
            nconmax=int(self.data.naconmax) // self.num_worlds,
            nefc_histogram=histogram.tolist(),
            nefc_max=int(self.nefc_max.numpy()[0]),
            contacts_max=int(self.contacts_max.numpy()[0]),
            pool_max=int(self.pool_max.numpy()[0]),
            pool_mean=float(self.pool_sum.numpy()[0]) / max(samples, 1),
            overflow=Overflow.of(flags),
            overflow_before=Overflow.of(self.flags_before),
        )


def stepper(kind: str, env: gym.Env, task: str, policy_dir: str | None) -> Callable[[], None]:
    """One env step with random (uniform in [-1, 1]), zero or exported-policy actions."""
    base = env.unwrapped
    if kind != "policy":
        action = bench.action_source(base, kind, seed=0)
        return lambda: base.step(action())
    from navila_agents.locomotion import runtime
    from navila_agents.locomotion.policy import load_policy, resolve_policy

    _, agent_cfg = runtime.load_cfgs(task, [])
    agent_cfg.device = base.device
    wrapped, policy = load_policy(resolve_policy(policy_dir, task), env, agent_cfg)
    observations = [wrapped.get_observations()]

    def step() -> None:
        observations[0] = wrapped.step(policy(observations[0]))[0]

    return step


def profile_kernels(
    step: Callable[[], None], count: int, device: str, trace: str | None = None, top: int = 25
) -> list[tuple[str, float, int]]:
    """CUDA kernels over ``count`` env steps: (name, ms per env step, launches per env step), most expensive first.

    With ``trace`` the host side is recorded too (Python stacks included) and saved as a Chrome trace there.
    """
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CUDA] + ([ProfilerActivity.CPU] if trace else [])
    with profile(activities=activities, with_stack=bool(trace)) as prof:
        for _ in range(count):
            step()
        torch.cuda.synchronize(device)
    if trace:
        prof.export_chrome_trace(trace)
    totals: dict[str, list[float]] = {}
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            entry = totals.setdefault(event.name, [0.0, 0])
            entry[0] += event.device_time
            entry[1] += 1
    rows = [(name[:90], us / 1e3 / count, round(calls / count)) for name, (us, calls) in totals.items()]
    return sorted(rows, key=lambda row: -row[1])[:top]


def report(task: str, args: argparse.Namespace, budget: Budget, kernels: list[tuple[str, float, int]]) -> str:
    """Markdown section of one run."""
    meta = provenance.stamp(args.device)
    njmax, nconmax = budget.suggested(args.margin)
    lines = [
        f"\n## {meta['date']} · {meta['commit']} · {meta['device']} · {task} · {budget.num_worlds} envs · "
        f"{args.steps} steps · {args.actions} actions\n\n",
        f"Buffers in effect: njmax {budget.njmax}, nconmax {budget.nconmax}; "
        f"{budget.samples} physics-step samples.\n\n",
        "| nefc per world | " + " | ".join(f"p{q:g}" for q in PERCENTILES) + " |\n",
        "|---|" + "---:|" * len(PERCENTILES) + "\n",
        "| rows | " + " | ".join(str(budget.nefc_percentile(q)) for q in PERCENTILES) + " |\n\n",
        f"Contacts: most in one world {budget.contacts_max}; pool mean {budget.pool_mean:,.0f}, "
        f"max {budget.pool_max:,} ({budget.pool_max / budget.num_worlds:.1f} per world). "
        f"Worlds with an overflow flag: {budget.overflow}; "
        f"raised before sampling (spawn, resets, warm-up): {budget.overflow_before}.\n\n",
        f"**Suggested** (margin {args.margin:g}): njmax {njmax}, nconmax {nconmax}.\n",
    ]
    if kernels:
        lines += ["\n| CUDA kernel | ms per env step | launches |\n|---|---:|---:|\n"]
        lines += [f"| `{name}` | {ms:.3f} | {calls} |\n" for name, ms, calls in kernels]
    return "".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="ours", help="task id or alias (ours, blind, stock)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--num_envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100, help="env steps sampled")
    parser.add_argument("--actions", choices=("random", "zero", "policy"), default="random")
    parser.add_argument("--policy", default=None, help="exported policy directory for --actions policy")
    parser.add_argument("--njmax", type=int, default=None, help="override the task's njmax")
    parser.add_argument("--nconmax", type=int, default=None, help="override the task's nconmax")
    parser.add_argument("--margin", type=float, default=1.25, help="headroom of the suggested sizes")
    parser.add_argument("--profile", type=int, default=0, help="env steps of CUDA kernel profiling (0: none)")
    parser.add_argument("--trace", default=None, help="with --profile: save a Chrome trace (host and device) here")
    parser.add_argument("--results", default=None, help="markdown file to append the run to")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Sample (and optionally profile) the task's physics; print and append the report."""
    (task,) = bench.parse_tasks(args.task)
    if args.actions == "policy" and args.policy is None:
        raise UserError("--actions policy needs --policy DIR (an exported policy)")
    if args.trace and not args.profile:
        raise UserError("--trace records the --profile steps: give --profile K too")
    if args.profile and not args.device.startswith("cuda"):
        raise UserError("--profile times CUDA kernels: use it with --device cuda")
    from isaaclab.app import launch_simulation

    env_cfg = bench.load_env_cfg(task, args.device, args.num_envs, seed=0)
    solver_cfg = env_cfg.sim.physics.solver_cfg  # the resolved physics preset
    solver_cfg.njmax = args.njmax or solver_cfg.njmax
    solver_cfg.nconmax = args.nconmax or solver_cfg.nconmax
    with launch_simulation(env_cfg, {"device": args.device}):
        env = gym.make(task, cfg=env_cfg)
        try:
            env.unwrapped.reset(seed=0)
            step = stepper(args.actions, env, task, args.policy)
            with torch.inference_mode():
                for _ in range(20):  # warm-up: kernel compilation and CUDA graph capture
                    step()
                kernels = profile_kernels(step, args.profile, args.device, args.trace) if args.profile else []
                probe = ConstraintProbe()
                for _ in range(args.steps):
                    step()
            text = report(task, args, probe.budget(), kernels)
        finally:
            env.close()
    print(text)
    if args.results:
        provenance.append_markdown(args.results, HEADER, text)


def main(argv: list[str]) -> int:
    """Run the probe; input mistakes become one line on stderr and exit code 2."""
    args = parse_args(argv)
    try:
        run(args)
    except UserError as error:
        print(f"physics_budget: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/physics_budget.py"))

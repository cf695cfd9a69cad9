"""Latency of the robot side against the sim2sim Go2 over DDS loopback; adds a row to the table of results/sim2real.md.

Measures, with the robot in POLICY (the shipped LiDAR policy standing in place unless --policy is given):
``rt/lowcmd`` writer period (p50/p99) and its jitter from 2 ms, rate and CRC errors at the simulator,
state→command round trip (p50/p99), policy step latency (observation + inference + targets), and height-map
latency (cloud arrival → map ready).

Usage: python benchmarks/sim2real_latency.py [--seconds 10] [--policy DIR] [--no-append]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from navila_lab.errors import run_command
from navila_lab.provenance import stamp
from navila_sim2real.app import deploy
from navila_sim2real.command_sources import ConstantVelocity
from navila_sim2real.fsm import StandCfg
from navila_sim2real.robot import RobotConfig
from navila_sim2real.sim2sim.client import SimProcess

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "sim2real.md"
POLICY = ROOT / "policies" / "go2_rough_lidar"
HEADER = (
    "| date | device | load (1 min) | lowcmd Hz | CRC errors | writer period p50/p99 ms | jitter p50/p99 ms "
    "| round trip p50/p99 ms | policy step p50/p99 ms | height map p50/p99 ms |\n"
    "|---|---|---|---|---|---|---|---|---|---|\n"
)


def percentiles(seconds: list[float] | np.ndarray) -> str:
    """'p50 / p99' in milliseconds."""
    values = np.asarray(seconds) * 1e3
    return f"{np.percentile(values, 50):.2f} / {np.percentile(values, 99):.2f}" if len(values) else "n/a"


def press(sim: SimProcess, key: str) -> None:
    """Press and release a remote key."""
    sim.call("remote", keys=[key])
    time.sleep(0.1)
    sim.call("remote", keys=[])


def measure(policy_dir: Path, seconds: float) -> dict[str, str]:
    """Run sim2sim + deploy, bring the robot to POLICY, and measure for ``seconds``."""
    stand = StandCfg(duration=1.0)
    config = RobotConfig(iface="lo", domain=1, release_sport_mode=False, tag_commands=True)
    with SimProcess() as sim, deploy(policy_dir, config, ConstantVelocity((0.0, 0.0, 0.0), {}), stand=stand) as run:
        press(sim, "START")
        time.sleep(stand.duration + 0.3)
        press(sim, "A")
        time.sleep(0.5)
        for queue in (run.robot.writer_periods, run.controller.policy_latencies, run.robot.height_map_latencies):
            queue.clear()
        sim.call("reset_stats")
        time.sleep(seconds)
        stats = sim.call("stats")
        periods = np.array(run.robot.writer_periods)
        state, fault = run.controller.state, run.robot.safety.fault
        policy, height = list(run.controller.policy_latencies), list(run.robot.height_map_latencies)
    if state != "POLICY":
        print(f"warning: the robot left POLICY during the measurement ({fault.value if fault else state})")
    return {
        "lowcmd Hz": f"{stats['lowcmd_rate']:.1f}",
        "CRC errors": str(stats["crc_errors"]),
        "writer period": percentiles(periods),
        "jitter": percentiles(np.abs(periods - config.writer_period)),
        "round trip": f"{stats['rtt_p50_ms']:.2f} / {stats['rtt_p99_ms']:.2f}",
        "policy step": percentiles(policy),
        "height map": percentiles(height),
    }


def add_row(line: str) -> None:
    """Add ``line`` at the end of the latency table of results/sim2real.md (other sections may follow it)."""
    RESULTS.parent.mkdir(exist_ok=True)
    if not RESULTS.exists():
        RESULTS.write_text("# sim2real latency (benchmarks/sim2real_latency.py)\n\n" + HEADER)
    text = RESULTS.read_text()
    start = text.index(HEADER) + len(HEADER)
    end = text.find("\n\n", start)
    end = len(text) if end < 0 else end + 1
    RESULTS.write_text(text[:end] + line + text[end:])


def main(argv: list[str]) -> int:
    """Measure, print, and add a row to results/sim2real.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--policy", type=Path, default=POLICY)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    provenance = stamp("cpu")
    row = measure(args.policy, args.seconds)
    for key, value in row.items():
        print(f"{key:>14}: {value}")
    if not args.no_append:
        cells = [provenance["date"], f"{provenance['device']}, `{provenance['commit']}`", f"{os.getloadavg()[0]:.2f}"]
        line = "| " + " | ".join([*cells, *row.values()]) + " |\n"
        add_row(line)
        print(f"added a row to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, sys.argv[1:], "benchmarks/sim2real_latency.py"))

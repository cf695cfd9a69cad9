"""CI acceptance of the shipped LiDAR policy: it walks at 0.5 m/s on flat ground (``navila evaluate``, CPU, few robots).

The run is ``navila evaluate`` itself (its evaluation set, rollout and metrics) on the policy's own task, its flat tiles
only (``--terrain flat``), the cheapest scene on CPU.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sim
POLICY = Path(__file__).resolve().parents[3] / "policies" / "go2_rough_lidar"
COMMAND = 0.5
"""Commanded forward speed (m/s)."""
MIN_SPEED = 0.4
"""Mean forward speed (m/s) the policy must keep over the run, start included."""
MAX_FALL_RATE = 0.05
STEPS = 250
"""Policy steps (5 simulated seconds)."""


def test_lidar_policy_walks_at_half_a_meter_per_second(tmp_path):
    """At 0.5 m/s on flat ground the shipped LiDAR policy keeps ≥ 0.4 m/s and falls in < 5% of the episodes."""
    assert (POLICY / "deploy.yaml").is_file() and (POLICY / "policy.pt").is_file(), (
        f"no exported policy in {POLICY}: ship one with 'navila export --out {POLICY.relative_to(POLICY.parents[1])}'"
    )
    out = tmp_path / "eval.json"
    command = [
        sys.executable,
        "-m",
        "navila_cli",
        "evaluate",
        "--policy",
        str(POLICY),
        "--terrain",
        "flat",
        "--speeds",
        str(COMMAND),
        "--num_envs",
        "8",
        "--steps",
        str(STEPS),
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    flat = json.loads(out.read_text())["policies"][0]["terrains"]["flat"]
    assert flat["env_steps"] == 8 * STEPS
    assert flat["forward_speed"] >= MIN_SPEED, f"mean forward speed {flat['forward_speed']:.3f} m/s at {COMMAND} m/s"
    assert flat["fall_rate"] < MAX_FALL_RATE, f"falls in {flat['fall_rate']:.1%} of episodes: {flat['terminations']}"


PANE_PROBE = Path(__file__).resolve().parents[2] / "support" / "pane_stop_probe.py"


def walk_at_walls(policy: Path, *options: str) -> dict:
    """The pane-stop probe's report of ``policy`` commanded towards a box and a pane 2 m ahead (0.5 m/s default)."""
    result = subprocess.run(
        [sys.executable, str(PANE_PROBE), str(policy), *options], capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_lidar_policy_stops_before_the_pane_the_blind_one_walks_into():
    """Commanded straight at a box and a glass pane, the LiDAR policy walks, stops short and never touches them; the
    blind policy trained with the same objective walks into both (it cannot see them)."""
    for kind, seen in walk_at_walls(POLICY).items():
        assert seen["peak_speed"] > 0.4, f"{kind}: never walked ({seen})"
        assert seen["wall_force"] < 1.0, f"{kind}: touched the wall ({seen})"
        assert abs(seen["final_speed"]) < 0.05 and seen["head_reach"] < seen["face"] - 0.1, f"{kind}: {seen}"
    for kind, seen in walk_at_walls(POLICY.with_name("go2_rough_blind")).items():
        assert seen["wall_force"] > 1.0, f"{kind}: the blind policy was expected to walk into the wall ({seen})"


def test_governed_lidar_policy_stops_short_at_full_speed():
    """At 1 m/s with the height-map governor in front of it, the LiDAR policy walks at speed, the governor lowers its
    command (to ~0.4 m/s: the shipped policy stops ~0.4 m short on its own, before the cap reaches zero) and it stops
    before the box and the pane without touching them."""
    for kind, seen in walk_at_walls(POLICY, "--speed", "1.0", "--governor").items():
        assert seen["peak_speed"] > 0.8, f"{kind}: never walked at speed ({seen})"
        assert seen["lowest_command"] < 0.6 and abs(seen["final_speed"]) < 0.05, f"{kind}: not stopped ({seen})"
        assert seen["wall_force"] < 1.0 and seen["head_reach"] < seen["face"] - 0.1, f"{kind}: too close ({seen})"

import json
import subprocess

import pytest
from navila_sim2real.sim2sim.client import navila_command
from sim2real_support import DDS_DOMAIN

pytestmark = [pytest.mark.dds, pytest.mark.slow]


def test_one_command_walk(sdk, policy_dir):
    """'navila sim2sim --policy DIR' walks the shipped LiDAR policy: it reaches POLICY, walks within 20% of 0.5 m/s
    over a clean link, and L2+B damps it; the command exits 0 and its JSON line says it passed."""
    command = navila_command("sim2sim", "--policy", str(policy_dir), "--domain", str(DDS_DOMAIN + 140))
    result = subprocess.run([*command, "--warmup", "2", "--duration", "3"], capture_output=True, text=True, timeout=300)
    print(result.stdout, result.stderr)
    walk = json.loads(result.stdout.strip().splitlines()[-1])
    assert walk["passed"] and result.returncode == 0, walk
    assert walk["window"] > 2.5 and walk["sticks"] == {"lx": 0.0, "ly": 0.5, "rx": 0.0}
    assert walk["link"]["crc_errors"] == 0 and walk["link"]["cloud_min_points"] > 0
    assert walk["damping_latency"] is not None and not walk["active_after_damping"]

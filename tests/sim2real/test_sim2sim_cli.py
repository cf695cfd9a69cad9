import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.dds


def test_one_command_walk(sdk, policy_dir):
    """'navila sim2sim --policy DIR' runs the walk: the deploy reaches POLICY, the link is clean, L2+B ends it.

    The random policy of the fixture does not walk (it may fall and damp on the tilt limit): exit code 1 unless
    the run passed, and the JSON line says why.
    """
    command = [sys.executable, "-m", "navila_cli", "sim2sim", "--policy", str(policy_dir), "--warmup", "0.5"]
    result = subprocess.run(command + ["--duration", "1"], capture_output=True, text=True, timeout=240)
    print(result.stdout, result.stderr)
    walk = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == (0 if walk["passed"] else 1)
    assert walk["window"] > 0 and walk["sticks"] == {"lx": 0.0, "ly": 0.5, "rx": 0.0}
    assert walk["link"]["crc_errors"] == 0 and walk["link"]["lowcmd_rate"] > 0 and walk["link"]["cloud_rate"] > 0
    assert walk["damping_latency"] is not None and not walk["active_after_damping"]

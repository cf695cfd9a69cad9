"""The robot side against the MuJoCo sim2sim robot over DDS (domain 1, interface lo), in two processes.

Functional properties are asserted (CRC, damping, refusal, stand-up). The link's timing targets (lowcmd ≥ 490 Hz at
the simulator, state→command round trip p99 < 5 ms) are measured in short windows, up to ``ATTEMPTS`` of them, and
reported; they fail the test only with ``NAVILA_STRICT_TIMING=1`` (dedicated hardware), because on a shared 2-core
machine other processes decide them. Fault reaction (damping within 20 ms) is asserted, retried the same way.
"""

import os
import subprocess
import time
import warnings

import numpy as np
import pytest
from navila_sim2real.app import deploy
from navila_sim2real.command_sources import ConstantVelocity
from navila_sim2real.fsm import StandCfg
from navila_sim2real.robot import RobotConfig
from navila_sim2real.safety import Fault
from navila_sim2real.sim2sim.client import SimProcess, navila_command

pytestmark = pytest.mark.dds

ATTEMPTS = 3
STAND = StandCfg(duration=0.5)


@pytest.fixture(scope="module")
def sim(sdk):
    with SimProcess(iface="lo", domain=1) as process:
        yield process


@pytest.fixture(scope="module")
def deployment(sim, policy_dir):
    config = RobotConfig(iface="lo", domain=1, release_sport_mode=False, tag_commands=True)
    commands = ConstantVelocity((0.3, 0.0, 0.0), {"lin_vel_x": [0.0, 1.0]})
    with deploy(policy_dir, config, commands, stand=STAND) as running:
        yield running


def press(sim, *keys, hold=0.1):
    sim.call("remote", keys=list(keys))
    time.sleep(hold)
    sim.call("remote", keys=[])


def wait_for_state(deployment, name, timeout=2.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end and deployment.controller.state != name:
        time.sleep(0.01)
    return deployment.controller.state == name


def arm(sim, deployment):
    """Bring the robot to POLICY from wherever it is (re-arming with Select after DAMP); False if it was refused."""
    if deployment.controller.state == "DAMP":
        press(sim, "SELECT")
        if not wait_for_state(deployment, "PASSIVE"):
            return False
    if deployment.controller.state != "STAND":
        press(sim, "START")
        if not wait_for_state(deployment, "STAND"):
            return False
    time.sleep(STAND.duration + 0.1)
    press(sim, "A")
    return wait_for_state(deployment, "POLICY")


def measured_link(sim, deployment, window=2.0):
    if not arm(sim, deployment):
        return None, deployment.robot.safety.fault
    sim.call("reset_stats")
    time.sleep(window)
    return sim.call("stats"), deployment.controller.state


class TestLink:
    def test_stands_up_and_runs_policy(self, sim, deployment):
        """Start raises the base from lying to standing height; A runs the policy without a fault."""
        assert sim.call("stats")["base_height"] < 0.15
        assert any(arm(sim, deployment) for _ in range(ATTEMPTS)), f"refused: {deployment.robot.safety.fault}"
        time.sleep(0.5)
        stats = sim.call("stats")
        assert deployment.controller.state == "POLICY" and deployment.robot.safety.fault is None
        assert stats["base_height"] > 0.22 and max(abs(a) for a in stats["rpy"][:2]) < 0.3
        assert stats["cloud_rate"] > 10

    def test_rates_crc_round_trip(self, sim, deployment):
        """Over loopback: 0 CRC errors, every command echoes a state; lowcmd ≥ 490 Hz and round trip p99 < 5 ms."""
        windows = []
        for _ in range(ATTEMPTS):
            stats, state = measured_link(sim, deployment)
            if stats is None:
                continue
            rates = f"lowcmd {stats['lowcmd_rate']:.1f} Hz, lowstate {stats['lowstate_rate']:.1f} Hz"
            print(f"{rates}, rtt p50 {stats['rtt_p50_ms']:.2f} / p99 {stats['rtt_p99_ms']:.2f} ms ({state})")
            assert stats["crc_errors"] == 0 and stats["rtt_count"] >= 0.99 * stats["lowcmd_count"] > 0
            windows.append((state, stats["lowcmd_rate"], stats["rtt_p99_ms"]))
            if state == "POLICY" and stats["lowcmd_rate"] >= 490 and stats["rtt_p99_ms"] < 5.0:
                return
        assert windows, f"the robot never reached POLICY: {deployment.robot.safety.fault}"
        message = f"link timing targets missed in {ATTEMPTS} windows (state, lowcmd Hz, rtt p99 ms): {windows}"
        if os.environ.get("NAVILA_STRICT_TIMING") == "1":
            pytest.fail(message)
        warnings.warn(message, stacklevel=1)

    def test_bad_crc_is_counted_and_ignored(self, sim, deployment):
        """Commands with a wrong CRC are counted by the simulator and never applied."""
        from navila_sim2real.messages import TOPIC_LOWCMD, TOPIC_TYPES, fill_low_cmd, new_low_cmd
        from navila_sim2real.state import JointCommand
        from unitree_sdk2py.core.channel import ChannelPublisher

        assert any(arm(sim, deployment) for _ in range(ATTEMPTS)), f"refused: {deployment.robot.safety.fault}"
        sim.call("reset_stats")
        rogue = ChannelPublisher(TOPIC_LOWCMD, TOPIC_TYPES[TOPIC_LOWCMD])
        rogue.Init()
        msg = fill_low_cmd(new_low_cmd(), JointCommand(np.zeros(12), np.full(12, 100.0), np.zeros(12), 0.0))
        msg.crc ^= 1
        for _ in range(50):
            rogue.Write(msg)
            time.sleep(0.002)
        time.sleep(0.1)
        rogue.Close()
        stats = sim.call("stats")
        assert stats["crc_errors"] == 50
        assert stats["base_height"] > 0.22 and deployment.controller.state == "POLICY"

    def test_refuses_second_commander(self, sim, deployment, policy_dir):
        """A second 'navila deploy' on the same domain refuses to start while this one publishes rt/lowcmd."""
        command = navila_command("deploy", "--iface", "lo", "--domain", "1", "--sim", "--policy", str(policy_dir))
        result = subprocess.run([*command, "--duration", "1"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2
        assert "another process publishes rt/lowcmd" in result.stderr


def robot_side_stall(deployment):
    """Make the policy thread block for 0.5 s at its next POLICY step; returns the undo."""
    ctx = deployment.controller.fsm.ctx
    policy = ctx.policy

    def stalled(obs):
        time.sleep(0.5)
        return policy(obs)

    ctx.policy = stalled
    return lambda: setattr(ctx, "policy", policy)


def sim_side(op, undo_op, **args):
    def inject(sim, deployment):
        sim.call(op, **args)
        return lambda: sim.call(undo_op[0], **undo_op[1])

    return inject


FAULTS = {
    "tilt": (sim_side("tilt", ("reset", {}), roll=1.0), 0.0, Fault.TILT),
    "l2_b": (sim_side("remote", ("remote", {"keys": []}), keys=["L2", "B"]), 0.0, Fault.REMOTE_DAMP),
    "remote_silent": (
        sim_side("remote_alive", ("remote_alive", {"alive": True}), alive=False),
        3.0,
        Fault.REMOTE_SILENT,
    ),
    "lowstate_stale": (
        sim_side("pause", ("pause", {"topic": "rt/lowstate", "paused": False}), topic="rt/lowstate"),
        0.020,
        Fault.STATE_STALE,
    ),
    "policy_stale": (lambda sim, deployment: robot_side_stall(deployment), 0.060, Fault.POLICY_STALE),
    "height_map_stale": (
        sim_side("pause", ("pause", {"topic": "rt/utlidar/cloud", "paused": False}), topic="rt/utlidar/cloud"),
        0.150,
        Fault.HEIGHT_MAP_STALE,
    ),
    "nan": (sim_side("nan", ("nan", {"enabled": False}), enabled=True), 0.0, Fault.NON_FINITE),
    "motor_lost": (sim_side("motor", ("motor", {"index": 4, "lost": 0}), index=4, lost=1), 0.0, Fault.MOTOR_LOST),
    "over_temperature": (
        sim_side("motor", ("motor", {"index": 2, "temperature": 40}), index=2, temperature=95),
        0.0,
        Fault.OVER_TEMPERATURE,
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_damps_within_20ms(sim, deployment, name):
    """Each fault alone: damping reaches the robot within 20 ms of the fault condition, then only damping."""
    inject, delay, fault = FAULTS[name]
    got = latency = None
    for _ in range(ATTEMPTS):
        if not arm(sim, deployment):
            continue
        time.sleep(0.2)
        if deployment.robot.safety.fault is not None:
            continue
        started = time.monotonic()
        undo = inject(sim, deployment)
        time.sleep(delay + 0.3)
        log = sim.call("commands_since", t=started)
        got = deployment.robot.safety.fault
        undo()
        latency = None if log["first_damping"] is None else log["first_damping"] - started - delay
        print(f"{name}: fault {got}, damping after {latency}, active after damping: {log['active_after_damping']}")
        assert not log["active_after_damping"], "an active command was sent after damping"
        assert deployment.robot.sent.is_damping
        if got is fault and latency is not None and latency <= 0.020:
            assert wait_for_state(deployment, "DAMP", timeout=1.0)  # a stalled policy thread reacts when it resumes
            return
    pytest.fail(f"{name}: expected {fault} within 20 ms, got {got} after {latency} s")

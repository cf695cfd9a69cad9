"""The robot side against the MuJoCo sim2sim robot over DDS (interface lo, a domain of this run), in two processes.

Functional properties are asserted (CRC, damping on every fault including degenerate LiDAR perception, refusal,
stand-up). The link's timing targets (lowcmd ≥ 490 Hz at the simulator, state→command round trip p99 < 5 ms, damping
within 20 ms of a fault's onset) are measured and reported; they fail a test only with ``NAVILA_STRICT_TIMING=1``
(dedicated hardware), because on a shared 2-core machine other processes decide them.
"""

import os
import subprocess
import time
import warnings

import numpy as np
import pytest
from navila_sim2real.command_sources import ConstantVelocity
from navila_sim2real.fsm import StandCfg
from navila_sim2real.safety import Fault
from navila_sim2real.sim2sim.client import SimProcess, navila_command
from sim2real_support import DDS_DOMAIN

pytestmark = pytest.mark.dds

ATTEMPTS = 3
STAND = StandCfg(duration=1.0)


@pytest.fixture(scope="module")
def sim(sdk):
    with SimProcess(iface="lo", domain=DDS_DOMAIN) as process:
        yield process


@pytest.fixture(scope="module")
def deployment(sim, policy_dir):
    from navila_sim2real.app import deploy  # imports unitree_sdk2py: only once the sdk fixture let the test run
    from navila_sim2real.robot import RobotConfig

    config = RobotConfig(iface="lo", domain=DDS_DOMAIN, release_sport_mode=False, tag_commands=True)
    commands = ConstantVelocity((0.0, 0.0, 0.0), {})  # stands in place: the faults, not the gait, are tested
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
        command = navila_command("deploy", "--iface", "lo", "--domain", str(DDS_DOMAIN), "--sim", "--duration", "1")
        result = subprocess.run([*command, "--policy", str(policy_dir)], capture_output=True, text=True, timeout=120)
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


def after(delay):
    """Onset of a fault condition ``delay`` s after the injection (e.g. a timeout)."""
    return lambda sim, started, damped: started + delay


def sweep_onset(sim, started, damped):
    """Onset of a perception fault: the publication of the last sweep before damping (the one that tripped it)."""
    times = [t for t in sim.call("sweeps_since", t=started)["times"] if t <= damped]
    return times[-1] if times else started


def after_last_sweep(timeout):
    """Onset of the height map's staleness: ``timeout`` s after the last sweep published before the injection."""

    def onset(sim, started, damped):
        times = [t for t in sim.call("sweeps_since", t=started - 1.0)["times"] if t <= started]
        return (times[-1] if times else started) + timeout

    return onset


def cloud(mode):
    return sim_side("cloud", ("cloud", {"mode": "normal"}), mode=mode)


FAULTS = {
    "tilt": (sim_side("tilt", ("reset", {}), roll=1.0), after(0.0), Fault.TILT),
    "l2_b": (sim_side("remote", ("remote", {"keys": []}), keys=["L2", "B"]), after(0.0), Fault.REMOTE_DAMP),
    "remote_silent": (
        sim_side("remote_alive", ("remote_alive", {"alive": True}), alive=False),
        after(3.0),
        Fault.REMOTE_SILENT,
    ),
    "lowstate_stale": (
        sim_side("pause", ("pause", {"topic": "rt/lowstate", "paused": False}), topic="rt/lowstate"),
        after(0.020),
        Fault.STATE_STALE,
    ),
    "policy_stale": (lambda sim, deployment: robot_side_stall(deployment), after(0.060), Fault.POLICY_STALE),
    "height_map_stale": (
        sim_side("pause", ("pause", {"topic": "rt/utlidar/cloud", "paused": False}), topic="rt/utlidar/cloud"),
        after_last_sweep(0.150),
        Fault.HEIGHT_MAP_STALE,
    ),
    "nan": (sim_side("nan", ("nan", {"enabled": False}), enabled=True), after(0.0), Fault.NON_FINITE),
    "motor_lost": (
        sim_side("motor", ("motor", {"index": 4, "lost": 0}), index=4, lost=1),
        after(0.0),
        Fault.MOTOR_LOST,
    ),
    "over_temperature": (
        sim_side("motor", ("motor", {"index": 2, "temperature": 40}), index=2, temperature=95),
        after(0.0),
        Fault.OVER_TEMPERATURE,
    ),
    "lidar_no_hits": (cloud("no_hits"), sweep_onset, Fault.LIDAR_TOO_FEW_HITS),
    "lidar_sparse": (cloud("sparse"), sweep_onset, Fault.LIDAR_TOO_FEW_HITS),
    "height_map_empty": (cloud("flat"), sweep_onset, Fault.HEIGHT_MAP_EMPTY),
    "lidar_nan": (cloud("nan"), sweep_onset, Fault.HEIGHT_MAP_NON_FINITE),
    "lidar_wrong_frame": (cloud("wrong_frame"), sweep_onset, Fault.LIDAR_FRAME),
}
"""Fault → (injection returning its undo, onset of the fault condition, the fault the safety layer must latch)."""
PERCEPTION = ["lidar_no_hits", "lidar_sparse", "height_map_empty", "lidar_nan", "lidar_wrong_frame"]
FAULT_TIMEOUT = 4.0
"""Seconds to wait for a fault to latch (the longest onset is the remote's 3 s)."""
SWEEPS_HEALTHY_AGAIN = 0.5
"""Seconds after a perception fault is undone until the map's last ``num_sweeps`` sweeps (5 at 15 Hz) are healthy."""
TIMING_FAULTS = (Fault.STATE_STALE, Fault.POLICY_STALE, Fault.HEIGHT_MAP_STALE)
"""Faults a late thread on this shared machine causes; an attempt cut by one is run again."""


def wait_for_fault(deployment, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end and deployment.robot.safety.fault is None:
        time.sleep(0.005)
    return deployment.robot.safety.fault


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_damps(sim, deployment, name):
    """Each fault alone, from POLICY: the safety layer latches that fault, damping reaches the robot with nothing
    active after it, and the FSM goes to DAMP. The reaction time (onset → first damping at the robot) is printed;
    it must be ≤ 20 ms only with NAVILA_STRICT_TIMING=1 (dedicated hardware). The onset of the remote's and the
    policy's timeouts is taken as the injection plus the timeout, so it reads negative by up to one message period
    (the last message came earlier)."""
    inject, onset, fault = FAULTS[name]
    got = None
    for _ in range(ATTEMPTS):
        if not arm(sim, deployment):
            continue
        time.sleep(0.2)
        if deployment.robot.safety.fault is not None:
            continue
        started = time.monotonic()
        undo = inject(sim, deployment)
        got = wait_for_fault(deployment, timeout=FAULT_TIMEOUT)
        time.sleep(0.2)
        log = sim.call("commands_since", t=started)
        undo()
        if got is None or (got in TIMING_FAULTS and got is not fault):
            # nothing latched: on a loaded 2-core machine the policy thread may check no command for seconds
            got = f"{got} ({log['count']} commands in {FAULT_TIMEOUT} s, state {deployment.controller.state})"
            continue
        assert got is fault, f"{name}: expected {fault}, got {got}"
        assert log["first_damping"] is not None and not log["active_after_damping"]
        assert deployment.robot.sent.is_damping
        assert wait_for_state(deployment, "DAMP", timeout=1.0)  # a stalled policy thread reacts when it resumes
        latency = log["first_damping"] - onset(sim, started, log["first_damping"])
        print(f"{name}: {got.name}, first damping {latency * 1e3:.1f} ms after the onset")
        if latency > 0.020 and os.environ.get("NAVILA_STRICT_TIMING") == "1":
            pytest.fail(f"{name}: damping {latency * 1e3:.1f} ms after the onset (limit 20 ms)")
        return
    pytest.fail(f"{name}: expected {fault}, got {got} in {ATTEMPTS} attempts")


@pytest.mark.parametrize("name", PERCEPTION)
def test_degenerate_perception_refuses_policy(sim, deployment, name):
    """With the LiDAR degraded, A leaves the robot standing (STAND, not POLICY); once it is healthy again, A walks."""
    inject, _, _ = FAULTS[name]
    for _ in range(ATTEMPTS):
        if not arm(sim, deployment):
            continue
        press(sim, "START")
        if not wait_for_state(deployment, "STAND"):
            state, fault = deployment.controller.state, deployment.robot.safety.fault
            if fault in TIMING_FAULTS:  # a late thread on this shared machine damped the walk: try again
                continue
            pytest.fail(f"{name}: Start from POLICY left the robot in {state} (fault {fault})")
        undo = inject(sim, deployment)
        try:
            refused = not arm(sim, deployment)
            state, fault = deployment.controller.state, deployment.robot.safety.fault
        finally:
            undo()
        time.sleep(SWEEPS_HEALTHY_AGAIN)  # the next arm reads healthy sweeps only
        if fault in TIMING_FAULTS:  # a late thread on this shared machine damped the stand: try again
            continue
        assert refused and state == "STAND", f"{name}: state {state} (fault {fault})"
        assert any(arm(sim, deployment) for _ in range(ATTEMPTS)), f"refused: {deployment.robot.safety.fault}"
        return
    pytest.fail(f"{name}: timing faults in {ATTEMPTS} attempts")

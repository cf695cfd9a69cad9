"""The sim2sim walk: ``navila deploy`` against ``navila sim2sim``, driven by the simulated remote like the real one.

The simulator and ``navila deploy --sim`` run as two child processes on the robot's DDS topics. The remote (the
``wireless_remote`` bytes of ``rt/lowstate`` and the ``rt/wirelesscontroller`` heartbeat) presses Start, then A,
then holds the left/right sticks at the deflection that means the commanded velocity. After a warm-up, the walking
speed is measured over a window of simulated time from MuJoCo's ground truth (∫ base-frame velocity dt, so no
sampling aliases with the gait). Then L2+B (the e-stop, facts §5) is pressed: the deploy must report DAMP and the
simulator must receive nothing but damping from the first damping command on.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from navila_sim2real.command_sources import RemoteSticks
from navila_sim2real.errors import RobotError
from navila_sim2real.fsm import StandCfg
from navila_sim2real.policy import load_policy_dir
from navila_sim2real.safety import Fault
from navila_sim2real.sim2sim.client import SimProcess, navila_command

STATE_LINE = re.compile(r"^state (?P<state>[A-Z]+)(?: \(fault: (?P<fault>.*)\))?$")
"""A state change as ``navila deploy`` prints it."""
TIMING_FAULTS = (Fault.STATE_STALE.value, Fault.POLICY_STALE.value, Fault.HEIGHT_MAP_STALE.value)
"""Faults that a late thread on a loaded machine causes (the safety layer working, not the policy failing)."""
MAX_SPEED_ERROR = 0.2
"""Largest relative error of the forward speed that passes (issue #5)."""
CONNECT_TIMEOUT = 120.0
"""Seconds for ``navila deploy`` to import, load the policy and connect."""


class DeployProcess:
    """``navila deploy --sim`` as a child process; its output lines are collected by a reader thread."""

    def __init__(
        self,
        policy_dir: str | Path,
        iface: str,
        domain: int,
        echo: Callable[[str], None] | None,
        options: Sequence[str] = (),
    ) -> None:
        """Start the deploy on ``iface`` / ``domain`` with more ``options``; ``echo`` gets every output line."""
        command = navila_command(
            "deploy", "--iface", iface, "--domain", str(domain), "--sim", "--policy", str(policy_dir), *options
        )
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self.states: list[tuple[float, str, str | None]] = []
        """(monotonic time, state, fault) of each state change printed."""
        self._changed = threading.Condition()
        self._echo = echo
        self._reader = threading.Thread(target=self._read, name="deploy-output", daemon=True)
        self._reader.start()

    @property
    def state(self) -> tuple[str | None, str | None]:
        """Latest (state, fault) printed."""
        with self._changed:
            return self.states[-1][1:] if self.states else (None, None)

    def wait_for(self, test: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``test()`` holds (checked at each new output line) or the process ends; return ``test()``."""
        end = time.monotonic() + timeout
        with self._changed:
            while not test() and self._process.poll() is None and time.monotonic() < end:
                self._changed.wait(min(0.1, max(end - time.monotonic(), 0.0)))
            return test()

    def wait_for_state(self, state: str, timeout: float) -> bool:
        """Wait until the deploy prints ``state``."""
        return self.wait_for(lambda: self.state[0] == state, timeout)

    def states_since(self, t: float) -> list[tuple[str, str | None]]:
        """(state, fault) printed from monotonic time ``t`` on."""
        with self._changed:
            return [(state, fault) for stamp, state, fault in self.states if stamp >= t]

    def close(self) -> int:
        """Interrupt the deploy (it leaves the robot damped) and return its exit code."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                self._process.kill()
        code = self._process.wait()
        self._reader.join(timeout=1.0)
        return code

    def _read(self) -> None:
        for raw in self._process.stdout:
            line = raw.rstrip()
            match = STATE_LINE.match(line)
            with self._changed:
                self.lines.append(line)
                if match:
                    self.states.append((time.monotonic(), match["state"], match["fault"]))
                self._changed.notify_all()
            if self._echo is not None:
                self._echo(line)
        with self._changed:
            self._changed.notify_all()


@dataclass
class WalkResult:
    """Outcome of one sim2sim walk (speeds in m/s over the window, in the base frame; times in s)."""

    policy: str
    command: list[float]
    sticks: dict[str, float]
    window: float = 0.0
    """Simulated seconds the speed was measured over (shorter than asked if the walk was cut by a fault)."""
    velocity: list[float] = field(default_factory=lambda: [0.0, 0.0])
    """Mean forward and lateral speed over the window (MuJoCo ground truth)."""
    yaw_rate: float = 0.0
    """Mean yaw rate (rad/s) over the window."""
    base_height: float = 0.0
    """Base height (m) at the end of the window."""
    distance_from_origin: float = 0.0
    """Horizontal distance (m) of the base from the world origin at the end of the window."""
    walk_fault: str | None = None
    """Why the robot left POLICY before the e-stop, if it did."""
    estop_states: list[list[str | None]] = field(default_factory=list)
    """(state, fault) printed by the deploy from the end of the window on (the e-stop follows at once)."""
    damping_latency: float | None = None
    """From the e-stop press to the first damping command received by the simulator."""
    active_after_damping: bool = True
    """Whether a non-damping command reached the simulator after the first damping one."""
    speed_after_estop: float | None = None
    """Base speed 1 s after the e-stop."""
    link: dict[str, float] = field(default_factory=dict)
    """Rates, CRC errors, round trip and physics-step lag at the simulator over the window."""

    @property
    def speed_error(self) -> float:
        """|forward speed − commanded| / commanded (absolute error when the command is 0)."""
        return abs(self.velocity[0] - self.command[0]) / (abs(self.command[0]) or 1.0)

    @property
    def damped(self) -> bool:
        """Whether the e-stop (not another fault) put the FSM in DAMP and only damping reached the robot after."""
        estop = (None, Fault.REMOTE_DAMP.value)
        by_estop = any(state == "DAMP" and fault in estop for state, fault in self.estop_states)
        return by_estop and self.damping_latency is not None and not self.active_after_damping

    @property
    def cut_by_timing(self) -> bool:
        """Whether a timing fault (see :data:`TIMING_FAULTS`) ended the walk before the e-stop did."""
        faults = [self.walk_fault, *(fault for _, fault in self.estop_states)]
        return any(fault in TIMING_FAULTS for fault in faults)

    @property
    def passed(self) -> bool:
        """Walked the whole window within :data:`MAX_SPEED_ERROR` and stopped on the e-stop."""
        return self.walk_fault is None and self.speed_error < MAX_SPEED_ERROR and self.damped

    def to_json(self) -> str:
        """One JSON line with every field and the derived verdicts."""
        verdicts = ("speed_error", "damped", "cut_by_timing", "passed")
        extra = {name: getattr(self, name) for name in verdicts}
        return json.dumps({**asdict(self), **extra})

    def summary(self) -> str:
        """Human-readable lines."""
        vx, vy = self.velocity
        after = "none" if not self.active_after_damping else "SOME"
        latency = "never" if self.damping_latency is None else f"{self.damping_latency * 1e3:.1f} ms"
        lines = [
            f"policy {self.policy}: command (vx, vy, wz) = {self.command} through the sticks {self.sticks}",
            f"walk: {vx:.3f} m/s forward (error {self.speed_error:.1%}), {vy:+.3f} m/s lateral, "
            f"{self.yaw_rate:+.3f} rad/s yaw over {self.window:.2f} s of sim time, base at {self.base_height:.3f} m, "
            f"{self.distance_from_origin:.1f} m from the origin"
            + (f"; left POLICY: {self.walk_fault}" if self.walk_fault else ""),
            f"e-stop (L2+B): deploy states {self.estop_states}, first damping {latency} after the press, "
            f"active commands after it: {after}, base speed 1 s later {self.speed_after_estop or 0.0:.2f} m/s",
            "link: " + json.dumps({key: round(value, 3) for key, value in self.link.items()}),
            "PASS" if self.passed else "FAIL",
        ]
        return "\n".join(lines)


def _held(sim: SimProcess, keys: list[str], sticks: dict[str, float], hold: float = 0.1) -> float:
    """Hold ``keys`` (sticks kept) for ``hold`` s, release them; return the simulator's time of the press."""
    pressed = sim.call("remote", keys=keys, **sticks)["t"]
    time.sleep(hold)
    sim.call("remote", keys=[], **sticks)
    return pressed


def _window_stats(sim: SimProcess, deploy: DeployProcess, seconds: float) -> tuple[dict, dict]:
    """Stats at the start and the end of ``seconds`` of walking (earlier if the deploy leaves POLICY)."""
    start = sim.call("stats")
    deploy.wait_for(lambda: deploy.state[0] != "POLICY", seconds)
    return start, sim.call("stats")


def run_walk(
    policy_dir: str | Path,
    command: tuple[float, float, float] = (0.5, 0.0, 0.0),
    warmup: float = 3.0,
    window: float = 5.0,
    iface: str = "lo",
    domain: int = 1,
    echo: Callable[[str], None] | None = None,
    deploy_options: Sequence[str] = (),
) -> WalkResult:
    """Walk the shipped scenario once and measure it (see the module docstring).

    Args:
        policy_dir: Exported policy directory (``policy.onnx`` + ``deploy.yaml``).
        command: Velocity command (vx, vy, wz), given through the remote's sticks.
        warmup: Seconds of walking before the window (the gait settles).
        window: Seconds of walking the speed is measured over.
        iface: Network interface of the DDS link.
        domain: DDS domain.
        echo: Gets the deploy's output lines (None: silent).
        deploy_options: More ``navila deploy`` options (e.g. ``--heading-hold 0``).

    Raises:
        RobotError: The simulator or the deploy did not start, or the robot never reached POLICY.
    """
    bounds = load_policy_dir(policy_dir).spec.command_ranges
    sticks = RemoteSticks(bounds).sticks(command)
    result = WalkResult(str(policy_dir), [float(c) for c in command], sticks)
    with SimProcess(iface, domain) as sim:
        deploy = DeployProcess(policy_dir, iface, domain, echo, deploy_options)
        try:
            if not deploy.wait_for(lambda: any(line.startswith("connected") for line in deploy.lines), CONNECT_TIMEOUT):
                raise RobotError("navila deploy did not connect: " + " | ".join(deploy.lines[-3:]))
            _held(sim, ["START"], {})
            if not deploy.wait_for_state("STAND", 2.0):
                raise RobotError(f"Start did not stand the robot up (deploy state {deploy.state})")
            time.sleep(StandCfg().duration + 0.3)
            for _ in range(5):  # A is refused until the ramp is done and a height map is in
                _held(sim, ["A"], sticks)
                if deploy.wait_for_state("POLICY", 0.5):
                    break
            else:
                raise RobotError(f"A did not start the policy (deploy state {deploy.state})")
            deploy.wait_for(lambda: deploy.state[0] != "POLICY", warmup)
            sim.call("reset_stats")
            start, end = _window_stats(sim, deploy, window)
            ended = time.monotonic()
            result.walk_fault = deploy.state[1] if deploy.state[0] != "POLICY" else None
            _measure(result, start, end)
            pressed = _held(sim, ["L2", "B"], sticks, hold=0.3)
            deploy.wait_for_state("DAMP", 1.0)
            time.sleep(1.0)
            log, after = sim.call("commands_since", t=pressed), sim.call("stats")
            result.estop_states = [list(change) for change in deploy.states_since(ended)]
            first = log["first_damping"]
            result.damping_latency = None if first is None else max(first - pressed, 0.0)
            result.active_after_damping = log["active_after_damping"]
            result.speed_after_estop = float(np.linalg.norm(after["base_velocity"]))
        finally:
            deploy.close()
    return result


def _measure(result: WalkResult, start: dict, end: dict) -> None:
    """Fill the window's speeds from the simulator's ground-truth odometry and its link statistics."""
    result.window = end["sim_time"] - start["sim_time"]
    if result.window > 0:
        moved = (np.array(end["odometry"]) - np.array(start["odometry"])) / result.window
        turned = np.unwrap([start["rpy"][2], end["rpy"][2]])
        result.velocity = moved[:2].round(4).tolist()
        result.yaw_rate = round(float(turned[1] - turned[0]) / result.window, 4)
    result.base_height = round(end["base_height"], 4)
    result.distance_from_origin = round(end["distance_from_origin"], 2)
    keys = (
        "lowcmd_rate",
        "cloud_rate",
        "cloud_min_points",
        "crc_errors",
        "rtt_p50_ms",
        "rtt_p99_ms",
        "step_lag_max_ms",
    )
    result.link = {key: end[key] for key in keys}

"""The 50 Hz control thread: observation → FSM → command, on absolute deadlines."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

from navila_sim2real.command_sources import CommandSource
from navila_sim2real.fsm import ControlContext, Damp, Fsm, Policy, StandCfg
from navila_sim2real.loop import HELPER_PRIORITY, Rate, make_thread_realtime
from navila_sim2real.observation import ObservationBuilder
from navila_sim2real.policy import PolicyBundle
from navila_sim2real.safety import SafetyGuard
from navila_sim2real.state import JointCommand, RobotObservation


class RobotInterface(Protocol):
    """What the control thread needs from a robot (:class:`~navila_sim2real.robot.Go2Robot` provides it)."""

    safety: SafetyGuard

    def get_observation(self) -> RobotObservation:
        """Snapshot of the latest state."""
        ...

    def send_action(self, command: JointCommand) -> None:
        """Request a command."""
        ...


class ControlThread:
    """Runs the FSM at the policy rate in its own thread; wakes at once when the safety layer latches a fault."""

    def __init__(
        self, robot: RobotInterface, bundle: PolicyBundle, commands: CommandSource, stand: StandCfg | None = None
    ) -> None:
        """Wire the FSM to ``robot`` with the policy of ``bundle`` and the velocity-command source ``commands``."""
        self.robot = robot
        builder = ObservationBuilder(bundle.spec)
        ctx = ControlContext(builder, bundle.policy, commands, robot.safety, stand or StandCfg())
        self.fsm = Fsm(ctx)
        self.period = bundle.spec.step_dt
        self.policy_latencies: deque[float] = deque(maxlen=10_000)
        """Recent durations (s) of POLICY steps: observation, inference, targets."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> str:
        """Name of the current FSM state."""
        return self.fsm.state.name

    def step(self) -> JointCommand:
        """One control step: observe, step the FSM, request its command."""
        obs = self.robot.get_observation()
        command = self.fsm.step(obs)
        self.robot.send_action(command)
        if isinstance(self.fsm.state, Policy):
            self.policy_latencies.append(time.monotonic() - obs.now)
        return command

    def start(self) -> ControlThread:
        """Start the control thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="policy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the control thread (joined with a timeout) and the command source."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        self.fsm.ctx.commands.close()

    def _loop(self) -> None:
        make_thread_realtime(HELPER_PRIORITY)
        rate = Rate(self.period, max_behind=1)
        while not self._stop.is_set():
            self.step()
            in_damp = isinstance(self.fsm.state, Damp)
            rate.sleep(self._stop if in_damp else self.fsm.ctx.safety.fault_event)

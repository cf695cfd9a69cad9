"""Controller FSM: PASSIVE → STAND → POLICY, DAMP from everywhere; states are classes, transitions one table.

Remote mapping (see :mod:`navila_sim2real.remote`): Start = stand (or back to stand from POLICY), A = policy once
the stand ramp is done, L2+B = damp, Select = leave DAMP for PASSIVE once no fault condition holds. A fault latched
by the safety layer also sends the FSM to DAMP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import numpy as np

from navila_sim2real.command_sources import CommandSource
from navila_sim2real.observation import ObservationBuilder
from navila_sim2real.remote import Key, RemoteState
from navila_sim2real.safety import Fault, SafetyGuard
from navila_sim2real.state import JointCommand, RobotObservation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StandCfg:
    """The ramp to the default pose (facts §5: stand gains kp 50–60, kd 3.5–5)."""

    kp: float = 50.0
    kd: float = 3.5
    duration: float = 2.0
    """Seconds from the measured pose to the default pose."""


@dataclass
class ControlContext:
    """What the states need: policy, observation builder, command source, safety guard, stand ramp."""

    builder: ObservationBuilder
    policy: Callable[[np.ndarray], np.ndarray]
    commands: CommandSource
    safety: SafetyGuard
    stand: StandCfg

    def damping(self, obs: RobotObservation) -> JointCommand:
        """Return the damping command."""
        return JointCommand.damping(self.safety.limits.damping_kd, obs.now)

    def policy_gains(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the policy's PD gains in SDK order."""
        actuator = self.builder.spec.actuator
        return self.builder.to_sdk_order(actuator.stiffness), self.builder.to_sdk_order(actuator.damping)


class FsmState:
    """One controller state: ``enter`` once, ``run`` every policy step, ``exit`` once."""

    name: ClassVar[str]

    def enter(self, ctx: ControlContext, obs: RobotObservation) -> None:
        """Prepare the state when the FSM enters it."""

    def run(self, ctx: ControlContext, obs: RobotObservation) -> JointCommand:
        """Return the command for this step."""
        raise NotImplementedError

    def exit(self, ctx: ControlContext) -> None:
        """Clean up when the FSM leaves the state."""


class Passive(FsmState):
    """Start-up state: damping, waiting for Start."""

    name = "PASSIVE"

    def run(self, ctx: ControlContext, obs: RobotObservation) -> JointCommand:
        """Damping."""
        return ctx.damping(obs)


class Stand(FsmState):
    """Linear ramp from the measured pose to the default pose with stand gains, then hold it."""

    name = "STAND"

    def enter(self, ctx: ControlContext, obs: RobotObservation) -> None:
        """Remember where the ramp starts."""
        self.start_q, self.start_time = obs.low.q.copy(), obs.now
        self.default_q = ctx.builder.to_sdk_order(ctx.builder.spec.default_joint_pos)

    def progress(self, ctx: ControlContext, now: float) -> float:
        """Fraction of the ramp done (0..1)."""
        return min(1.0, (now - self.start_time) / ctx.stand.duration)

    def run(self, ctx: ControlContext, obs: RobotObservation) -> JointCommand:
        """Return the ramp's current target."""
        alpha = self.progress(ctx, obs.now)
        target = (1.0 - alpha) * self.start_q + alpha * self.default_q
        gains = np.ones_like(target)
        return JointCommand(q=target, kp=ctx.stand.kp * gains, kd=ctx.stand.kd * gains, stamp=obs.now)


class Policy(FsmState):
    """Runs the exported policy on the rebuilt observation."""

    name = "POLICY"

    def enter(self, ctx: ControlContext, obs: RobotObservation) -> None:
        """Start with an empty history and a zero last action."""
        ctx.builder.reset()

    def run(self, ctx: ControlContext, obs: RobotObservation) -> JointCommand:
        """Observation → action → joint targets with the policy's gains."""
        command = ctx.commands.velocity(obs)
        action = ctx.policy(ctx.builder.build(obs.low, command, obs.height_map))
        kp, kd = ctx.policy_gains()
        uses_map = ctx.builder.spec.height_map is not None
        return JointCommand(q=ctx.builder.targets(action), kp=kp, kd=kd, stamp=obs.now, uses_height_map=uses_map)


class Damp(FsmState):
    """Damping after L2+B or a fault; left only through Select once no fault condition holds."""

    name = "DAMP"

    def run(self, ctx: ControlContext, obs: RobotObservation) -> JointCommand:
        """Damping."""
        return ctx.damping(obs)


class Event(StrEnum):
    """What can move the FSM."""

    STAND = "stand"
    WALK = "walk"
    DAMP = "damp"
    RESET = "reset"


def remote_events(previous: RemoteState, current: RemoteState) -> list[Event]:
    """Events from the remote: L2+B while held, the others on the press edge."""
    pressed = RemoteState(keys=current.keys & ~previous.keys)
    events = [Event.DAMP] if current.held(Key.L2, Key.B) else []
    edges = ((Key.START, Event.STAND), (Key.A, Event.WALK), (Key.SELECT, Event.RESET))
    return events + [event for key, event in edges if pressed.held(key)]


Guard = Callable[[ControlContext, FsmState, RobotObservation], bool]


def _always(ctx: ControlContext, state: FsmState, obs: RobotObservation) -> bool:
    return True


def _has_state(ctx: ControlContext, state: FsmState, obs: RobotObservation) -> bool:
    return obs.low is not None and ctx.safety.fault is None


def _stood_up(ctx: ControlContext, state: FsmState, obs: RobotObservation) -> bool:
    """Check that the stand ramp is done and, for a LiDAR policy, a usable height map is in (else log why not)."""
    if state.progress(ctx, obs.now) < 1.0:
        log.info("A ignored: the stand ramp is not finished")
        return False
    if ctx.builder.spec.height_map is None:
        return True
    if obs.height_map is None or obs.height_map_fault is not None:
        fault = obs.height_map_fault.value if obs.height_map_fault is not None else "no LiDAR sweep received yet"
        log.warning("A refused: the policy reads the height map (%s)", fault)
        return False
    return True


def _fault_cleared(ctx: ControlContext, state: FsmState, obs: RobotObservation) -> bool:
    probe = JointCommand(q=np.zeros(12), kp=np.ones(12), kd=np.ones(12), stamp=obs.now)
    return ctx.safety.reset(obs, probe) is None


ANY = FsmState
"""Source that matches every state."""

TRANSITIONS: list[tuple[type[FsmState], Event, type[FsmState], Guard]] = [
    (ANY, Event.DAMP, Damp, _always),
    (Passive, Event.STAND, Stand, _has_state),
    (Policy, Event.STAND, Stand, _always),
    (Stand, Event.WALK, Policy, _stood_up),
    (Damp, Event.RESET, Passive, _fault_cleared),
]
"""(source, event, target, guard), checked in order; the first whose guard passes fires."""


class Fsm:
    """Steps the controller once per policy period."""

    def __init__(self, ctx: ControlContext) -> None:
        """Start in PASSIVE."""
        self.ctx = ctx
        self.state: FsmState = Passive()
        self._remote = RemoteState()

    def events(self, obs: RobotObservation) -> list[Event]:
        """Remote events plus DAMP while a fault is latched."""
        current = obs.low.remote if obs.low is not None else RemoteState()
        events = remote_events(self._remote, current)
        self._remote = current
        if self.ctx.safety.fault is not None and not isinstance(self.state, Damp):
            events.insert(0, Event.DAMP)
        return events

    def transition(self, events: list[Event], obs: RobotObservation) -> None:
        """Apply the first transition of the table that matches an event and passes its guard."""
        for source, event, target, guard in TRANSITIONS:
            if event in events and isinstance(self.state, source) and not isinstance(self.state, target):
                if guard(self.ctx, self.state, obs):
                    self.state.exit(self.ctx)
                    self.state = target()
                    self.state.enter(self.ctx, obs)
                    return

    def step(self, obs: RobotObservation) -> JointCommand:
        """Handle events, then run the current state; a state that raises latches a fault and damps."""
        self.transition(self.events(obs), obs)
        try:
            return self.state.run(self.ctx, obs)
        except Exception:
            log.exception("%s state failed; damping", self.state.name)
            self.ctx.safety.trip(Fault.CONTROLLER_ERROR)
            self.transition([Event.DAMP], obs)
            return self.ctx.damping(obs)

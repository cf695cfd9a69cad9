from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from navila_sim2real.app import Deployment
from navila_sim2real.command_sources import ConstantVelocity, RemoteSticks
from navila_sim2real.control_thread import ControlThread
from navila_sim2real.fsm import ControlContext, Fsm, StandCfg
from navila_sim2real.observation import ObservationBuilder
from navila_sim2real.policy import load_policy_dir
from navila_sim2real.remote import Key, RemoteState
from navila_sim2real.safety import Fault, SafetyGuard, SafetyLimits
from sim2real_support import healthy_observation


@pytest.fixture
def fsm(policy_dir):
    bundle = load_policy_dir(policy_dir)
    commands = ConstantVelocity((0.5, 0.0, 0.0), bundle.spec.command_ranges)
    ctx = ControlContext(
        ObservationBuilder(bundle.spec),
        bundle.policy,
        commands,
        SafetyGuard(SafetyLimits.go2()),
        StandCfg(duration=1.0),
    )
    return Fsm(ctx)


def at(now: float, *keys: Key, **low: object):
    return healthy_observation(now, remote=RemoteState.pressing(*keys), **low)


def walk_to_policy(fsm: Fsm, lying_q: np.ndarray) -> float:
    fsm.step(at(0.0, q=lying_q))
    fsm.step(at(0.02, Key.START, q=lying_q))
    fsm.step(at(1.1, q=lying_q))
    fsm.step(at(1.12, Key.A))
    return 1.12


class TestFsm:
    def test_stand_ramp(self, fsm):
        """Start ramps linearly from the measured pose to the default pose with stand gains."""
        lying = healthy_observation().low.q + 0.4
        assert fsm.step(at(0.0, q=lying)).is_damping and fsm.state.name == "PASSIVE"
        first = fsm.step(at(1.0, Key.START, q=lying))
        assert fsm.state.name == "STAND" and np.allclose(first.q, lying) and np.all(first.kp == 50.0)
        half = fsm.step(at(1.5, q=lying))
        assert np.allclose(half.q, lying - 0.2)
        assert np.allclose(fsm.step(at(2.5, q=lying)).q, lying - 0.4)

    def test_policy_only_after_ramp(self, fsm):
        """A during the ramp is ignored; A once standing starts the policy with its gains and the height map."""
        fsm.step(at(0.0))
        fsm.step(at(0.02, Key.START))
        fsm.step(at(0.5, Key.A))
        assert fsm.state.name == "STAND"
        fsm.step(at(1.1))
        command = fsm.step(at(1.12, Key.A))
        assert fsm.state.name == "POLICY"
        assert np.all(command.kp == 40.0) and np.all(command.kd == 1.0) and command.uses_height_map

    @pytest.mark.parametrize(
        "fault", [Fault.LIDAR_FRAME, Fault.LIDAR_TOO_FEW_HITS, Fault.HEIGHT_MAP_EMPTY, Fault.HEIGHT_MAP_NON_FINITE]
    )
    def test_policy_refused_on_degenerate_perception(self, fsm, fault):
        """A stays in STAND while the latest sweep has a perception fault; once a good sweep is in, A starts POLICY."""
        fsm.step(at(0.0))
        fsm.step(at(0.02, Key.START))
        fsm.step(at(1.1))
        fsm.step(replace(at(1.12, Key.A), height_map_fault=fault))
        assert fsm.state.name == "STAND"
        fsm.step(at(1.14))
        fsm.step(at(1.16, Key.A))
        assert fsm.state.name == "POLICY"

    def test_policy_refused_without_height_map(self, fsm):
        """A LiDAR policy does not start before any sweep has arrived."""
        fsm.step(at(0.0))
        fsm.step(at(0.02, Key.START))
        fsm.step(replace(at(1.1), height_map=None, height_map_stamp=None))
        fsm.step(replace(at(1.12, Key.A), height_map=None, height_map_stamp=None))
        assert fsm.state.name == "STAND"

    def test_start_needs_state(self, fsm):
        """Start without any low state keeps the robot passive."""
        fsm.step(replace(at(0.0), low=None))
        fsm.step(replace(at(0.02, Key.START), low=None))
        assert fsm.state.name == "PASSIVE"

    def test_l2_b_damps_from_policy(self, fsm):
        """L2+B in POLICY goes to DAMP at once, which sends damping."""
        now = walk_to_policy(fsm, healthy_observation().low.q)
        command = fsm.step(at(now + 0.02, Key.L2, Key.B))
        assert fsm.state.name == "DAMP" and command.is_damping

    def test_fault_damps_and_select_rearms_only_when_clear(self, fsm):
        """A latched fault sends the FSM to DAMP; Select re-arms to PASSIVE only once no fault condition holds."""
        now = walk_to_policy(fsm, healthy_observation().low.q)
        fsm.ctx.safety.trip(Fault.TILT)
        assert fsm.step(at(now + 0.02)).is_damping and fsm.state.name == "DAMP"
        tilted = np.array([1.0, 0.0, 0.0])
        fsm.step(at(now + 0.04, Key.SELECT, rpy=tilted))
        assert fsm.state.name == "DAMP" and fsm.ctx.safety.fault is Fault.TILT
        fsm.step(at(now + 0.06))
        fsm.step(at(now + 0.08, Key.SELECT))
        assert fsm.state.name == "PASSIVE" and fsm.ctx.safety.fault is None

    def test_deployment_reports_damp_from_the_latch_on(self, fsm):
        """Between a fault latching and the controller's next step the deploy already reports DAMP with the fault."""
        now = walk_to_policy(fsm, healthy_observation().low.q)
        controller = ControlThread.__new__(ControlThread)
        controller.fsm = fsm
        deployment = Deployment(SimpleNamespace(safety=fsm.ctx.safety), controller)
        assert deployment.status == ("POLICY", None)
        fsm.ctx.safety.trip(Fault.REMOTE_DAMP)
        assert fsm.state.name == "POLICY" and deployment.status == ("DAMP", Fault.REMOTE_DAMP)
        fsm.step(at(now + 0.02))
        assert deployment.status == ("DAMP", Fault.REMOTE_DAMP)

    def test_state_error_damps(self, fsm):
        """A state that raises latches CONTROLLER_ERROR and damps instead of sending anything else."""
        now = walk_to_policy(fsm, healthy_observation().low.q)
        fsm.ctx.policy = lambda obs: (_ for _ in ()).throw(RuntimeError("boom"))
        command = fsm.step(at(now + 0.02))
        assert command.is_damping and fsm.state.name == "DAMP"
        assert fsm.ctx.safety.fault is Fault.CONTROLLER_ERROR


def test_remote_sticks_scale_into_ranges():
    """Full left stick forward is the top of lin_vel_x; right stick right is a negative yaw rate; deadzone is 0."""
    sticks = RemoteSticks({"lin_vel_x": [0.0, 1.0], "ang_vel_z": [-1.0, 1.0]})
    obs = healthy_observation(remote=RemoteState(ly=1.0, rx=0.5, lx=0.02))
    assert np.allclose(sticks.velocity(obs), [1.0, 0.0, -0.5])
    back = healthy_observation(remote=RemoteState(ly=-1.0))
    assert np.allclose(sticks.velocity(back), [0.0, 0.0, 0.0])


def test_remote_sticks_invert_commands():
    """The stick deflections for a command give back that command (within the ranges), clipped at full deflection."""
    sticks = RemoteSticks({"lin_vel_x": [-0.5, 1.0], "ang_vel_z": [-1.0, 2.0]})
    for command in ([0.5, 0.0, 0.0], [-0.25, 0.0, 1.5], [0.0, 0.0, -0.4]):
        deflection = sticks.sticks(command)
        obs = healthy_observation(remote=RemoteState(**deflection))
        assert np.allclose(sticks.velocity(obs), command, atol=1e-6)
    assert sticks.sticks([3.0, 0.7, -3.0]) == {"lx": 0.0, "ly": 1.0, "rx": 1.0}

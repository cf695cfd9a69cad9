from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from navila_sim2real.remote import Key, RemoteState
from navila_sim2real.safety import Fault, SafetyGuard, SafetyLimits, clip_command, detect_fault
from navila_sim2real.state import JointCommand
from sim2real_support import healthy_observation

LIMITS = SafetyLimits.go2()
TOL = 1e-9


def active_command(now: float, q: np.ndarray | None = None, kp: float = 40.0, kd: float = 1.0) -> JointCommand:
    obs = healthy_observation(now)
    return JointCommand(q=obs.low.q.copy() if q is None else q, kp=np.full(12, kp), kd=np.full(12, kd), stamp=now)


class TestClipCommand:
    def test_torque_bound_clips_target(self):
        """A target far from the measured pose is pulled in until |kp·(q̂ − q) − kd·dq| = τ_max."""
        q, dq = np.full(12, 0.0), np.zeros(12)
        q[[2, 5, 8, 11]] = -1.5  # calves inside their range
        cmd = JointCommand(q=q + 1.0, kp=np.full(12, 100.0), kd=np.zeros(12), stamp=0.0)
        out = clip_command(cmd, q, dq, previous_q=q + 1.0, dt=1.0, limits=LIMITS)
        torque = out.kp * (out.q - q) - out.kd * dq
        assert np.all(np.abs(torque) <= LIMITS.tau_max + TOL)
        assert np.allclose(np.abs(torque)[[0, 1]], LIMITS.tau_max[[0, 1]])

    def test_rate_limit(self):
        """Within the feasible set the target moves at most max_target_rate·dt from the previous one."""
        obs = healthy_observation()
        cmd = replace(active_command(0.0), q=obs.low.q + 0.3)
        out = clip_command(cmd, obs.low.q, obs.low.dq, obs.low.q, dt=0.002, limits=LIMITS)
        assert np.allclose(out.q - obs.low.q, LIMITS.max_target_rate * 0.002)

    def test_joint_limits(self):
        """Targets beyond a joint limit are clipped onto it."""
        obs = healthy_observation()
        q = obs.low.q.copy()
        q[0] = LIMITS.q_max[0] - 0.01
        cmd = replace(active_command(0.0), q=np.full(12, 10.0))
        out = clip_command(cmd, q, obs.low.dq, np.full(12, 10.0), dt=1.0, limits=LIMITS)
        assert out.q[0] == pytest.approx(LIMITS.q_max[0])

    def test_unreachable_state(self):
        """A joint far outside its range has no torque-bounded target inside the range."""
        obs = healthy_observation()
        q = obs.low.q.copy()
        q[0] = LIMITS.q_max[0] + 2.0
        assert clip_command(active_command(0.0), q, obs.low.dq, q, 0.002, LIMITS) is None


class TestDetectFault:
    @pytest.mark.parametrize(
        ("change", "fault"),
        [
            (lambda o: replace(o, low=None), Fault.NO_STATE),
            (lambda o: replace(o, now=o.now + 0.021, remote_stamp=o.now + 0.021), Fault.STATE_STALE),
            (lambda o: replace(o, low=replace(o.low, q=np.full(12, np.nan))), Fault.NON_FINITE),
            (lambda o: replace(o, low=replace(o.low, rpy=np.array([0.0, 0.81, 0.0]))), Fault.TILT),
            (lambda o: replace(o, low=replace(o.low, rpy=np.array([-0.81, 0.0, 0.0]))), Fault.TILT),
            (lambda o: replace(o, low=replace(o.low, lost=np.eye(12, dtype=np.int64)[3])), Fault.MOTOR_LOST),
            (lambda o: replace(o, low=replace(o.low, temperature=np.full(12, 90.0))), Fault.OVER_TEMPERATURE),
            (lambda o: replace(o, low=replace(o.low, remote=RemoteState.pressing(Key.L2, Key.B))), Fault.REMOTE_DAMP),
            (lambda o: replace(o, remote_stamp=o.now - 3.01), Fault.REMOTE_SILENT),
            (lambda o: replace(o, remote_stamp=None), Fault.REMOTE_SILENT),
            (lambda o: replace(o, height_map_stamp=o.now - 0.151), Fault.HEIGHT_MAP_STALE),
            (lambda o: replace(o, height_map_fault=Fault.LIDAR_FRAME), Fault.LIDAR_FRAME),
            (lambda o: replace(o, height_map_fault=Fault.LIDAR_TOO_FEW_HITS), Fault.LIDAR_TOO_FEW_HITS),
            (lambda o: replace(o, height_map_fault=Fault.HEIGHT_MAP_EMPTY), Fault.HEIGHT_MAP_EMPTY),
            (lambda o: replace(o, height_map_fault=Fault.HEIGHT_MAP_NON_FINITE), Fault.HEIGHT_MAP_NON_FINITE),
        ],
    )
    def test_each_fault(self, change, fault):
        """Each fault condition alone is detected as that fault."""
        obs = healthy_observation()
        cmd = replace(active_command(obs.now), uses_height_map=True)
        assert detect_fault(obs, cmd, np.zeros(12), LIMITS) is None
        assert detect_fault(change(obs), cmd, np.zeros(12), LIMITS) is fault

    def test_stale_policy_output(self):
        """A command older than 60 ms is a fault; a blind policy ignores the height map's age and faults."""
        obs = replace(healthy_observation(), height_map_stamp=None, height_map_fault=Fault.HEIGHT_MAP_EMPTY)
        assert detect_fault(obs, active_command(obs.now - 0.059), None, LIMITS) is None
        assert detect_fault(obs, active_command(obs.now - 0.061), None, LIMITS) is Fault.POLICY_STALE


class TestSafetyGuard:
    def test_fault_latches_damping(self):
        """After a fault every command comes out as damping, even once the condition is gone, until reset."""
        guard = SafetyGuard(LIMITS)
        obs = healthy_observation()
        assert not guard.filter(obs, active_command(obs.now)).is_damping
        tilted = replace(obs, low=replace(obs.low, rpy=np.array([1.0, 0.0, 0.0])))
        assert guard.filter(tilted, active_command(obs.now)).is_damping
        assert guard.fault is Fault.TILT and guard.fault_event.is_set()
        assert guard.filter(obs, active_command(obs.now)).is_damping
        assert guard.reset(tilted, active_command(obs.now)) is Fault.TILT
        assert guard.reset(obs, active_command(obs.now)) is None
        assert not guard.filter(obs, active_command(obs.now)).is_damping

    def test_first_active_command_starts_from_measured_pose(self):
        """Right after damping the target starts at the measured pose (no jump), then moves at the rate limit."""
        guard = SafetyGuard(LIMITS)
        obs = healthy_observation()
        far = active_command(obs.now, q=obs.low.q + 0.5)
        assert np.allclose(guard.filter(obs, far).q, obs.low.q)
        later = replace(obs, now=obs.now + 0.002, remote_stamp=obs.now + 0.002, height_map_stamp=obs.now + 0.002)
        later = replace(later, low=replace(obs.low, stamp=later.now))
        step = guard.filter(later, replace(far, stamp=later.now)).q - obs.low.q
        assert np.allclose(step, LIMITS.max_target_rate * 0.002)

    def test_motor_lost_counts_from_activation(self):
        """A nonzero lost counter at activation is the baseline; only an increase is a fault."""
        guard = SafetyGuard(LIMITS)
        obs = healthy_observation(lost=np.full(12, 7, dtype=np.int64))
        assert not guard.filter(obs, active_command(obs.now)).is_damping
        worse = replace(obs, low=replace(obs.low, lost=np.full(12, 7, dtype=np.int64) + np.eye(12, dtype=np.int64)[0]))
        assert guard.filter(worse, active_command(obs.now)).is_damping
        assert guard.fault is Fault.MOTOR_LOST


finite = st.floats(-1e3, 1e3, allow_nan=False)
anything = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=2_000, deadline=None)
@given(
    q=arrays(np.float64, 12, elements=st.floats(-4.0, 5.0)),
    dq=arrays(np.float64, 12, elements=st.floats(-40.0, 40.0)),
    target=arrays(np.float64, 12, elements=st.one_of(finite, anything)),
    kp=arrays(np.float64, 12, elements=st.floats(-10.0, 300.0)),
    kd=arrays(np.float64, 12, elements=st.floats(-1.0, 20.0)),
    target2=arrays(np.float64, 12, elements=finite),
    dt=st.floats(0.0, 0.05),
)
def test_guard_never_sends_out_of_limits(q, dq, target, kp, kd, target2, dt):
    """Whatever the state and request, two consecutive outputs are finite, with gains in [0, max], and either
    damping (kp 0) or within every limit: targets inside the joint limits; PD torque at the measured state
    within the torque limit; the second target within the rate window of the first wherever that window meets
    the feasible set.
    """
    guard = SafetyGuard(LIMITS)
    obs = healthy_observation(q=q, dq=dq)
    outputs = []
    for i, wanted in enumerate((target, target2)):
        now = obs.now + i * dt
        tick = replace(obs, now=now, remote_stamp=now, height_map_stamp=now, low=replace(obs.low, stamp=now))
        outputs.append(guard.filter(tick, JointCommand(q=wanted, kp=kp, kd=kd, stamp=now)))
    for out in outputs:
        assert all(np.all(np.isfinite(v)) for v in (out.q, out.kp, out.kd, out.dq, out.tau))
        assert np.all(out.tau == 0) and np.all(out.dq == 0)
        assert np.all((out.kp >= 0) & (out.kp <= LIMITS.max_kp) & (out.kd >= 0) & (out.kd <= LIMITS.max_kd))
        if out.is_damping:
            continue
        assert np.all((out.q >= LIMITS.q_min - TOL) & (out.q <= LIMITS.q_max + TOL))
        assert np.all(np.abs(out.kp * (out.q - q) - out.kd * dq) <= LIMITS.tau_max + 1e-6)
    first, second = outputs
    if not first.is_damping and not second.is_damping:
        step = LIMITS.max_target_rate * dt
        low = np.maximum(LIMITS.q_min, q + (second.kd * dq - LIMITS.tau_max) / np.maximum(second.kp, 1e-300))
        high = np.minimum(LIMITS.q_max, q + (second.kd * dq + LIMITS.tau_max) / np.maximum(second.kp, 1e-300))
        meets = (first.q - step <= high) & (first.q + step >= low)
        assert np.all(np.abs(second.q - first.q)[meets] <= step + 1e-9)

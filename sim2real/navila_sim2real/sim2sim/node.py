"""The simulated Go2 as a DDS node speaking the robot's topics.

Out: ``rt/lowstate`` (500 Hz), ``rt/wirelesscontroller`` (50 Hz), ``rt/utlidar/cloud`` (~15 Hz). In: ``rt/lowcmd``,
CRC-checked (bad ones counted and dropped), whose latest targets drive the motor PD at every 2 ms physics step.

Run as ``python -m navila_sim2real.sim2sim.node --iface lo --domain 1`` it reads JSON control lines on stdin
(``{"op": "remote", "keys": ["START"]}``, ``{"op": "stats"}``, ...: the public methods of :class:`SimNode` listed
in :data:`CONTROL_OPS`) and answers one JSON line each on stdout; status and logs go to stderr.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from unitree_sdk2py.core.channel import ChannelPublisher
from unitree_sdk2py.idl.unitree_go.msg.dds_ import LowCmd_, WirelessController_

from navila_sim2real.codec import CloudCodec, LowCmdDecoder, LowStateCodec
from navila_sim2real.dds import RawSubscriber
from navila_sim2real.loop import HELPER_PRIORITY, Rate, make_thread_realtime
from navila_sim2real.messages import (
    TOPIC_CLOUD,
    TOPIC_LOWCMD,
    TOPIC_LOWSTATE,
    TOPIC_REMOTE,
    TOPIC_TYPES,
    crc_ok,
    new_cloud,
    new_low_state,
    read_low_cmd,
)
from navila_sim2real.remote import Key, RemoteState, encode_remote
from navila_sim2real.robot import start_dds, tune_process_for_real_time
from navila_sim2real.sim2sim.physics import MotorTargets, MujocoGo2

REMOTE_PERIOD_TICKS = 10
"""``rt/wirelesscontroller`` is published every this many physics steps (50 Hz at 2 ms)."""
CLOUD_FRAME_ID = "utlidar_lidar"
CLOUD_MODES = ("normal", "no_hits", "sparse", "flat", "nan", "wrong_frame")
"""Degraded LiDAR sweeps the simulator can publish (see :meth:`SimNode.cloud`)."""
SPARSE_KEEP = 40
"""In ``sparse`` mode one point in this many is published."""
STATS_WINDOW = 10_000
"""Samples kept for round trips, command log and step lags (20 s at 500 Hz)."""
TICK_SLOTS = 8192
"""Ring of publication times of recent low states, indexed by tick, for round-trip timing."""


@dataclass
class Injection:
    """Test and fault knobs, changed through the control channel."""

    remote: RemoteState = field(default_factory=RemoteState)
    remote_alive: bool = True
    paused: set[str] = field(default_factory=set)
    nan_state: bool = False
    lost: np.ndarray = field(default_factory=lambda: np.zeros(12, dtype=np.int64))
    temperature: np.ndarray = field(default_factory=lambda: np.full(12, 40, dtype=np.int64))
    cloud: str = "normal"


class SimNode:
    """Runs the physics in real time and speaks the Go2's topics."""

    def __init__(self, physics: MujocoGo2) -> None:
        """Wrap ``physics`` (already reset)."""
        self.physics = physics
        self.injection = Injection()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._targets = MotorTargets.zero()
        self._threads: list[threading.Thread] = []
        self._channels: list[ChannelPublisher | RawSubscriber] = []
        self._sent_at = np.zeros(TICK_SLOTS)
        self._decoder = LowCmdDecoder()
        self._listener_tuned: int | None = None
        self._tick = 0
        self.reset_stats()

    def start(self, iface: str, domain: int) -> SimNode:
        """Open DDS on ``iface`` / ``domain`` and start the physics and LiDAR threads."""
        start_dds(iface, domain)
        topics = (TOPIC_LOWSTATE, TOPIC_REMOTE, TOPIC_CLOUD)
        publishers = {topic: ChannelPublisher(topic, TOPIC_TYPES[topic]) for topic in topics}
        for publisher in publishers.values():
            publisher.Init()
        subscriber = RawSubscriber(domain, TOPIC_LOWCMD, TOPIC_TYPES[TOPIC_LOWCMD], self._on_low_cmd, keep=64)
        self._channels = [*publishers.values(), subscriber]
        self._threads = [
            threading.Thread(target=self._physics_loop, args=(publishers,), name="sim-physics", daemon=True),
            threading.Thread(target=self._lidar_loop, args=(publishers[TOPIC_CLOUD],), name="sim-lidar", daemon=True),
        ]
        tune_process_for_real_time()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop the threads (joined with a timeout) and close the channels."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=1.0)
        for channel in self._channels:
            channel.Close()

    # --- control channel -------------------------------------------------------------------------------------------

    def remote(self, keys: list[str] = (), lx: float = 0.0, ly: float = 0.0, rx: float = 0.0, ry: float = 0.0) -> dict:
        """Hold ``keys`` (names of :class:`~navila_sim2real.remote.Key`) and set the sticks."""
        self.injection.remote = RemoteState.pressing(*(Key[k.upper()] for k in keys), lx=lx, ly=ly, rx=rx, ry=ry)
        return {}

    def remote_alive(self, alive: bool) -> dict:
        """Publish ``rt/wirelesscontroller`` (the remote's heartbeat) or go silent."""
        self.injection.remote_alive = alive
        return {}

    def pause(self, topic: str, paused: bool = True) -> dict:
        """Stop or resume publishing ``rt/lowstate`` or ``rt/utlidar/cloud``."""
        if topic not in (TOPIC_LOWSTATE, TOPIC_CLOUD):
            raise ValueError(f"cannot pause {topic}")
        (self.injection.paused.add if paused else self.injection.paused.discard)(topic)
        return {}

    def cloud(self, mode: str) -> dict:
        """Publish degraded LiDAR sweeps from now on (``normal``: the ray-cast ones again).

        ``no_hits``: no points; ``sparse``: one point in :data:`SPARSE_KEEP`; ``flat``: every point moved into the
        sensor's x-y plane (a map without a nonzero cell); ``nan``: NaN coordinates; ``wrong_frame``: stamped ``odom``.
        """
        if mode not in CLOUD_MODES:
            raise ValueError(f"unknown cloud mode '{mode}' (choose from: {', '.join(CLOUD_MODES)})")
        self.injection.cloud = mode
        return {}

    def tilt(self, roll: float) -> dict:
        """Roll the base by ``roll`` radians."""
        with self._lock:
            self.physics.tilt(roll)
        return {}

    def motor(self, index: int, lost: int | None = None, temperature: int | None = None) -> dict:
        """Set a motor's reported ``lost`` value and/or temperature (°C)."""
        if lost is not None:
            self.injection.lost[index] = lost
        if temperature is not None:
            self.injection.temperature[index] = temperature
        return {}

    def reset(self) -> dict:
        """Put the robot back on the floor, lying, upright (the physics pauses meanwhile)."""
        with self._lock:
            self.physics.reset_lying()
        return {}

    def nan(self, enabled: bool = True) -> dict:
        """Report NaN joint positions."""
        self.injection.nan_state = enabled
        return {}

    def reset_stats(self) -> dict:
        """Start new counting windows for rates, CRC errors and round trips."""
        self._stats_since = time.monotonic()
        self.lowcmd_count = self.lowstate_count = self.cloud_count = self.crc_errors = 0
        self.cloud_min_points = np.iinfo(np.int64).max
        self.round_trips: deque[float] = deque(maxlen=STATS_WINDOW)
        self.commands: deque[tuple[float, bool]] = deque(maxlen=STATS_WINDOW)
        self.sweeps: deque[float] = deque(maxlen=STATS_WINDOW)
        self.step_lags: deque[float] = deque(maxlen=STATS_WINDOW)
        return {}

    def stats(self) -> dict:
        """Counters since :meth:`reset_stats`, rates (Hz), round-trip percentiles (ms), the robot's state."""
        elapsed = max(time.monotonic() - self._stats_since, 1e-9)
        trips = np.array(self.round_trips) * 1e3 if self.round_trips else np.zeros(1)
        with self._lock:
            velocity, rpy, odometry = self.physics.base_velocity(), self.physics.imu()[3], self.physics.odometry.copy()
            height, sim_time = float(self.physics.data.qpos[2]), self.physics.time
            distance = float(np.linalg.norm(self.physics.data.qpos[:2]))
        return {
            "elapsed": elapsed,
            "lowcmd_count": self.lowcmd_count,
            "lowcmd_rate": self.lowcmd_count / elapsed,
            "lowstate_rate": self.lowstate_count / elapsed,
            "cloud_rate": self.cloud_count / elapsed,
            "cloud_min_points": int(self.cloud_min_points) if self.cloud_count else 0,
            "crc_errors": self.crc_errors,
            "rtt_p50_ms": float(np.percentile(trips, 50)),
            "rtt_p99_ms": float(np.percentile(trips, 99)),
            "rtt_count": len(self.round_trips),
            "step_lag_p99_ms": float(np.percentile(self.step_lags, 99) * 1e3) if self.step_lags else 0.0,
            "step_lag_max_ms": float(max(self.step_lags, default=0.0) * 1e3),
            "base_velocity": velocity.tolist(),
            "odometry": odometry.tolist(),
            "base_height": height,
            "distance_from_origin": distance,
            "rpy": rpy.tolist(),
            "sim_time": sim_time,
        }

    def commands_since(self, t: float) -> dict:
        """When damping first arrived after monotonic time ``t``, and whether any active command arrived after it."""
        log = np.array(self.commands, dtype=np.float64).reshape(-1, 2)
        stamps, damping = log[:, 0], log[:, 1].astype(bool)
        after = stamps >= t
        damped = np.flatnonzero(after & damping)
        first = float(stamps[damped[0]]) if len(damped) else None
        active_after = first is not None and bool(np.any((stamps > first) & ~damping))
        return {"count": int(after.sum()), "first_damping": first, "active_after_damping": active_after}

    def sweeps_since(self, t: float) -> dict:
        """Publication times (monotonic) of the LiDAR sweeps published from ``t`` on."""
        return {"times": [stamp for stamp in self.sweeps if stamp >= t]}

    # --- threads ---------------------------------------------------------------------------------------------------

    def _on_low_cmd(self, data: bytes) -> None:
        now = time.monotonic()
        if self._listener_tuned is not threading.get_ident():  # DDS's listener thread: raise it once
            self._listener_tuned = threading.get_ident()
            make_thread_realtime()
        decoded = self._decoder.decode(data)
        if decoded is None:  # not XCDR1 little-endian: the SDK's type decodes it
            msg = LowCmd_.deserialize(data)
            decoded = read_low_cmd(msg), msg.reserve, crc_ok(msg)
        fields, tag, valid = decoded
        if not valid:
            self.crc_errors += 1
            return
        targets = MotorTargets(**fields)
        with self._lock:
            self._targets = targets
        self.lowcmd_count += 1
        self.commands.append((now, not np.any(fields["kp"]) and not np.any(fields["tau"])))
        if tag and self._sent_at[tag % TICK_SLOTS] > 0:
            self.round_trips.append(now - self._sent_at[tag % TICK_SLOTS])

    def _physics_loop(self, publishers: dict[str, ChannelPublisher]) -> None:
        make_thread_realtime()
        codec, message = LowStateCodec(), new_low_state()
        remote_msg = WirelessController_(0.0, 0.0, 0.0, 0.0, 0)
        rate = Rate(self.physics.dt)
        while not self._stop.is_set():
            self.step_lags.append(max(time.monotonic() - rate.deadline + rate.period, 0.0))
            with self._lock:
                self.physics.step(self._targets)
                tick, fields = self._low_state_fields()
            message.serialize = functools.partial(codec.encode, tick=tick, **fields)
            self._tick += 1
            if TOPIC_LOWSTATE not in self.injection.paused:
                self._sent_at[tick % TICK_SLOTS] = time.monotonic()
                publishers[TOPIC_LOWSTATE].Write(message)
                self.lowstate_count += 1
            if self._tick % REMOTE_PERIOD_TICKS == 0 and self.injection.remote_alive:
                remote = self.injection.remote
                remote_msg.lx, remote_msg.ly, remote_msg.rx, remote_msg.ry = remote.lx, remote.ly, remote.rx, remote.ry
                remote_msg.keys = remote.keys
                publishers[TOPIC_REMOTE].Write(remote_msg)
            rate.sleep(self._stop)

    def _low_state_fields(self) -> tuple[int, dict]:
        """Return the tick and the other fields of :meth:`LowStateCodec.encode` (fault injections applied)."""
        physics, injection = self.physics, self.injection
        q = np.full(12, np.nan) if injection.nan_state else physics.joint_pos()
        motors = (q, physics.joint_vel(), physics.applied)
        remote = encode_remote(injection.remote)
        tick = max(round(physics.time * 1000), 1)
        fields = dict(temperature=injection.temperature.copy(), lost=injection.lost.copy(), remote=remote)
        return tick, dict(imu=physics.imu(), motors=motors, **fields)

    def _lidar_loop(self, publisher: ChannelPublisher) -> None:
        make_thread_realtime(HELPER_PRIORITY)
        rate = Rate(self.physics.lidar.update_period)
        while not self._stop.is_set():
            with self._lock:
                qpos = self.physics.data.qpos.copy()
            points, frame_id = degrade_cloud(self.physics.lidar_points(qpos), self.injection.cloud)
            if TOPIC_CLOUD not in self.injection.paused:
                message = new_cloud(points[:0], frame_id, 0.0)
                message.serialize = functools.partial(CloudCodec.encode, points, frame_id, time.time())
                publisher.Write(message)
                self.sweeps.append(time.monotonic())
                self.cloud_count += 1
                self.cloud_min_points = min(self.cloud_min_points, len(points))
            rate.sleep(self._stop)


def degrade_cloud(points: np.ndarray, mode: str) -> tuple[np.ndarray, str]:
    """Return a sweep (P, 3) and its frame id as published in cloud ``mode`` (see :meth:`SimNode.cloud`)."""
    match mode:
        case "no_hits":
            return points[:0], CLOUD_FRAME_ID
        case "sparse":
            return points[::SPARSE_KEEP], CLOUD_FRAME_ID
        case "flat":
            return points * [1.0, 1.0, 0.0], CLOUD_FRAME_ID
        case "nan":
            return np.where(np.arange(len(points))[:, None] % 2 == 0, np.nan, points), CLOUD_FRAME_ID
        case "wrong_frame":
            return points, "odom"
    return points, CLOUD_FRAME_ID


CONTROL_OPS = (
    "remote",
    "remote_alive",
    "pause",
    "cloud",
    "tilt",
    "motor",
    "nan",
    "reset",
    "reset_stats",
    "stats",
    "commands_since",
    "sweeps_since",
)
"""Methods of :class:`SimNode` callable through the control channel."""


def serve_control(node: SimNode, lines: object = sys.stdin, out: object = sys.stdout) -> None:
    """Answer JSON control lines until ``{"op": "quit"}`` or end of input."""
    for line in lines:
        request = json.loads(line)
        op = request.pop("op")
        if op == "quit":
            break
        try:
            if op not in CONTROL_OPS:
                raise ValueError(f"unknown op '{op}'")
            reply = {"ok": True, "t": time.monotonic(), **getattr(node, op)(**request)}
        except (ValueError, TypeError, KeyError, IndexError) as error:
            reply = {"ok": False, "error": str(error)}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the simulated Go2 with JSON control on stdin (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m navila_sim2real.sim2sim.node")
    parser.add_argument("--iface", default="lo")
    parser.add_argument("--domain", type=int, default=1)
    parser.add_argument("--standing", action="store_true", help="start standing in the default pose, not lying")
    args = parser.parse_args(argv)
    physics = MujocoGo2()
    if not args.standing:
        physics.reset_lying()
    node = SimNode(physics).start(args.iface, args.domain)
    print(json.dumps({"ready": True, "t": time.monotonic()}), flush=True)
    try:
        serve_control(node)
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

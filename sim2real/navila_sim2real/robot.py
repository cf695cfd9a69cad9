"""The Go2 over unitree_sdk2py: a narrow interface (connect / get_observation / send_action / disconnect).

Threads, one per concern: DDS listener callbacks keep the latest low state and remote heartbeat and queue LiDAR
clouds; a height-map thread turns the clouds into the height map (off the listener thread, which all topics share,
so that a low state never waits behind a cloud); a 500 Hz writer publishes ``rt/lowcmd`` (with the SDK's CRC) every
tick from the latest requested command, after the safety layer, phase-locked onto the arrival of low states (on its
own deadlines when they stop). The same class
drives the real robot and the sim2sim one. The two 500 Hz messages and the cloud go through the byte-identical fast
codecs of :mod:`navila_sim2real.codec`; the rest through the SDK's channels.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType

import torch
from unitree_sdk2py.core.channel import ChannelFactoryInitialize, ChannelPublisher, ChannelSubscriber

from navila_sim2real.cloud_height_map import CloudHeightMap, HeightMapReading
from navila_sim2real.codec import CloudCodec, LowCmdEncoder, LowStateCodec
from navila_sim2real.dds import RawSubscriber
from navila_sim2real.deps import check_cyclonedds, check_interface
from navila_sim2real.errors import RobotError
from navila_sim2real.loop import HELPER_PRIORITY, Rate, make_thread_realtime
from navila_sim2real.messages import (
    TOPIC_CLOUD,
    TOPIC_LOWCMD,
    TOPIC_LOWSTATE,
    TOPIC_REMOTE,
    TOPIC_TYPES,
    fill_low_cmd,
)
from navila_sim2real.safety import SafetyGuard
from navila_sim2real.sport_mode import release_sport_mode
from navila_sim2real.state import JointCommand, LowState, RobotObservation

SYNC_MIN_GAP = 0.75
"""The writer publishes right after each new low state, but not sooner than this fraction of its period after the
previous publication; without states it keeps its period on deadlines. So a command follows its state at once."""
SWITCH_INTERVAL = 0.0005
"""GIL switch interval (s) while connected: threads waking for a deadline get the interpreter within 0.5 ms."""


def tune_process_for_real_time() -> float:
    """Shorten the GIL switch interval, keep torch to one thread, freeze the objects alive now out of the GC.

    * A full collection over the ~200k objects of torch + onnxruntime + cyclonedds takes ~100 ms: frozen, they are
      never traversed again and collections stay sub-millisecond.
    * The height map's small torch ops run 7× faster on one thread, and idle OpenMP workers would spin on the cores
      the 500 Hz threads need.

    Returns the previous switch interval.
    """
    torch.set_num_threads(1)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
    return previous


@dataclass(frozen=True)
class RobotConfig:
    """How to reach the robot."""

    iface: str
    """Network interface facing the robot (``lo`` for sim2sim)."""
    domain: int = 0
    """DDS domain (0 on the robot, 1 in tests)."""
    release_sport_mode: bool = True
    """Release sport mode through the motion switcher (real robot only)."""
    tag_commands: bool = False
    """Echo the latest ``rt/lowstate`` tick in ``LowCmd_.reserve`` so that the simulator can time round trips."""
    writer_period: float = 0.002
    """Period of the ``rt/lowcmd`` writer (s)."""
    commander_check: float = 0.5
    """Time (s) spent listening for another ``rt/lowcmd`` publisher before taking over."""


def start_dds(iface: str, domain: int) -> None:
    """Check dependencies and the interface, then initialize the SDK's channel factory (once per process)."""
    check_cyclonedds()
    check_interface(iface)
    ChannelFactoryInitialize(domain, iface)


def count_lowcmd_samples(duration: float) -> int:
    """Count ``rt/lowcmd`` samples heard in ``duration`` seconds (nonzero: someone else commands the motors)."""
    heard = []
    subscriber = ChannelSubscriber(TOPIC_LOWCMD, TOPIC_TYPES[TOPIC_LOWCMD])
    subscriber.Init(lambda msg: heard.append(1), 0)
    time.sleep(duration)
    subscriber.Close()
    return len(heard)


class Go2Robot:
    """Latest state in, latest command out at 500 Hz through the safety layer; use as a context manager."""

    def __init__(self, config: RobotConfig, safety: SafetyGuard, height_map: CloudHeightMap | None = None) -> None:
        """Prepare (nothing is opened until :meth:`connect`)."""
        self.config = config
        self.safety = safety
        self.height_map = height_map
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._low: LowState | None = None
        self._remote_stamp: float | None = None
        self._command = JointCommand.damping(safety.limits.damping_kd, time.monotonic())
        self._channels: list[ChannelPublisher | ChannelSubscriber | RawSubscriber] = []
        self._codec = LowStateCodec()
        self._listener_tuned: int | None = None
        self._new_state = threading.Event()
        self._writer: threading.Thread | None = None
        self._clouds: queue.SimpleQueue[tuple[bytes, float]] = queue.SimpleQueue()
        self._mapper: threading.Thread | None = None
        self._switch_interval: float | None = None
        self.sent: JointCommand | None = None
        """The last command published."""
        self.writer_periods: deque[float] = deque(maxlen=10_000)
        """Recent intervals (s) between two publications."""
        self.height_map_latencies: deque[float] = deque(maxlen=1_000)
        """Recent times (s) from a cloud's arrival to its height map being ready."""

    def connect(self) -> Go2Robot:
        """Open DDS, refuse if another process publishes ``rt/lowcmd``, release sport mode, start the writer.

        Raises:
            RobotError: Missing dependency, unknown interface, another commander, or sport mode not released.
        """
        start_dds(self.config.iface, self.config.domain)
        heard = count_lowcmd_samples(self.config.commander_check)
        if heard:
            raise RobotError(f"another process publishes {TOPIC_LOWCMD} ({heard} samples heard): stop it first")
        if self.config.release_sport_mode:
            release_sport_mode()
        lowstate = TOPIC_TYPES[TOPIC_LOWSTATE]
        self._channels.append(RawSubscriber(self.config.domain, TOPIC_LOWSTATE, lowstate, self._on_low_state))
        self._subscribe(TOPIC_REMOTE, self._on_remote)
        if self.height_map is not None:
            cloud = TOPIC_TYPES[TOPIC_CLOUD]
            self._channels.append(RawSubscriber(self.config.domain, TOPIC_CLOUD, cloud, self._on_cloud))
        publisher = ChannelPublisher(TOPIC_LOWCMD, TOPIC_TYPES[TOPIC_LOWCMD])
        publisher.Init()
        self._channels.append(publisher)
        self._switch_interval = tune_process_for_real_time()
        self._stop.clear()
        self._writer = threading.Thread(target=self._write_loop, args=(publisher,), name="lowcmd-writer", daemon=True)
        self._writer.start()
        if self.height_map is not None:
            self._mapper = threading.Thread(target=self._height_map_loop, name="height-map", daemon=True)
            self._mapper.start()
        return self

    def get_observation(self) -> RobotObservation:
        """Snapshot of the latest state, remote heartbeat and height map."""
        reading = self.height_map.latest() if self.height_map is not None else HeightMapReading(None, None, None)
        with self._lock:
            low, remote_stamp = self._low, self._remote_stamp
        return RobotObservation(time.monotonic(), low, remote_stamp, *reading)

    def send_action(self, command: JointCommand) -> None:
        """Make ``command`` the one the writer publishes (through the safety layer) from its next tick on."""
        with self._lock:
            self._command = command

    def disconnect(self, damping_time: float = 0.1) -> None:
        """Damp for ``damping_time`` s, stop the writer and height-map threads (joined with a timeout), close."""
        if self._writer is not None:
            self.send_action(JointCommand.damping(self.safety.limits.damping_kd, time.monotonic()))
            time.sleep(damping_time)
        self._stop.set()
        for thread in (self._writer, self._mapper):
            if thread is not None:
                thread.join(timeout=1.0)
        self._writer = self._mapper = None
        for channel in self._channels:
            channel.Close()
        self._channels.clear()
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)

    def __enter__(self) -> Go2Robot:
        return self.connect()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.disconnect()

    def _subscribe(self, topic: str, handler: object) -> None:
        subscriber = ChannelSubscriber(topic, TOPIC_TYPES[topic])
        subscriber.Init(handler, 0)
        self._channels.append(subscriber)

    def _on_low_state(self, data: bytes) -> None:
        if self._listener_tuned is not threading.get_ident():  # DDS's listener thread: raise it once
            self._listener_tuned = threading.get_ident()
            make_thread_realtime()
        low = self._codec.decode(data, time.monotonic())
        with self._lock:
            self._low = low
        self._new_state.set()

    def _on_remote(self, msg: object) -> None:
        with self._lock:
            self._remote_stamp = time.monotonic()

    def _on_cloud(self, data: bytes) -> None:
        self._clouds.put((data, time.monotonic()))

    def _height_map_loop(self) -> None:
        make_thread_realtime(HELPER_PRIORITY)
        torch.set_num_threads(1)  # per thread for OpenMP
        while not self._stop.is_set():
            try:
                data, stamp = self._clouds.get(timeout=0.1)
            except queue.Empty:
                continue
            points, frame_id = CloudCodec.decode(data)
            self.height_map.update(points, frame_id, stamp)
            self.height_map_latencies.append(time.monotonic() - stamp)

    def _write_loop(self, publisher: ChannelPublisher) -> None:
        make_thread_realtime()
        encoder, rate, last = LowCmdEncoder(), Rate(self.config.writer_period), None
        while not self._stop.is_set():
            obs = self.get_observation()
            with self._lock:
                requested = self._command
            command = self.safety.filter(obs, requested)
            tag = obs.low.tick if self.config.tag_commands and obs.low is not None else 0
            publisher.Write(fill_low_cmd(encoder.message, command, tag))
            self.sent = command
            now = time.monotonic()
            if last is not None:
                self.writer_periods.append(now - last)
            last = now
            rate.sleep_synced(self._new_state, now + SYNC_MIN_GAP * rate.period)

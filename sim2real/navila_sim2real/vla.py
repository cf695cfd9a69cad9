"""Velocity commands from a VLA (``navila_agents.vla``): camera frames → VLA answer → mid-level action → (vx, vy, wz).

A query thread asks the VLA whenever the previous action has been executed (about 1 Hz on the robot, facts §1),
with the reference frame sampling (current frame + 7 from history); the policy thread reads the executor's command
at the policy rate. Execution is open loop (fixed speed for a fixed time): the robot has no odometry once sport mode
is released. ``stop`` ends the run: the command stays zero and the VLA is not asked again.
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.backends.server import ServerBackend
from navila_agents.vla.executor import ActionExecutor, ExecutionMode, ExecutorCfg
from navila_agents.vla.frames import FrameHistory
from navila_agents.vla.grammar import ActionDecoder, Stop

from navila_sim2real.state import RobotObservation

log = logging.getLogger(__name__)


class FrameSource(Protocol):
    """The robot's camera."""

    def latest(self) -> np.ndarray | None:
        """Return the newest frame (H, W, 3) uint8, or None if none is available."""
        ...


class Go2FrontCamera:
    """The Go2's front camera through unitree_sdk2py's ``VideoClient`` (one JPEG per request)."""

    def __init__(self, timeout: float = 3.0) -> None:
        """Configure; the client connects on the first frame (after the SDK's channel factory is initialized)."""
        self.timeout = timeout
        self._client = None

    def latest(self) -> np.ndarray | None:
        """Return the current frame decoded to RGB, or None if the camera did not answer."""
        from PIL import Image
        from unitree_sdk2py.go2.video.video_client import VideoClient

        if self._client is None:
            self._client = VideoClient()
            self._client.SetTimeout(self.timeout)
            self._client.Init()
        code, data = self._client.GetImageSample()
        if code != 0 or not data:
            return None
        return np.asarray(Image.open(io.BytesIO(bytes(data))).convert("RGB"))


class VlaVelocity:
    """A :class:`~navila_sim2real.commands.CommandSource` driven by a VLA backend."""

    def __init__(self, backend: VLABackend, instruction: str, camera: FrameSource, policy_dt: float) -> None:
        """Prepare; call :meth:`start` to begin querying."""
        self.backend, self.instruction, self.camera = backend, instruction, camera
        self._frames = FrameHistory(1)
        self._decoder = ActionDecoder(1)
        self._executor = ActionExecutor(1, ExecutorCfg(mode=ExecutionMode.OPEN_LOOP, policy_dt=policy_dt))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.finished = False
        """True once the VLA answered ``stop``."""
        self.answers: list[str] = []
        """Every answer received, in order."""

    def start(self) -> VlaVelocity:
        """Start the query thread."""
        self._thread = threading.Thread(target=self._loop, name="vla-query", daemon=True)
        self._thread.start()
        return self

    def velocity(self, obs: RobotObservation) -> np.ndarray:
        """Advance the current action by one policy step and return its command."""
        with self._lock:
            return self._executor.step(torch.zeros(1, 3))[0].numpy().astype(np.float64)

    def query_once(self) -> bool:
        """Ask the VLA for the next action if the current one is done; returns whether a query was made."""
        with self._lock:
            busy = not bool(self._executor.done[0])
        frame = None if busy or self.finished else self.camera.latest()
        if frame is None:
            return False
        self._frames.append(frame[None], [0])
        if self.backend.action_history:
            self.backend.set_history([0], [self.answers])
        answer = self.backend.act(self._frames.sample(0), self.instruction)
        action = self._decoder.decode([answer], [0])[0]
        self.answers.append(answer)
        log.info("VLA: %r → %s", answer, action)
        self.finished = isinstance(action, Stop)
        with self._lock:
            self._executor.start([0], [action], torch.zeros(1, 3))
        return True

    def close(self) -> None:
        """Stop the query thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _loop(self) -> None:
        while not self._stop.is_set() and not self.finished:
            if not self.query_once():
                self._stop.wait(0.05)


def vla_command_source(vla: str, instruction: str, camera: FrameSource, policy_dt: float) -> VlaVelocity:
    """Build a (not yet started) VLA command source.

    Args:
        vla: A local VLA model folder (run here, on the CPU, by the ``hf`` backend; e.g. ``policies/vla_small``) or
            the URL of a ``navila vla-serve``.
        instruction: The navigation instruction.
        camera: The front camera.
        policy_dt: Period of :meth:`VlaVelocity.velocity` calls (s).
    """
    if Path(vla).is_dir():
        from navila_agents.vla.backends.hf import HFBackend

        return VlaVelocity(HFBackend(vla, device="cpu", max_new_tokens=16), instruction, camera, policy_dt)
    return VlaVelocity(ServerBackend(vla), instruction, camera, policy_dt)

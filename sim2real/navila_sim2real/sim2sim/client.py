"""Drive a simulated Go2 running in a child process (its JSON control channel on stdin/stdout)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from navila_sim2real.errors import RobotError


def navila_command(*args: str) -> list[str]:
    """Command line of the ``navila`` console script of this interpreter's environment with ``args``.

    Raises:
        RobotError: The environment has no ``navila`` script (the project is not installed in it).
    """
    script = shutil.which("navila", path=str(Path(sys.executable).parent))
    if script is None:
        raise RobotError(f"no 'navila' command next to {sys.executable}: install the project (scripts/setup.sh)")
    return [script, *args]


class SimProcess:
    """``python -m navila_sim2real.sim2sim.node`` as a child process; :meth:`call` runs one control op."""

    def __init__(self, iface: str = "lo", domain: int = 1, standing: bool = False, timeout: float = 60.0) -> None:
        """Start the simulator and wait until it publishes."""
        command = [sys.executable, "-m", "navila_sim2real.sim2sim.node", "--iface", iface, "--domain", str(domain)]
        self._process = subprocess.Popen(
            command + (["--standing"] if standing else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.timeout = timeout
        first = self._process.stdout.readline()
        if not first:
            raise RobotError(f"simulator exited with code {self._process.wait()} before it was ready")
        self.ready_at = json.loads(first)["t"]

    def call(self, op: str, **args: object) -> dict:
        """Run a control op (see ``CONTROL_OPS``) and return its reply; raises :class:`RobotError` if it fails."""
        self._process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RobotError(f"simulator exited with code {self._process.wait()}")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise RobotError(f"simulator: {reply['error']}")
        return reply

    def close(self) -> None:
        """Ask the simulator to quit; kill it if it does not within a few seconds."""
        if self._process.poll() is None:
            try:
                self._process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self._process.stdin.close()
                self._process.wait(timeout=5.0)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

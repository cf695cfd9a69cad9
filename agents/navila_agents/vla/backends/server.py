"""A VLA over HTTP: a client backend, and a server that exposes any backend.

Protocol (JSON over HTTP, stdlib only; docs/vla_interfaces.md):

* ``GET /health`` → ``{"status": "ok", "interface": "language" | "tokens" | "waypoints", "action_history": bool}``
* ``POST /act`` with ``{"interface": ..., "frames": [[<base64 PNG>, ...], ...], "instructions": [...],
  "env_ids": [...], "executed": [[...], ...]}`` → ``{"answers": [...]}``, one answer per query in the interface's
  format (:mod:`navila_agents.vla.interfaces`); ``interface`` defaults to ``"language"``; ``executed`` holds per query
  the answers executed so far in its episode (in that format), oldest first, which a model that reads its action
  history needs (others ignore it). A malformed request, one for another interface than the server's, or one without
  the history its model reads gets status 400 and ``{"error": "..."}``.

The client never raises on transport problems: a timeout, a down server or a bad reply makes every answer a stop
(``"stop"``, ``"D"`` or ``[]``) and logs the reason.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.grammar import Stop
from navila_agents.vla.interfaces import Answer, Interface, format_answer

logger = logging.getLogger(__name__)


def encode_frames(frames: np.ndarray) -> list[str]:
    """Encode frames (T, H, W, 3) uint8 as base64 PNG strings."""
    encoded = []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(buffer, format="PNG")
        encoded.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    return encoded


def decode_frames(encoded: Sequence[str]) -> np.ndarray:
    """Inverse of :func:`encode_frames`: (T, H, W, 3) uint8."""
    return np.stack([np.asarray(Image.open(io.BytesIO(base64.b64decode(text))).convert("RGB")) for text in encoded])


class ServerBackend(VLABackend):
    """Client of a VLA served over HTTP (see the module docstring for the protocol).

    It sends each query's executed answers (:meth:`set_history`) along: the served model may read them.
    """

    action_history = True

    def __init__(self, url: str, timeout: float = 30.0, interface: Interface | str = Interface.LANGUAGE) -> None:
        """Create the client; nothing is contacted yet.

        Args:
            url: Base address of the server, e.g. ``http://127.0.0.1:8000``.
            timeout: Seconds to wait for an answer before falling back to a stop.
            interface: The answers expected (sent with every query).
        """
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.interface = Interface(interface)
        self.fallback: Answer = format_answer(self.interface, Stop())
        """What the client answers when the server cannot."""
        self._executed: dict[int, list[Answer]] = {}

    def set_history(self, env_ids: Sequence[int], executed: Sequence[Sequence[str]]) -> None:
        """Keep these envs' executed answers for their next queries."""
        for env_id, answers in zip(env_ids, executed, strict=True):
            self._executed[int(env_id)] = [to_json(answer) for answer in answers]

    def health(self) -> dict:
        """The server's ``/health`` reply.

        Raises:
            OSError: If the server cannot be reached or does not answer with JSON.
        """
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=self.timeout) as response:
                return json.loads(response.read())
        except ValueError as error:
            raise OSError(f"{self.url}/health did not answer with JSON") from error

    def act_batch(
        self, frames: Sequence[np.ndarray], instructions: Sequence[str], env_ids: Sequence[int] | None = None
    ) -> list[Answer]:
        """Ask the server; on any transport or protocol failure answer a stop for every query."""
        env_ids = list(range(len(frames))) if env_ids is None else [int(env_id) for env_id in env_ids]
        payload = {
            "interface": str(self.interface),
            "frames": [encode_frames(query) for query in frames],
            "instructions": list(instructions),
            "env_ids": env_ids,
            "executed": [self._executed.get(env_id, []) for env_id in env_ids],
        }
        request = urllib.request.Request(
            f"{self.url}/act", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answers = json.loads(response.read())["answers"]
            if not (isinstance(answers, list) and len(answers) == len(frames)):
                raise ValueError(f"expected {len(frames)} answers, got {answers!r:.200}")
            return answers
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning(
                "VLA server %s failed (%s): answering %r for envs %s", self.url, error, self.fallback, env_ids
            )
            return [self.fallback] * len(frames)


def to_json(answer: object) -> Answer:
    """An answer as JSON can carry it (NumPy arrays and tuples as lists)."""
    return answer if isinstance(answer, str) else np.asarray(answer, dtype=float).reshape(-1, 3).tolist()


def make_server(backend: VLABackend, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Build (but do not start) an HTTP server that answers queries with ``backend``.

    Queries are answered one at a time (models are not thread-safe); call ``serve_forever()`` to run it.

    Args:
        backend: The VLA to expose.
        host: Interface to bind; the loopback by default.
        port: Port to bind; 0 picks a free one (read it back from ``server.server_port``).
    """
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/health":
                health = {"status": "ok", "interface": str(backend.interface), "action_history": backend.action_history}
                self._reply(HTTPStatus.OK, health)
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"unknown path {self.path}"})

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path != "/act":
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"unknown path {self.path}"})
                return
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                frames = [decode_frames(query) for query in request["frames"]]
                instructions = [str(text) for text in request["instructions"]]
                env_ids = request.get("env_ids")
                env_ids = list(range(len(frames))) if env_ids is None else [int(env_id) for env_id in env_ids]
                interface = request.get("interface", Interface.LANGUAGE)
                executed = request.get("executed")
                if executed is not None:
                    if not all(isinstance(answers, list) for answers in executed):
                        raise TypeError("'executed' must hold one list of answers per query")
                    if len(executed) != len(frames) or len(env_ids) != len(frames):
                        raise ValueError(f"{len(frames)} queries, {len(env_ids)} env_ids, {len(executed)} executed")
            except (ValueError, KeyError, TypeError, OSError) as error:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": f"malformed request: {error}"})
                return
            if interface != backend.interface:
                error = f"this server answers in the {backend.interface} interface, not {interface!r}"
                self._reply(HTTPStatus.BAD_REQUEST, {"error": error})
                return
            if backend.action_history and executed is None:
                error = "this VLA reads its action history: send 'executed' (the answers executed so far) per query"
                self._reply(HTTPStatus.BAD_REQUEST, {"error": error})
                return
            try:
                with lock:
                    if backend.action_history:
                        backend.set_history(env_ids, executed)
                    answers = [to_json(answer) for answer in backend.act_batch(frames, instructions, env_ids)]
            except Exception as error:  # a failing model must not take the server down
                logger.exception("backend failed")
                self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"backend failed: {error}"})
                return
            self._reply(HTTPStatus.OK, {"answers": answers})

        def _reply(self, status: HTTPStatus, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
            logger.debug("%s - %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)

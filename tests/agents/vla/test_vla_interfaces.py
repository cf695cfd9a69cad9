"""The three VLA interfaces: answers read and written, invalid answers handled, oracles and the HTTP protocol."""

import json
import math
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from navila_agents.vla.backends.base import FunctionBackend
from navila_agents.vla.backends.oracle import ShortestPathOracle
from navila_agents.vla.backends.server import ServerBackend, encode_frames
from navila_agents.vla.grammar import Forward, Invalid, Stop, Turn
from navila_agents.vla.interfaces import (
    MAX_WAYPOINTS,
    AnswerDecoder,
    Waypoints,
    format_answer,
    parse_answer,
    parse_waypoints,
    waypoints_along,
)

FRAMES = np.zeros((8, 16, 16, 3), dtype=np.uint8)
LINE = [[0.25 * (i + 1), 0.0, 0.0] for i in range(8)]
"""Eight waypoints straight ahead, 25 cm apart."""


class TestAnswers:
    @pytest.mark.parametrize(
        ("interface", "command", "answer"),
        [
            ("language", Forward(50), "move forward 50 cm"),
            ("language", Turn(-45), "turn right 45 degrees"),
            ("tokens", Forward(25), "A"),
            ("tokens", Turn(15), "B"),
            ("tokens", Turn(-15), "C"),
            ("tokens", Stop(), "D"),
            ("waypoints", Stop(), []),
            ("waypoints", Waypoints(tuple(map(tuple, LINE))), LINE),
        ],
    )
    def test_format_and_parse_round_trip(self, interface, command, answer):
        """Each interface writes a command in its canonical form and reads it back."""
        assert format_answer(interface, command) == answer
        assert parse_answer(interface, answer) == command

    def test_tokens_cannot_say_what_they_lack(self):
        """A 45 degree turn has no token."""
        with pytest.raises(ValueError, match="tokens interface cannot express"):
            format_answer("tokens", Turn(45))

    @pytest.mark.parametrize(
        "answer",
        [
            "move forward",
            [[0.1, 0.2]],
            [[0.1, 0.2, float("nan")]],
            [[3.0, 0.0, 0.0]],
            [[0.5, 0.0, 0.0], [0.5, 2.5, 0.0]],
            [[0.01 * i, 0.0, 0.0] for i in range(MAX_WAYPOINTS + 1)],
            {"x": 1},
        ],
    )
    def test_malformed_waypoints_are_invalid(self, answer):
        """Not a list of triples, a NaN, a jump over 2 m, or more than 24 points: Invalid, never an exception."""
        assert isinstance(parse_waypoints(answer), Invalid)

    def test_stop_as_text_or_empty_list(self):
        assert parse_waypoints("Stop") == Stop() == parse_waypoints([])

    def test_interfaces_do_not_read_each_other(self):
        """A token is not language, language is not a token, a waypoint list is not text."""
        assert isinstance(parse_answer("language", "A"), Invalid)
        assert isinstance(parse_answer("tokens", "move forward 25 cm"), Invalid)
        assert isinstance(parse_answer("tokens", LINE), Invalid)


class TestAnswerDecoder:
    def test_requery_then_stop(self):
        """Invalid waypoint answers hold and re-query; one more than max_requeries in a row stops."""
        decoder = AnswerDecoder(1, "waypoints", "requery", max_requeries=2)
        assert [decoder.decode(["?"], [0])[0] for _ in range(3)] == [None, None, Stop()]

    def test_repeat_last_repeats_a_plan(self):
        """repeat_last repeats the env's last valid plan; an env without one stops."""
        decoder = AnswerDecoder(2, "waypoints", "repeat_last")
        plan = decoder.decode([LINE], [0])[0]
        assert isinstance(plan, Waypoints) and decoder.decode(["?", "?"], [0, 1]) == [plan, Stop()]
        decoder.reset([0])
        assert decoder.decode(["?"], [0]) == [Stop()]

    def test_tokens(self):
        assert AnswerDecoder(1, "tokens").decode(["b."], [0]) == [Turn(15)]


class TestWaypointsAlong:
    def test_points_lie_on_the_path_at_the_spacing(self):
        """Along an L-shaped path: points 0.5 m apart on the path, headings along each leg, in the robot frame."""
        paths = np.array([[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0]]])
        plan = waypoints_along(paths, np.array([3]), np.array([[0.0, 0.0, math.pi / 2]]), 8, 0.5)[0]
        world = np.stack((-plan[:, 1], plan[:, 0]), axis=1)
        expected = [[0.5, 0], [1, 0], [1.5, 0], [2, 0], [2, 0.5], [2, 1], [2, 1.5], [2, 2]]
        assert np.allclose(world, expected, atol=1e-6)
        assert np.allclose(plan[:4, 2], -math.pi / 2) and np.allclose(plan[4:, 2], 0.0)

    def test_short_path_ends_on_its_end(self):
        """With less path left than count × spacing, the points spread evenly and the last is the path's end."""
        paths = np.array([[[1.0, 1.0], [1.0, 1.6], [9.0, 9.0]]])
        plan = waypoints_along(paths, np.array([2]), np.array([[1.0, 1.0, math.pi / 2]]), 12, 0.5)[0]
        assert np.allclose(plan[:, 0], np.linspace(0.05, 0.6, 12)) and np.allclose(plan[:, 1:], 0.0)


def oracle(interface, poses, path, **kwargs):
    backend = ShortestPathOracle(len(poses), lambda: poses, interface=interface, **kwargs)
    backend.set_paths(range(len(poses)), [path] * len(poses))
    return backend


class TestOracles:
    PATH = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 3.0]])

    def test_tokens_use_the_token_vocabulary(self):
        """Path on the left: turn left by one token; facing it: forward 25 cm; at the goal: D."""
        poses = torch.tensor([[0.0, 0.0, -math.pi / 2], [0.0, 0.0, 0.0], [3.0, 2.8, 0.0]])
        assert oracle("tokens", poses, self.PATH).act_batch([FRAMES] * 3, ["go"] * 3) == ["B", "A", "D"]

    def test_language_oracle_is_unchanged(self):
        poses = torch.tensor([[0.0, 0.0, math.pi / 4]])
        assert oracle("language", poses, self.PATH).act_batch([FRAMES], ["go"]) == ["turn right 45 degrees"]

    def test_waypoints_follow_the_path(self):
        """16 waypoints 15 cm apart straight ahead along the first leg; a stop within 1 m of the goal."""
        poses = torch.tensor([[0.0, 0.0, 0.0], [3.0, 2.5, 0.0]])
        plan, stop = oracle("waypoints", poses, self.PATH).act_batch([FRAMES] * 2, ["go"] * 2)
        assert stop == [] and len(plan) == 16
        assert np.allclose(np.asarray(plan)[:, 0], 0.15 * np.arange(1, 17), atol=1e-5)
        assert isinstance(parse_waypoints(plan), Waypoints)

    def test_waypoint_count_is_checked(self):
        with pytest.raises(ValueError, match="num_waypoints must be 8 to 24"):
            oracle("waypoints", torch.zeros(1, 3), self.PATH, num_waypoints=30)


class TestServerProtocol:
    def test_tokens_over_http(self, serve):
        """A function answering tokens, served: the client sends its interface and gets the tokens back."""
        url = serve(FunctionBackend(lambda frames, text: "A" if text == "go" else "D", "tokens"))
        client = ServerBackend(url, interface="tokens")
        assert client.health() == {"status": "ok", "interface": "tokens", "action_history": False}
        assert client.act_batch([FRAMES, FRAMES], ["go", "halt"]) == ["A", "D"]

    def test_waypoints_over_http_as_lists(self, serve):
        """A model returning a NumPy array: the answer travels as a list of [Δx, Δy, Δyaw]."""
        url = serve(FunctionBackend(lambda frames, text: np.asarray(LINE), "waypoints"))
        assert ServerBackend(url, interface="waypoints").act_batch([FRAMES], ["go"]) == [LINE]

    def test_interface_mismatch_is_refused_and_the_client_stops(self, serve):
        """A tokens client asking a language server gets 400 naming both; the client answers its own stop."""
        url = serve(FunctionBackend(lambda frames, text: "stop"))
        payload = {"interface": "tokens", "frames": [encode_frames(FRAMES)], "instructions": ["go"]}
        request = urllib.request.Request(f"{url}/act", data=json.dumps(payload).encode())
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=5)
        assert error.value.code == 400
        assert "answers in the language interface, not 'tokens'" in json.loads(error.value.read())["error"]
        assert ServerBackend(url, interface="waypoints").act_batch([FRAMES], ["go"]) == [[]]
        assert ServerBackend(url, interface="tokens").act_batch([FRAMES], ["go"]) == ["D"]

    def test_requests_without_interface_are_language(self, serve):
        """Older clients (the robot side) send no interface: the server treats them as language."""
        url = serve(FunctionBackend(lambda frames, text: "turn left 30 degrees"))
        payload = {"frames": [encode_frames(FRAMES)], "instructions": ["go"]}
        request = urllib.request.Request(f"{url}/act", data=json.dumps(payload).encode())
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read()) == {"answers": ["turn left 30 degrees"]}

    def test_health_of_a_down_server_raises(self):
        with pytest.raises(OSError):
            ServerBackend("http://127.0.0.1:1", timeout=2).health()


def doc_example(name):
    """The code block after ``<!-- example: NAME -->`` in docs/vla_interfaces.md, bound to a free port."""
    text = (Path(__file__).parents[3] / "docs" / "vla_interfaces.md").read_text()
    block = text.split(f"<!-- example: {name} -->\n```python\n", 1)[1].split("```", 1)[0]
    return re.sub(r"(port=)?800\d", lambda match: (match.group(1) or "") + "0", block)


class TestDocExamples:
    @pytest.fixture
    def run_example(self):
        servers = []

        def run(name):
            namespace = {}
            exec(compile(doc_example(name), name, "exec"), namespace)  # noqa: S102 (our own documentation)
            server = namespace["server"]
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            return f"http://127.0.0.1:{server.server_port}"

        yield run
        for server in servers:
            server.shutdown()
            server.server_close()

    def test_tokens_server(self, run_example):
        """The documented token model walks forward, and stops once its current frame is mostly red."""
        client = ServerBackend(run_example("tokens-server"), interface="tokens")
        red = FRAMES.copy()
        red[-1, ..., 0] = 255
        assert client.health()["interface"] == "tokens"
        assert client.act_batch([FRAMES, red], ["go", "go"], [0, 1]) == ["A", "D"]

    def test_standard_library_waypoint_server(self, run_example):
        """The documented stdlib server speaks the protocol: 4 straight plans for an env, then a stop."""
        client = ServerBackend(run_example("waypoints-server"), interface="waypoints")
        assert client.health() == {"status": "ok", "interface": "waypoints"}
        answers = [client.act_batch([FRAMES], ["go"], [3])[0] for _ in range(5)]
        assert [parse_waypoints(answer) for answer in answers[:4]] == [parse_waypoints(answers[0])] * 4
        assert isinstance(parse_waypoints(answers[0]), Waypoints) and answers[4] == []

import logging
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.backends.oracle import ShortestPathOracle
from navila_agents.vla.backends.server import ServerBackend, decode_frames, encode_frames, make_server
from navila_agents.vla.grammar import ActionDecoder, Forward, Invalid, Stop, Turn, parse_action

FRAMES = np.random.default_rng(0).integers(0, 255, size=(8, 24, 24, 3), dtype=np.uint8)


class EchoBackend(VLABackend):
    """Answers with the instruction, recording the queries it saw."""

    def __init__(self):
        self.queries = []

    def act_batch(self, frames, instructions, env_ids=None):
        self.queries.append((frames, instructions, env_ids))
        return list(instructions)


class HistoryReader(EchoBackend):
    """An echo that reads its action history, recording what it is given."""

    action_history = True

    def __init__(self):
        super().__init__()
        self.histories = []

    def set_history(self, env_ids, executed):
        self.histories.append((list(env_ids), [list(answers) for answers in executed]))


class FailingBackend(VLABackend):
    def act_batch(self, frames, instructions, env_ids=None):
        raise RuntimeError("out of memory")


@pytest.mark.slow
class TestHFBackend:
    @pytest.fixture(scope="class")
    def backend(self, tiny_vla_path):
        from navila_agents.vla.backends.hf import HFBackend

        return HFBackend(tiny_vla_path, max_new_tokens=6)

    def test_model_is_frozen(self, backend):
        """The loaded model is in eval mode and no parameter requires a gradient."""
        parameters = list(backend.model.parameters())
        assert parameters and not any(parameter.requires_grad for parameter in parameters)
        assert not backend.model.training

    def test_batch_answers_parse_into_typed_results(self, backend):
        """A batch of queries gives one text answer each, and every answer parses to an action or Invalid."""
        answers = backend.act_batch([FRAMES, FRAMES[:3]], ["go to the sofa", "stop by the plant"])
        assert len(answers) == 2 and all(isinstance(answer, str) for answer in answers)
        assert all(isinstance(parse_action(answer), Forward | Turn | Stop | Invalid) for answer in answers)
        decoded = ActionDecoder(2, "stop").decode(answers, [0, 1])
        assert all(isinstance(action, Forward | Turn | Stop) for action in decoded)

    def test_batching_does_not_change_answers(self, backend):
        """Queries of different lengths answer the same in one left-padded batch as one by one."""
        queries = [(FRAMES, "go to the sofa"), (FRAMES[:3], "stop by the plant")]
        batched = backend.act_batch([frames for frames, _ in queries], [text for _, text in queries])
        assert batched == [backend.act(frames, text) for frames, text in queries]

    def test_generates_deterministically_in_inference_mode(self, backend, monkeypatch):
        """Greedy decoding repeats itself, and generation runs with autograd off (inference mode)."""
        modes = []
        generate = backend.model.generate

        def recording_generate(*args, **kwargs):
            modes.append(torch.is_inference_mode_enabled())
            return generate(*args, **kwargs)

        monkeypatch.setattr(backend.model, "generate", recording_generate)
        assert backend.act(FRAMES, "go to the sofa") == backend.act(FRAMES, "go to the sofa")
        assert modes == [True, True]

    def test_served_over_http(self, backend, serve):
        """The same model answers identically in process and through the HTTP server."""
        url = serve(backend)
        assert ServerBackend(url).act(FRAMES, "go to the sofa") == backend.act(FRAMES, "go to the sofa")


@pytest.mark.slow
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(
    ("vla", "frame_size"),
    [("tiny_vla_path", None), ("small_vla_path", (32, 32)), ("small_vla_path", None)],
    ids=["clip-crop", "siglip-at-size", "siglip-resized"],
)
def test_prompt_encoder_matches_the_processor(request, vla, frame_size, side):
    """The LLaVA fast path gives the processor's own inputs, for queries of different frame counts and lengths.

    Frames at the size a plain resize-rescale-normalize processor makes (the small VLA's) skip its per-image path;
    others (CLIP's crop, a size to resize) go through it.
    """
    from navila_agents.vla.backends.hf import PromptEncoder, processor_inputs
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(request.getfixturevalue(vla), local_files_only=True)
    processor.tokenizer.padding_side = side
    encode = PromptEncoder(processor)
    size = frame_size or FRAMES.shape[1:3]
    query = np.random.default_rng(1).integers(0, 255, size=(8, *size, 3), dtype=np.uint8)
    frames, instructions = (
        [query, query[:3], query[:1]],
        ["go to the sofa", "stop by the green plant", "go to the sofa"],
    )
    expected = processor_inputs(processor, frames, instructions)
    for _ in range(2):  # the second time from the prompt cache
        encoded = encode(frames, instructions)
        assert encode.image_tokens is not None and encoded.keys() == expected.keys()
        for key, value in expected.items():
            assert torch.equal(encoded[key], value), key
    assert encode.prompt_ids.cache_info().hits == 3
    if frame_size is not None:
        assert encode.frame_size == frame_size


def test_stacked_frames_copies_once_or_per_frame_when_sizes_differ():
    """Same-size queries become one (frames, 3, H, W) tensor in query order; mixed sizes stay one tensor per frame."""
    from navila_agents.vla.backends.hf import frames_as_images, stacked_frames

    stacked = stacked_frames([FRAMES, FRAMES[:2]])
    assert torch.equal(stacked, torch.stack([*frames_as_images([FRAMES])[0], *frames_as_images([FRAMES[:2]])[0]]))
    small = np.zeros((1, 4, 6, 3), dtype=np.uint8)
    mixed = stacked_frames([FRAMES[:1], small])
    assert isinstance(mixed, list) and [frame.shape for frame in mixed] == [(3, *FRAMES.shape[1:3]), (3, 4, 6)]


class TestServer:
    def test_frames_round_trip_losslessly(self):
        """PNG base64 encoding returns the exact frames."""
        assert np.array_equal(decode_frames(encode_frames(FRAMES)), FRAMES)

    def test_forwards_queries_to_the_backend(self, serve):
        """The client's frames, instructions and env ids reach the served backend unchanged."""
        echo = EchoBackend()
        answers = ServerBackend(serve(echo)).act_batch([FRAMES, FRAMES[:2]], ["turn left", "stop"], env_ids=[3, 5])
        assert answers == ["turn left", "stop"]
        frames, instructions, env_ids = echo.queries[0]
        assert np.array_equal(frames[0], FRAMES) and np.array_equal(frames[1], FRAMES[:2]) and env_ids == [3, 5]

    def test_down_server_answers_stop(self, caplog):
        """A server that does not answer yields 'stop' for every query and a logged reason, not an exception."""
        server = make_server(EchoBackend(), "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.server_port}"
        server.server_close()
        with caplog.at_level(logging.WARNING):
            answers = ServerBackend(url, timeout=1.0).act_batch([FRAMES, FRAMES], ["a", "b"])
        assert [parse_action(answer) for answer in answers] == [Stop(), Stop()]
        assert "failed" in caplog.text

    def test_a_history_reader_gets_each_querys_executed_answers(self, serve):
        """The client sends the answers executed so far per env; a served history reader gets them before the query,
        and /health says it reads them."""
        reader = HistoryReader()
        url = serve(reader)
        client = ServerBackend(url)
        client.set_history([3, 5], [["move forward 75 cm", "turn left 30 degrees"], []])
        assert client.act_batch([FRAMES, FRAMES[:2]], ["go", "stop"], env_ids=[3, 5]) == ["go", "stop"]
        assert reader.histories == [([3, 5], [["move forward 75 cm", "turn left 30 degrees"], []])]
        client.act_batch([FRAMES], ["go"], env_ids=[7])  # an env never given a history has none
        assert reader.histories[-1] == ([7], [[]])
        assert client.health()["action_history"] is True

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            ({}, "reads its action history"),
            ({"executed": "stop"}, "one list of answers"),
            ({"executed": [[]] * 2}, "2 executed"),
        ],
    )
    def test_a_history_reader_refuses_queries_without_it(self, serve, extra, message):
        """A query to a history reader without its history, or with a malformed one, gets 400 and one line."""
        import json
        import urllib.error
        import urllib.request

        body = {"frames": [encode_frames(FRAMES[:1])], "instructions": ["go"], **extra}
        request = urllib.request.Request(f"{serve(HistoryReader())}/act", data=json.dumps(body).encode())
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=5)
        assert error.value.code == 400 and message in json.loads(error.value.read())["error"]

    def test_timeout_answers_stop(self, caplog):
        """A server that accepts but never replies yields 'stop' after the timeout."""
        server = make_server(EchoBackend(), "127.0.0.1", 0)  # bound and listening, never serving
        try:
            with caplog.at_level(logging.WARNING):
                answers = ServerBackend(f"http://127.0.0.1:{server.server_port}", timeout=0.3).act(FRAMES, "a")
        finally:
            server.server_close()
        assert answers == "stop" and "timed out" in caplog.text

    def test_failing_backend_answers_stop(self, serve, caplog):
        """A backend error on the server side reaches the client as 'stop', and the server keeps serving."""
        url = serve(FailingBackend())
        with caplog.at_level(logging.WARNING):
            assert ServerBackend(url).act(FRAMES, "a") == "stop"
            assert ServerBackend(url).act(FRAMES, "b") == "stop"
        assert "500" in caplog.text

    def test_health_endpoint(self, serve):
        """GET /health reports ok and the interface the server answers in."""
        import json
        import urllib.request

        with urllib.request.urlopen(f"{serve(EchoBackend())}/health", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "ok", "interface": "language", "action_history": False}


class TestShortestPathOracle:
    def make(self, poses, **kwargs):
        return ShortestPathOracle(len(poses), lambda: poses, **kwargs)

    def test_actions_toward_the_path(self):
        """Facing the next waypoint it walks (25/50/75 cm, never past it); off by an angle it turns that way."""
        poses = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, math.pi / 2], [0.0, 0.0, 0.0]])
        oracle = self.make(poses)
        paths = [
            np.array([[2.0, 0.0], [5.0, 0.0]]),
            np.array([[0.6, 0.0], [5.0, 0.0]]),
            np.array([[2.0, 0.0], [5.0, 0.0]]),
            np.array([[2.0, 2.0 * math.tan(math.radians(-31))], [5.0, 0.0]]),
        ]
        oracle.set_paths(range(4), paths)
        assert [parse_action(text) for text in oracle.act_batch([FRAMES] * 4, ["go"] * 4)] == [
            Forward(75),
            Forward(50),
            Turn(-45),
            Turn(-30),
        ]

    def test_turn_threshold_coarsens_the_labels(self):
        """With a 20 degree threshold it walks 10 and 19 degrees off the path point and turns (snapped) from 20 on."""
        poses = torch.zeros(3, 3)
        oracle = self.make(poses, turn_threshold_deg=20.0)
        paths = [np.array([[2.0, 2.0 * math.tan(math.radians(degrees))], [5.0, 0.0]]) for degrees in (10, 19, 25)]
        oracle.set_paths(range(3), paths)
        assert [parse_action(text) for text in oracle.act_batch([FRAMES] * 3, ["go"] * 3)] == [
            Forward(75),
            Forward(75),
            Turn(30),
        ]

    def test_stops_inside_the_radius(self):
        """It answers 'stop' once the goal is closer than stop_radius, not before."""
        poses = torch.tensor([[4.1, 0.0, 0.0], [3.9, 0.0, 0.0]])
        oracle = self.make(poses, stop_radius=1.0)
        oracle.set_paths([0, 1], [np.array([[5.0, 0.0, 0.0]])] * 2)
        assert oracle.act_batch([FRAMES] * 2, ["go"] * 2) == ["stop", "move forward 75 cm"]

    def test_passed_waypoints_are_not_revisited(self):
        """Once near a waypoint it aims at the next one, even after drifting back out of its radius."""
        poses = torch.tensor([[1.9, 0.0, math.pi / 2]])
        oracle = self.make(poses)
        oracle.set_paths([0], [np.array([[2.0, 0.0], [2.0, 3.0]])])
        assert oracle.act(FRAMES, "go") == "move forward 75 cm"
        poses[0] = torch.tensor([1.5, 0.0, math.pi / 2])
        assert oracle.act(FRAMES, "go") != "turn right 45 degrees"

    def test_reaches_the_goal_in_closed_loop(self):
        """Executing its own answers on ideal kinematics, the oracle ends within stop_radius of the goal."""
        path = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 3.0], [0.5, 3.5]])
        pose = torch.tensor([[0.0, 0.0, math.pi]])
        oracle = self.make(pose, stop_radius=0.5)
        oracle.set_paths([0], [path])
        for _ in range(200):
            action = parse_action(oracle.act(FRAMES, "go"))
            if isinstance(action, Stop):
                break
            if isinstance(action, Turn):
                pose[0, 2] += action.radians
            else:
                pose[0, :2] += action.meters * torch.stack((pose[0, 2].cos(), pose[0, 2].sin()))
        assert isinstance(action, Stop)
        assert np.linalg.norm(pose[0, :2].numpy() - path[-1]) < 0.5

    def test_rejects_empty_paths(self):
        """An empty path is refused with the env named."""
        with pytest.raises(ValueError, match="env 0"):
            self.make(torch.zeros(1, 3)).set_paths([0], [np.zeros((0, 2))])


class BigramVla:
    """Stands in for a small VLA: the next token's probabilities depend on the current token only."""

    def __init__(self, tokenizer, table):
        self.device, self.dtype = torch.device("cpu"), torch.float32
        vocab = len(tokenizer)
        self.log_probs = torch.full((vocab, vocab), -30.0)
        for word, successors in table.items():
            for successor, probability in successors.items():
                self.log_probs[tokenizer.convert_tokens_to_ids(word), tokenizer.convert_tokens_to_ids(successor)] = (
                    math.log(probability)
                )
        self.calls = 0

    def __call__(self, input_ids, **_):
        self.calls += 1
        return SimpleNamespace(logits=self.log_probs[input_ids], past_key_values=NoCache())


class NoCache:
    """A bigram model keeps no context: its key-value cache only has to be expandable."""

    def batch_repeat_interleave(self, repeats: int) -> None:
        """Nothing to repeat."""


def bigram_table(turn, move, stop):
    """After <answer>: turn, move or stop; turns split over left/right and 15/30/45; moves are 75 cm mostly."""
    return {
        "<answer>": {"turn": turn, "move": move, "stop": stop},
        "turn": {"left": 0.5, "right": 0.5},
        "left": {"15": 1 / 3, "30": 1 / 3, "45": 1 / 3},
        "right": {"15": 1 / 3, "30": 1 / 3, "45": 1 / 3},
        "move": {"forward": 1.0},
        "forward": {"75": 0.9, "25": 0.05, "50": 0.05},
        **{number: {"degrees": 0.5, "cm": 0.5} for number in ("15", "30", "45", "25", "50", "75")},
        **{word: {"</s>": 1.0} for word in ("degrees", "cm", "stop")},
    }


class TestRankDecoding:
    @pytest.mark.parametrize(
        ("probabilities", "expected"),
        [((0.55, 0.4, 0.05), "move forward 75 cm"), ((0.45, 0.25, 0.3), "stop")],
        ids=["move-beats-six-turns", "stop-beats-six-turns"],
    )
    def test_answers_the_most_likely_answer_not_the_greedy_one(self, small_vla_path, probabilities, expected):
        """The likeliest first word is "turn", yet every single turn is less likely than the answer chosen.

        Greedy decoding would commit to "turn" (six answers share it) and never say the likelier move or stop.
        """
        from navila_agents.vla.backends.hf import HFBackend

        backend = HFBackend(small_vla_path)
        assert backend.decoding == "rank"  # auto: the small VLA's tokenizer has <answer>
        backend.model = BigramVla(backend.processor.tokenizer, bigram_table(*probabilities))
        frames = np.zeros((8, 32, 32, 3), dtype=np.uint8)
        assert backend.act_batch([frames, frames], ["go to the sofa", "go to the sofa"]) == [expected, expected]
        assert backend.model.calls == 2  # the prompts in one batch, then all answers from the prompts' cache
        backend.model.calls, backend.rank_batch = 0, 10  # chunks of one query (10 answers each)
        assert backend.act_batch([frames, frames], ["go to the sofa", "go"]) == [expected, expected]
        assert backend.model.calls == 4

    def test_ranking_by_action_sums_a_kind_of_action_over_its_answers(self, small_vla_path):
        """Walking is likelier than stopping (0.55 vs 0.3) but split over three distances (0.22 at most): the likeliest
        answer is "stop", the likeliest kind of action is walking, answered with its likeliest distance."""
        from navila_agents.vla.backends.hf import HFBackend
        from navila_lab.errors import UserError

        table = bigram_table(0.15, 0.55, 0.3) | {"forward": {"75": 0.4, "25": 0.3, "50": 0.3}}
        table |= {number: {"cm": 1.0} for number in ("25", "50", "75")}
        frames = np.zeros((8, 32, 32, 3), dtype=np.uint8)
        answers = {}
        for rank_by in ("answer", "action"):
            backend = HFBackend(small_vla_path, rank_by=rank_by)
            backend.model = BigramVla(backend.processor.tokenizer, table)
            answers[rank_by] = backend.act(frames, "go to the sofa")
        assert answers == {"answer": "stop", "action": "move forward 75 cm"}
        with pytest.raises(UserError, match="rank_by must be one of answer, action"):
            HFBackend(small_vla_path, rank_by="kind")

    def test_mirror_average_answers_the_mirror_query_with_the_mirror_answer(self, small_vla_path):
        """Ranking a query with its mirror image is exactly mirror-equivariant, whatever the weights learned.

        Over two turns, every answer changes under the mirror: an untrained model's side bias (it ranks the same side
        for a query and its mirror) cannot pass.
        """
        from navila_agents.vla.backends.hf import HFBackend
        from navila_agents.vla.mirror import mirror_frames, mirror_text

        turns = ["turn left 30 degrees", "turn right 30 degrees"]
        backend = HFBackend(small_vla_path, mirror_average=True, answers=turns)
        rng = np.random.default_rng(1)
        for instruction in ("turn left at the sofa", "go right, then stop", "go to the sofa"):
            frames = rng.integers(0, 255, size=(8, 32, 32, 3), dtype=np.uint8)
            answer = backend.act(frames, instruction)
            assert backend.act(mirror_frames(frames), mirror_text(instruction)) == mirror_text(answer)

    def test_mirror_average_needs_ranking(self, small_vla_path):
        """Generation has no scores to average: asking for it is a one-line error."""
        from navila_agents.vla.backends.hf import HFBackend
        from navila_lab.errors import UserError

        with pytest.raises(UserError, match="mirror averaging"):
            HFBackend(small_vla_path, decoding="generate", mirror_average=True)

    def test_general_vlms_generate(self, tiny_vla_path):
        """A folder without the <answer> token (a general VLM) keeps greedy generation; bad choices are errors."""
        from navila_agents.vla.backends.hf import HFBackend
        from navila_lab.errors import UserError

        assert HFBackend(tiny_vla_path).decoding == "generate"
        with pytest.raises(UserError, match="decoding"):
            HFBackend(tiny_vla_path, decoding="beam")

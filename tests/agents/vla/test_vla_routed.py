"""Per-env routing of VLA queries (several methods in one run), the black-frame ablation, the oracle's stops."""

import numpy as np
import torch
from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.backends.routed import BlackFrames, ExpertStops, RoutedBackend
from navila_agents.vla.grammar import Forward, Stop, Turn, parse_action

FRAMES = np.full((8, 4, 4, 3), 200, dtype=np.uint8)


class Recording(VLABackend):
    """Answers a fixed text; records each call's env ids and whether its frames were all black."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def act_batch(self, frames, instructions, env_ids=None):
        self.calls.append((list(env_ids), [not query.any() for query in frames], list(instructions)))
        return [self.answer] * len(frames)


class TestRoutedBackend:
    def test_each_env_is_answered_by_its_route_in_one_batch_per_backend(self):
        """Envs sharing a backend go in one call; oracle envs are answered by the oracle from their paths."""
        first, second = Recording("move forward 75 cm"), Recording("turn right 30 degrees")
        poses = torch.zeros(5, 3)
        routed = RoutedBackend([first, None, second, first, None], lambda: poses)
        routed.set_paths([1, 4], [np.array([[0.0, 0.0], [5.0, 0.0]]), np.array([[0.0, 0.0], [0.0, 5.0]])])
        answers = routed.act_batch([FRAMES] * 5, [f"instruction {i}" for i in range(5)], [0, 1, 2, 3, 4])
        assert answers[0] == answers[3] == "move forward 75 cm" and answers[2] == "turn right 30 degrees"
        assert parse_action(answers[1]) == Forward(75) and parse_action(answers[4]) == Turn(45)
        assert first.calls == [([0, 3], [False, False], ["instruction 0", "instruction 3"])]
        assert second.calls == [([2], [False], ["instruction 2"])]

    def test_subset_of_envs(self):
        """A query batch of some envs only reaches their backends, in the order given."""
        first = Recording("stop")
        routed = RoutedBackend([first, first, None], lambda: torch.zeros(3, 3))
        assert routed.act_batch([FRAMES, FRAMES], ["a", "b"], [1, 0]) == ["stop", "stop"]
        assert first.calls[0][0] == [1, 0] and isinstance(parse_action("stop"), Stop)


class HistoryRecording(Recording):
    """A recording backend that reads its action history."""

    action_history = True

    def __init__(self, answer):
        super().__init__(answer)
        self.histories = {}

    def set_history(self, env_ids, executed):
        self.histories |= dict(zip(env_ids, executed, strict=True))


def test_histories_reach_only_the_backends_that_read_them():
    """Routed, wrapped (black frames, the oracle's stops) or not, each env's history goes to its own backend, and only
    to one that reads it; a router or wrapper reads histories when a backend behind it does."""
    reader, other, wrapped, stops = (
        HistoryRecording("stop"),
        Recording("stop"),
        HistoryRecording("stop"),
        HistoryRecording("stop"),
    )
    routed = RoutedBackend(
        [reader, other, None, BlackFrames(wrapped), ExpertStops(stops, stops)], lambda: torch.zeros(5, 3)
    )
    assert routed.action_history and not RoutedBackend([other, None], lambda: torch.zeros(2, 3)).action_history
    routed.set_history([0, 1, 2, 3, 4], [["a"], ["b"], ["c"], ["d"], ["e"]])
    assert reader.histories == {0: ["a"]} and wrapped.histories == {3: ["d"]} and stops.histories == {4: ["e"]}


class TestBlackFrames:
    def test_the_wrapped_vla_sees_only_black_frames(self):
        """Frames reach the wrapped backend zeroed, same shapes; instructions pass unchanged."""
        inner = Recording("stop")
        BlackFrames(inner).act_batch([FRAMES, FRAMES[:3]], ["go", "stop"], [0, 1])
        assert inner.calls == [([0, 1], [True, True], ["go", "stop"])]


class TestExpertStops:
    def test_the_oracle_decides_every_stop_and_the_moves_answer_a_premature_one(self):
        """Env 0 is at its goal (the oracle stops, the VLA walks on), env 1 far from it (the VLA stops, the oracle
        walks: the moves-only backend answers), env 2 far and walking: its own answer stands."""
        poses = torch.zeros(3, 3)
        walker, stopper, moves = Recording("move forward 75 cm"), Recording("stop"), Recording("turn left 15 degrees")
        vla = ExpertStops(walker, moves)
        routed = RoutedBackend([vla, ExpertStops(stopper, moves), vla], lambda: poses)
        routed.set_paths([0, 1, 2], [np.array([[0.0, 0.0], [0.5, 0.0]]), *[np.array([[0.0, 0.0], [5.0, 0.0]])] * 2])
        answers = routed.act_batch([FRAMES] * 3, ["a", "b", "c"], [0, 1, 2])
        assert answers == ["stop", "turn left 15 degrees", "move forward 75 cm"]
        assert moves.calls == [([1], [False], ["b"])]

from pathlib import Path

import numpy as np
import pytest
from navila_agents.vla.backends.base import VLABackend
from navila_sim2real.vla import VlaVelocity, vla_command_source

SHIPPED = Path(__file__).parents[2] / "policies" / "vla_small"


class ScriptedVla(VLABackend):
    """Answers from a script; records the frames it was shown."""

    def __init__(self, answers):
        self.answers, self.seen = list(answers), []

    def act_batch(self, frames, instructions, env_ids=None):
        self.seen.append(frames[0].shape)
        return [self.answers.pop(0) for _ in frames]


class StillCamera:
    def latest(self):
        return np.zeros((64, 64, 3), dtype=np.uint8)


class TestVlaVelocity:
    def test_actions_become_timed_commands(self):
        """'move forward 50 cm' gives 0.5 m/s for 1 s, then the next query; 'stop' ends with zero command."""
        backend = ScriptedVla(["The next action is move forward 50 cm.", "turn left 15 degrees", "stop"])
        source = VlaVelocity(backend, "go to the door", StillCamera(), policy_dt=0.02)
        assert source.query_once()
        commands = np.array([source.velocity(None) for _ in range(60)])
        assert np.allclose(commands[:50], [0.5, 0.0, 0.0]) and np.allclose(commands[50:], 0.0)
        assert source.query_once()
        turn = np.array([source.velocity(None) for _ in range(30)])
        assert np.allclose(turn[:25, 2], np.pi / 6) and np.allclose(turn[25:], 0.0)
        assert source.query_once() and source.finished
        assert not source.query_once()
        assert np.allclose(source.velocity(None), 0.0)
        assert backend.seen[0] == (8, 64, 64, 3)

    def test_waits_while_an_action_runs(self):
        """No new query while the current action is still being executed."""
        backend = ScriptedVla(["move forward 75 cm", "stop"])
        source = VlaVelocity(backend, "go", StillCamera(), policy_dt=0.02)
        assert source.query_once()
        source.velocity(None)
        assert not source.query_once() and len(backend.seen) == 1

    def test_a_history_reader_gets_the_answers_so_far(self):
        """On the robot too, a VLA that reads its action history gets every answer before its next query."""
        backend = ScriptedVla(["turn left 15 degrees", "move forward 25 cm", "stop"])
        backend.action_history, histories = True, []
        backend.set_history = lambda env_ids, executed: histories.append((list(env_ids), list(executed[0])))
        source = VlaVelocity(backend, "go", StillCamera(), policy_dt=0.02)
        while source.query_once() or not source.finished:
            source.velocity(None)
        assert histories == [
            ([0], []),
            ([0], ["turn left 15 degrees"]),
            ([0], ["turn left 15 degrees", "move forward 25 cm"]),
        ]


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="policies/vla_small is written by scripts/gpu_vla_pipeline.sh")
def test_shipped_vla_drives_the_robot_side_source():
    """The shipped model folder runs on the robot's CPU path: one query turns the camera frame into a timed command."""
    source = vla_command_source(str(SHIPPED), "walk to the door and stop", StillCamera(), policy_dt=0.02)
    try:
        assert source.query_once()
        command = source.velocity(None)
        assert command.shape == (3,) and np.isfinite(command).all()
        assert source.finished or np.abs(command).max() > 0.0
    finally:
        source.close()

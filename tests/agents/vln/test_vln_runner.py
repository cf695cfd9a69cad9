"""The VLN loop on a kinematic stand-in simulator: episode scheduling, query timing, end conditions, metrics."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from navila_agents.vla.backends.base import FunctionBackend, VLABackend
from navila_agents.vla.backends.oracle import ORACLE_WAYPOINT_RADIUS, ShortestPathOracle
from navila_agents.vla.backends.server import ServerBackend
from navila_agents.vln.rollout import EndReason, VlnRunCfg, VlnRunner
from navila_tasks.vln.episodes import load_episodes, yaw_to_quaternion
from navila_tasks.vln.layout import SceneLayout, SceneSource
from navila_tasks.vln.scenes import scene_from_id
from scene_writers import write_glb, write_usd
from vln_support import KinematicSim


class ScriptedBackend(VLABackend):
    """Answers with a fixed text and records when each env was asked."""

    def __init__(self, answer, sim):
        self.answer, self.sim = answer, sim
        self.queries = []

    def act_batch(self, frames, instructions, env_ids=None):
        assert all(query.shape == (8, 8, 8, 3) for query in frames)
        self.queries += [(self.sim.steps, env_id) for env_id in env_ids]
        return [self.answer] * len(frames)


class HistoryReader(ScriptedBackend):
    """A scripted backend that reads its action history: records what the loop gives it."""

    action_history = True

    def __init__(self, answer, sim):
        super().__init__(answer, sim)
        self.histories = []

    def set_history(self, env_ids, executed):
        self.histories += [(env_id, list(answers)) for env_id, answers in zip(env_ids, executed, strict=True)]


def oracle(sim):
    return ShortestPathOracle(sim.num_envs, sim.poses, waypoint_radius=ORACLE_WAYPOINT_RADIUS)


def run(layout, episodes, backend_factory, num_envs=2, cfg=None, **sim_kwargs):
    sim = KinematicSim(layout, num_envs, **sim_kwargs)
    backend = backend_factory(sim)
    return VlnRunner(sim, backend, episodes, layout, cfg or VlnRunCfg(), None).run(progress=False), sim, backend


@pytest.fixture(scope="module")
def glass_episodes():
    """The first 6 episodes of the glass set of the shipped VLN results."""
    return load_episodes(Path(__file__).parents[3] / "benchmarks" / "data" / "vln_glass_v1.json.gz")[:6]


@pytest.fixture(scope="module")
def glass_layout(glass_episodes):
    return SceneLayout.from_ids([episode.scene_id for episode in glass_episodes])


@pytest.fixture(scope="module")
def full_view_results(glass_layout, glass_episodes):
    """Oracle planning around glass + teleported execution on :func:`glass_episodes`."""
    return run(glass_layout, glass_episodes, oracle, num_envs=3)[0]


class TestOracleWithPerfectLowLevel:
    def test_every_episode_runs_once_and_succeeds(self, layout, short_episodes):
        """3 short episodes on 2 envs: each runs once, in order, and the oracle stops within the success radius."""
        results, sim, _ = run(layout, short_episodes, oracle)
        assert [r.record.episode_id for r in results] == [e.episode_id for e in short_episodes]
        for result, episode in zip(results, short_episodes, strict=True):
            record = result.record
            assert result.end_reason == EndReason.STOP and record.stopped
            assert record.success() and record.distance_to_goal < 1.2
            assert record.shortest_path_length == pytest.approx(episode.shortest_path_length)
            assert record.path_length >= record.shortest_path_length - 1.0 - 0.05  # the oracle stops 1 m short
            assert 0.0 < record.spl() <= 1.0 and record.falls == 0
            assert result.answers[-1] == "stop" and result.path[0] == pytest.approx(
                episode.start_position[:2], abs=1e-4
            )
        assert sim.resets == 1, "only the first reset is global; later episodes start through env resets"

    def test_oracle_follows_long_paths_past_glass(self, full_view_results):
        """On the first 6 episodes of the shipped glass set, oracle + teleported execution stops at every goal."""
        assert all(r.record.success() and r.end_reason == EndReason.STOP for r in full_view_results)

    def test_camera_view_oracle_steers_into_glass(self, glass_layout, glass_episodes, full_view_results):
        """Planning on the camera's grid (glass does not block), the oracle drives where the true grid is blocked."""

        def blocked_positions(results):
            return sum(
                not glass_layout.nav_grids[result.scene_id].is_free(np.asarray(xy))
                for result in results
                for xy in result.path
            )

        cfg = VlnRunCfg(oracle_sees_glass=False)
        camera, _, _ = run(glass_layout, glass_episodes, oracle, num_envs=3, cfg=cfg)
        assert blocked_positions(camera) > 5 * max(blocked_positions(full_view_results), 1)
        assert not all(result.record.success() for result in camera)


class TestEndConditions:
    def test_fall_ends_the_episode_and_the_env_goes_on(self, layout, short_episodes):
        """A termination at step 10 ends env 0's episode as a fall; the queue still runs every episode."""
        results, _, _ = run(layout, short_episodes, oracle, fall_at={10: (0, ["head_contact"])})
        assert results[0].end_reason == EndReason.FALL and results[0].record.falls == 1
        assert not results[0].record.stopped and results[0].record.steps == 10
        assert [r.end_reason for r in results[1:]] == [EndReason.STOP, EndReason.STOP]

    def test_fall_cause_names_the_terms_that_fired(self, layout, short_episodes):
        """Terms firing together name the fall in the termination manager's order; other episodes have no cause."""
        results, _, _ = run(layout, short_episodes, oracle, fall_at={10: (1, ["bad_orientation", "hip_contact"])})
        assert results[1].end_reason == EndReason.FALL and results[1].fall_cause == "hip_contact+bad_orientation"
        assert results[1].to_dict()["fall_cause"] == "hip_contact+bad_orientation"
        assert [results[0].fall_cause, results[2].fall_cause] == [None, None]

    def test_standing_still_ends_with_no_progress(self, layout, short_episodes):
        """An agent that only turns never moves: its episode ends after max_still_steps."""
        cfg = VlnRunCfg(max_still_steps=120, max_steps=1000)
        results, _, _ = run(
            layout, short_episodes[:1], lambda sim: ScriptedBackend("turn left 15 degrees", sim), 1, cfg
        )
        assert results[0].end_reason == EndReason.NO_PROGRESS and results[0].record.steps == 120
        assert results[0].record.path_length == pytest.approx(0.0, abs=1e-6)

    def test_step_limit(self, layout, short_episodes):
        """An agent that never says stop runs until max_steps."""
        cfg = VlnRunCfg(max_steps=90)
        results, _, _ = run(layout, short_episodes[:1], lambda sim: ScriptedBackend("move forward 25 cm", sim), 1, cfg)
        assert results[0].end_reason == EndReason.MAX_STEPS and results[0].record.steps == 90
        assert not results[0].record.stopped

    def test_history_readers_get_their_episodes_executed_answers(self, layout, short_episodes):
        """Before every query a backend that reads its action history gets its env's answers so far in the episode;
        a new episode starts with none."""
        walk = "move forward 75 cm"
        cfg = VlnRunCfg(max_steps=90)
        _, _, backend = run(layout, short_episodes[:2], lambda sim: HistoryReader(walk, sim), 1, cfg)
        assert backend.histories == [(0, []), (0, [walk]), (0, []), (0, [walk])]
        assert len(backend.queries) == 4

    def test_invalid_answers_requery_then_stop(self, layout, short_episodes):
        """Unparseable answers hold the robot and re-query each tick; after max_requeries more it stops."""
        cfg = VlnRunCfg(max_requeries=2)
        results, _, backend = run(
            layout, short_episodes[:1], lambda sim: ScriptedBackend("I am not sure.", sim), 1, cfg
        )
        assert results[0].end_reason == EndReason.STOP and len(results[0].answers) == 3
        assert [step for step, _ in backend.queries] == [0, 25, 50]


class TestQueryTiming:
    def test_queries_on_the_period_grid_after_the_action_is_done(self, layout, short_episodes):
        """'move forward 75 cm' lasts 1.5 s (75 steps): the next query comes at the next 0.5 s tick, step 75."""
        cfg = VlnRunCfg(max_steps=200)
        _, _, backend = run(layout, short_episodes[:1], lambda sim: ScriptedBackend("move forward 75 cm", sim), 1, cfg)
        assert [step for step, _ in backend.queries] == [0, 75, 150]

    def test_queries_wait_for_the_shared_clock(self, layout, short_episodes):
        """One env, two episodes: the first stops at step 0; the second starts at step 1 and is first asked at the
        next tick of the clock all envs share (step 25), so that cameras render only on ticks."""
        _, _, backend = run(layout, short_episodes[:2], lambda sim: ScriptedBackend("stop", sim), 1)
        assert backend.queries == [(0, 0), (25, 0)]

    def test_query_period_is_configurable(self, layout, short_episodes):
        """With a 1.0 s period a 0.5 s turn waits for the 1.0 s tick."""
        cfg = VlnRunCfg(max_steps=200, query_period=1.0)
        _, _, backend = run(
            layout, short_episodes[:1], lambda sim: ScriptedBackend("turn left 15 degrees", sim), 1, cfg
        )
        assert [step for step, _ in backend.queries] == [0, 50, 100, 150]


def facing_first_leg(episode):
    """The episode with its start turned toward its reference path's first corner, and that leg's length."""
    (x0, y0, _), (x1, y1, _) = episode.reference_path[:2]
    yaw = math.atan2(y1 - y0, x1 - x0)
    return replace(episode, start_rotation=yaw_to_quaternion(yaw)), math.hypot(x1 - x0, y1 - y0)


class Scripted:
    """A per-query function answering from a list, then with its last item."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), 0

    def __call__(self, frames, instruction):
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


class TestInterfaces:
    @pytest.mark.parametrize("interface", ["tokens", "waypoints"])
    def test_oracle_reaches_every_glass_goal(self, glass_layout, glass_episodes, interface):
        """Token and waypoint oracles + teleported execution stop at every goal of the first 6 glass episodes."""

        def make(sim):
            return ShortestPathOracle(
                sim.num_envs, sim.poses, waypoint_radius=ORACLE_WAYPOINT_RADIUS, interface=interface
            )

        results, _, _ = run(glass_layout, glass_episodes, make, num_envs=3)
        assert all(r.record.success() and r.end_reason == EndReason.STOP for r in results)
        answers = [answer for result in results for answer in result.answers]
        if interface == "tokens":
            assert set(answers) == {"A", "B", "C", "D"}
        else:
            plans = [answer for answer in answers if answer]
            assert answers.count([]) == len(results) and all(len(plan) == 16 for plan in plans)
            assert len(plans) < sum(r.record.path_length for r in results) / 1.0, "each plan covers > 1 m"

    @pytest.mark.parametrize(
        ("interface", "answers"),
        [
            ("tokens", ["A", "A", "D"]),
            ("waypoints", [[[0.05 * (i + 1), 0.0, 0.0] for i in range(10)], []]),
        ],
    )
    def test_served_vla_drives_the_robot(self, layout, short_episodes, serve, interface, answers):
        """A VLA behind the HTTP protocol: two forward tokens, or ten waypoints 5 cm apart, drive 0.5 m, then stop."""
        episode, leg = max((facing_first_leg(e) for e in short_episodes), key=lambda pair: pair[1])
        assert leg > 0.6
        url = serve(FunctionBackend(Scripted(answers), interface))
        results, _, _ = run(layout, [episode], lambda sim: ServerBackend(url, interface=interface), num_envs=1)
        assert results[0].end_reason == EndReason.STOP and results[0].answers == answers
        assert results[0].record.path_length == pytest.approx(0.5, abs=0.03)


class TestSceneFiles:
    @pytest.mark.parametrize("write", [write_usd, write_glb])
    def test_oracle_results_equal_the_procedural_path(self, tmp_path, glass_episodes, write):
        """The first 6 glass episodes with their scenes written as files (USD in the NaVILA-Bench layout, GLB) and
        their scene ids pointing at them: oracle + teleported execution gives the same per-episode results."""
        scene_ids = sorted({episode.scene_id for episode in glass_episodes})
        for scene_id in scene_ids:
            name = f"file_{scene_id}"
            write(scene_from_id(scene_id), tmp_path / (f"{name}/{name}.usd" if write is write_usd else f"{name}.glb"))
        renamed = [replace(episode, scene_id=f"file_{episode.scene_id}") for episode in glass_episodes]
        layout = SceneLayout.from_ids([e.scene_id for e in renamed], source=SceneSource(str(tmp_path)))
        procedural = SceneLayout.from_ids([e.scene_id for e in glass_episodes])
        from_files, _, _ = run(layout, renamed, oracle, num_envs=3)
        expected, _, _ = run(procedural, glass_episodes, oracle, num_envs=3)
        for got, want in zip(from_files, expected, strict=True):
            assert got.end_reason == want.end_reason and got.answers == want.answers
            assert got.record.steps == want.record.steps
            for key in ("distance_to_goal", "min_distance_to_goal", "path_length", "shortest_path_length"):
                assert getattr(got.record, key) == pytest.approx(getattr(want.record, key), abs=1e-3), key

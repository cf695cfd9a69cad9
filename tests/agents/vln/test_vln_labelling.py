"""Expert labels of VLN queries on a kinematic stand-in simulator: data generation rows and DAgger labels."""

import math

import numpy as np
import pytest
from navila_agents.vla.backends.base import VLABackend
from navila_agents.vla.frames import sample_frame_indices
from navila_agents.vla.grammar import Forward, Stop, Turn, parse_action
from navila_agents.vla.training.dataset import QuerySamples, load_dataset_dir, write_dataset
from navila_agents.vln.datagen import collect
from navila_agents.vln.labelling import EXPERT_TURN_THRESHOLD_DEG
from navila_agents.vln.rollout import VlnRunCfg
from vln_support import KinematicSim


class CountingFramesSim(KinematicSim):
    """Frames that tell apart every env and step: pixel (0, 0) holds the env, (0, 1) and (0, 2) the step number."""

    def frames(self, env_ids):
        frames = np.full((len(env_ids), 8, 8, 3), 40, dtype=np.uint8)
        frames[:, 0, 0, 0] = np.asarray(env_ids) + 1
        frames[:, 0, 1, 0], frames[:, 0, 2, 0] = divmod(self.steps, 250)
        return frames


class SpinningLearner(VLABackend):
    """Always turns left; notes the pose of every env it was asked for."""

    def __init__(self, sim):
        self.sim, self.poses = sim, []

    def act_batch(self, frames, instructions, env_ids=None):
        self.poses += [self.sim.poses()[env_id].tolist() for env_id in env_ids]
        return ["turn left 15 degrees"] * len(frames)


class ConstantLearner(VLABackend):
    """Answers the same text to every query."""

    def __init__(self, answer):
        self.answer = answer

    def act_batch(self, frames, instructions, env_ids=None):
        return [self.answer] * len(frames)


class HistoryLearner(ConstantLearner):
    """A constant learner that reads its action history: records what it is given."""

    action_history = True

    def __init__(self, answer):
        super().__init__(answer)
        self.histories = []

    def set_history(self, env_ids, executed):
        self.histories += [list(answers) for answers in executed]


class TestExpertRollouts:
    def test_every_episode_is_labelled_by_the_expert_and_succeeds(self, expert_rollouts_and_rows):
        """Each episode's rows are contiguous and in query order; the expert acts and ends every episode with stop."""
        rollouts, short_episodes = expert_rollouts_and_rows
        assert all(result.record.success() for result in rollouts.results)
        names = [row.episode for row in rollouts.rows]
        assert len(set(names)) == len(short_episodes)
        for name in set(names):
            rows = [row for row in rollouts.rows if row.episode == name]
            first = names.index(name)
            assert names[first : first + len(rows)] == [name] * len(rows)
            assert [row.step for row in rows] == list(range(len(rows)))
            assert all(row.answer == row.executed for row in rows)
            assert rows[-1].answer == "stop" and all(row.answer != "stop" for row in rows[:-1])
            assert {row.instruction for row in rows} == {
                short_episodes[int(name.split("/")[1].split(":")[0])].instruction_text
            }

    def test_offsets_point_at_the_frames_the_vla_saw(self, expert_rollouts_and_rows, tmp_path):
        """Stored offsets follow the reference sampling, and the frames they load are those of the episode's queries."""
        rollouts, _ = expert_rollouts_and_rows
        for row in rollouts.rows:
            expected = [index - row.step for index in sample_frame_indices(row.step + 1) if index is not None]
            assert row.frame_offsets == expected
        write_dataset(tmp_path / "data", {"train": rollouts.rows}, "# card\n")
        split = load_dataset_dir(tmp_path / "data")["train"]
        samples = QuerySamples(split)
        for index in range(len(split)):
            frames, _, _ = samples[index]
            env_marks = {int(frame[0, 0, 0]) for frame in frames if frame.any()}
            assert len(env_marks) == 1, "a query's frames all come from one env"
            steps = [250 * int(frame[0, 1, 0]) + int(frame[0, 2, 0]) for frame in frames if frame.any()]
            assert steps == sorted(steps) and len(set(steps)) == len(steps), "oldest first, no repeats"


@pytest.fixture(scope="module")
def expert_rollouts_and_rows(layout, short_episodes):
    sim = CountingFramesSim(layout, 2)
    return collect(sim, layout, short_episodes, "expert", VlnRunCfg(), progress=False), short_episodes


class TestDagger:
    def test_labels_are_the_experts_for_the_learners_states(self, layout, short_episodes):
        """The learner (always turning left) acts; each label is the expert's action from the pose the learner had."""
        sim = KinematicSim(layout, 1)
        learner = SpinningLearner(sim)
        cfg = VlnRunCfg(max_steps=400, max_still_steps=400)
        rollouts = collect(sim, layout, short_episodes[:1], "dagger_1", cfg, learner=learner, progress=False)
        rows = rollouts.rows
        assert len(rows) == len(learner.poses) > 5
        assert all(row.executed == "turn left 15 degrees" and row.source == "dagger_1" for row in rows)
        assert {type(parse_action(row.answer)) for row in rows} >= {Forward, Turn}
        path = np.asarray(short_episodes[0].reference_path)[:, :2]
        offset = layout.offset(short_episodes[0].scene_id)
        for row, (x, y, yaw) in zip(rows, learner.poses, strict=True):
            assert np.allclose([x, y], path[0] + offset, atol=1e-3), "spinning in place"
            target = path[1] + offset
            error = math.degrees(math.remainder(math.atan2(target[1] - y, target[0] - x) - yaw, math.tau))
            action = parse_action(row.answer)
            assert not isinstance(action, Stop)
            if isinstance(action, Turn):
                assert (
                    math.copysign(1, action.degrees) == math.copysign(1, error)
                    and abs(error) >= EXPERT_TURN_THRESHOLD_DEG
                )
            else:
                assert abs(error) < EXPERT_TURN_THRESHOLD_DEG

    def test_expert_probability_one_executes_the_expert(self, layout, short_episodes):
        """With expert probability 1 every executed answer is the label: the episode succeeds despite the learner."""
        sim = KinematicSim(layout, 1)
        learner = SpinningLearner(sim)
        cfg = VlnRunCfg()
        rollouts = collect(
            sim, layout, short_episodes[:1], "dagger", cfg, learner=learner, expert_probability=1.0, progress=False
        )
        assert all(row.executed == row.answer for row in rollouts.rows)
        assert rollouts.results[0].record.success()

    def test_keep_going_overrides_the_learners_early_stops(self, layout, short_episodes):
        """A learner that always stops ends its episode at the first query, where it stands; with ``keep_going`` its
        stops where the expert walks on execute the expert's answer, so the episode goes on to the expert's stop
        (within its 1 m stop radius of the goal)."""
        learner = ConstantLearner("stop")
        ended = collect(
            KinematicSim(layout, 1), layout, short_episodes[:1], "d", VlnRunCfg(), learner=learner, progress=False
        )
        assert [row.executed for row in ended.rows] == ["stop"] and ended.results[0].record.path_length == 0
        kept = collect(
            KinematicSim(layout, 1),
            layout,
            short_episodes[:1],
            "d",
            VlnRunCfg(),
            learner=learner,
            keep_going=True,
            progress=False,
        )
        assert len(kept.rows) > 1 and all(row.executed == row.answer for row in kept.rows)
        assert kept.rows[-1].answer == "stop" and kept.results[0].record.distance_to_goal < 1.0

    def test_a_learner_that_reads_its_history_gets_the_executed_answers(self, layout, short_episodes):
        """In a DAgger round the learner's history holds what was executed, its own answers and the expert's."""
        learner = HistoryLearner("move forward 25 cm")
        rollouts = collect(
            KinematicSim(layout, 1),
            layout,
            short_episodes[:1],
            "d",
            VlnRunCfg(max_steps=300),
            learner=learner,
            expert_probability=0.5,
            progress=False,
        )
        executed = [row.executed for row in rollouts.rows]
        assert len(executed) > 2 and set(executed) != {"move forward 25 cm"}
        assert learner.histories == [executed[:query] for query in range(len(executed))]

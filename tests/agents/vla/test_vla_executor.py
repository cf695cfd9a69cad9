import math

import pytest
import torch
from navila_agents.vla.executor import (
    ActionExecutor,
    ExecutionMode,
    ExecutorCfg,
    plan_duration,
    relative_to_world,
    wrap_to_pi,
)
from navila_agents.vla.grammar import Forward, Stop, Turn, parse_token

DT = 0.02


def simulate(executor: ActionExecutor, poses: torch.Tensor, tracking: float = 1.0, max_steps: int = 3000) -> int:
    """Unicycle kinematics that achieve ``tracking`` × the commanded velocities; returns the steps taken."""
    for step in range(max_steps):
        if executor.done.all():
            return step
        commands = executor.step(poses) * tracking
        poses[:, 0] += commands[:, 0] * torch.cos(poses[:, 2]) * DT
        poses[:, 1] += commands[:, 0] * torch.sin(poses[:, 2]) * DT
        poses[:, 2] += commands[:, 2] * DT
    return max_steps


def start_poses(n: int) -> torch.Tensor:
    poses = torch.zeros(n, 3)
    poses[:, 0] = torch.arange(n, dtype=torch.float32)
    poses[:, 2] = torch.linspace(-3.0, 3.0, n)
    return poses


def landing_errors(actions, poses_before, poses_after):
    """Distance and heading errors of each env against the ideal outcome of its action."""
    ideal = poses_before.clone()
    for row, action in enumerate(actions):
        if isinstance(action, Forward):
            ideal[row, 0] += action.meters * math.cos(poses_before[row, 2])
            ideal[row, 1] += action.meters * math.sin(poses_before[row, 2])
        elif isinstance(action, Turn):
            ideal[row, 2] += action.radians
    position = (poses_after[:, :2] - ideal[:, :2]).norm(dim=-1)
    heading = wrap_to_pi(poses_after[:, 2] - ideal[:, 2]).abs()
    return position, heading


ACTIONS = [Forward(25), Forward(50), Forward(75), Turn(15), Turn(-30), Turn(45), Turn(-45)]


class TestOpenLoop:
    def test_reference_commands_and_durations(self):
        """Open loop commands (0.5, 0, 0) m/s or (0, 0, ±π/6) rad/s for 0.5/1.0/1.5 s per 25/50/75 cm or 15/30/45°."""
        actions = [Forward(25), Forward(75), Turn(30), Turn(-45)]
        executor = ActionExecutor(4, ExecutorCfg(mode=ExecutionMode.OPEN_LOOP, policy_dt=DT))
        poses = torch.zeros(4, 3)
        executor.start(range(4), actions, poses)
        first = executor.step(poses)
        expected = torch.tensor([[0.5, 0, 0], [0.5, 0, 0], [0, 0, math.pi / 6], [0, 0, -math.pi / 6]])
        assert torch.allclose(first, expected)
        steps_active = torch.ones(4)
        while not executor.done.all():
            steps_active += ~executor.done
            executor.step(poses)
        assert torch.allclose(steps_active * DT, torch.tensor([0.5, 1.5, 1.0, 1.5]))

    def test_perfect_tracking_lands_exactly(self):
        """With perfect velocity tracking, open loop lands on the ideal pose of every action."""
        executor = ActionExecutor(len(ACTIONS), ExecutorCfg(mode=ExecutionMode.OPEN_LOOP, policy_dt=DT))
        poses = start_poses(len(ACTIONS))
        before = poses.clone()
        executor.start(range(len(ACTIONS)), ACTIONS, poses)
        simulate(executor, poses)
        position, heading = landing_errors(ACTIONS, before, poses)
        assert position.max() < 1e-4 and heading.max() < 1e-4


class TestClosedLoop:
    def test_lands_closer_than_open_loop_under_imperfect_tracking(self):
        """At 80% velocity tracking, closed loop lands within tolerance while open loop falls short by ~20%."""
        errors = {}
        for mode in ExecutionMode:
            cfg = ExecutorCfg(mode=mode, policy_dt=DT)
            executor = ActionExecutor(len(ACTIONS), cfg)
            poses = start_poses(len(ACTIONS))
            before = poses.clone()
            executor.start(range(len(ACTIONS)), ACTIONS, poses)
            simulate(executor, poses, tracking=0.8)
            errors[mode] = landing_errors(ACTIONS, before, poses)
            assert not executor.timed_out.any()
        closed_position, closed_heading = errors[ExecutionMode.CLOSED_LOOP]
        open_position, open_heading = errors[ExecutionMode.OPEN_LOOP]
        assert closed_position.max() <= cfg.position_tolerance + 0.01
        assert closed_heading.max() <= cfg.yaw_tolerance + 1e-3
        assert open_position[2] == pytest.approx(0.15, abs=0.01)  # 20% of 75 cm
        assert (closed_position[:3] < open_position[:3]).all() and (closed_heading[3:] < open_heading[3:]).all()

    def test_envs_progress_independently(self):
        """Each env finishes when its own action is done; a new action restarts only that env."""
        executor = ActionExecutor(3, ExecutorCfg(mode=ExecutionMode.CLOSED_LOOP, policy_dt=DT))
        poses = torch.zeros(3, 3)
        executor.start([0, 2], [Forward(25), Forward(75)], poses)
        assert executor.done.tolist() == [False, True, False]
        while not executor.done[0]:
            commands = executor.step(poses)
            poses[:, 0] += commands[:, 0] * DT
        assert not executor.done[2] and commands[1].abs().sum() == 0
        executor.start([1], [Turn(15)], poses)
        assert executor.done.tolist() == [True, False, False]

    def test_times_out_when_the_robot_is_stuck(self):
        """A robot that never moves abandons its action at the timeout and is marked timed out."""
        cfg = ExecutorCfg(mode=ExecutionMode.CLOSED_LOOP, policy_dt=DT, timeout_factor=2.0, timeout_margin=1.0)
        executor = ActionExecutor(1, cfg)
        executor.start([0], [Forward(50)], torch.zeros(1, 3))
        steps = simulate(executor, torch.zeros(1, 3), tracking=0.0)
        assert executor.timed_out.item() and steps == pytest.approx((2.0 * 1.0 + 1.0) / DT, abs=2)


class TestStopAndHold:
    @pytest.mark.parametrize("mode", list(ExecutionMode))
    @pytest.mark.parametrize("action", [Stop(), None])
    def test_done_at_once_with_zero_command(self, mode, action):
        """A stop or a hold is done immediately and commands zero velocity."""
        executor = ActionExecutor(1, ExecutorCfg(mode=mode))
        executor.start([0], [action], torch.zeros(1, 3))
        assert executor.done.item()
        assert executor.step(torch.zeros(1, 3)).abs().sum() == 0


class TestAdapters:
    def test_discrete_tokens_run_on_the_executor(self):
        """Tokens A/B/C execute as forward 25 cm, left 15° and right 15°."""
        actions = [parse_token(token) for token in "ABC"]
        executor = ActionExecutor(3, ExecutorCfg(policy_dt=DT))
        poses = torch.zeros(3, 3)
        executor.start(range(3), actions, poses)
        simulate(executor, poses)
        assert torch.allclose(
            poses, torch.tensor([[0.25, 0, 0], [0, 0, math.radians(15)], [0, 0, -math.radians(15)]]), atol=1e-4
        )

    def test_waypoints_are_tracked_to_the_last_pose(self):
        """A waypoint sequence given in the start frame ends at its last waypoint's position and heading."""
        cfg = ExecutorCfg(mode=ExecutionMode.OPEN_LOOP, policy_dt=DT)
        executor = ActionExecutor(2, cfg)
        poses = torch.tensor([[1.0, 2.0, 0.5], [-1.0, 0.0, -2.0]])
        waypoints = torch.tensor(
            [
                [[1.0, 0.0, 0.0], [1.0, 1.0, math.pi / 2], [0.0, 1.0, math.pi]],
                [[0.5, -0.5, -0.3], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
            ]
        )
        counts = torch.tensor([3, 1])
        goals = relative_to_world(poses, waypoints)[torch.arange(2), counts - 1]
        executor.start_waypoints([0, 1], waypoints, poses, counts)
        simulate(executor, poses, tracking=0.8)
        assert not executor.timed_out.any()
        assert (poses[:, :2] - goals[:, :2]).norm(dim=-1).max() < 0.06
        assert wrap_to_pi(poses[:, 2] - goals[:, 2]).abs().max() < math.radians(1.5)

    def test_dense_waypoints_keep_speed_until_the_last(self):
        """24 waypoints 5 cm apart in a line: driven at full speed through the intermediate ones (1.2 m at 0.5 m/s
        takes 120 steps; slowing down, or pausing a step, at every waypoint would take a quarter longer or more)."""
        executor = ActionExecutor(1, ExecutorCfg(policy_dt=DT))
        poses = torch.zeros(1, 3)
        executor.start_waypoints([0], torch.tensor([[[0.05 * (i + 1), 0.0, 0.0] for i in range(24)]]), poses)
        steps = simulate(executor, poses)
        assert not executor.timed_out.any() and poses[0, 0] == pytest.approx(1.2, abs=0.02)
        assert steps < 135

    def test_rejects_too_many_waypoints(self):
        """Plans longer than max_waypoints are refused."""
        executor = ActionExecutor(1, ExecutorCfg(max_waypoints=4))
        with pytest.raises(ValueError, match="max_waypoints"):
            executor.start_waypoints([0], torch.zeros(1, 5, 3), torch.zeros(1, 3))

    def test_plan_duration_counts_turns_and_drives(self):
        """The nominal duration adds in-place turns at corners, straight drives and the final heading change."""
        duration = plan_duration([(1.0, 0.0, 0.0), (1.0, 1.0, 0.0)], speed=0.5, turn_rate=1.0)
        assert duration == pytest.approx(2.0 + math.pi / 2 + 2.0 + math.pi / 2)

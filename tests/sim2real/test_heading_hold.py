"""The deploy's heading hold: a zero yaw-rate command while walking becomes a correction from the IMU's yaw rate."""

import numpy as np
import pytest
from navila_lab.errors import UserError
from navila_sim2real.command_sources import ConstantVelocity, HeadingHold
from navila_sim2real.commands.deploy import main
from sim2real_support import healthy_observation

RANGES = {"lin_vel_x": [0.0, 1.0], "ang_vel_z": [-1.0, 1.0]}
STEP = 0.02


def walk(hold: HeadingHold, bias: float, seconds: float, start: float = 100.0) -> tuple[float, list[float]]:
    """Close the loop on a robot whose yaw rate is the command's plus ``bias``; its heading change and yaw commands."""
    heading, rate, commands = 0.0, bias, []
    for step in range(round(seconds / STEP)):
        command = hold.velocity(healthy_observation(start + step * STEP, gyro=np.array([0.0, 0.0, rate])))
        commands.append(float(command[2]))
        rate = bias + command[2]
        heading += rate * STEP
    return heading, commands


def test_a_biased_walk_keeps_its_heading():
    """A robot that drifts 0.02 rad/s (−23° over 20 s without the hold) ends within 2° of its start heading, the
    correction bounded by the maximum rate; the forward command passes unchanged."""
    hold = HeadingHold(ConstantVelocity((0.5, 0.0, 0.0), RANGES), gain=1.0, max_rate=0.3)
    heading, commands = walk(hold, bias=-0.02, seconds=20.0)
    assert abs(np.degrees(heading)) < 2.0
    assert max(np.abs(commands)) <= 0.3 and commands[-1] == pytest.approx(0.02, abs=2e-3)
    open_loop, _ = walk(HeadingHold(ConstantVelocity((0.5, 0.0, 0.0), RANGES), gain=0.0), bias=-0.02, seconds=20.0)
    assert np.degrees(open_loop) == pytest.approx(-22.9, abs=0.1)


@pytest.mark.parametrize("command", [(0.5, 0.0, 0.4), (0.0, 0.0, 0.0), (0.0, 0.0, -0.5)], ids=["arc", "stand", "turn"])
def test_turning_and_standing_pass_unchanged_and_end_the_hold(command):
    """A commanded yaw rate, or no motion at all, is the source's command as is; the next straight walk starts from
    a fresh heading."""
    hold = HeadingHold(ConstantVelocity((0.5, 0.0, 0.0), RANGES))
    walk(hold, bias=0.05, seconds=1.0)
    hold.source = ConstantVelocity(command, RANGES)
    spinning = healthy_observation(101.0, gyro=np.array([0.0, 0.0, 0.5]))
    assert np.array_equal(hold.velocity(spinning), np.asarray(command))
    hold.source = ConstantVelocity((0.5, 0.0, 0.0), RANGES)
    assert hold.velocity(healthy_observation(101.02, gyro=np.array([0.0, 0.0, 0.5])))[2] == 0.0
    assert hold.heading_change == 0.0


def test_a_pause_between_policy_steps_restarts_the_heading():
    """After a gap longer than ``max_gap`` (the robot left POLICY) the integrated heading starts again at zero."""
    hold = HeadingHold(ConstantVelocity((0.5, 0.0, 0.0), RANGES), max_gap=0.1)
    walk(hold, bias=0.1, seconds=1.0)
    assert hold.heading_change > 0.0
    hold.velocity(healthy_observation(150.0, gyro=np.array([0.0, 0.0, 0.1])))
    assert hold.heading_change == 0.0


def test_negative_gain_is_a_one_line_error(policy_dir):
    """``--heading-hold`` below zero is refused in one line."""
    with pytest.raises(UserError, match="--heading-hold must be 0") as error:
        main(["--iface", "lo", "--policy", str(policy_dir), "--heading-hold", "-1", "--dry-run"])
    assert "\n" not in str(error.value)

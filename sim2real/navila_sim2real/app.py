"""Assembling a deployment: policy directory + robot connection + command source → a running controller."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from navila_sim2real.cloud_height_map import CloudHeightMap
from navila_sim2real.command_sources import CommandSource, RemoteSticks
from navila_sim2real.control_thread import ControlThread
from navila_sim2real.fsm import StandCfg
from navila_sim2real.policy import PolicyBundle, load_policy_dir
from navila_sim2real.robot import Go2Robot, RobotConfig
from navila_sim2real.safety import Fault, SafetyGuard, SafetyLimits


def make_robot(bundle: PolicyBundle, config: RobotConfig, limits: SafetyLimits | None = None) -> Go2Robot:
    """Build a (not yet connected) robot with the safety layer and, for a LiDAR policy, the cloud height map."""
    spec = bundle.spec
    height_map = None
    if spec.height_map is not None:
        height_map = CloudHeightMap(spec.height_map, spec.lidar.pos, spec.lidar.quat_wxyz)
    return Go2Robot(config, SafetyGuard(limits or SafetyLimits.go2()), height_map)


@dataclass
class Deployment:
    """A connected robot and its running controller; leaving the context stops both and leaves the robot damped."""

    robot: Go2Robot
    controller: ControlThread

    @property
    def status(self) -> tuple[str, Fault | None]:
        """(state, latched fault); DAMP as soon as a fault latches (the safety layer damps from then on).

        The controller's FSM moves to DAMP only on its next step, up to one policy period later.
        """
        fault = self.robot.safety.fault
        return ("DAMP" if fault is not None else self.controller.state), fault

    def __enter__(self) -> Deployment:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.controller.stop()
        self.robot.disconnect()


def deploy(
    policy_dir: str | Path,
    config: RobotConfig,
    commands: CommandSource | None = None,
    limits: SafetyLimits | None = None,
    stand: StandCfg | None = None,
) -> Deployment:
    """Load the policy, connect to the robot and start the 50 Hz controller (in PASSIVE, waiting for the remote).

    Args:
        policy_dir: Directory with ``policy.onnx`` and ``deploy.yaml``.
        config: How to reach the robot.
        commands: Velocity-command source; the remote's sticks by default.
        limits: Safety limits; the Go2's by default.
        stand: Stand-up ramp.
    """
    bundle = load_policy_dir(policy_dir)
    commands = commands or RemoteSticks(bundle.spec.command_ranges)
    robot = make_robot(bundle, config, limits).connect()
    try:
        return Deployment(robot, ControlThread(robot, bundle, commands, stand).start())
    except BaseException:
        robot.disconnect()
        raise

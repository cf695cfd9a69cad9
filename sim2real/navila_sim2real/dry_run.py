"""``navila deploy --dry-run``: run the controller offline on a synthetic robot and show the first commands.

Everything is built as for a real run (policy, observation builder, cloud height map, FSM, safety layer, LowCmd_
with CRC when the SDK is installed) but nothing is published: a scripted remote presses Start, then A once standing,
on a robot that stays in the default pose on a flat floor its LiDAR sees.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
from navila_lab.assets.go2_constants import SDK_JOINT_NAMES

from navila_sim2real.cloud_height_map import BASE_FRAME_IDS, CloudHeightMap, HeightMapReading
from navila_sim2real.command_sources import CommandSource
from navila_sim2real.fsm import ControlContext, Fsm, StandCfg
from navila_sim2real.observation import ObservationBuilder
from navila_sim2real.policy import PolicyBundle
from navila_sim2real.remote import Key, RemoteState
from navila_sim2real.safety import SafetyGuard, SafetyLimits
from navila_sim2real.state import JointCommand, LowState, RobotObservation


def floor_height_map(bundle: PolicyBundle) -> HeightMapReading:
    """Return the height map of one sweep over a flat floor ``start_state.base_height`` below the base."""
    spec = bundle.spec
    if spec.height_map is None:
        return HeightMapReading(None, None, None)
    xs, ys = np.meshgrid(np.arange(-1.0, 2.0, 0.02), np.arange(-1.5, 1.5, 0.02))
    floor = np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, -spec.start_state.base_height)], axis=-1)
    cloud = CloudHeightMap(spec.height_map, spec.lidar.pos, spec.lidar.quat_wxyz)
    cloud.update(floor, BASE_FRAME_IDS[0], 0.0)
    return cloud.latest()


def synthetic_observations(bundle: PolicyBundle, stand: StandCfg) -> Iterator[RobotObservation]:
    """Healthy observations every policy period: Start at the first step, A once the stand ramp is done."""
    spec = bundle.spec
    q = np.asarray(spec.default_joint_pos)[spec.sdk_joint_order]
    height_map, _, map_fault, sweep = floor_height_map(bundle)
    start_step, walk_step = 1, 2 + int(np.ceil(stand.duration / spec.step_dt))
    step = 0
    while True:
        now = step * spec.step_dt
        keys = (Key.START,) if step == start_step else (Key.A,) if step == walk_step else ()
        low = LowState.at_rest(now, q, tick=step, remote=RemoteState.pressing(*keys))
        map_stamp = now if height_map is not None else None
        yield RobotObservation(now, low, now, height_map, map_stamp, map_fault, sweep)
        step += 1


def first_policy_commands(
    bundle: PolicyBundle, commands: CommandSource, count: int = 3, limits: SafetyLimits | None = None
) -> list[tuple[str, JointCommand]]:
    """Run the FSM offline until it has produced ``count`` POLICY commands; returns (state, command after safety)."""
    guard = SafetyGuard(limits or SafetyLimits.go2())
    stand = StandCfg()
    fsm = Fsm(ControlContext(ObservationBuilder(bundle.spec), bundle.policy, commands, guard, stand))
    results: list[tuple[str, JointCommand]] = []
    for obs in synthetic_observations(bundle, stand):
        command = fsm.step(obs)
        for tick in range(round(bundle.spec.step_dt / 0.002)):
            now = obs.now + 0.002 * tick
            sent = guard.filter(replace(obs, now=now, low=replace(obs.low, stamp=now)), command)
        if not results or results[-1][0] != fsm.state.name or fsm.state.name == "POLICY":
            results.append((fsm.state.name, sent))
        if sum(state == "POLICY" for state, _ in results) >= count or guard.fault is not None:
            return results
    return results


def format_commands(results: list[tuple[str, JointCommand]]) -> str:
    """Table of the commands (one column per command, one row per SDK motor), with each LowCmd_'s CRC."""
    header = f"{'motor':<16}" + "".join(f"{state:>22}" for state, _ in results)
    lines = [header, f"{'':<16}" + "".join(f"{'q / kp / kd':>22}" for _ in results)]
    for slot, name in enumerate(SDK_JOINT_NAMES):
        cells = "".join(f"{c.q[slot]:>8.3f} {c.kp[slot]:>6.1f} {c.kd[slot]:>5.2f} " for _, c in results)
        lines.append(f"{name:<16}{cells}")
    if importlib.util.find_spec("unitree_sdk2py") is not None:
        from navila_sim2real.messages import fill_low_cmd, new_low_cmd

        crcs = "".join(f"{fill_low_cmd(new_low_cmd(), c).crc:>22}" for _, c in results)
        lines.append(f"{'LowCmd_ crc':<16}{crcs}")
    return "\n".join(lines)

"""Releasing the Go2's sport mode before low-level control (real robot only; the simulator has none)."""

from __future__ import annotations

import time

from navila_sim2real.errors import RobotError


def release_sport_mode(timeout: float = 10.0) -> None:
    """While the motion switcher reports an active mode: stand down and release it (facts §5).

    Raises:
        RobotError: The motion switcher does not answer, or a mode is still active after ``timeout`` seconds.
    """
    from unitree_sdk2py.comm.motion_switcher.motion_switcher_client import MotionSwitcherClient
    from unitree_sdk2py.go2.sport.sport_client import SportClient

    sport, switcher = SportClient(), MotionSwitcherClient()
    for client in (sport, switcher):
        client.SetTimeout(5.0)
        client.Init()
    deadline = time.monotonic() + timeout
    while True:
        code, mode = switcher.CheckMode()
        if code != 0 or mode is None:
            raise RobotError(f"motion switcher did not answer (code {code}): is the Go2 on this interface?")
        if not mode.get("name"):
            return
        if time.monotonic() > deadline:
            raise RobotError(f"sport mode '{mode['name']}' still active after {timeout:.0f} s")
        sport.StandDown()
        switcher.ReleaseMode()
        time.sleep(1.0)

"""Start-up checks of the robot-side dependencies (CycloneDDS 0.10.x and unitree_sdk2py, facts §5)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from navila_sim2real.errors import RobotError

INSTALL_HINT = "run scripts/install_robot_deps.sh"


def check_cyclonedds() -> str:
    """Version of the cyclonedds binding; raises :class:`RobotError` unless it is 0.10.x and the SDK is there."""
    try:
        version = importlib.metadata.version("cyclonedds")
    except importlib.metadata.PackageNotFoundError:
        raise RobotError(f"cyclonedds is not installed: {INSTALL_HINT}") from None
    if not version.startswith("0.10."):
        raise RobotError(
            f"cyclonedds {version} is installed but 0.10.x is required: newer nodes fail to discover or crash "
            f"the Go2's 0.10 DDS nodes; {INSTALL_HINT}"
        )
    if importlib.util.find_spec("unitree_sdk2py") is None:
        raise RobotError(f"unitree_sdk2py is not installed: {INSTALL_HINT}")
    return version


def check_interface(iface: str) -> None:
    """Raise :class:`RobotError` unless ``iface`` is a network interface of this machine."""
    interfaces = sorted(path.name for path in Path("/sys/class/net").iterdir())
    if iface not in interfaces:
        raise RobotError(f"no network interface '{iface}' on this machine (have: {', '.join(interfaces)})")

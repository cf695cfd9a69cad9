"""The deploy contract: what training exports next to the policy and the robot side reads (``deploy.yaml``).

Plain data only (no Isaac Lab import), so the robot side can load it with PyYAML alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from navila_lab.sensors.height_map import HeightMapSpec

DEPLOY_FILE = "deploy.yaml"
POLICY_JIT = "policy.pt"
POLICY_ONNX = "policy.onnx"
FORMAT_VERSION = 1


@dataclass
class ObservationTerm:
    """One slice of the actor observation, in the order the policy reads them."""

    name: str
    """Term name, e.g. ``base_ang_vel``, ``joint_pos_rel``, ``height_map``."""
    dim: int
    """Width of one frame of the term."""
    scale: float | list[float] = 1.0
    """Multiplier (one, or one per element) applied last, after clipping (Isaac Lab's order)."""
    clip: tuple[float, float] | None = None
    """Clip range applied to the raw quantity, before scaling, if any."""


@dataclass
class DeploySpec:
    """Everything the robot needs to rebuild the policy's input and interpret its output."""

    task: str
    """Gym id the policy was trained on."""
    joint_names: list[str]
    """Joint names in the simulator's (= the policy's) order."""
    sdk_joint_order: list[int]
    """For each SDK motor slot 0..11, the index of that joint in :attr:`joint_names`."""
    default_joint_pos: list[float]
    """Default pose (rad) in the policy's order; actions are offsets from it."""
    stiffness: list[float]
    """PD stiffness (N·m/rad) per joint, policy order."""
    damping: list[float]
    """PD damping (N·m·s/rad) per joint, policy order."""
    effort_limit: list[float]
    """Torque limit (N·m) per joint, policy order."""
    action_scale: float
    """Joint target = default + action_scale · action."""
    step_dt: float
    """Policy period (s)."""
    observations: list[ObservationTerm]
    """Terms of one proprioceptive frame, in order."""
    history_length: int
    """Number of frames (the current one last, oldest first) appended after the current frame."""
    height_map: HeightMapSpec | None = None
    """Grid of the LiDAR height map appended last, or None for a blind policy."""
    lidar_pos: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """LiDAR position (m) in the base frame."""
    lidar_quat_wxyz: list[float] = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0])
    """LiDAR orientation in the base frame."""
    command_ranges: dict[str, list[float]] = field(default_factory=dict)
    """Velocity command ranges the policy was trained on (``lin_vel_x``, ``ang_vel_z``, ...)."""
    action_clip: float | None = None
    """Actions are clipped to ±this before use (and before being fed back as the last action), if set."""
    format_version: int = FORMAT_VERSION

    @property
    def proprio_dim(self) -> int:
        """Width of one proprioceptive frame."""
        return sum(term.dim for term in self.observations)

    @property
    def obs_dim(self) -> int:
        """Width of the full actor observation."""
        height = self.height_map.size if self.height_map is not None else 0
        return self.proprio_dim * (1 + self.history_length) + height

    def save(self, directory: str | Path) -> Path:
        """Write ``deploy.yaml`` into ``directory``."""
        data = asdict(self)
        data["height_map"] = self.height_map.to_dict() if self.height_map is not None else None
        for term in data["observations"]:
            term["clip"] = list(term["clip"]) if term["clip"] is not None else None
        path = Path(directory) / DEPLOY_FILE
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> DeploySpec:
        """Read ``deploy.yaml`` from ``directory``; raises ``ValueError`` with one clear line if it is unusable."""
        path = Path(directory) / DEPLOY_FILE
        if not path.is_file():
            raise ValueError(f"no {DEPLOY_FILE} in {directory}: export a policy with 'navila export' first")
        data = yaml.safe_load(path.read_text())
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a navila deploy file of format version {FORMAT_VERSION}")
        try:
            data["observations"] = [ObservationTerm(**term) for term in data["observations"]]
            for term in data["observations"]:
                term.clip = tuple(term.clip) if term.clip is not None else None
            if data.get("height_map") is not None:
                data["height_map"] = HeightMapSpec.from_dict(data["height_map"])
            spec = cls(**data)
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: malformed deploy file ({error})") from None
        if sorted(spec.sdk_joint_order) != list(range(len(spec.joint_names))):
            raise ValueError(f"{path}: sdk_joint_order is not a permutation of the {len(spec.joint_names)} joints")
        return spec

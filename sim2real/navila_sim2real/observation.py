"""The actor observation rebuilt on the robot exactly as ``deploy.yaml`` describes it.

Layout (as rsl_rl concatenates the actor's groups): the current proprioceptive frame, then the last
``history_length`` frames oldest first, the current frame included as the last one (Isaac Lab appends a frame to an
observation group's history before reading it), then the flattened height map (row-major, rows along the LiDAR x
axis). Each term is clipped then scaled as its :class:`~navila_lab.deploy_spec.ObservationTerm` says (Isaac Lab's
order). When the policy starts, the history is filled with copies of the first frame, as Isaac Lab's
``CircularBuffer`` does after a reset.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
from navila_lab.deploy_spec import DeploySpec

from navila_sim2real.geometry import projected_gravity
from navila_sim2real.state import LowState

_TERMS: dict[str, tuple[int, Callable[..., np.ndarray]]] = {
    "base_ang_vel": (3, lambda low, cmd, q_rel, dq, action: low.gyro),
    "projected_gravity": (3, lambda low, cmd, q_rel, dq, action: projected_gravity(low.quat)),
    "base_rpy": (3, lambda low, cmd, q_rel, dq, action: low.rpy),
    "velocity_commands": (3, lambda low, cmd, q_rel, dq, action: cmd),
    "joint_pos_rel": (12, lambda low, cmd, q_rel, dq, action: q_rel),
    "joint_vel_rel": (12, lambda low, cmd, q_rel, dq, action: dq),
    "last_action": (12, lambda low, cmd, q_rel, dq, action: action),
}
"""Term name → (width, value of (low state, command, joint pos rel, joint vel, last action) in policy order)."""

ALIASES: dict[str, str] = {
    "rpy": "base_rpy",
    "gravity": "projected_gravity",
    "velocity_command": "velocity_commands",
    "generated_commands": "velocity_commands",
    "joint_pos": "joint_pos_rel",
    "joint_vel": "joint_vel_rel",
    "actions": "last_action",
}
"""Other names exporters use for the same quantities."""


def resolve_term(name: str) -> str:
    """Canonical term name; raises ``ValueError`` for a term the robot cannot compute."""
    canonical = ALIASES.get(name, name)
    if canonical not in _TERMS:
        raise ValueError(f"observation term '{name}' is not available on the robot (known: {', '.join(_TERMS)})")
    return canonical


def check_terms(spec: DeploySpec) -> None:
    """Raise ``ValueError`` with one line if a term is unknown or its width differs from the robot's."""
    for term in spec.observations:
        width = _TERMS[resolve_term(term.name)][0]
        if term.dim != width:
            raise ValueError(f"observation term '{term.name}' has width {term.dim} in deploy.yaml, robot has {width}")


class ObservationBuilder:
    """Builds the policy input from robot state, keeping the proprioceptive history and the last action."""

    def __init__(self, spec: DeploySpec) -> None:
        """Prepare for ``spec`` (validated with :func:`check_terms`)."""
        check_terms(spec)
        self.spec = spec
        self._terms = [(_TERMS[resolve_term(t.name)][1], np.asarray(t.scale), t.clip) for t in spec.observations]
        self._sdk_order = np.asarray(spec.sdk_joint_order)
        self._default = np.asarray(spec.default_joint_pos, dtype=np.float64)
        self._history: deque[np.ndarray] = deque(maxlen=spec.history_length)
        self.last_action = np.zeros(len(spec.joint_names))

    def to_policy_order(self, sdk_values: np.ndarray) -> np.ndarray:
        """Reorder a per-joint array from SDK order to the policy's order."""
        values = np.empty(len(self._sdk_order))
        values[self._sdk_order] = sdk_values
        return values

    def to_sdk_order(self, policy_values: np.ndarray) -> np.ndarray:
        """Reorder a per-joint array from the policy's order to SDK order."""
        return np.asarray(policy_values)[self._sdk_order]

    def reset(self) -> None:
        """Forget the history and the last action (when the policy starts)."""
        self._history.clear()
        self.last_action = np.zeros(len(self.spec.joint_names))

    def frame(self, low: LowState, command: np.ndarray) -> np.ndarray:
        """Compute the current proprioceptive frame."""
        inputs = (low, command, self.to_policy_order(low.q) - self._default, self.to_policy_order(low.dq))
        parts = []
        for value, scale, clip in self._terms:
            part = np.asarray(value(*inputs, self.last_action), dtype=np.float64)
            parts.append((np.clip(part, *clip) if clip is not None else part) * scale)
        return np.concatenate(parts)

    def build(self, low: LowState, command: np.ndarray, height_map: np.ndarray | None) -> np.ndarray:
        """Full observation (float32, ``spec.obs_dim``) and push the current frame into the history."""
        if self.spec.height_map is not None and height_map is None:
            raise ValueError("the policy reads a height map but none has been received")
        current = self.frame(low, command)
        self._history.extend([current] * (self.spec.history_length if not self._history else 1))
        parts = [current, *self._history]
        if self.spec.height_map is not None:
            parts.append(np.asarray(height_map, dtype=np.float64).reshape(-1))
        return np.concatenate(parts).astype(np.float32)

    def targets(self, action: np.ndarray) -> np.ndarray:
        """Joint position targets in SDK order for a policy action (clipped as in training); remembers the action."""
        action = np.asarray(action, dtype=np.float64)
        if self.spec.action_clip is not None:
            action = np.clip(action, -self.spec.action_clip, self.spec.action_clip)
        self.last_action = action.copy()
        return self.to_sdk_order(self._default + self.spec.action_scale * self.last_action)

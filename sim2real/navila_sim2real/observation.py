"""The actor observation rebuilt on the robot exactly as ``deploy.yaml`` describes it.

Each term of the contract's vocabulary (:data:`navila_lab.deploy_spec.OBSERVATION_TERMS`, the env's term names) is
computed here from the robot's state; its width, scale, clip and the history layout are read from ``deploy.yaml``.
Layout (as rsl_rl concatenates the actor's groups): the current frame, then the last ``history.length`` frames oldest
first with the current one last (Isaac Lab appends a frame to a group's history before reading it), then the
flattened height map. Each term is clipped then scaled (Isaac Lab's order). When the policy starts, the history
holds copies of the first frame, as Isaac Lab's ``CircularBuffer`` does after a reset.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from navila_lab.deploy_spec import DeploySpec

from navila_sim2real.geometry import projected_gravity, quat_to_rpy
from navila_sim2real.state import LowState


@dataclass(frozen=True)
class TermInputs:
    """What the terms are computed from, joint arrays in the policy's order."""

    low: LowState
    command: np.ndarray
    joint_pos_rel: np.ndarray
    joint_vel: np.ndarray
    last_action: np.ndarray


TERMS: dict[str, Callable[[TermInputs], np.ndarray]] = {
    "base_ang_vel": lambda x: x.low.gyro,
    "base_rpy": lambda x: quat_to_rpy(x.low.quat),
    "projected_gravity": lambda x: projected_gravity(x.low.quat),
    "velocity_commands": lambda x: x.command,
    "joint_pos": lambda x: x.joint_pos_rel,
    "joint_vel": lambda x: x.joint_vel,
    "actions": lambda x: x.last_action,
}
"""Each term of the vocabulary computed from the robot's state (meanings in ``deploy.yaml``)."""


def check_terms(spec: DeploySpec) -> None:
    """Raise ``ValueError`` with one line unless the robot computes every term of ``spec`` at its width."""
    sample = TermInputs(LowState.at_rest(0.0, np.zeros(12)), np.zeros(3), np.zeros(12), np.zeros(12), np.zeros(12))
    for term in spec.observations:
        if term.name not in TERMS:
            raise ValueError(f"observation term '{term.name}' is not computed on the robot (known: {', '.join(TERMS)})")
        width = len(TERMS[term.name](sample))
        if term.dim != width:
            raise ValueError(f"observation term '{term.name}' has width {term.dim} in deploy.yaml, robot has {width}")


class ObservationBuilder:
    """Builds the policy input from robot state, keeping the proprioceptive history and the last action."""

    def __init__(self, spec: DeploySpec) -> None:
        """Prepare for ``spec`` (validated with :func:`check_terms`)."""
        check_terms(spec)
        self.spec = spec
        self._terms = [(TERMS[t.name], np.asarray(t.scale), t.clip) for t in spec.observations]
        self._sdk_order = np.asarray(spec.sdk_joint_order)
        self._default = np.asarray(spec.default_joint_pos, dtype=np.float64)
        self._history: deque[np.ndarray] = deque(maxlen=spec.history.length)
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
        q_rel = self.to_policy_order(low.q) - self._default
        inputs = TermInputs(low, command, q_rel, self.to_policy_order(low.dq), self.last_action)
        parts = []
        for value, scale, clip in self._terms:
            part = np.asarray(value(inputs), dtype=np.float64)
            parts.append((np.clip(part, *clip) if clip is not None else part) * scale)
        return np.concatenate(parts)

    def build(self, low: LowState, command: np.ndarray, height_map: np.ndarray | None) -> np.ndarray:
        """Full observation (float32, ``spec.obs_dim``) and push the current frame into the history."""
        if self.spec.height_map is not None and height_map is None:
            raise ValueError("the policy reads a height map but none has been received")
        current = self.frame(low, command)
        self._history.extend([current] * (self.spec.history.length if not self._history else 1))
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

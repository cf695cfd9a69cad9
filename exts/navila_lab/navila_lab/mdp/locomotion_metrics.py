"""Per-step locomotion quantities and their per-env totals, as the evaluation recorder accumulates them.

Plain torch: :class:`~navila_lab.mdp.recorders.EvalMetricsRecorder` feeds these functions each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

SPEED_BINS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Default commanded forward speeds (m/s); each env keeps one for the whole run."""
CONTACT_THRESHOLD = 1.0
"""Normal force (N) above which a body counts as touching (the tasks' illegal-contact threshold)."""


def tracking_errors(
    lin_vel_b: torch.Tensor, ang_vel_b: torch.Tensor, command: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Planar velocity error ‖v_xy − c_xy‖ (m/s) and yaw rate error |ω_z − c_ωz| (rad/s), base frame, per env."""
    return torch.linalg.norm(lin_vel_b[:, :2] - command[:, :2], dim=-1), torch.abs(ang_vel_b[:, 2] - command[:, 2])


def joint_power(torque: torch.Tensor, joint_vel: torch.Tensor) -> torch.Tensor:
    """Mechanical power Σ_j |τ_j · q̇_j| (W) of the joints, per env."""
    return torch.abs(torque * joint_vel).sum(dim=-1)


def touching(normal_forces: torch.Tensor, threshold: float = CONTACT_THRESHOLD) -> torch.Tensor:
    """Whether each env touches the partner with any body in any sub-step; forces are (envs, history, bodies, 3)."""
    return (torch.linalg.norm(normal_forces, dim=-1) > threshold).flatten(1).any(dim=1)


def obstacle_contact(
    normal_forces: torch.Tensor, is_foot: torch.Tensor, threshold: float = CONTACT_THRESHOLD
) -> torch.Tensor:
    """Whether each env hits an obstacle of the terrain in any sub-step; forces are (envs, history, bodies, 3).

    A hit is a contact of a non-foot body (base, head, hip, thigh, calf) with the terrain, or a foot contact whose
    normal force is more horizontal than vertical, i.e. a foot against a face steeper than 45° (an obstacle's side,
    not the ground or a slope).
    """
    in_contact = torch.linalg.norm(normal_forces, dim=-1) > threshold
    steep = torch.linalg.norm(normal_forces[..., :2], dim=-1) > normal_forces[..., 2].abs()
    return (in_contact & (~is_foot | steep)).flatten(1).any(dim=1)


def non_foot_contact(
    normal_forces: torch.Tensor, is_foot: torch.Tensor, threshold: float = CONTACT_THRESHOLD
) -> torch.Tensor:
    """Whether a body other than a foot touches the partner in any sub-step; forces are (envs, history, bodies, 3)."""
    return ((torch.linalg.norm(normal_forces, dim=-1) > threshold) & ~is_foot).flatten(1).any(dim=1)


def each_partner(force_matrix: torch.Tensor) -> torch.Tensor:
    """A filtered sensor's (envs, history, bodies, partners, 3) forces as (envs, history · partners, bodies, 3).

    One slot per sub-step and partner, so the per-body tests above look at every partner the filter matched.
    """
    return force_matrix.transpose(2, 3).flatten(1, 2)


def onsets(now: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
    """Contacts that begin this step (touching now, not at the previous step of the episode)."""
    return now & ~before


def speed_slots(columns: torch.Tensor, num_speeds: int) -> torch.Tensor:
    """Index of each env's commanded speed: the envs of one terrain column take the speeds in turn."""
    order = torch.argsort(columns, stable=True)
    ordered = columns[order]
    rank = torch.empty_like(columns)
    rank[order] = torch.arange(len(columns), device=columns.device) - torch.searchsorted(ordered, ordered)
    return rank % num_speeds


@dataclass
class EvalTotals:
    """Per-env sums of an evaluation run, over its counted steps and episodes; every field is a (num_envs,) tensor."""

    steps: torch.Tensor
    """Counted policy steps."""
    episodes: torch.Tensor
    """Counted episodes (begun, finished or not)."""
    ended: torch.Tensor
    """Counted episodes that ended (fall or time-out)."""
    falls: torch.Tensor
    """Episodes ended by a termination term other than a time-out."""
    lin_vel_error: torch.Tensor
    """Sum over steps of the planar velocity error (m/s)."""
    yaw_vel_error: torch.Tensor
    """Sum over steps of the yaw rate error (rad/s)."""
    forward_speed: torch.Tensor
    """Sum over steps of the base forward velocity (m/s, base frame)."""
    power: torch.Tensor
    """Sum over steps of the joints' mechanical power Σ|τ·q̇| (W)."""
    distance: torch.Tensor
    """Path length of the base in the horizontal plane (m)."""
    obstacle_contacts: torch.Tensor
    """Onsets of obstacle contacts (see :func:`obstacle_contact`)."""
    glass_contacts: torch.Tensor
    """Onsets of contacts of any body with glass."""
    collisions: torch.Tensor
    """Counted episodes with a contact of a non-foot body with a wall (obstacle box or glass pane): the numerator of
    NaVILA's collision rate (Table V)."""
    level_start: torch.Tensor
    """Terrain level of the first counted episode."""
    level_end: torch.Tensor
    """Terrain level the curriculum gave after the last counted episode (its level while still running)."""
    terminations: dict[str, torch.Tensor]
    """Termination term name → counted episodes it ended (terms may fire together)."""

    @classmethod
    def zeros(cls, num_envs: int, term_names: Sequence[str], device: str | torch.device) -> EvalTotals:
        """All-zero totals for ``num_envs`` envs and the given termination terms."""
        values = {f.name: torch.zeros(num_envs, dtype=torch.float64, device=device) for f in fields(cls)}
        values["terminations"] = {name: torch.zeros_like(values["steps"]) for name in term_names}
        return cls(**values)

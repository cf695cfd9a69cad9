"""The control-barrier speed limit of the glass-safe objective, and its robot-side twin read off the LiDAR height map.

``h = d − d_stop`` for the free distance ``d`` ahead of the robot's footprint in the commanded direction, with the
class-K function ``γ·h`` (Ames et al., "Control Barrier Functions: Theory and Applications", ECC 2019): ``ḣ = −v ≥
−γ·h`` gives ``v ≤ γ·(d − d_stop)``. Training computes ``d`` from the terrain's walls (privileged,
:mod:`navila_lab.mdp.safety`); :class:`HeightMapGovernor` computes it from one LiDAR sweep's height map, which the
robot has, and caps the command the policy is given (a safety filter in front of the policy, as "Agile But Safe"
puts a reach-avoid shield in front of its agile policy). This module imports only torch: the robot side uses it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from navila_lab.sensors.height_map import HeightMapSpec

BARRIER_GAIN = 2.0
"""γ (1/s): speed allowed per metre of free way beyond the stop distance."""
STOP_DISTANCE = 0.15
"""d_stop (m): gap kept between the footprint's front and a wall."""
LOOKAHEAD = 0.8
"""Free distance (m) looked at beyond the footprint: the barrier allows more than any command (1 m/s) past it, and
the LiDAR height map reaches ~0.7 m past the front (0.8 m ahead of the sensor on the head)."""
FOOTPRINT = (0.36, 0.25)
"""Half length and half width (m) of the footprint around the Go2's base: head front 0.34 m; feet ±0.15 m, but a
walking robot sweeps calves and feet up to ~0.2 m sideways and drifts away from a pane edge it passes
(``benchmarks/pane_edge_probe.py``: edges within 0.15 m of the centerline were brushed with a 0.18 m half width)."""
TURN_STOP_RADIUS = 0.45
"""r_stop (m): distance from the base to the nearest wall within which a robot may not turn: turning in place, a Go2's
rear thighs reach walls up to 0.40 m beside its base (``benchmarks/wall_turn_probe.py``, ``results/wall_turn.md``)."""
TURN_GAIN = 4.0
"""γ_turn (1/s per m): yaw rate allowed per metre of clearance beyond :data:`TURN_STOP_RADIUS`."""
TURN_LOOKAHEAD = 0.25
"""Clearance (m) looked at beyond :data:`TURN_STOP_RADIUS`: the turn barrier allows any command (1 rad/s) past it."""
TURN_FRONT_CONE = math.pi / 3
"""Half angle (rad) of the cone ahead of the base that the turn barrier ignores: turning in place, the head sweeps
only ~0.34 m and a wall 0.40 m ahead is not touched, so a robot stopped facing a wall turns away freely."""
RAISED_STEP = 0.15
"""Height (m) by which a height-map cell must stand above a neighbour to count as the face of a wall: the training
obstacles are ≥ 0.3 m tall; slopes and rough ground change by a few cm per 0.06 m cell."""


def footprint_extent(heading: torch.Tensor, footprint: Sequence[float] = FOOTPRINT) -> tuple[torch.Tensor, ...]:
    """Half length along and half width across a unit planar ``heading`` (N, 2) of the footprint's bounding box."""
    along, across = heading.abs().unbind(-1)
    return footprint[0] * along + footprint[1] * across, footprint[0] * across + footprint[1] * along


def limit_command(
    command: torch.Tensor, free: torch.Tensor, gain: float = BARRIER_GAIN, stop_distance: float = STOP_DISTANCE
) -> torch.Tensor:
    """Command (vx, vy, ωz) with its planar speed capped at ``gain·(free − stop_distance)``; the yaw rate is kept.

    A robot stopped at a wall ahead turns away when told to; turning is capped by :func:`limit_turn` alone.
    """
    speed = torch.linalg.norm(command[:, :2], dim=1)
    allowed = torch.minimum(speed, (gain * (free - stop_distance)).clamp(min=0.0))
    scale = allowed / speed.clamp(min=1e-6)
    return torch.cat((command[:, :2] * scale.unsqueeze(1), command[:, 2:]), dim=1)


def limit_turn(
    command: torch.Tensor, clearance: torch.Tensor, gain: float = TURN_GAIN, stop_radius: float = TURN_STOP_RADIUS
) -> torch.Tensor:
    """Command (vx, vy, ωz) with its yaw rate capped by the clearance on the side the turn swings the rear towards.

    ``clearance`` (N, 2): distance to the nearest wall on the base's left and on its right. Turning right (ωz < 0)
    swings the rear legs to the left, so its rate is capped at ``gain·(left − stop_radius)``; turning left, by the
    right clearance. Turning towards a wall is not capped: the robot comes to face it and the head, sweeping ~0.34 m,
    touches nothing from 0.30 m on (``results/wall_turn.md``). vx, vy are kept.
    """
    allowed = (gain * (clearance - stop_radius)).clamp(min=0.0)
    return torch.cat((command[:, :2], command[:, 2:].clamp(-allowed[:, :1], allowed[:, 1:])), dim=1)


def turn_directions(yaw: torch.Tensor, reach: float, pitch: float) -> torch.Tensor:
    """(N, 2, K, 2) world-frame unit directions beside and behind bases of heading ``yaw`` (N,), outside the cone ahead.

    Index 0 holds the left side's, 1 the right side's, each reaching round to straight behind. They are at most
    ``pitch / reach`` radians apart (:meth:`~navila_lab.terrains.walls.WallMap.clearance`).
    """
    count = math.ceil((math.pi - TURN_FRONT_CONE) * reach / pitch) + 1
    side = torch.linspace(TURN_FRONT_CONE, math.pi, count, device=yaw.device)
    angles = yaw[:, None, None] + torch.stack((side, -side))
    return torch.stack((angles.cos(), angles.sin()), dim=-1)


def _neighbours(maps: torch.Tensor, outside: float) -> torch.Tensor:
    """(B, 4, rows, cols): each cell's neighbour towards the robot heading +x, −x, +y, −y (``outside`` off the map).

    The neighbour away from the robot is that of the opposite heading (index ``^ 1``).
    """
    padded = F.pad(maps.unsqueeze(1), (1, 1, 1, 1), value=outside).squeeze(1)
    return torch.stack((padded[:, 2:, 1:-1], padded[:, :-2, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]), dim=1)


def planar_heading(command: torch.Tensor) -> torch.Tensor:
    """Unit direction (N, 2) of each command's planar velocity ((0, 0) for a zero command)."""
    speed = torch.linalg.norm(command[:, :2], dim=1, keepdim=True)
    return command[:, :2] / speed.clamp(min=1e-6)


class HeightMapGovernor:
    """Caps velocity commands at the barriers' for what one LiDAR sweep's height map shows ahead and beside.

    The planar speed by the free distance ahead; the yaw rate by the clearance beside (:meth:`turn_clearance`).

    A cell is a wall face when it stands :data:`RAISED_STEP` above its neighbour on the robot's side (map values are
    depths below the inverted sensor: a smaller value is a higher surface; 0 is above the sensor's clip or unseen, e.g.
    the shadow behind a pane). Each cell's base-frame position is its center at its own depth through the LiDAR mount.
    The free distance is that of the nearest face cell in the band of the footprint's width swept from its front
    along the commanded direction, less the max-pool's growth of the floor (``pool_size // 2`` cells, none for
    ``pool == "gaps"``) and half a cell; :data:`LOOKAHEAD` where the band holds none. The map covers ~1 m ahead of the
    base and little behind it: commands backwards pass almost unchanged.

    Use the latest sweep, not the fused map: the element-wise max over sweeps keeps the lowest surface any of them saw
    in a cell, so a wall the robot walks towards shows only where its oldest sweep saw it (at 1 m/s up to 0.32 m too
    far, ``results/map_lag.md``).
    """

    def __init__(
        self,
        spec: HeightMapSpec,
        lidar_pos: Sequence[float],
        lidar_rotation: torch.Tensor,
        footprint: Sequence[float] = FOOTPRINT,
        raised_step: float = RAISED_STEP,
        lookahead: float = LOOKAHEAD,
        turn_stop_radius: float | None = TURN_STOP_RADIUS,
    ) -> None:
        """Maps of ``spec`` from a LiDAR at ``lidar_pos``, rotated by ``lidar_rotation`` (3 × 3, sensor → base).

        ``turn_stop_radius``: the turn barrier's stop radius (:func:`limit_turn`); None keeps every yaw rate.
        """
        self.spec = spec
        self.footprint = tuple(footprint)
        self.raised_step = raised_step
        self.lookahead = lookahead
        self.turn_stop_radius = turn_stop_radius
        rows, cols = spec.shape
        x = spec.x_range[0] + (torch.arange(rows) + 0.5) * spec.resolution
        y = spec.y_range[0] + (torch.arange(cols) + 0.5) * spec.resolution
        self._cells = torch.stack(torch.meshgrid(x, y, indexing="ij"), dim=-1)  # (rows, cols, 2), sensor frame
        self.lidar_rotation = torch.as_tensor(lidar_rotation, dtype=torch.float32)
        """Sensor → base rotation matrix."""
        self.lidar_pos = torch.as_tensor(lidar_pos, dtype=torch.float32)
        """Sensor origin (m) in the base frame."""
        floor_growth = spec.pool_size // 2 if spec.pool == "max" else 0  # "gaps", "open" keep measured cells
        self._growth = (floor_growth + 0.5) * spec.resolution

    def wall_faces(self, height_map: torch.Tensor, heading: torch.Tensor) -> torch.Tensor:
        """(B, rows, cols) True where a cell and the one beyond stand :attr:`raised_step` above the robot's side.

        The neighbours are taken along the heading's main axis in the map (rows run against the base x axis, columns
        along its y axis), so a face met head-on counts and a drop-off does not. The cell beyond confirms the face
        (a pane with its shadow, a box): a single unseen cell of a sweep, or one at the map's far edge, does not.
        """
        rows = torch.arange(len(heading), device=heading.device)
        lateral = heading[:, 1].abs() > heading[:, 0].abs()
        axis = torch.where(lateral, 2 + (heading[:, 1] < 0).long(), (heading[:, 0] < 0).long())
        nearer = _neighbours(height_map, -torch.inf)[rows, axis]  # off the map: never a face
        beyond = _neighbours(height_map, torch.inf)[rows, axis ^ 1]  # off the map: never confirms
        return (nearer - height_map > self.raised_step) & (nearer - beyond > self.raised_step)

    def free_distance(self, height_map: torch.Tensor, heading: torch.Tensor) -> torch.Tensor:
        """Free distance (m, ≤ :attr:`lookahead`) ahead of the footprint along each unit ``heading`` (B, 2)."""
        maps = height_map.reshape(-1, *self.spec.shape)
        points = self._base_points(maps)
        half_length, half_width = footprint_extent(heading, self.footprint)
        offset = points - (heading * half_length.unsqueeze(1))[:, None, None, :]
        along = (offset * heading[:, None, None, :]).sum(-1)
        across = (offset[..., 0] * heading[:, None, None, 1] - offset[..., 1] * heading[:, None, None, 0]).abs()
        in_band = (across <= half_width[:, None, None]) & (along >= -self.spec.resolution)
        distance = torch.where(self.wall_faces(maps, heading) & in_band, along - self._growth, torch.inf)
        return distance.flatten(1).amin(dim=1).clamp(min=0.0, max=self.lookahead)

    def turn_clearance(self, height_map: torch.Tensor) -> torch.Tensor:
        """(B, 2) distance (m) from the base to the nearest wall face the map shows on the robot's left and right.

        Faces met sideways, outside the front cone (:data:`TURN_FRONT_CONE`), less the pool's growth; at most the stop
        radius plus :data:`TURN_LOOKAHEAD`. The map starts ~0.1 m ahead of the base: a wall beside the robot shows where
        it runs on beside the head, a wall beside the rear legs alone does not.
        """
        maps = height_map.reshape(-1, *self.spec.shape)
        points = self._base_points(maps)
        sideways = torch.tensor([[0.0, 1.0]], device=maps.device).expand(maps.shape[0], -1)
        faces = self.wall_faces(maps, sideways) | self.wall_faces(maps, -sideways)
        beside = faces & (torch.atan2(points[..., 1].abs(), points[..., 0]) > TURN_FRONT_CONE)
        distance = torch.linalg.norm(points, dim=-1) - self._growth
        reach = (self.turn_stop_radius or 0.0) + TURN_LOOKAHEAD
        sides = [
            torch.where(beside & on_side, distance, torch.inf) for on_side in (points[..., 1] >= 0, points[..., 1] <= 0)
        ]
        return torch.stack([side.flatten(1).amin(dim=1) for side in sides], dim=1).clamp(min=0.0, max=reach)

    def _base_points(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, rows, cols, 2) base-frame x-y of each cell's center at its own depth."""
        rotation, position = self.lidar_rotation.to(maps.device), self.lidar_pos.to(maps.device)
        cells = self._cells.to(maps.device).expand(maps.shape[0], -1, -1, -1)
        return torch.cat((cells, maps.unsqueeze(-1)), dim=-1) @ rotation[:2].T + position[:2]

    def __call__(self, command: torch.Tensor, height_map: torch.Tensor) -> torch.Tensor:
        """``command`` (B, 3; vx, vy, ωz in the base frame) capped for the sweep's ``height_map`` (B, rows·cols).

        The planar speed by the free distance ahead; with a turn stop radius, the yaw rate by the clearance beside.
        """
        command = limit_command(command, self.free_distance(height_map, planar_heading(command)))
        if self.turn_stop_radius is None:
            return command
        return limit_turn(command, self.turn_clearance(height_map), stop_radius=self.turn_stop_radius)

"""Wall tags and the wall footprint map (no simulator): what is occupied, and how far a robot's front can sweep."""

import math

import numpy as np
import pytest
import torch
import trimesh
from navila_lab.terrains.walls import GLASS, OBSTACLES, WallMap, tag_wall, wall_kind


def pane(x: float, y: float, yaw: float = 0.0, length: float = 2.0, thickness: float = 0.02) -> trimesh.Trimesh:
    """A vertical glass pane 1 m tall centered at (x, y), its long side along y rotated by ``yaw``."""
    mesh = trimesh.creation.box((thickness, length, 1.0))
    transform = trimesh.transformations.rotation_matrix(yaw, (0.0, 0.0, 1.0))
    transform[:3, 3] = x, y, 0.5
    return tag_wall(mesh.apply_transform(transform), GLASS)


def gap_to_pane(start, direction, along, yaw: float, half_width: float = 0.15) -> torch.Tensor:
    """(envs, len(along)) distance from the segment swept ``along`` each direction to the footprint of a 2 × 0.02 m pane
    centered at the origin and turned by ``yaw`` (dense lanes)."""
    across = torch.linspace(-half_width, half_width, 151)
    normal = torch.stack((-direction[:, 1], direction[:, 0]), -1)
    points = (
        start[:, None, None]
        + along[..., None, None] * direction[:, None, None]
        + across[:, None] * normal[:, None, None]
    )
    local_x = points[..., 0] * math.cos(yaw) + points[..., 1] * math.sin(yaw)
    local_y = points[..., 1] * math.cos(yaw) - points[..., 0] * math.sin(yaw)
    outside = torch.stack(((local_x.abs() - 0.01).clamp(min=0), (local_y.abs() - 1.0).clamp(min=0)), -1)
    return torch.linalg.norm(outside, dim=-1).min(-1).values


class TestTags:
    def test_kind_round_trip(self):
        """Tagged meshes report their kind; untagged ones are ground; unknown kinds are refused."""
        box = trimesh.creation.box((1.0, 1.0, 1.0))
        assert wall_kind(box) is None
        assert wall_kind(tag_wall(box, OBSTACLES)) == OBSTACLES
        with pytest.raises(ValueError, match="unknown wall kind"):
            tag_wall(box, "curtain")


class TestWallMap:
    def test_points_near_a_thin_pane_are_blocked_and_far_ones_free(self):
        """Every point within the margin of a 2 cm pane reads occupied; points a cell diagonal beyond it read free."""
        walls = WallMap.from_meshes([pane(1.0, 0.0)])
        y = torch.linspace(-0.99, 0.99, 101)
        for x in (1.0 - 0.01 - walls.margin + 1e-4, 1.0, 1.0 + 0.01 + walls.margin - 1e-4):
            assert walls.blocked(torch.stack((torch.full_like(y, x), y), -1)).all()
        reach = walls.margin + walls.resolution * math.sqrt(2.0)
        for x in (1.0 - 0.01 - reach - 1e-3, 1.0 + 0.01 + reach + 1e-3):
            assert not walls.blocked(torch.stack((torch.full_like(y, x), y), -1)).any()
        assert not walls.blocked(torch.tensor([[1.0, 1.2], [50.0, 0.0], [-50.0, 0.0]])).any()

    def test_empty_map_is_free(self):
        """A terrain without walls blocks nothing and leaves the whole lookahead free."""
        walls = WallMap.from_meshes([])
        assert not walls.blocked(torch.zeros(3, 2)).any()
        distance = walls.free_distance(torch.zeros(3, 2), torch.tensor([[1.0, 0.0]] * 3), torch.ones(3), 1.5, 1.0)
        assert torch.equal(distance, torch.full((3,), 1.5))

    def test_free_distance_to_a_pane_ahead_beside_and_behind(self):
        """The distance to a pane ahead is its distance less at most the occupied band; a pane beside the swept
        corridor, behind, or beyond the lookahead leaves the way free."""
        walls = WallMap.from_meshes([pane(1.0, 0.0, length=1.0)])
        start = torch.tensor([[0.0, 0.0], [0.0, 0.85], [0.0, 0.85], [2.0, 0.0], [-1.0, 0.0]])
        half_width = torch.tensor([0.2, 0.2, 0.4, 0.2, 0.2])
        distance = walls.free_distance(start, torch.tensor([[1.0, 0.0]] * 5), half_width, 1.5, 0.4)
        reach = walls.margin + walls.resolution * math.sqrt(2.0)
        assert 0.99 - reach <= distance[0] <= 0.99
        assert distance[1] == 1.5, "the pane ends 0.15 m beside the corridor, more than the occupied band"
        assert distance[2] < 1.0, "a wider corridor touches the pane's end"
        assert distance[3] == 1.5 and distance[4] == 1.5

    @pytest.mark.parametrize("gap", [0.3, 0.5])
    def test_clearance_is_the_nearest_pane_along_the_directions_looked_at(self, gap):
        """A pane ``gap`` m to the side reads ``gap`` less at most the occupied band and a pitch when its side is
        looked at, the whole reach when only the other side is, and the reach on an empty map."""
        walls = WallMap.from_meshes([pane(0.0, gap, yaw=0.5 * math.pi, length=2.0)])
        angles = torch.linspace(0.0, math.pi, 64)
        towards = torch.stack((angles.cos(), angles.sin()), -1)[None]
        clearance = walls.clearance(torch.zeros(2, 2), torch.cat((towards, -towards)), reach=0.7)
        band = walls.margin + walls.resolution * math.sqrt(2.0) + math.sqrt(2.0) * walls.margin
        assert gap - 0.01 - band <= clearance[0] <= gap - 0.01 and clearance[1] == 0.7
        assert WallMap.from_meshes([]).clearance(torch.zeros(1, 2), towards, reach=0.7).item() == pytest.approx(0.7)

    def test_thin_panes_are_never_swept_through(self):
        """Whatever the crossing angle and offset, the swept front stops at most half a sample pitch past its exact
        first contact with a 2 cm pane (found by dense sampling), so never sweeps through it, and it stops only where
        the pane is within the occupied band."""
        rng = np.random.default_rng(0)
        lookahead = 1.8
        for yaw in rng.uniform(-1.2, 1.2, 10):
            walls = WallMap.from_meshes([pane(0.0, 0.0, yaw=float(yaw))])
            pitch, band = math.sqrt(2.0) * walls.margin, walls.margin + walls.resolution * math.sqrt(2.0)
            heading = torch.tensor(rng.uniform(-0.8, 0.8, 32), dtype=torch.float32)
            direction = torch.stack((torch.cos(heading), torch.sin(heading)), -1)
            start = -0.9 * direction + torch.tensor(rng.uniform(-0.3, 0.3, (32, 2)), dtype=torch.float32)
            distance = walls.free_distance(start, direction, torch.full((32,), 0.15), lookahead, 0.15)

            dense = torch.arange(0.0, lookahead, 0.002)
            touching = gap_to_pane(start, direction, dense, float(yaw)) == 0.0
            exact = torch.where(touching.any(-1), dense[touching.float().argmax(-1)], torch.tensor(lookahead))
            assert touching.any(-1).sum() > 10, "most sweeps must meet the pane for the test to mean something"
            assert (distance <= exact + 0.5 * pitch + 1e-6).all()
            stopped = distance < lookahead
            assert (gap_to_pane(start, direction, distance[:, None], float(yaw))[:, 0][stopped] <= band + 1e-6).all()

"""The glass-safe objective's terms on hand-made states (no simulator): safe target, rewards, contacts, curriculum."""

import math
from types import SimpleNamespace

import pytest
import torch
import trimesh
from isaaclab.managers import CurriculumTermCfg, RewardTermCfg, SceneEntityCfg
from navila_lab.barrier import TURN_FRONT_CONE, TURN_GAIN, TURN_STOP_RADIUS, limit_turn, turn_directions
from navila_lab.mdp.curriculums import terrain_levels_by_type, terrain_levels_free_path
from navila_lab.mdp.safety import (
    BARRIER_GAIN,
    STOP_DISTANCE,
    safe_velocity_command,
    stand_still_at_safe_target_l1,
    track_safe_ang_vel_z_exp,
    track_safe_lin_vel_xy_exp,
    wall_clearance_penalty,
    wall_contact,
)
from navila_lab.terrains.flat import FlatSlabTerrainCfg
from navila_lab.terrains.generator import WallTerrainGeneratorCfg
from navila_lab.terrains.walls import GLASS, WallMap, tag_wall

WALL_X = 2.0
"""A 4 m long glass pane across +x at this distance from the origin."""
ROBOT = SceneEntityCfg("robot", joint_ids=slice(None))


def wall_map() -> WallMap:
    pane = trimesh.creation.box((0.02, 4.0, 1.0))
    pane.apply_translation((WALL_X, 0.0, 0.5))
    return WallMap.from_meshes([tag_wall(pane, GLASS)])


class Scene(dict):
    """``env.scene``: assets by name, plus the terrain and the sensors as attributes."""


def fake_env(x: list[float], yaw: list[float], command: list[list[float]], walls: WallMap | None = None, **data):
    """Robots at (x, 0) heading ``yaw`` with velocity commands (vx, vy, ωz); ``data`` overrides robot data fields."""
    count = len(x)
    quat = torch.tensor([[0.0, 0.0, math.sin(0.5 * a), math.cos(0.5 * a)] for a in yaw])  # x, y, z, w
    fields = {
        "root_pos_w": torch.tensor([[p, 0.0, 0.3] for p in x]),
        "root_quat_w": quat,
        "heading_w": torch.tensor(yaw),
        "root_lin_vel_b": torch.zeros(count, 3),
        "root_ang_vel_b": torch.zeros(count, 3),
        "joint_pos": torch.full((count, 12), 0.4),
        "default_joint_pos": torch.full((count, 12), 0.3),
    } | data
    scene = Scene(
        robot=SimpleNamespace(data=SimpleNamespace(**{k: SimpleNamespace(torch=v) for k, v in fields.items()}))
    )
    scene.terrain = SimpleNamespace(wall_map=walls if walls is not None else wall_map())
    return SimpleNamespace(
        scene=scene,
        num_envs=count,
        device="cpu",
        step_dt=0.02,
        command_manager=SimpleNamespace(get_command=lambda name: torch.tensor(command)),
    )


class TestSafeVelocityCommand:
    def test_free_way_keeps_the_command(self):
        """Far from the pane, walking away from it, or turning in place: the target is the command."""
        env = fake_env(
            [-3.0, 1.0, 1.0, 1.5],
            [0.0, math.pi, 0.0, 0.0],
            [[1.0, 0.0, 0.3], [0.8, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]],
        )
        target = safe_velocity_command(env, "base_velocity")
        assert torch.allclose(target, env.command_manager.get_command("base_velocity"))

    def test_speed_falls_with_the_free_distance_to_zero_at_the_stop_distance(self):
        """Walking at the pane, the allowed speed is γ·(d − d_stop), capped by the command; zero in front of it."""
        x = torch.linspace(0.0, 1.6, 17).tolist()
        env = fake_env(x, [0.0] * len(x), [[1.0, 0.0, 0.5]] * len(x))
        target = safe_velocity_command(env, "base_velocity")
        free = WALL_X - 0.01 - (torch.tensor(x) + 0.36)  # pane face minus the footprint's front
        band = 0.1  # the wall map's occupied band around the pane
        expected_high = (BARRIER_GAIN * (free - STOP_DISTANCE)).clamp(0.0, 1.0)
        expected_low = (BARRIER_GAIN * (free - band - STOP_DISTANCE)).clamp(0.0, 1.0)
        assert (target[:, 0] <= expected_high + 1e-5).all() and (target[:, 0] >= expected_low - 1e-5).all()
        assert target[0, 0] == 1.0 and target[-1, 0] == 0.0
        assert (target[:, 0].diff() <= 0).all(), "closer means slower"
        assert torch.equal(target[:, 1], torch.zeros(len(x))) and torch.equal(target[:, 2], torch.full((len(x),), 0.5))

    def test_direction_is_the_commanded_one_in_the_world(self):
        """A robot facing +y near the pane walks freely forward, slowed sideways (−y in its frame, +x in the world)."""
        env = fake_env([1.4, 1.4], [0.5 * math.pi] * 2, [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
        target = safe_velocity_command(env, "base_velocity")
        assert target[0, 0] == 1.0
        assert -0.4 < target[1, 1] < 0.0 and target[1, 0] == 0.0, "sideways into the pane is slowed, not deflected"

    def test_without_walls_the_command_passes(self):
        """Terrains without a wall map (plain ground, VLN scenes) leave the command unchanged."""
        env = fake_env([1.6], [0.0], [[1.0, 0.0, 0.0]])
        env.scene.terrain = None
        assert torch.equal(safe_velocity_command(env, "base_velocity"), torch.tensor([[1.0, 0.0, 0.0]]))


class TestTurnBarrier:
    """The optional yaw-rate cap of the safe target (``turn_stop_radius``) near walls beside or behind the base."""

    def test_limit_turn_caps_each_direction_by_the_side_it_swings_the_rear_towards(self):
        """Turning left (ω > 0) is capped at γ_turn·(right clearance − r_stop), turning right at the left one's; zero
        inside the stop radius; vx, vy untouched."""
        command = torch.tensor([[0.5, 0.1, 1.0], [0.5, 0.1, -1.0], [0.0, 0.0, 0.2], [0.3, 0.0, 1.0], [0.3, 0.0, -1.0]])
        near, far = TURN_STOP_RADIUS + 0.1, TURN_STOP_RADIUS + 0.3
        clearance = torch.tensor([[far, near], [near, far], [near, TURN_STOP_RADIUS + 0.2], [0.2, 1.0], [0.2, 1.0]])
        limited = limit_turn(command, clearance)
        cap = TURN_GAIN * 0.1
        assert torch.allclose(limited[:, 2], torch.tensor([cap, -cap, 0.2, 1.0, 0.0]))
        assert torch.equal(limited[:, :2], command[:, :2])

    def test_directions_leave_out_the_cone_ahead_and_are_close_enough(self):
        """Every direction is outside the front cone of the heading, on its side (left first) or straight behind, and
        neighbours are at most pitch / reach apart."""
        yaw = torch.tensor([0.0, 2.0])
        directions = turn_directions(yaw, reach=0.7, pitch=0.05)
        heading = torch.stack((yaw.cos(), yaw.sin()), dim=-1)
        cosine = torch.einsum("nskd,nd->nsk", directions, heading)
        assert (cosine <= math.cos(TURN_FRONT_CONE) + 1e-6).all()
        cross = heading[:, None, None, 0] * directions[..., 1] - heading[:, None, None, 1] * directions[..., 0]
        assert (cross[:, 0] >= -1e-6).all() and (cross[:, 1] <= 1e-6).all()
        assert torch.allclose(directions[:, :, -1], -heading[:, None].expand(-1, 2, -1), atol=1e-6)
        gaps = torch.acos(torch.einsum("nskd,nskd->nsk", directions[:, :, 1:], directions[:, :, :-1]).clamp(max=1.0))
        assert gaps.max() <= 0.05 / 0.7 + 1e-6

    @pytest.mark.parametrize(("gap", "stopped"), [(0.3, True), (0.4, True), (1.0, False)])
    def test_a_wall_beside_stops_the_turn_a_wall_ahead_does_not(self, gap, stopped):
        """Facing along the pane ``gap`` m beside it, turning in place is stopped near it; facing the pane with the
        footprint at the stop line, the robot turns freely; without ``turn_stop_radius`` nothing changes."""
        env = fake_env(
            [WALL_X - gap, WALL_X - 0.61, WALL_X - gap],
            [0.5 * math.pi, 0.0, 0.5 * math.pi],
            [[0.0, 0.0, 0.5], [0.0, 0.0, -0.5], [0.0, 0.0, -0.5]],
        )
        target = safe_velocity_command(env, "base_velocity", turn_stop_radius=TURN_STOP_RADIUS)
        assert target[0, 2].item() == (0.0 if stopped else 0.5), "turning left swings the rear into the pane"
        assert target[1, 2].item() == -0.5, "a wall ahead does not stop a turn away from it"
        assert target[2, 2].item() == -0.5, "turning right, towards the pane on the right, is not stopped"
        assert torch.equal(safe_velocity_command(env, "base_velocity")[:, 2], torch.tensor([0.5, -0.5, -0.5]))

    def test_yaw_tracking_rewards_holding_still_beside_a_wall_and_turning_in_the_open(self):
        """Beside the pane, a robot that does not turn earns the full reward; in the open one that turns does."""
        spin = torch.tensor([[0.0, 0.0, 0.5], [0.0, 0.0, 0.0], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
        env = fake_env(
            [WALL_X - 0.3, WALL_X - 0.3, -3.0, -3.0], [0.5 * math.pi] * 4, [[0.0, 0.0, 0.5]] * 4, root_ang_vel_b=spin
        )
        reward = track_safe_ang_vel_z_exp(env, std=0.5, command_name="base_velocity", turn_stop_radius=0.45)
        assert torch.allclose(reward, torch.tensor([math.exp(-1.0), 1.0, 1.0, math.exp(-1.0)]))
        plain = track_safe_ang_vel_z_exp(env, std=0.5, command_name="base_velocity")
        assert torch.allclose(plain, torch.tensor([1.0, math.exp(-1.0), 1.0, math.exp(-1.0)]))


class TestSafeRewards:
    def test_tracking_rewards_stopping_at_the_pane_and_integrates_the_allowed_distance(self):
        """In front of the pane, standing earns the full tracking reward and walking on is penalized; far from it the
        command is tracked; the allowed distance sums the target's speed over steps, the progress the velocity along
        the target (never more than the target), and both restart on reset."""
        velocity = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        env = fake_env([1.6, 1.6, -3.0, -3.0], [0.0] * 4, [[1.0, 0.0, 0.0]] * 4, root_lin_vel_b=velocity)
        term = track_safe_lin_vel_xy_exp(RewardTermCfg(func=track_safe_lin_vel_xy_exp, params={}), env)
        for _ in range(3):
            reward = term(env, std=0.5, command_name="base_velocity")
        assert torch.allclose(reward, torch.tensor([1.0, math.exp(-4.0), 1.0, math.exp(-4.0)]))
        assert torch.allclose(term.allowed_distance, torch.tensor([0.0, 0.0, 0.06, 0.06]))
        assert torch.allclose(term.progress, torch.tensor([0.0, 0.0, 0.06, 0.0]))
        term.reset(torch.tensor([2]))
        assert torch.allclose(term.allowed_distance, torch.tensor([0.0, 0.0, 0.0, 0.06]))
        assert torch.allclose(term.progress, torch.zeros(4))

    @pytest.mark.parametrize(
        ("velocity", "progress"),
        [((0.5, 0.0), 0.01), ((2.0, 0.0), 0.02), ((0.0, 1.0), 0.0), ((-1.0, 0.0), 0.0), ((0.6, 0.8), 0.012)],
    )
    def test_progress_is_the_velocity_along_the_target(self, velocity, progress):
        """Slower than the target counts what was walked, faster counts the target, sideways and backwards nothing;
        the base-frame velocity is used, so a robot turning under a yaw-rate command progresses along its arc."""
        env = fake_env([-3.0], [0.0], [[1.0, 0.0, 0.5]], root_lin_vel_b=torch.tensor([[*velocity, 0.0]]))
        term = track_safe_lin_vel_xy_exp(RewardTermCfg(func=track_safe_lin_vel_xy_exp, params={}), env)
        term(env, std=0.5, command_name="base_velocity")
        assert term.progress.item() == pytest.approx(progress)

    def test_stand_still_when_stopped_or_blocked_but_not_when_turning(self):
        """Joint deviation is penalized when the command is zero or the pane holds the robot, not when it walks freely
        or turns in place in front of the pane."""
        env = fake_env(
            [-3.0, 1.6, -3.0, 1.6], [0.0] * 4, [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.5]]
        )
        penalty = stand_still_at_safe_target_l1(env, "base_velocity", asset_cfg=ROBOT)
        assert torch.allclose(penalty, torch.tensor([1.2, 1.2, 0.0, 0.0]))


class TestWallClearance:
    def test_penalty_grows_as_a_body_closes_in_on_the_pane(self):
        """Bodies 0.4 and 0.2 m from the pane's face cost nothing; closer they cost more, up to 1 per body on it."""
        gaps = [0.4, 0.2, 0.12, 0.08, 0.04, 0.0]
        bodies = torch.tensor([[[WALL_X - 0.01 - gap, 0.0, 0.3]] for gap in gaps])
        env = fake_env([0.0] * len(gaps), [0.0] * len(gaps), [[0.0, 0.0, 0.0]] * len(gaps), body_pos_w=bodies)
        penalty = wall_clearance_penalty(env, clearance=0.1, asset_cfg=SceneEntityCfg("robot", body_ids=[0]))
        assert penalty[:2].tolist() == [0.0, 0.0]
        assert (penalty.diff() >= 0).all() and 0.0 < penalty[2] < penalty[-1] and penalty[-1] >= 0.5

    def test_sums_over_bodies_and_is_zero_without_walls(self):
        """Two bodies on the pane cost twice one; terrains without a wall map cost nothing."""
        bodies = torch.tensor([[[WALL_X, 0.0, 0.3], [WALL_X, 0.5, 0.3]], [[WALL_X, 0.0, 0.3], [0.0, 0.0, 0.3]]])
        env = fake_env([0.0, 0.0], [0.0, 0.0], [[0.0, 0.0, 0.0]] * 2, body_pos_w=bodies)
        both = SceneEntityCfg("robot", body_ids=[0, 1])
        penalty = wall_clearance_penalty(env, asset_cfg=both)
        assert penalty[0] == pytest.approx(2 * penalty[1].item()) and penalty[1] > 0
        env.scene.terrain = None
        assert wall_clearance_penalty(env, asset_cfg=both).tolist() == [0.0, 0.0]


class TestWallContact:
    def test_non_foot_bodies_against_walls_end_the_episode(self):
        """A force above threshold on a selected body with any wall partner, in any physics step, terminates; feet
        (not selected) and light touches do not."""
        forces = torch.zeros(4, 4, 3, 2, 3)  # envs, physics steps, bodies (head, thigh, foot), partners, xyz
        forces[1, 2, 0, 1] = torch.tensor([5.0, 0.0, 0.0])  # head on the second wall at the third physics step
        forces[2, 0, 2, 0] = torch.tensor([50.0, 0.0, 0.0])  # a foot on a wall
        forces[3, 3, 1, 0] = torch.tensor([0.5, 0.0, 0.0])  # a thigh brushing a wall
        data = SimpleNamespace(normal_force_matrix_w_history=SimpleNamespace(torch=forces))
        env = SimpleNamespace(scene=SimpleNamespace(sensors={"walls": SimpleNamespace(data=data)}))
        ended = wall_contact(env, SceneEntityCfg("walls", body_ids=[0, 1]), threshold=1.0)
        assert ended.tolist() == [False, True, False, False]


class FakeTerrain:
    """Terrain with a 10-row curriculum grid that records how robots moved."""

    def __init__(self, count: int) -> None:
        self.terrain_levels = torch.full((count,), 5)
        self.cfg = SimpleNamespace(terrain_generator=SimpleNamespace(size=(8.0, 8.0)))

    def update_env_origins(self, env_ids, move_up, move_down) -> None:
        self.terrain_levels[env_ids] += move_up.long() - move_down.long()


class TestFreePathCurriculum:
    @pytest.mark.parametrize(
        ("progress", "allowed", "fell", "level"),
        [
            (0.3, 0.2, False, 5),  # stopped at a wall in front of it: the target allowed almost nothing, stays
            (0.3, 9.0, False, 4),  # free way, commanded 9 m, progressed 0.3: demoted
            (5.0, 9.0, False, 6),  # progressed over half a tile: promoted
            (3.0, 5.0, False, 5),  # progressed over half of what was allowed: stays
            (0.5, 0.2, True, 4),  # fell or collided: demoted
            (4.5, 6.0, True, 6),  # progressed over half a tile before falling: promoted, as Isaac Lab's
        ],
    )
    def test_levels_move_by_progress_along_the_free_path(self, progress, allowed, fell, level):
        """A robot is demoted only when it fell or progressed less than half the distance its safe target allowed."""
        terrain = FakeTerrain(1)
        tracker = SimpleNamespace(allowed_distance=torch.tensor([allowed]), progress=torch.tensor([progress]))
        env = SimpleNamespace(
            scene=SimpleNamespace(terrain=terrain),
            reward_manager=SimpleNamespace(get_term_cfg=lambda name: SimpleNamespace(func=tracker)),
            termination_manager=SimpleNamespace(terminated=torch.tensor([fell])),
        )
        mean = terrain_levels_free_path(env, torch.tensor([0]))
        assert terrain.terrain_levels.tolist() == [level] and mean == level


class TestLevelsByType:
    def test_mean_level_of_each_sub_terrain_type(self):
        """Levels are averaged over the robots whose column holds each type; columns map to types as generated."""
        generator = WallTerrainGeneratorCfg(
            num_cols=4,
            sub_terrains={"flat": FlatSlabTerrainCfg(proportion=0.5), "glass": FlatSlabTerrainCfg(proportion=0.5)},
        )
        terrain = SimpleNamespace(
            cfg=SimpleNamespace(terrain_generator=generator),
            terrain_types=torch.tensor([0, 1, 2, 3, 3]),
            terrain_levels=torch.tensor([1, 3, 4, 6, 8]),
        )
        env = SimpleNamespace(scene=SimpleNamespace(terrain=terrain), device="cpu")
        term = terrain_levels_by_type(CurriculumTermCfg(func=terrain_levels_by_type), env)
        levels = term(env, torch.tensor([0]))
        assert list(levels) == ["flat", "glass"]
        assert torch.isclose(levels["flat"], torch.tensor(2.0)) and torch.isclose(levels["glass"], torch.tensor(6.0))

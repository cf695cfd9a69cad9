"""Task registration is data only: every id resolves through gym.spec without building a simulator."""

import dataclasses
from collections import Counter

import gymnasium as gym
import navila_tasks
import pytest
from navila_agents.locomotion.runtime import load_cfgs
from navila_lab.barrier import STOP_DISTANCE, TURN_STOP_RADIUS
from navila_lab.sensors.height_map import HeightMapSpec
from navila_lab.terrains.config import EXTRA_TERRAINS, sub_terrain_of_column
from navila_tasks.go2.env_cfg import LIDAR_WALL_CLEARANCE_WEIGHT, WALL_CLEARANCE_WEIGHT, WIDE_STOP_DISTANCE


class TestRegistry:
    @pytest.mark.parametrize("task", navila_tasks.TASK_IDS)
    def test_every_task_has_env_and_runner_cfgs(self, task):
        """Each id names an importable env cfg and rsl_rl runner cfg whose actor reads groups the env defines."""
        spec = gym.spec(task)
        assert spec.kwargs["env_cfg_entry_point"].startswith("navila_tasks.")
        env_cfg, agent_cfg = load_cfgs(task, [])
        groups = {name for name in vars(env_cfg.observations) if getattr(env_cfg.observations, name) is not None}
        assert set(agent_cfg.obs_groups["actor"]) <= groups
        assert set(agent_cfg.obs_groups["critic"]) <= groups

    def test_gaps_variant_changes_only_the_map_pool(self):
        """NaVILA-Go2-Rough-Lidar-Gaps is the LiDAR task with its map pooling only the empty cells."""
        lidar, _ = load_cfgs("NaVILA-Go2-Rough-Lidar", [])
        gaps, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Gaps", [])
        spec = lidar.observations.height_map.height_map.params["spec"]
        assert gaps.observations.height_map.height_map.params["spec"] == dataclasses.replace(spec, pool="gaps")
        gaps.observations.height_map.height_map.params["spec"] = spec
        assert gaps.to_dict() == lidar.to_dict()

    def test_turn_variant_tracks_the_yaw_rate_against_the_turn_capped_target(self):
        """NaVILA-Go2-Rough-Lidar-Gaps-Turn is the gaps task whose yaw-rate tracking, critic target and stand-still
        term read the safe target with the turn barrier; nothing else changes."""
        gaps, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Gaps", [])
        turn, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Gaps-Turn", [])
        tracking = turn.rewards.track_safe_ang_vel_z_exp
        assert turn.rewards.track_ang_vel_z_exp is None and tracking.weight == gaps.rewards.track_ang_vel_z_exp.weight
        terms = (tracking, turn.observations.critic.safe_velocity_command, turn.rewards.stand_still_at_safe_target_l1)
        assert [term.params["turn_stop_radius"] for term in terms] == [TURN_STOP_RADIUS] * 3
        for term in terms[1:]:
            del term.params["turn_stop_radius"]
        turn.rewards.track_ang_vel_z_exp, turn.rewards.track_safe_ang_vel_z_exp = gaps.rewards.track_ang_vel_z_exp, None
        expected = gaps.to_dict()
        expected["rewards"]["track_safe_ang_vel_z_exp"] = None
        assert turn.to_dict() == expected

    def test_walls_variant_only_adds_the_thin_wall_tiles(self):
        """NaVILA-Go2-Rough-Lidar-Gaps-Walls is the gaps task with the thin-wall sub-terrain added to its mix."""
        gaps, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Gaps", [])
        walls, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Gaps-Walls", [])
        tiles = walls.scene.terrain.terrain_generator.sub_terrains
        assert list(tiles) == [*gaps.scene.terrain.terrain_generator.sub_terrains, "thin_walls"]
        assert tiles.pop("thin_walls").to_dict() == EXTRA_TERRAINS["thin_walls"].to_dict()
        assert walls.to_dict() == gaps.to_dict()

    def test_open_walls_variant_only_changes_the_pool(self):
        """NaVILA-Go2-Rough-Lidar-Open-Walls is the thin-wall task with the open pool in the actor's map."""
        walls, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Gaps-Walls", [])
        opened, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Open-Walls", [])
        spec = opened.observations.height_map.height_map.params.pop("spec")
        assert spec == dataclasses.replace(walls.observations.height_map.height_map.params.pop("spec"), pool="open")
        assert opened.to_dict() == walls.to_dict()

    def test_lidar_variant_only_adds_the_height_map(self):
        """Blind and LiDAR tasks differ in the actor's height-map group and the LiDAR sensor, nothing else."""
        blind, blind_agent = load_cfgs("NaVILA-Go2-Rough-Blind", [])
        lidar, lidar_agent = load_cfgs("NaVILA-Go2-Rough-Lidar", [])
        assert blind.scene.lidar is None and lidar.scene.lidar is not None
        assert blind.observations.height_map is None and lidar.observations.height_map is not None
        assert lidar_agent.obs_groups["actor"] == [*blind_agent.obs_groups["actor"], "height_map"]

    def test_max_map_variant_restores_the_reference_fusion_and_stop_gap(self):
        """The LiDAR task reads the newest covering sweep with a wide gap; its MaxMap variant the reference's max."""
        lidar, _ = load_cfgs("NaVILA-Go2-Rough-Lidar", [])
        reference, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-MaxMap-Play", [], play=True)
        spec = lidar.observations.height_map.height_map.params["spec"]
        assert spec.fusion == "newest"
        assert dataclasses.replace(spec, fusion="max") == HeightMapSpec()
        assert reference.observations.height_map.height_map.params["spec"] == HeightMapSpec()
        for cfg, gap in ((lidar, WIDE_STOP_DISTANCE), (reference, STOP_DISTANCE)):
            terms = (cfg.observations.critic.safe_velocity_command, cfg.rewards.track_safe_lin_vel_xy_exp)
            assert [term.params["stop_distance"] for term in terms] == [gap, gap]

    def test_lidar_task_weighs_wall_clearance_four_times(self):
        """The LiDAR task (and its Slopes variant) pay four times the blind task's wall-clearance penalty; MaxMap, the
        previous recipe, the blind task's."""
        weights = {
            task: load_cfgs(task, [])[0].rewards.wall_clearance.weight
            for task in ("NaVILA-Go2-Rough-Blind", "NaVILA-Go2-Rough-Lidar", "NaVILA-Go2-Rough-Lidar-Slopes")
        }
        weights["MaxMap"] = load_cfgs("NaVILA-Go2-Rough-Lidar-MaxMap-Play", [], play=True)[
            0
        ].rewards.wall_clearance.weight
        assert LIDAR_WALL_CLEARANCE_WEIGHT == 4 * WALL_CLEARANCE_WEIGHT
        assert weights == {
            "NaVILA-Go2-Rough-Blind": WALL_CLEARANCE_WEIGHT,
            "NaVILA-Go2-Rough-Lidar": LIDAR_WALL_CLEARANCE_WEIGHT,
            "NaVILA-Go2-Rough-Lidar-Slopes": LIDAR_WALL_CLEARANCE_WEIGHT,
            "MaxMap": WALL_CLEARANCE_WEIGHT,
        }

    def test_slopes_variant_doubles_the_slope_columns_only(self):
        """The Slopes variant has twice the sloped columns, half the flat and rough ones, as many walls."""
        lidar, _ = load_cfgs("NaVILA-Go2-Rough-Lidar", [])
        slopes, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Slopes", [])
        columns = {
            name: Counter(sub_terrain_of_column(cfg.scene.terrain.terrain_generator))
            for name, cfg in (("lidar", lidar), ("slopes", slopes))
        }

        def count(name: str, *tiles: str) -> int:
            return sum(columns[name][tile] for tile in tiles)

        slope_tiles, easy_tiles = ("hf_pyramid_slope", "hf_pyramid_slope_inv"), ("flat", "random_rough")
        assert count("slopes", *slope_tiles) == 2 * count("lidar", *slope_tiles) == 6
        assert count("slopes", *easy_tiles) == count("lidar", *easy_tiles) // 2 == 3
        assert count("slopes", "obstacles", "glass") == count("lidar", "obstacles", "glass") == 11
        assert lidar.observations.height_map == slopes.observations.height_map

    def test_play_variants_turn_noise_and_randomization_off(self):
        """-Play cfgs have few robots, no observation noise, no pushes, and a fixed forward command."""
        env_cfg, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-Play", [])
        assert env_cfg.scene.num_envs <= 16
        assert not env_cfg.observations.policy.enable_corruption
        assert env_cfg.events.push_robot is None and env_cfg.events.add_base_mass is None
        assert env_cfg.commands.base_velocity.ranges.lin_vel_x == (0.5, 0.5)

    def test_overrides_reach_the_cfg(self):
        """A Hydra-style override changes the resolved cfg field."""
        env_cfg, _ = load_cfgs("NaVILA-Go2-Flat", ["env.rewards.feet_air_time.weight=0.5"])
        assert env_cfg.rewards.feet_air_time.weight == 0.5

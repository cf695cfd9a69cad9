"""The exporter describes the actor's input from the task cfg, and refuses layouts the robot side cannot rebuild."""

from types import SimpleNamespace

import pytest
from isaaclab.managers import ObservationTermCfg
from navila_agents.locomotion.export import observation_layout
from navila_agents.locomotion.runtime import load_cfgs
from navila_lab.errors import UserError
from navila_lab.sensors.height_map import HeightMapSpec

WIDTHS = {
    "base_ang_vel": 3,
    "projected_gravity": 3,
    "velocity_commands": 3,
    "joint_pos": 12,
    "joint_vel": 12,
    "actions": 12,
    "height_map": HeightMapSpec().size,
}
GROUPS = ["policy", "proprio_history", "height_map"]


def env_of(observations) -> SimpleNamespace:
    """The parts of a built env the exporter reads: its cfg and the observation manager's term names and widths."""
    names = {
        group: [
            name for name, term in vars(getattr(observations, group)).items() if isinstance(term, ObservationTermCfg)
        ]
        for group in GROUPS
    }
    history = {group: getattr(observations, group).history_length or 1 for group in GROUPS}
    dims = {group: [(WIDTHS[name] * history[group],) for name in names[group]] for group in GROUPS}
    manager = SimpleNamespace(active_terms=names, group_obs_term_dim=dims)
    return SimpleNamespace(cfg=SimpleNamespace(observations=observations), observation_manager=manager)


@pytest.fixture
def observations():
    env_cfg, _ = load_cfgs("NaVILA-Go2-Rough-Lidar", [])
    return env_cfg.observations


class TestObservationLayout:
    def test_lidar_task(self, observations):
        """The LiDAR actor is 6 terms (45-D) per frame, 9 history frames and the 17 × 27 map of the newest sweeps."""
        frame, history, height_map = observation_layout(env_of(observations), GROUPS)
        assert [term.name for term in frame] == list(WIDTHS)[:6] and sum(term.dim for term in frame) == 45
        assert history == 9 and height_map == HeightMapSpec(fusion="newest")

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda obs: setattr(obs.proprio_history, "history_order", "term"), "time-major"),
            (lambda obs: setattr(obs.proprio_history.joint_vel, "scale", 0.05), "must repeat the terms"),
            (lambda obs: setattr(obs.policy.base_ang_vel, "delay_max_lag", 2), "delay"),
            (lambda obs: setattr(obs.height_map.height_map, "clip", (0.0, 1.0)), "unscaled and unclipped"),
        ],
    )
    def test_refuses_what_the_robot_cannot_rebuild(self, observations, change, message):
        """Term-major history, differing history terms, delays and a scaled map stop the export with one line."""
        change(observations)
        with pytest.raises(UserError, match=message):
            observation_layout(env_of(observations), GROUPS)

    def test_refuses_other_group_layouts(self, observations):
        """The actor must read (frame, history[, height map])."""
        with pytest.raises(UserError, match="expected"):
            observation_layout(env_of(observations), ["policy"])

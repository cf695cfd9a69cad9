"""An exported policy meets only a task that builds its inputs the way it was trained."""

from pathlib import Path

import pytest
from navila_agents.locomotion.policy import check_height_map, resolve_policy
from navila_agents.locomotion.runtime import load_cfgs
from navila_lab.errors import UserError

LIDAR = str(Path(__file__).resolve().parents[3] / "policies" / "go2_rough_lidar")


def test_policy_on_its_own_task_passes():
    """The shipped LiDAR policy's map (deploy.yaml) is the one its task builds."""
    source = resolve_policy(LIDAR)
    env_cfg, _ = load_cfgs(f"{source.task}-Play", [], play=True)
    check_height_map(source, env_cfg)


def test_policy_on_a_task_with_another_map_fusion_is_refused():
    """A newest-fused policy on the max-map task is one line naming the field, not a silently different input."""
    source = resolve_policy(LIDAR, "NaVILA-Go2-Rough-Lidar-MaxMap")
    env_cfg, _ = load_cfgs("NaVILA-Go2-Rough-Lidar-MaxMap-Play", [], play=True)
    with pytest.raises(UserError, match=r"height map with fusion newest \(task: max\); choose the policy's task"):
        check_height_map(source, env_cfg)

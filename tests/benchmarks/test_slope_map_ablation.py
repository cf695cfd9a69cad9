"""``benchmarks/slope_map_ablation.py`` without the simulator: its two map modifiers and its table."""

import pytest
import torch
from isaaclab.utils.modifiers import ModifierCfg
from navila_benchmarks import slope_map_ablation as ablation
from navila_lab.errors import UserError
from navila_tasks.go2.env_cfg import Go2RoughBlindEnvCfg, Go2RoughLidarEnvCfg


def test_keep_maps_passes_through_and_keeps_every_tenth_call():
    keep = ablation.KeepMaps(ModifierCfg(func=ablation.KeepMaps), (2, 3), "cpu")
    ablation.RECORDED.clear()
    maps = [torch.full((2, 3), float(call)) for call in range(25)]
    assert all(keep(data) is data for data in maps)
    assert [int(kept[0, 0]) for kept in ablation.RECORDED] == [0, 10, 20]
    maps[0].fill_(-1.0)
    assert ablation.RECORDED[0][0, 0] == 0.0  # a copy, not the observation buffer


def test_flat_reading_replaces_every_env_map_with_its_own_tensor():
    reading = (0.1, 0.2, 0.3)
    flat = ablation.FlatReading(ModifierCfg(func=ablation.FlatReading, params={"reading": reading}), (4, 3), "cpu")
    first = flat(torch.rand(4, 3))
    assert torch.equal(first, torch.tensor([reading] * 4))
    first.add_(1.0)  # the observation manager adds noise in place
    assert torch.equal(flat(torch.rand(4, 3)), torch.tensor([reading] * 4))


def summary(error: float, speed_at_1: float | None) -> dict:
    by_speed = {} if speed_at_1 is None else {"1.00": {"forward_speed": speed_at_1}}
    return {"lin_vel_error": error, "forward_speed": 0.5, "fall_rate": 0.0, "by_speed": by_speed}


def test_table_gives_each_arm_its_spread_and_the_substitution_ratio():
    own = {"terrains": {"flat": summary(0.05, 0.9), "slopes": summary(0.16, 0.68)}, "spread": None}
    spread = {"flat": summary(0.01, 0.02), "slopes": summary(0.02, 0.03)}
    flat = {"terrains": {"flat": summary(0.05, 0.9), "slopes": summary(0.08, 0.85)}, "spread": spread}
    blind = {"terrains": {"flat": summary(0.04, None), "slopes": summary(0.09, None)}, "spread": None}
    rows = {
        tuple(cell.strip() for cell in line.split("|")[1:3]): [cell.strip() for cell in line.split("|")[3:7]]
        for line in ablation.table(own, flat, blind).splitlines()[2:]
    }
    assert rows[("slopes", "lin. vel. error (m/s)")] == ["0.160", "0.080 ± 0.020", "0.090", "0.50×"]
    assert rows[("slopes", "forward speed at 1.0 m/s")] == ["0.680", "0.850 ± 0.030", "—", "1.25×"]
    assert rows[("flat", "falls (%)")] == ["0.0", "0.0 ± 0.0", "0.0", "—"]


def test_the_modifier_goes_on_the_height_map_term_and_a_blind_task_is_a_one_line_error():
    lidar = Go2RoughLidarEnvCfg()
    ablation.modify_map(lidar, ablation.FlatReading, reading=(0.3,))
    (modifier,) = lidar.observations.height_map.height_map.modifiers
    assert modifier.func is ablation.FlatReading and modifier.params == {"reading": (0.3,)}
    with pytest.raises(UserError, match="no LiDAR height map"):
        ablation.modify_map(Go2RoughBlindEnvCfg(), ablation.FlatReading, reading=(0.3,))

"""benchmarks/glass_contact_probe.py: classes of hand-made contact traces, the table, a blind policy refused."""

import pytest
from navila_benchmarks import glass_contact_probe
from navila_benchmarks.glass_contact_probe import CLASSES, NEAR, classify, table
from navila_lab.barrier import LOOKAHEAD
from navila_lab.errors import UserError

APPROACH = [0.8, 0.6, 0.4, 0.2, 0.0]
"""True free distance ahead while walking into a pane (oldest first)."""


@pytest.mark.parametrize(
    ("truth", "shown", "expected"),
    [
        ([0.8] * 5, [LOOKAHEAD] * 5, "beside"),  # the way ahead stayed free: a pane's edge beside the footprint
        ([0.8, 0.1, 0.0, NEAR, 0.8], [0.1] * 5, "beside"),  # what was ahead is passed: beside, whatever the map showed
        (APPROACH, [LOOKAHEAD] * 5, "never shown"),
        (APPROACH, [LOOKAHEAD, 0.5, 0.3, LOOKAHEAD, LOOKAHEAD], "shown, then lost"),
        (APPROACH, [LOOKAHEAD, 0.6, 0.4, 0.2, 0.05], "shown, not stopped"),
    ],
)
def test_classify(truth, shown, expected):
    """Each class from the truth at the contact and what the map showed in the second before."""
    assert classify(truth, shown) == expected


def test_table_counts_each_class_per_commanded_speed():
    """One row per class, contacts split by commanded speed; classes without contacts read 0 and no speeds."""
    records = [
        {"class": "never shown", "command": 1.0, "speed": 1.0, "top_speed": 1.1},
        {"class": "never shown", "command": 0.75, "speed": 0.8, "top_speed": 0.9},
        {"class": "beside", "command": 0.25, "speed": 0.2, "top_speed": 0.3},
    ]
    text = table(records, robots=300)
    assert text.startswith("3 wall contacts of 300 robots")
    rows = {line.split("|")[1].strip(): line.split("|")[2:5] for line in text.splitlines() if line.startswith("| ")}
    assert [name for name in rows if name in CLASSES] == list(CLASSES)
    assert rows["never shown"][0].strip() == "2" and rows["never shown"][1].strip() == "0 / 0 / 0 / 1 / 1"
    assert rows["never shown"][2].strip() == "0.90"
    assert rows["beside"][1].strip() == "0 / 1 / 0 / 0 / 0" and rows["shown, then lost"][0].strip() == "0"
    assert rows["shown, then lost"][2].strip() == "–", "no contacts: no mean speed"


@pytest.mark.slow
def test_a_policy_without_a_height_map_is_a_one_line_error():
    """The blind policy has no map to read: refused before any environment is built."""
    with pytest.raises(UserError, match="without a height map"):
        glass_contact_probe.main(["--policy", "policies/go2_rough_blind", "--num_envs", "2"])

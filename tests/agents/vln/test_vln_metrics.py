import pytest
import torch
from navila_agents.vln.metrics import EpisodeRecord, EpisodeTracker, aggregate, format_table


def record(distance=1.0, min_distance=None, path=10.0, d0=8.0, stopped=True, **counts):
    return EpisodeRecord("e", distance, distance if min_distance is None else min_distance, path, d0, stopped, **counts)


class TestEpisodeRecord:
    def test_success_needs_stop_within_radius(self):
        """SR counts an episode only if the agent stopped within 3 m; the boundary counts."""
        assert record(distance=3.0).success()
        assert not record(distance=3.01).success()
        assert not record(distance=0.5, stopped=False).success()

    def test_oracle_success_uses_the_closest_approach(self):
        """OS holds when the agent ever came within 3 m, even if it ended far or never stopped."""
        assert record(distance=9.0, min_distance=2.0, stopped=False).oracle_success()
        assert not record(distance=9.0, min_distance=3.5).oracle_success()

    def test_spl(self):
        """SPL = S · d0 / max(d0, path length): 0.8 for a 25% longer path, capped at 1, 0 on failure."""
        assert record(path=10.0, d0=8.0).spl() == pytest.approx(0.8)
        assert record(path=5.0, d0=8.0).spl() == 1.0
        assert record(distance=4.0).spl() == 0.0


class TestAggregate:
    def test_means_percentages_and_totals(self):
        """NE is a mean in meters; OS/SR/SPL are percentages; safety counts are totals."""
        records = [
            record(distance=1.0, falls=1, collisions=2),
            record(distance=5.0, min_distance=2.0, glass_contacts=3),
        ]
        summary = aggregate(records)
        assert summary["NE"] == pytest.approx(3.0)
        assert summary["OS"] == pytest.approx(100.0)
        assert summary["SR"] == pytest.approx(50.0)
        assert summary["SPL"] == pytest.approx(40.0)
        assert (summary["falls"], summary["collisions"], summary["glass_contacts"]) == (1, 2, 3)

    def test_empty_is_an_error(self):
        """Aggregating no episodes is refused rather than dividing by zero."""
        with pytest.raises(ValueError):
            aggregate([])

    def test_table_has_a_row_per_method(self):
        """The table lists each method with its metrics formatted."""
        table = format_table({"lidar": aggregate([record()]), "blind": aggregate([record(distance=4.0)])})
        lines = table.splitlines()
        assert len(lines) == 4 and lines[2].startswith("| lidar | 1 | 1.00 | 100.00 | 100.00 | 80.00")
        assert lines[3].startswith("| blind |")


class TestEpisodeTracker:
    def test_accumulates_each_env_separately(self):
        """Path length, closest approach, final distance and contact onsets accumulate per env; reset clears one env."""
        tracker = EpisodeTracker(2)
        tracker.reset([0, 1], torch.zeros(2, 2), torch.tensor([5.0, 5.0]), torch.tensor([5.0, 6.0]))
        contact = [torch.tensor([True, False]), torch.tensor([True, False]), torch.tensor([False, True])]
        for step in range(3):
            positions = torch.tensor([[step + 1.0, 0.0], [0.0, 0.0]])
            distances = torch.tensor([4.0 - step, 5.0])
            tracker.update(positions, distances, contact[step], contact[2 - step], torch.zeros(2, dtype=torch.bool))
        env0, env1 = tracker.finish([0, 1], ["a", "b"], [True, False])
        assert env0 == EpisodeRecord("a", 2.0, 2.0, 3.0, 5.0, True, 0, 1, 1, 3)
        assert env1 == EpisodeRecord("b", 5.0, 5.0, 0.0, 6.0, False, 0, 1, 1, 3)
        tracker.reset([0], torch.zeros(1, 2), torch.tensor([1.0]), torch.tensor([1.0]))
        assert tracker.finish([0], ["c"], [True])[0] == EpisodeRecord("c", 1.0, 1.0, 0.0, 1.0, True)

    def test_falls_count_once_per_onset(self):
        """A fall held over several steps counts once."""
        tracker = EpisodeTracker(1)
        tracker.reset([0], torch.zeros(1, 2), torch.ones(1), torch.ones(1))
        no = torch.zeros(1, dtype=torch.bool)
        for fallen in (False, True, True, False, True):
            tracker.update(torch.zeros(1, 2), torch.ones(1), no, no, torch.tensor([fallen]))
        assert tracker.finish([0], [0], [False])[0].falls == 2

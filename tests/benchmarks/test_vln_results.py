"""benchmarks/vln_results.py without the simulator: what each setting runs, and the report of finished runs."""

from navila_agents.vln.metrics import EpisodeRecord
from navila_agents.vln.report import write_run
from navila_agents.vln.rollout import EndReason, EpisodeResult
from navila_benchmarks import vln_results


def test_scale_setting():
    """--scale: the 512-episode glass set, 256 in parallel, LiDAR policy only, its own report."""
    args = vln_results.parse_args(["--scale"])
    assert args.methods == ["lidar"] and args.num_envs == 256 and args.episodes == vln_results.SCALE_EPISODES
    assert args.report.name == "vln_scale.md" and vln_results.SCALE_EPISODES.is_file()


def test_interfaces_table_from_finished_runs(tmp_path, capsys):
    """With --skip-done, runs that have a summary are reused: the report has one row per interface × low level,
    labelled by both, with the throughput of each run."""
    config = {"num_envs": 100, "camera": "512x512", "device": "cpu", "loop_time_s": 60.0, "episodes_per_hour": 60.0}
    for interface in vln_results.INTERFACES:
        for method in ("lidar", "perfect"):
            _, folder = vln_results.run_label(interface, method, list(vln_results.INTERFACES))
            record = EpisodeRecord(0, 1.0, 0.5, 5.0, 4.0, True)
            result = EpisodeResult(record, "procedural_00000", "go", EndReason.STOP, ["stop"], [(0.0, 0.0)])
            write_run(tmp_path / folder, f"{interface} {method}", [result], config)
    report = tmp_path / "report.md"
    argv = ["--interfaces", *vln_results.INTERFACES, "--methods", "lidar", "perfect", "--skip-done"]
    assert vln_results.main([*argv, "--out-dir", str(tmp_path), "--report", str(report)]) == 0
    text = report.read_text()
    assert "interfaces × low levels" in text and text.count("| 100 | 512x512 | cpu | 1 | 60.0 | 60 |") == 6
    assert "| waypoints perfect | 1 | 1.00 | 100.00 | 100.00 | 80.00 |" in text
    assert "reusing" in capsys.readouterr().out


def test_labels():
    assert vln_results.run_label("language", "blind", ["language"]) == ("blind policy", "blind")
    assert vln_results.run_label("tokens", "lidar", ["language", "tokens"]) == ("tokens, LiDAR policy", "tokens_lidar")

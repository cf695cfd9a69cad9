"""navila bench's markdown outputs: the header is written once, each run appends its row or breakdown section."""

from navila_benchmarks import step_timing as bench

META = {"date": "2026-11-24 00:00 UTC", "commit": "abc1234", "device": "test device"}


def results():
    regions = {"step": 1.0, "reward: x": 0.1}
    ours = bench.TaskResult(bench.OURS_TASK, "cpu", 4, 10, 1, "random", 1.0, 2.0, regions=regions)
    stock = bench.TaskResult(bench.STOCK_TASK, "cpu", 4, 10, 1, "random", 1.0, 1.0)
    return [ours, stock]


def test_results_rows_append_under_one_header(tmp_path):
    path = tmp_path / "results" / "bench.md"
    bench.append_results(str(path), results(), META)
    bench.append_results(str(path), results(), META)
    text = path.read_text()
    assert text.startswith(bench.RESULTS_HEADER) and text.count(bench.RESULTS_HEADER) == 1
    assert text.count("| 2026-11-24 00:00 UTC | abc1234 | test device | 4 | 10 |") == 2
    assert "| 0.50 |" in text  # ours/stock: 20 vs 40 env-steps/s


def test_results_row_reports_the_lidar_task_whatever_the_order():
    blind = bench.TaskResult("NaVILA-Go2-Rough-Blind", "cpu", 4, 10, 1, "random", 1.0, 0.5)
    row = bench.results_row([blind, *reversed(results())], META)
    assert "| 20 | 40 | 0.50 |" in row and "Blind" not in row
    assert "| 80 (NaVILA-Go2-Rough-Blind) | 40 | 2.00 |" in bench.results_row([blind, results()[1]], META)


def test_breakdown_sections_list_only_tasks_with_regions(tmp_path):
    path = tmp_path / "bench_breakdown.md"
    bench.append_breakdown(str(path), results(), META)
    bench.append_breakdown(str(path), results(), META)
    text = path.read_text()
    assert text.count(bench.BREAKDOWN_HEADER) == 1 and text.count("## 2026-11-24 00:00 UTC · abc1234") == 2
    assert f"| region (ms per env step) | {bench.OURS_TASK} |" in text and bench.STOCK_TASK not in text
    assert "| step | 100.00 |" in text and "| reward: x | 10.00 |" in text and "| physics | - |" in text

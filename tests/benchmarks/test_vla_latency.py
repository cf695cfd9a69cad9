"""benchmarks/vla_latency.py on CPU with a tiny untrained small VLA and random frames (no timing asserted)."""

import pytest
import torch
from navila_benchmarks import vla_latency
from navila_lab.errors import UserError
from vla_training_support import write_untrained_small_vla

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vla(tmp_path_factory):
    """Folder of an untrained small VLA of the tiny test size."""
    torch.set_num_threads(1)
    return write_untrained_small_vla(tmp_path_factory.mktemp("vla"))


def test_reports_one_query_and_the_encoding_against_the_processor(vla, tmp_path):
    """The report has the one-query row, the batch encoded by the processor and by PromptEncoder, and their ratio."""
    report = tmp_path / "latency.md"
    argv = ["--vla", str(vla), "--devices", "cpu", "--batch", "4", "--warmup", "0", "--repeats", "2"]
    assert vla_latency.main([*argv, "--cpu-threads", "1", "--report", str(report)]) == 0
    text = report.read_text()
    calls = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ") and "ms" not in line]
    assert calls == ["1 query", "4 queries encoded, processor", "4 queries encoded, PromptEncoder"]
    assert "Encoding on " in text and "PromptEncoder / processor = " in text


def test_nothing_to_measure_is_a_one_line_error(vla, tmp_path, monkeypatch):
    """Asking for the GPU alone where there is none: one line saying so."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="nothing to measure"):
        vla_latency.main(["--vla", str(vla), "--devices", "cuda", "--report", str(tmp_path / "latency.md")])


def test_a_history_reader_is_timed_with_each_querys_history(vla):
    """A model that reads its action history is given each query's executed answers (query i as env i) and its
    prompts hold them; any other model keeps the bare instructions."""
    from navila_agents.vla.backends.hf import HFBackend
    from navila_agents.vla.frames import with_action_history

    reader = HFBackend(vla, device="cpu")
    reader.action_history = True
    histories = [["move forward 75 cm", "move forward 75 cm"], []]
    prompts = vla_latency.given_histories(reader, ["go", "stop"], histories)
    assert reader.read_instructions(["go", "stop"], [0, 1]) == prompts
    assert prompts == [with_action_history("go", histories[0]), with_action_history("stop", [])]
    assert "150 cm" in prompts[0]
    assert vla_latency.given_histories(HFBackend(vla, device="cpu"), ["go"], [["stop"]]) == ["go"]

"""navila_lab.progress: a tqdm bar on a terminal, a few plain lines in logs, nothing when switched off."""

import io

import pytest
from navila_lab.progress import LineProgress, progress, progress_mode
from tqdm import tqdm


class Terminal(io.StringIO):
    def isatty(self):
        return True


class TestMode:
    def test_auto_follows_the_stream(self, monkeypatch):
        """auto: a bar on a terminal, lines on a file or a pipe."""
        monkeypatch.delenv("NAVILA_PROGRESS", raising=False)
        assert progress_mode(Terminal()) == "bar"
        assert progress_mode(io.StringIO()) == "log"

    @pytest.mark.parametrize("mode", ["bar", "log", "off"])
    def test_environment_forces_the_mode(self, monkeypatch, mode):
        """NAVILA_PROGRESS overrides what the stream suggests."""
        monkeypatch.setenv("NAVILA_PROGRESS", mode.upper())
        assert progress_mode(Terminal()) == mode

    def test_unknown_mode_is_an_error(self, monkeypatch):
        monkeypatch.setenv("NAVILA_PROGRESS", "fancy")
        with pytest.raises(ValueError, match="NAVILA_PROGRESS='fancy'"):
            progress_mode()


class TestLineProgress:
    def test_a_long_loop_prints_a_start_and_an_end_line(self):
        """With the default interval, 10,000 updates make two lines, not one per step, and no carriage return."""
        out = io.StringIO()
        for _ in LineProgress(range(10_000), desc="play", unit="step", file=out):
            pass
        lines = out.getvalue().splitlines()
        assert len(lines) == 2 and "\r" not in out.getvalue()
        assert lines[0].startswith("play: 0/10000 step (0%)") and lines[1].startswith("play: 10000/10000 step (100%)")

    def test_interval_zero_prints_every_update_with_postfix(self):
        """Each line counts what was updated so far; set_postfix prints a due line too (slow loops show life)."""
        out = io.StringIO()
        with LineProgress(total=3, desc="vln", unit="episode", interval=0.0, file=out) as bar:
            bar.update(2)
            bar.set_postfix(sr=0.5)
            bar.update(1)
        lines = out.getvalue().splitlines()
        assert [line.split()[1] for line in lines] == ["0/3", "2/3", "2/3", "3/3"]
        assert lines[-1].endswith("sr=0.5") and lines[2].endswith("sr=0.5") and "sr=" not in lines[1]

    def test_unknown_total(self):
        """A generator without length is counted without a percentage."""
        out = io.StringIO()
        list(LineProgress((i for i in range(4)), desc="gen", file=out))
        assert out.getvalue().splitlines()[-1].startswith("gen: 4 it [")


class TestProgress:
    def test_log_mode_gives_lines(self, monkeypatch, capsys):
        monkeypatch.setenv("NAVILA_PROGRESS", "log")
        assert sum(progress(range(5), desc="eval")) == 10
        assert capsys.readouterr().err.splitlines()[-1].startswith("eval: 5/5 it (100%)")

    def test_bar_mode_gives_tqdm(self, monkeypatch):
        monkeypatch.setenv("NAVILA_PROGRESS", "bar")
        bar = progress(total=2, desc="x", leave=False)
        assert isinstance(bar, tqdm) and not bar.disable
        bar.close()

    def test_off_and_disable_are_silent(self, monkeypatch, capsys):
        """off (environment) and disable=True (caller) count nothing on screen but still iterate."""
        monkeypatch.setenv("NAVILA_PROGRESS", "off")
        assert list(progress(range(3), desc="a")) == [0, 1, 2]
        monkeypatch.setenv("NAVILA_PROGRESS", "log")
        with progress(total=3, desc="b", disable=True) as bar:
            bar.update(3)
        assert capsys.readouterr().err == ""

    def test_interval_from_the_environment(self, monkeypatch, capsys):
        monkeypatch.setenv("NAVILA_PROGRESS", "log")
        monkeypatch.setenv("NAVILA_PROGRESS_INTERVAL", "0")
        list(progress(range(3), desc="c"))
        assert len(capsys.readouterr().err.splitlines()) == 4

"""``navila vla-data``, ``vla-train`` and ``vla-dagger`` refuse bad input in one line, before any work."""

import subprocess
import sys

import pytest


def navila(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "navila_cli", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("vla-train", "--data", "{tmp}/none", "--out", "{tmp}/run"), "dataset '{tmp}/none' does not exist"),
        (("vla-train", "--data", "{tmp}", "--out", "{tmp}/run"), "is not readable"),
        (("vla-train", "--data", "{tmp}", "--out", "{tmp}/run", "--steps", "0"), "--steps must be positive"),
        (("vla-train", "--data", "{tmp}", "--out", "{tmp}/run", "--lora-rank", "8"), "--lora-rank needs --init"),
        (
            ("vla-train", "--data", "{tmp}", "--out", "{tmp}/run", "--prompt-loss-weight", "-1"),
            "--prompt-loss-weight must not be negative",
        ),
        (
            ("vla-train", "--data", "{tmp}", "--out", "{tmp}/run", "--first-query-repeats", "0"),
            "--first-query-repeats must be positive",
        ),
        (("vla-train", "--data", "{tmp}", "--out", "{tmp}/run", "--image-size", "90"), "not a multiple"),
        (
            ("vla-train", "--data", "{tmp}", "--out", "{tmp}/run", "--first-queries-only", "--turn-starts-only"),
            "choose one of --first-queries-only and --turn-starts-only",
        ),
        (("vla-data", "--out", "{tmp}"), "exists already"),
        (("vla-data", "--out", "{tmp}/new", "--per-scene", "0"), "--per-scene must be positive"),
        (
            ("vla-dagger", "--model", "{tmp}/none", "--data", "{tmp}", "--round", "1", "--out", "{tmp}/r"),
            "does not exist",
        ),
        (("vla-dagger", "--model", "{tmp}", "--data", "{tmp}", "--round", "1", "--out", "{tmp}/r"), "has no config"),
    ],
)
def test_one_line_error(tmp_path, args, message):
    """Missing or damaged inputs and impossible options end in one stderr line, exit code 2, nothing written."""
    result = navila(*(arg.replace("{tmp}", str(tmp_path)) for arg in args))
    lines = [line for line in result.stderr.splitlines() if line.strip() and "Warning" not in line]
    assert result.returncode == 2, result.stderr[-2000:]
    assert message.replace("{tmp}", str(tmp_path)) in lines[-1] and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []

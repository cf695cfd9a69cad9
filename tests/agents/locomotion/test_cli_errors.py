"""User mistakes end in one clear line on stderr and a non-zero exit, never a traceback."""

import subprocess
import sys

import pytest
import torch


def navila(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "navila_cli", *args], capture_output=True, text=True, timeout=300)


class TestCliErrors:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("train", "--task", "NaVILA-Go2-Nope"), "unknown task 'NaVILA-Go2-Nope'"),
            (("export", "--checkpoint", "/nonexistent/model_1.pt"), "does not exist"),
            (("train", "--task", "NaVILA-Go2-Flat", "env.scene.num_envs"), "malformed override"),
            (("train", "--task", "NaVILA-Go2-Flat", "env.no_such_field.x=1"), "could not apply overrides"),
            (("frobnicate",), "unknown command 'frobnicate'"),
        ],
    )
    def test_one_line_error(self, args, message):
        """The error names the problem in a single stderr line and exits with code 2."""
        result = navila(*args)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip() and "Warning" not in line]
        assert message in lines[-1]
        assert "Traceback" not in result.stderr

    @pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
    def test_cuda_without_cuda(self):
        """Asking for CUDA where there is none is a one-line error."""
        result = navila("train", "--task", "NaVILA-Go2-Flat", "--device", "cuda")
        assert result.returncode == 2 and "CUDA is not available" in result.stderr
        assert "Traceback" not in result.stderr

import subprocess
import sys

import numpy as np
import pytest
from navila_agents.commands.vla_serve import main
from navila_agents.vla.backends.server import ServerBackend
from navila_lab.errors import UserError


class TestVlaServe:
    def test_missing_model_is_a_user_error(self, tmp_path):
        """A folder without a transformers model is reported as one user error line."""
        with pytest.raises(UserError, match="config.json"):
            main(["--model", str(tmp_path)])

    @pytest.mark.slow
    def test_serves_a_local_model(self, tiny_vla_path):
        """`navila vla-serve` loads a local model and answers a client on 127.0.0.1 as the model does in process."""
        from navila_agents.vla.backends.hf import HFBackend

        command = [sys.executable, "-m", "navila_cli", "vla-serve", "--model", str(tiny_vla_path), "--port", "0"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            banner = process.stdout.readline()
            assert banner.startswith("serving"), banner
            url = banner.split(" on ")[-1].strip()
            frames = np.zeros((8, 16, 16, 3), dtype=np.uint8)
            answer = ServerBackend(url, timeout=60).act(frames, "go to the sofa")
            assert answer == HFBackend(tiny_vla_path).act(frames, "go to the sofa")
        finally:
            process.terminate()
            process.wait(timeout=10)

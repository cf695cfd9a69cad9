"""Watching a run: --viz choices checked before anything is built, and (simulator) the browser viewer and the rerun
recording as a user gets them: headless Chromium shows the robot, the .rrd replays the scene."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from navila_agents import viewers
from navila_lab.errors import UserError

PROBE = Path(__file__).with_name("viewer_probe.py")
CHROMIUM = os.environ.get("NAVILA_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = importlib.util.find_spec("playwright")


class TestParseViewers:
    def test_names(self):
        assert viewers.parse_viewers("viser,rerun") == ["viser", "rerun"] and viewers.parse_viewers(None) == []

    def test_unknown_viewer(self):
        with pytest.raises(UserError, match="unknown viewer"):
            viewers.parse_viewers("viser,vr")

    def test_kit_without_isaac_sim(self, monkeypatch):
        """Isaac Sim's GUI without Isaac Sim installed: a one-line error that says where to get it."""
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "isaacsim" else real(name))
        with pytest.raises(UserError, match="--viz kit needs the 'isaacsim' package: it is Isaac Sim's GUI"):
            viewers.parse_viewers("kit")

    def test_newton_gl_without_display(self, monkeypatch):
        monkeypatch.delenv("DISPLAY", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        with pytest.raises(UserError, match="no display: use --viz viser"):
            viewers.parse_viewers("newton_gl")


def test_cli_refuses_a_missing_viewer_at_once(tmp_path):
    """navila play --viz kit on a machine without Isaac Sim: one stderr line, exit code 2, no simulator built."""
    if importlib.util.find_spec("isaacsim") is not None:
        pytest.skip("Isaac Sim is installed here")
    policy = Path(__file__).parents[3] / "policies" / "go2_rough_lidar"
    result = subprocess.run(
        [sys.executable, "-m", "navila_cli", "play", "--policy", str(policy), "--viz", "kit", "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("navila play: error: --viz kit needs the 'isaacsim'")


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    missing = [name for name, found in (("chromium", shutil.which(CHROMIUM)), ("playwright", PLAYWRIGHT)) if not found]
    if missing:
        message = f"{', '.join(missing)} missing: run scripts/setup.sh (scripts/install_viewer_deps.sh)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    out = tmp_path_factory.mktemp("viewers")
    result = subprocess.run([sys.executable, str(PROBE), str(out)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.sim
@pytest.mark.slow
class TestViewers:
    def test_browser_shows_the_robot(self, probe):
        """The viser page, pointed at robot 0: taking the robot away changes the middle of the picture, not the rest."""
        assert probe["middle_change"] > 1.0, probe
        assert probe["middle_change"] > 10 * probe["rest_change"], probe

    def test_rerun_recording_replays_the_scene(self, probe):
        """The .rrd is readable by rerun and holds the model's meshes and many logged steps."""
        assert probe["rrd_print_ok"] and probe["rrd_has_meshes"] and probe["rrd_chunks"] > 100, probe

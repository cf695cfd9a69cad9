"""Watching a run: Isaac Lab 3's visualizers behind ``--viz`` for ``navila play`` and ``navila vln`` (docs/viewers.md).

* ``viser``: a 3-D viewer in the browser (http://localhost:PORT), served by the run itself;
* ``rerun``: a recording (``.rrd``) saved for replay with ``rerun FILE``, plus a live web viewer while the run lasts;
* ``kit``: Isaac Sim's full GUI (needs Isaac Sim 6.2, which this project does not install);
* ``newton_gl``: Newton's OpenGL window (needs a display).

Each is checked before the simulator is built: a missing package or display is a one-line error.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from navila_lab.errors import UserError

if TYPE_CHECKING:
    import gymnasium as gym
    from isaaclab.visualizers import VisualizerCfg

VIEWERS = ("viser", "rerun", "kit", "newton_gl")
NEEDS: dict[str, tuple[str, str]] = {
    "viser": ("viser", "pip install -e '.[viz]' (or 'isaaclab[viser]')"),
    "rerun": ("rerun", "pip install -e '.[viz]' (or 'isaaclab[rerun]')"),
    "kit": ("isaacsim", "it is Isaac Sim's GUI; install Isaac Sim 6.2 as docs/viewers.md says"),
    "newton_gl": ("pyglet", "pip install pyglet"),
}
"""Viewer → (module it needs, how to get it)."""
CAMERA_OFFSET = (-2.5, -2.5, 3.0)
"""Where the viewers' camera starts, from the robot of env 0 (m): above and behind, to see over walls."""


def add_viewer_args(parser: argparse.ArgumentParser) -> None:
    """``--viz`` and its settings."""
    parser.add_argument(
        "--viz",
        default=None,
        metavar="NAMES",
        help=f"watch the run, comma-separated: {', '.join(VIEWERS)} (docs/viewers.md)",
    )
    parser.add_argument("--viz-port", type=int, default=8080, help="--viz viser: port of the browser viewer")
    parser.add_argument(
        "--viz-record", type=Path, default=None, help="--viz rerun: the .rrd file to save (default: beside the outputs)"
    )


def parse_viewers(value: str | None) -> list[str]:
    """The viewer names of ``--viz``, each checked (package, display); a one-line error otherwise."""
    if not value:
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in VIEWERS]
    if unknown:
        raise UserError(f"--viz {','.join(unknown)}: unknown viewer (choose from: {', '.join(VIEWERS)})")
    for name in names:
        module, hint = NEEDS[name]
        if importlib.util.find_spec(module) is None:
            raise UserError(f"--viz {name} needs the '{module}' package: {hint}")
    if "newton_gl" in names and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserError("--viz newton_gl opens a desktop window and this machine has no display: use --viz viser")
    return names


def viewer_cfgs(args: argparse.Namespace, default_record: Path) -> list[VisualizerCfg]:
    """Isaac Lab visualizer cfgs of ``--viz`` (for ``env_cfg.sim.visualizer_cfgs``).

    Args:
        args: The command line with :func:`add_viewer_args`' options.
        default_record: Where rerun saves its recording unless ``--viz-record`` says.
    """
    cfgs = []
    record = args.viz_record or default_record
    for name in parse_viewers(args.viz):
        if name == "viser":
            from isaaclab_visualizers.viser import ViserVisualizerCfg

            cfgs.append(ViserVisualizerCfg(port=args.viz_port))
        elif name == "rerun":
            from navila_agents.viewer_rerun import RecordingRerunVisualizerCfg

            record.parent.mkdir(parents=True, exist_ok=True)
            cfgs.append(RecordingRerunVisualizerCfg(record_to_rrd=str(record), keep_historical_data=True))
        elif name == "kit":
            from isaaclab_visualizers.kit import KitVisualizerCfg

            cfgs.append(KitVisualizerCfg())
        else:
            from isaaclab_visualizers.newton import NewtonGLVisualizerCfg

            cfgs.append(NewtonGLVisualizerCfg())
    return cfgs


def look_at(env: gym.Env, target: Sequence[float] | None = None) -> None:
    """Point every open viewer's camera at ``target`` (world x, y, z; default: the robot of env 0).

    The camera sits at :data:`CAMERA_OFFSET` from the target.
    """
    if target is None:
        target = env.unwrapped.scene["robot"].data.root_pos_w.torch[0].tolist()
    target = [float(value) for value in target]
    eye = [value + offset for value, offset in zip(target, CAMERA_OFFSET, strict=True)]
    for visualizer in env.unwrapped.sim.visualizers:
        visualizer.set_camera_view(eye, target)

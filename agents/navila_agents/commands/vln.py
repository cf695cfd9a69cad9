"""``navila vln``: VLN episodes with a frozen VLA above a frozen locomotion policy (or a perfect low level), scored.

Writes ``episodes.json`` (one object per episode), ``summary.json`` (NE, OS, SR, SPL, falls, collisions, glass
contacts, and the run's settings: envs, camera size, episodes per hour) and, with ``--video N``,
``videos/episode_<id>.mp4`` for the first N episodes; prints the results table. Isaac Lab's set-up printout goes to
``setup.log`` in the output folder. ``--viz viser|rerun|kit|newton_gl`` shows the run live (docs/viewers.md).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from navila_lab.errors import UserError
from navila_lab.video import require_mp4
from navila_tasks.vln.episodes import Episode, load_episodes
from navila_tasks.vln.layout import SceneLayout, SceneSource, scene_floor_heights
from navila_tasks.vln.scene_files import DEFAULT_GLASS_PATTERN

from navila_agents.locomotion.policy import resolve_policy
from navila_agents.viewers import add_viewer_args, look_at, parse_viewers, viewer_cfgs
from navila_agents.vla.executor import ExecutionMode, ExecutorCfg
from navila_agents.vla.interfaces import Interface
from navila_agents.vln.env import VLN_TASK, vln_env_cfg

if TYPE_CHECKING:
    from navila_agents.vla.backends.base import VLABackend
    from navila_agents.vln.rollout import EpisodeResult
    from navila_agents.vln.simulator import IsaacVlnSim

BACKENDS = ("oracle", "hf", "server")
DEFAULT_CAMERA_SIZE = 512
"""Camera size (px) when the VLA does not say: the reference's (docs/reference.md §1)."""
CPU_NUM_ENVS = 4
"""Default episodes in parallel on CPU (on a GPU: the task's, 256)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    from navila_agents.locomotion import runtime

    parser = argparse.ArgumentParser(prog="navila vln", description=__doc__)
    runtime.add_common_args(parser, task_default=VLN_TASK)
    parser.add_argument("--episodes", type=Path, required=True, help="episode file (.json or .json.gz, R2R-CE schema)")
    parser.add_argument(
        "--scenes-dir",
        type=Path,
        default=None,
        help="folder of scene files for the episodes' scene ids (docs/scenes.md)",
    )
    parser.add_argument(
        "--glass-pattern",
        default=DEFAULT_GLASS_PATTERN,
        help=f"regex on prim, node or material names that marks glass in scene files ({DEFAULT_GLASS_PATTERN})",
    )
    low_level = parser.add_mutually_exclusive_group(required=True)
    low_level.add_argument("--policy", help="exported policy directory (navila export) or rsl_rl checkpoint/run dir")
    low_level.add_argument("--perfect-low-level", action="store_true", help="teleport the base as commanded")
    parser.add_argument(
        "--governor",
        action="store_true",
        help="--policy: cap its commands with the robot-side height-map governor (docs/deploy_contract.md)",
    )
    parser.add_argument(
        "--vla",
        default="oracle",
        help="VLA backend: oracle (privileged, default), hf (with --vla-model), server, or a VLA model folder",
    )
    parser.add_argument(
        "--interface",
        choices=[str(interface) for interface in Interface],
        default=str(Interface.LANGUAGE),
        help="how the VLA commands the robot: language actions, tokens A-D, or waypoints (docs/vla_interfaces.md)",
    )
    parser.add_argument(
        "--oracle-view",
        choices=("full", "camera"),
        default="full",
        help="--vla oracle: plan around glass (full) or only around what the camera sees (camera), like an RGB VLA",
    )
    parser.add_argument("--vla-model", type=Path, help="--vla hf: local transformers model folder")
    parser.add_argument("--vla-url", help="--vla server: base URL of a VLA server (navila vla-serve or your own)")
    parser.add_argument("--vla-device", default=None, help="torch device of the hf model (default: the sim device)")
    parser.add_argument(
        "--execution", choices=[mode.value for mode in ExecutionMode], default="open_loop", help="action execution"
    )
    parser.add_argument("--query-period", type=float, default=0.5, help="simulated seconds between VLA queries")
    parser.add_argument("--max-steps", type=int, default=2500, help="policy steps after which an episode ends")
    parser.add_argument("--max-still-steps", type=int, default=1000, help="steps without moving that end an episode")
    parser.add_argument("--limit", type=int, default=None, help="run the first N episodes only")
    parser.add_argument(
        "--camera-size", type=int, default=None, help="camera width and height (px; default: the VLA's input, else 512)"
    )
    parser.add_argument("--video", type=int, default=0, metavar="N", help="write mp4s of the first N episodes")
    parser.add_argument("--label", default=None, help="method name in the table (default: from the low level)")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: results/vln/<label>)")
    add_viewer_args(parser)
    args = parser.parse_args(argv)
    args.interface = Interface(args.interface)
    return args


def read_episodes(path: Path, limit: int | None) -> list[Episode]:
    """Load the episodes to run; raise a one-line error if there are none."""
    if not path.is_file():
        raise UserError(f"episode file '{path}' does not exist")
    try:
        episodes = load_episodes(path)
    except ValueError as error:
        raise UserError(str(error)) from None
    episodes = episodes[:limit] if limit is not None else episodes
    if not episodes:
        raise UserError(f"{path}: no episodes to run")
    return episodes


def check_args(args: argparse.Namespace) -> None:
    """One-line errors for values that would only fail after the simulator is built (a server is asked now).

    A model folder given as ``--vla`` becomes ``--vla hf --vla-model <folder>``; without ``--camera-size`` the camera
    renders at the model's input size (512 for other backends).
    """
    if args.vla not in BACKENDS:
        if not Path(args.vla).is_dir():
            raise UserError(f"--vla must be one of {', '.join(BACKENDS)} or a VLA model folder, got '{args.vla}'")
        args.vla, args.vla_model = "hf", Path(args.vla)
    if args.vla == "hf" and args.vla_model is not None:
        from navila_agents.vla.backends.hf import check_vla_folder, model_image_size

        check_vla_folder(args.vla_model)
        args.camera_size = args.camera_size or model_image_size(args.vla_model)
    args.camera_size = args.camera_size or DEFAULT_CAMERA_SIZE
    positive = {"--query-period": args.query_period, "--max-steps": args.max_steps, "--camera-size": args.camera_size}
    positive |= {"--max-still-steps": args.max_still_steps, "--limit": 1 if args.limit is None else args.limit}
    for flag, value in positive.items():
        if value <= 0:
            raise UserError(f"{flag} must be positive, got {value}")
    if args.video < 0:
        raise UserError(f"--video must be 0 or more, got {args.video}")
    if args.governor and args.perfect_low_level:
        raise UserError("--governor caps a locomotion policy's commands; the perfect low level has none")
    if args.video:
        require_mp4()
    if args.vla == "hf" and not (args.vla_model and (args.vla_model / "config.json").is_file()):
        raise UserError(
            f"--vla hf needs --vla-model with a local transformers model (no config.json in {args.vla_model})"
        )
    if args.vla == "hf" and args.interface != Interface.LANGUAGE:
        raise UserError(f"--vla hf answers in language; --interface {args.interface} needs --vla oracle or server")
    if args.oracle_view != "full" and args.vla != "oracle":
        raise UserError(f"--oracle-view applies to --vla oracle only, not --vla {args.vla}")
    if args.vla == "server":
        check_server(args.vla_url, args.interface)
    parse_viewers(args.viz)


def check_server(url: str | None, interface: Interface) -> None:
    """The server answers ``/health`` in the interface asked for, or a one-line error."""
    from navila_agents.vla.backends.server import ServerBackend

    if not url:
        raise UserError("--vla server needs --vla-url, e.g. http://127.0.0.1:8000")
    try:
        health = ServerBackend(url, timeout=10.0).health()
    except OSError as error:
        raise UserError(f"VLA server {url} does not answer /health ({error})") from None
    served = health.get("interface", str(Interface.LANGUAGE))
    if served != interface:
        raise UserError(f"VLA server {url} answers in the {served} interface; pass --interface {served}")


def scene_source(args: argparse.Namespace, episodes: list[Episode]) -> SceneSource:
    """Where the episodes' scenes come from: ``--scenes-dir`` (floors where the episodes start) and procedural ids."""
    if args.scenes_dir is None:
        return SceneSource()
    if not args.scenes_dir.is_dir():
        raise UserError(f"--scenes-dir {args.scenes_dir} is not a folder")
    try:
        re.compile(args.glass_pattern)
    except re.error as error:
        raise UserError(f"--glass-pattern {args.glass_pattern!r}: {error}") from None
    try:
        floors = scene_floor_heights(episodes)
    except ValueError as error:
        raise UserError(f"{args.episodes}: {error}") from None
    return SceneSource(str(args.scenes_dir), args.glass_pattern, floors)


def check_starts(episodes: list[Episode], layout: SceneLayout) -> None:
    """A one-line error for the first episode that starts inside its scene's geometry."""
    for episode in episodes:
        if layout.inside_geometry(episode.scene_id, episode.start_position[:2]):
            x, y, _ = episode.start_position
            raise UserError(
                f"episode {episode.episode_id!r} starts inside the geometry of scene '{episode.scene_id}' at "
                f"({x:.2f}, {y:.2f}): its start must be on the floor, clear of walls and furniture"
            )


def make_backend(args: argparse.Namespace, sim: IsaacVlnSim) -> VLABackend:
    """Build the VLA backend chosen on the command line."""
    if args.vla == "hf":
        from navila_agents.vla.backends.hf import HFBackend

        return HFBackend(args.vla_model, device=args.vla_device or sim.device)
    if args.vla == "server":
        from navila_agents.vla.backends.server import ServerBackend

        return ServerBackend(args.vla_url, interface=args.interface)
    from navila_agents.vla.backends.oracle import ORACLE_WAYPOINT_RADIUS, ShortestPathOracle

    return ShortestPathOracle(
        sim.num_envs, sim.poses, waypoint_radius=ORACLE_WAYPOINT_RADIUS, device=sim.device, interface=args.interface
    )


def vla_label(args: argparse.Namespace) -> str:
    """How the run's VLA is named in its settings, e.g. ``oracle (full view), waypoints``."""
    name = args.vla + (f" ({args.oracle_view} view)" if args.vla == "oracle" else "")
    name += f" {args.vla_model}" if args.vla == "hf" else ""
    return name if args.interface == Interface.LANGUAGE else f"{name}, {args.interface}"


def run(args: argparse.Namespace) -> tuple[list[EpisodeResult], dict, SceneLayout]:
    """Check the inputs, build the VLN task for the episodes' scenes, run every episode, write the results.

    Returns:
        The episodes' results, the summary written to ``summary.json``, and the layout of their scenes.
    """
    check_args(args)
    policy = None if args.policy is None else resolve_policy(args.policy)
    episodes = read_episodes(args.episodes, args.limit)
    source = scene_source(args, episodes)
    try:
        layout = SceneLayout.from_ids([episode.scene_id for episode in episodes], source=source)
    except ValueError as error:
        raise UserError(f"{args.episodes}: {error}") from None
    check_starts(episodes, layout)
    args.label = args.label or ("perfect low level" if args.perfect_low_level else Path(args.policy).resolve().name)
    args.out = args.out or Path("results") / "vln" / args.label.replace(" ", "_")

    from navila_agents.locomotion import runtime
    from navila_agents.vln.report import write_run
    from navila_agents.vln.rollout import VlnRunCfg, VlnRunner
    from navila_agents.vln.simulator import IsaacVlnSim
    from navila_agents.vln.video import EpisodeVideos

    scene_ids = [scene.scene_id for scene in layout.scenes]
    env_cfg = vln_env_cfg(args, scene_ids, len(episodes), args.governor, policy, source)
    if args.num_envs is None and env_cfg.sim.device == "cpu":
        env_cfg.scene.num_envs = min(CPU_NUM_ENVS, env_cfg.scene.num_envs)
    run_cfg = VlnRunCfg(
        query_period=args.query_period,
        max_steps=args.max_steps,
        max_still_steps=args.max_still_steps,
        executor=ExecutorCfg(mode=ExecutionMode(args.execution)),
        oracle_sees_glass=args.oracle_view == "full",
    )
    args.out.mkdir(parents=True, exist_ok=True)
    env_cfg.sim.visualizer_cfgs = viewer_cfgs(args, args.out / "recording.rrd")
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        with (args.out / "setup.log").open("w") as log, contextlib.redirect_stdout(log):
            env = stack.enter_context(runtime.open_env(args.task, env_cfg))
        first = episodes[0]
        look_at(env, (*(layout.offset(first.scene_id) + first.start_position[:2]), first.start_position[2]))
        sim = IsaacVlnSim(env, layout, policy)
        recorder = None
        if args.video:
            recorder = EpisodeVideos(args.out / "videos", range(args.video), layout, sim.height_maps)
        runner = VlnRunner(sim, make_backend(args, sim), episodes, layout, run_cfg, recorder)
        loop_start = time.perf_counter()
        results = runner.run()
        loop_s = time.perf_counter() - loop_start
    config = {
        "episodes_file": str(args.episodes),
        "scenes_dir": None if args.scenes_dir is None else str(args.scenes_dir),
        "task": args.task,
        "low_level": "perfect (teleported)" if args.perfect_low_level else str(args.policy),
        "governor": args.governor,
        "vla": vla_label(args),
        "interface": str(args.interface),
        "execution": args.execution,
        "query_period_s": args.query_period,
        "max_steps": args.max_steps,
        "num_envs": env_cfg.scene.num_envs,
        "device": env_cfg.sim.device,
        "camera": f"{args.camera_size}x{args.camera_size}",
        "wall_time_s": round(time.perf_counter() - start, 1),
        "loop_time_s": round(loop_s, 1),
        "episodes_per_hour": round(3600.0 * len(results) / loop_s, 1),
    }
    return results, write_run(args.out, args.label, results, config), layout


def main(argv: list[str]) -> int:
    """Run ``navila vln`` and print the results table."""
    from navila_agents.vln.metrics import format_table

    args = parse_args(argv)
    results, summary, _ = run(args)
    config = summary["config"]
    print(format_table({args.label: summary["metrics"]}))
    print(
        f"[navila] {len(results)} episodes, {config['num_envs']} in parallel, camera {config['camera']}: "
        f"{config['episodes_per_hour']} episodes/hour ({config['loop_time_s']} s) -> {args.out}"
    )
    return 0

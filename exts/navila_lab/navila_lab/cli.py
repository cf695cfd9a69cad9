"""The ``navila`` command: one subcommand per job, each a ``main(argv) -> int`` in its own module."""

from __future__ import annotations

import importlib
import sys

from navila_lab.errors import UserError

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("navila_tasks.scripts.train", "train a locomotion policy with rsl_rl PPO"),
    "play": ("navila_tasks.scripts.play", "run a checkpoint and write a video"),
    "export": ("navila_tasks.scripts.export", "export a checkpoint to TorchScript, ONNX and deploy.yaml"),
    "eval": ("navila_tasks.scripts.eval", "locomotion metrics of a policy per terrain and speed, or two side by side"),
    "card": ("navila_tasks.scripts.model_card", "write an exported policy's model card and training curves"),
    "bench": ("navila_tasks.scripts.bench", "measure env-steps/s against the stock Isaac Lab Go2 task"),
    "deploy": ("navila_sim2real.deploy_cli", "run an exported policy on the Go2 (or on sim2sim) over DDS"),
    "sim2sim": ("navila_sim2real.sim2sim.cli", "MuJoCo Go2 on the robot's DDS topics, optionally driven by a policy"),
    "vla-serve": ("navila_agents.scripts.vla_serve", "serve a local Hugging Face VLA over HTTP"),
    "vln": ("navila_agents.scripts.vln", "run and score VLN episodes: VLA above a locomotion policy (or perfect)"),
    "vln-episodes": ("navila_agents.scripts.vln_episodes", "generate VLN episodes in procedural scenes"),
}
"""Subcommand → (module with ``main(argv) -> int``, one-line help)."""


def usage() -> str:
    """Top-level help text."""
    width = max(map(len, SUBCOMMANDS))
    lines = ["usage: navila <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in SUBCOMMANDS.items()]
    lines += ["", "'navila <command> --help' describes a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; user errors become one line on stderr and exit code 2."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"navila: unknown command '{name}' (choose from: {', '.join(SUBCOMMANDS)})", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(SUBCOMMANDS[name][0])
    except ModuleNotFoundError as error:
        print(f"navila {name}: not available in this install ({error}); see README for extras", file=sys.stderr)
        return 2
    try:
        return module.main(rest)
    except UserError as error:
        print(f"navila {name}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"navila {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    from navila_lab.cli import main as package_main  # one UserError class, also under ``python -m``

    sys.exit(package_main())

"""The ``navila`` command: each subcommand is ``main(argv) -> int`` of ``<owner>.commands.<name>``.

The table below is data only: a subcommand's module is found by its name (``vln-episodes`` →
``navila_tasks.commands.vln_episodes``) in the package that owns the job. ``navila bench NAME`` runs
``benchmarks/NAME.py``.
"""

from __future__ import annotations

import importlib
import sys

from navila_lab.errors import run_command

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("navila_agents", "VLN episodes past glass end to end: metrics, video, summary (minutes on CPU)"),
    "train": ("navila_agents", "train a locomotion policy with rsl_rl PPO"),
    "play": ("navila_agents", "run a policy and write a video"),
    "export": ("navila_agents", "export a checkpoint to TorchScript, ONNX and deploy.yaml"),
    "evaluate": ("navila_agents", "locomotion metrics of a policy per terrain and speed, or two side by side"),
    "card": ("navila_agents", "write an exported policy's model card and training curves"),
    "vln-episodes": ("navila_tasks", "generate VLN episodes in procedural scenes"),
    "vln": ("navila_agents", "run and score VLN episodes: VLA above a locomotion policy (or perfect)"),
    "vla-serve": ("navila_agents", "serve a local Hugging Face VLA over HTTP"),
    "vla-data": ("navila_agents", "label VLN queries with the oracle in the VLN task: a VLA training dataset"),
    "vla-train": ("navila_agents", "train a VLA on vla-data datasets (new small model, or fine-tune a local one)"),
    "vla-dagger": ("navila_agents", "one DAgger round: roll out a VLA, label its queries with the oracle"),
    "deploy": ("navila_sim2real", "run an exported policy on the Go2 (or on sim2sim) over DDS"),
    "sim2sim": ("navila_sim2real", "MuJoCo Go2 on the robot's DDS topics, optionally driven by a policy"),
    "bench": ("navila_benchmarks", "run a benchmark of benchmarks/ ('navila bench' lists them)"),
}
"""Subcommand → (package that owns it, one-line help)."""


def command_module(name: str) -> str:
    """The module whose ``main(argv)`` runs ``navila <name>``."""
    owner = SUBCOMMANDS[name][0]
    return owner if name == "bench" else f"{owner}.commands.{name.replace('-', '_')}"


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
        module = importlib.import_module(command_module(name))
    except ModuleNotFoundError as error:
        print(f"navila {name}: not available in this install ({error}); see README for extras", file=sys.stderr)
        return 2
    return run_command(module.main, rest, f"navila {name}")

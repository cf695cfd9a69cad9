"""``navila card``: MODEL_CARD.md + curves.png of an exported policy, from its run and a ``navila evaluate`` JSON."""

from __future__ import annotations

import argparse
import os

from navila_lab.errors import UserError

from navila_agents.locomotion.model_card import write_model_card
from navila_agents.locomotion.runtime import checkpoint_task, recorded_run


def main(argv: list[str]) -> int:
    """Write the card into the policy directory."""
    parser = argparse.ArgumentParser(prog="navila card", description=__doc__)
    parser.add_argument("--policy", required=True, help="exported policy directory (navila export --out)")
    parser.add_argument("--run", required=True, help="training run directory (events.out.tfevents.*, params/)")
    parser.add_argument("--task", default=None, help="task the policy was trained on (default: the run's record)")
    parser.add_argument("--commit", required=True, help="git commit the policy was trained at")
    parser.add_argument("--device", required=True, help="training device, in words")
    parser.add_argument("--eval", default=None, help="navila evaluate JSON that includes this policy")
    parser.add_argument(
        "--eval-name", default=None, help="this policy's name in the eval report (default: the policy directory's)"
    )
    parser.add_argument("--notes", default="", help="free text added under the facts")
    args = parser.parse_args(argv)
    for path, what in ((args.policy, "policy directory"), (args.run, "run directory")):
        if not os.path.isdir(path):
            raise UserError(f"{what} '{path}' does not exist")
    if args.eval and not os.path.isfile(args.eval):
        raise UserError(f"eval report '{args.eval}' does not exist")
    if not os.path.isdir(os.path.join(args.run, "params")):
        raise UserError(f"'{args.run}' is not a navila train run (no params/ folder)")
    anchor = os.path.join(args.run, "model.pt")  # the run record sits beside the run's checkpoints
    if args.task is None and recorded_run(anchor) is None:
        raise UserError(f"run '{args.run}' records no task (params/run.yaml): give --task")
    task, _ = checkpoint_task(anchor, args.task, [])
    try:
        path = write_model_card(
            args.policy, args.run, task, args.commit, args.device, args.eval, args.notes, args.eval_name
        )
    except ValueError as error:
        raise UserError(str(error)) from None
    print(f"[navila] model card -> {path}")
    return 0

"""``navila vla-dagger``: one DAgger round: the VLA drives in new episodes of the training scenes, the oracle labels.

The learner is a model folder (``navila vla-train``'s ``<out>/model``); the low level is teleported (kinematic, fast)
unless ``--policy`` names a locomotion policy. Every query is labelled with the full-view oracle's action from where
the learner stands; the rows go to a new dataset folder (split ``train``) whose card holds the learner's SR in these
rollouts. Retrain on the aggregate with ``navila vla-train --data <base> <round 1> ... --init <model>``.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from navila_lab.errors import UserError

from navila_agents.vln.env import add_env_args


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="navila vla-dagger", description=__doc__)
    add_env_args(parser, num_envs=256)
    parser.add_argument("--model", type=Path, required=True, help="the learner: a VLA model folder")
    parser.add_argument("--data", type=Path, required=True, help="the navila vla-data dataset (its training scenes)")
    parser.add_argument("--round", type=int, required=True, help="round number (1, 2, ...): seeds its episodes")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to create for this round's rows")
    parser.add_argument("--policy", default=None, help="locomotion policy (exported dir); teleported when omitted")
    parser.add_argument("--per-scene", type=int, default=2, help="new episodes per training scene")
    parser.add_argument("--scenes", type=int, default=None, help="use the first N training scenes only")
    parser.add_argument("--expert-probability", type=float, default=0.0, help="chance a query executes the expert")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="a learner's stop where the expert would not stop executes the expert's answer: the episode goes on "
        "into the states where the learner loses its way instead of ending there",
    )
    parser.add_argument("--vla-device", default=None, help="torch device of the learner (default: the sim device)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Roll out the learner, label its queries, write the round's dataset."""
    args = parse_args(argv)
    if args.per_scene <= 0:
        raise UserError(f"--per-scene must be positive, got {args.per_scene}")
    if not 0.0 <= args.expert_probability <= 1.0:
        raise UserError(f"--expert-probability must be in [0, 1], got {args.expert_probability}")
    if args.out.exists():
        raise UserError(f"'{args.out}' exists already: choose a new --out or remove it")
    from navila_agents.locomotion.policy import resolve_policy

    policy = None if args.policy is None else resolve_policy(args.policy)

    from navila_lab.provenance import stamp
    from navila_tasks.vln.layout import SceneLayout

    from navila_agents.vla.backends.hf import HFBackend, check_vla_folder
    from navila_agents.vla.training.dataset import write_dataset
    from navila_agents.vln.dagger import round_episodes, training_scenes
    from navila_agents.vln.datagen import collect, dataset_card
    from navila_agents.vln.env import open_vln_env
    from navila_agents.vln.metrics import aggregate
    from navila_agents.vln.render_sim import RenderSim
    from navila_agents.vln.rollout import VlnRunCfg
    from navila_agents.vln.simulator import IsaacVlnSim

    check_vla_folder(args.model)
    scenes = training_scenes(args.data)[: args.scenes]
    episodes = round_episodes(scenes, args.round, args.per_scene, args.seed or 0)
    if not episodes:
        raise UserError(f"no episode could be drawn in the {len(scenes)} training scenes")
    layout = SceneLayout.from_ids(scenes)
    source = f"dagger_{args.round}"
    with open_vln_env(args, [scene.scene_id for scene in layout.scenes], len(episodes), policy=policy) as env:
        device = str(env.unwrapped.device)
        sim = RenderSim(env, layout) if args.policy is None else IsaacVlnSim(env, layout, policy)
        learner = HFBackend(args.model, device=args.vla_device or device, max_new_tokens=8)
        rollouts = collect(
            sim,
            layout,
            episodes,
            source,
            VlnRunCfg(max_steps=args.max_steps),
            learner=learner,
            expert_probability=args.expert_probability,
            seed=args.round,
            keep_going=args.keep_going,
        )
    metrics = aggregate([result.record for result in rollouts.results])
    facts = {
        **stamp(device),
        "learner": str(args.model),
        "low level": "teleported (kinematic)" if args.policy is None else f"policy {args.policy}",
        "learner in these rollouts": ", ".join(f"{key} {metrics[key]:.1f}" for key in ("SR", "OS", "SPL", "NE")),
        "expert probability": str(args.expert_probability),
        "learner's early stops": "overridden by the expert" if args.keep_going else "end the episode",
        "labelled queries per second": f"{rollouts.queries_per_second:.0f} ({rollouts.wall_time:.0f} s)",
    }
    command = "navila vla-dagger " + shlex.join(argv)
    write_dataset(
        args.out,
        {"train": rollouts.rows},
        dataset_card(f"navila VLA DAgger round {args.round}", command, {"train": rollouts.rows}, facts),
    )
    print(
        f"[navila] round {args.round}: learner SR {metrics['SR']:.1f} in {len(episodes)} episodes; "
        f"{len(rollouts.rows)} labelled queries -> {args.out}"
    )
    return 0

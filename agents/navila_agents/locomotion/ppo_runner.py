"""The rsl_rl runner of ``navila train``: checkpoints keep the terrain curriculum, CPU ranks talk over gloo."""

from __future__ import annotations

import os

import torch
from navila_lab.errors import UserError
from rsl_rl.algorithms import PPO
from rsl_rl.runners import OnPolicyRunner


def terrain_state(terrain) -> dict[str, torch.Tensor] | None:  # noqa: ANN001 (an Isaac Lab TerrainImporter)
    """Each robot's terrain level and type, or None for terrains without a curriculum grid."""
    if getattr(terrain, "terrain_levels", None) is None:
        return None
    return {"levels": terrain.terrain_levels.cpu(), "types": terrain.terrain_types.cpu()}


def restore_terrain_state(terrain, state: dict[str, torch.Tensor] | None) -> bool:  # noqa: ANN001
    """Put the robots back on the saved levels and types; they move there at their next reset.

    ``env_origins`` stay where the robots spawned: the curriculum measures the distance walked from them at the next
    reset (moving an origin now would count the jump as walking and promote every robot).

    Returns False, changing nothing, when the state does not fit this terrain (no grid, another env count, more rows or
    columns than the grid has).
    """
    levels = getattr(terrain, "terrain_levels", None)
    if state is None or levels is None or state["levels"].shape != levels.shape:
        return False
    rows, cols = terrain.terrain_origins.shape[:2]
    if int(state["levels"].max()) >= rows or int(state["types"].max()) >= cols:
        return False
    terrain.terrain_levels[:] = state["levels"].to(levels.device)
    terrain.terrain_types[:] = state["types"].to(levels.device)
    return True


ADAPTIVE_LR_FLOOR = 1.0e-5
"""The smallest learning rate of rsl_rl's adaptive (KL) schedule."""


class NavilaPPO(PPO):
    """rsl_rl's PPO whose next ``critic_only_updates`` updates train the critic alone.

    The actor's parameters (weights and exploration std) get no gradients during those updates, so its rollouts stay
    the policy it started as while a new critic learns their values. With the adaptive schedule the learning rate then
    restarts at its floor, from where the KL schedule raises it: the rate the critic learned with would move the
    actor by its whole first update (a fine-tune of the shipped LiDAR actor on the CPU, 2026-12-07: a 2.9% change of
    its weights in that update at 1e-3, where the schedule then settled at 1e-5 and the next nine moved them 0.05%).
    """

    critic_only_updates: int = 0

    def update(self) -> dict[str, float]:
        """rsl_rl's update, with the actor held while ``critic_only_updates`` is positive (then one fewer)."""
        if self.critic_only_updates <= 0:
            return super().update()
        self.critic_only_updates -= 1
        trainable = [parameter.requires_grad for parameter in self.actor.parameters()]
        self.actor.requires_grad_(False)
        try:
            return super().update()
        finally:
            for parameter, flag in zip(self.actor.parameters(), trainable, strict=True):
                parameter.requires_grad_(flag)
            if self.critic_only_updates == 0 and self.schedule == "adaptive":
                self.learning_rate = ADAPTIVE_LR_FLOOR
                for group in self.optimizer.param_groups:
                    group["lr"] = ADAPTIVE_LR_FLOOR


class NavilaOnPolicyRunner(OnPolicyRunner):
    """:class:`rsl_rl.runners.OnPolicyRunner` whose checkpoints also hold the terrain curriculum.

    Training in resumed chunks (e.g. ≤ 10-minute GPU calls) then does not restart every robot on a random level.

    The learner's float32 matmul precision is the cfg's ``float32_matmul_precision`` (PyTorch's default "highest"
    when absent): "high" runs CUDA matmuls on TF32 tensor cores.

    It also sets data-parallel CPU ranks up with gloo: rsl_rl 5.5's ``_configure_multi_gpu`` (the one place that sets
    up torch.distributed) hard-codes NCCL and a ``cuda:<LOCAL_RANK>`` device. On CUDA, and for a single process, that
    is rsl_rl's own; broadcast, gradient all-reduce and rank-0 logging stay rsl_rl's.
    """

    def __init__(self, env, train_cfg: dict, log_dir: str | None = None, device: str = "cpu") -> None:  # noqa: ANN001
        torch.set_float32_matmul_precision(train_cfg.get("float32_matmul_precision", "highest"))
        super().__init__(env, train_cfg, log_dir, device)

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        """rsl_rl's loop; iterations before the cfg's ``critic_warmup_iterations`` update the critic alone.

        They count from iteration 0, also in a run resumed from a checkpoint.
        """
        warmup = self.cfg.get("critic_warmup_iterations", 0) - self.current_learning_iteration
        if warmup > 0:
            if not isinstance(self.alg, NavilaPPO):
                raise UserError(
                    f"critic_warmup_iterations needs the algorithm NavilaPPO, not {type(self.alg).__name__}"
                )
            self.alg.critic_only_updates = warmup
        super().learn(num_learning_iterations, init_at_random_ep_len)

    def save(self, path: str, infos: dict | None = None) -> None:
        """rsl_rl's checkpoint, with the terrain curriculum under ``infos["terrain"]``."""
        super().save(path, {**(infos or {}), "terrain": terrain_state(self.env.unwrapped.scene.terrain)})

    def load(  # noqa: ANN201 (rsl_rl's infos)
        self, path: str, load_cfg: dict | None = None, strict: bool = True, map_location: str | None = None
    ):
        """rsl_rl's load; robots return to the checkpoint's terrain levels when it has them and they fit."""
        infos = super().load(path, load_cfg, strict, map_location)
        if restore_terrain_state(self.env.unwrapped.scene.terrain, (infos or {}).get("terrain")):
            print(f"[navila] terrain curriculum restored from {path}")
        return infos

    def _configure_multi_gpu(self) -> None:
        world_size = int(os.getenv("WORLD_SIZE", "1"))
        if self.device != "cpu" or world_size == 1:
            super()._configure_multi_gpu()
            return
        self.gpu_world_size, self.is_distributed = world_size, True
        self.gpu_local_rank, self.gpu_global_rank = int(os.environ["LOCAL_RANK"]), int(os.environ["RANK"])
        self.cfg["multi_gpu"] = {
            "global_rank": self.gpu_global_rank,
            "local_rank": self.gpu_local_rank,
            "world_size": world_size,
        }
        torch.distributed.init_process_group(backend="gloo", rank=self.gpu_global_rank, world_size=world_size)

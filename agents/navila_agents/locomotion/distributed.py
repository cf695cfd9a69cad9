"""Data-parallel ``navila train`` over torch.distributed: the torchrun launch and each rank's setup.

The engine is rsl_rl's (parameters broadcast from rank 0 when learning starts, gradients and the adaptive learning rate
all-reduced at every update, logs and checkpoints from rank 0 only); this module starts one process per GPU through
``torchrun``, gives each rank its device and seed, keeps NVLink multicast off, and checks at the end that every rank
holds the same weights. docs/multi_gpu.md has the commands.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shlex
import sys
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass

import torch
from navila_lab.errors import UserError

from navila_agents.locomotion import runtime

NO_MULTICAST_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}
"""Variables that keep NVLink multicast (NCCL NVLS, symmetric-memory and NVSHMEM multicast) off."""


def disable_multicast(env: MutableMapping[str, str]) -> None:
    """Put :data:`NO_MULTICAST_ENV` into ``env``, leaving alone any of them the user set explicitly."""
    for name, value in NO_MULTICAST_ENV.items():
        env.setdefault(name, value)


@dataclass(frozen=True)
class Rank:
    """Where a process stands in a torchrun job."""

    rank: int
    """Global rank; rank 0 logs and writes checkpoints."""
    local_rank: int
    """Rank on this node, the index of the GPU the process drives."""
    world_size: int
    """Processes over all nodes."""
    local_world_size: int
    """Processes on this node."""

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0."""
        return self.rank == 0


def torchrun_rank() -> Rank | None:
    """Read the rank torchrun gave this process (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``…); None outside torchrun."""
    if "LOCAL_RANK" not in os.environ:
        return None
    env = os.environ
    world_size = int(env["WORLD_SIZE"])
    return Rank(int(env["RANK"]), int(env["LOCAL_RANK"]), world_size, int(env.get("LOCAL_WORLD_SIZE", world_size)))


def rank_device(requested: str, local_rank: int) -> str:
    """Pick a rank's device: ``cuda:<local_rank>`` (one GPU per process, NCCL), or ``cpu`` (gloo) if asked for."""
    if ":" in requested:
        raise UserError(
            f"--distributed puts local rank i on cuda:i: pass --device cuda (or auto), not '{requested}'; "
            "choose the GPUs with CUDA_VISIBLE_DEVICES"
        )
    if runtime.resolve_device(requested) == "cpu":
        return "cpu"
    return runtime.resolve_device(f"cuda:{local_rank}")


def join(args: argparse.Namespace) -> Rank | None:
    """Set this process up as a rank when torchrun started it (device in ``args.device``, multicast off); else None.

    Under torchrun ``--distributed`` is implied and torchrun's ``--nproc_per_node`` counts the processes.
    """
    rank = torchrun_rank()
    if rank is None:
        if args.nproc is not None and not args.distributed:
            raise UserError("--nproc sets the process count of --distributed: pass both")
        return None
    if args.nproc is not None:
        raise UserError("--nproc is for launching: under torchrun, its --nproc_per_node sets the process count")
    args.device = rank_device(args.device, rank.local_rank)
    disable_multicast(os.environ)
    if args.device != "cpu":
        from isaaclab.utils.device import set_cuda_device

        set_cuda_device(args.device)  # torch's and warp's default device: nothing of this rank lands on GPU 0
    return rank


def launch_command(argv: list[str], nproc: int) -> list[str]:
    """Build the ``torchrun`` command running ``navila train <argv>`` as ``nproc`` ranks on this node.

    ``--standalone`` picks a free rendezvous port on localhost (two jobs on one machine do not collide); the console
    shows local rank 0, the one that logs (torchrun still reports a failing rank's traceback).
    """
    # torchrun's parser takes "--nproc" for an ambiguous abbreviation of its own option, wherever it stands
    forwarded = [
        arg for i, arg in enumerate(argv)
        if arg != "--nproc" and not arg.startswith("--nproc=") and argv[i - 1 : i] != ["--nproc"]
    ]  # fmt: skip
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
        "--local_ranks_filter=0", "-m", "navila_cli", "train", *forwarded,
    ]  # fmt: skip


def launch(argv: list[str], device: str, nproc: int | None) -> int:
    """Re-run ``navila train <argv>`` under torchrun on this node: ``nproc`` ranks, by default one per visible GPU."""
    on_cpu = rank_device(device, 0) == "cpu"
    gpus = 0 if on_cpu else torch.cuda.device_count()
    if nproc is None:
        if on_cpu:
            raise UserError("--distributed on CPU needs --nproc N (the number of gloo processes)")
        nproc = gpus
    if nproc < 1:
        raise UserError(f"--nproc must be positive, got {nproc}")
    if not on_cpu and nproc > gpus:
        raise UserError(f"--nproc {nproc} exceeds the {gpus} visible GPU(s) (CUDA_VISIBLE_DEVICES selects them)")
    disable_multicast(os.environ)  # torchrun and every rank inherit it
    command = launch_command(argv, nproc)
    print(f"[navila] {nproc} ranks on {'CPU (gloo)' if on_cpu else 'GPU (NCCL)'}: {shlex.join(command)}", flush=True)
    from isaaclab.cli.multigpu import run_launch_command

    return run_launch_command(command)


def weights_digest(saved: dict) -> str:
    """First 12 hex digits of the SHA-256 of the actor and critic weights in an rsl_rl checkpoint dict."""
    digest = hashlib.sha256()
    for key in ("actor_state_dict", "critic_state_dict"):
        for name, tensor in sorted(saved[key].items()):
            digest.update(f"{key}.{name}".encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def gather_digests(runner) -> list[str]:  # noqa: ANN001 (an rsl_rl OnPolicyRunner)
    """Every rank's :func:`weights_digest`, in rank order (a collective: all ranks call it)."""
    digests: list[str | None] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(digests, weights_digest(runner.alg.save()))
    return digests  # type: ignore[return-value]


@contextlib.contextmanager
def checked_sync(runner, rank: Rank | None) -> Iterator[None]:  # noqa: ANN001 (an rsl_rl OnPolicyRunner)
    """Around ``runner.learn``: rank 0 prints each rank's weight digest before and after; ranks left apart are an error.

    Before learning the digests differ (each rank seeds its own initialisation); rsl_rl's broadcast and gradient
    all-reduce must leave them identical. The process group is destroyed afterwards.
    """
    if rank is None or rank.world_size == 1:
        yield
        return
    before = gather_digests(runner)
    yield
    after = gather_digests(runner)
    if rank.is_main:
        state = f"identical on {rank.world_size} ranks" if len(set(after)) == 1 else "RANKS DIVERGED"
        print(f"[navila] policy weights sha256 by rank: start {' '.join(before)} -> end {' '.join(after)} ({state})")
    torch.distributed.destroy_process_group()
    if len(set(after)) != 1:
        raise RuntimeError(f"data-parallel ranks ended with different policy weights: {after}")

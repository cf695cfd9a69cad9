"""rsl_rl's on-policy runner for data-parallel ranks on the CPU, which talk over gloo instead of NCCL."""

from __future__ import annotations

import os

import torch
from rsl_rl.runners import OnPolicyRunner


class GlooOnPolicyRunner(OnPolicyRunner):
    """:class:`rsl_rl.runners.OnPolicyRunner` whose process group runs on gloo when the learner is on the CPU.

    rsl_rl 5.5's ``_configure_multi_gpu`` (the one place that sets up torch.distributed) hard-codes the NCCL backend
    and a ``cuda:<LOCAL_RANK>`` device. This override does the same rank bookkeeping with gloo on the CPU; on CUDA, and
    for a single process, it is rsl_rl's own. Broadcast, gradient all-reduce and rank-0 logging stay rsl_rl's.
    """

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

"""rsl_rl PPO runner configs of the Go2 tasks: the reference network and PPO (docs/reference.md §2) sized for time.

Rudin et al. ("Learning to Walk in Minutes Using Massively Parallel Deep Reinforcement Learning", CoRL 2021) find
that, for a fixed wall time, more robots with larger batches train faster as long as each robot still collects ~24
steps per iteration. The env cfg runs 16384 robots (one H200 steps ~187k env-steps/s there, 2.1x the 4096 envs'
~89k); 24 steps keep the reference horizon, 4 mini-batches grow to ~98k samples each, and the adaptive learning rate
(KL target 0.01) scales the step to the batch. 450 iterations are ~177 M env steps in ~15 min of one H200 (the
reference's 2000 iterations of 4096 envs, 197 M env steps, take ~37 min there).
"""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

BLIND_ACTOR_GROUPS = ["policy", "proprio_history"]
LIDAR_ACTOR_GROUPS = [*BLIND_ACTOR_GROUPS, "height_map"]


@configclass
class Go2RoughBlindPPORunnerCfg(RslRlOnPolicyRunnerCfg):
    """PPO for the blind policy: MLP 512-256-128 ELU, 24 steps/env, 5 epochs × 4 mini-batches, adaptive lr."""

    num_steps_per_env = 24
    max_iterations = 450
    save_interval = 50
    float32_matmul_precision = "high"
    """``torch.set_float32_matmul_precision`` of the learner: "high" lets CUDA matmuls run on TF32 tensor cores (fp32
    accumulation and range, 10-bit mantissa inputs). At 16384 envs the update is ~19 TFLOP per iteration (5 epochs
    of actor and critic forward and backward over 393k samples), ~0.5 s of plain fp32 on an H200."""
    critic_warmup_iterations = 0
    """First iterations whose updates train the critic alone, the actor's weights and std held, after which the
    adaptive learning rate restarts at its floor (:class:`NavilaPPO <navila_agents.locomotion.ppo_runner.NavilaPPO>`):
    a fine-tune of an exported actor starts with a new critic, and PPO steps taken on its first advantages move the
    actor away from what it knew (``navila train --resume POLICY_DIR`` sets 20)."""
    experiment_name = "go2_rough_blind"
    obs_groups = {"actor": BLIND_ACTOR_GROUPS, "critic": [*BLIND_ACTOR_GROUPS, "critic"]}
    actor = RslRlMLPModelCfg(
        hidden_dims=[512, 256, 128],
        activation="elu",
        obs_normalization=False,
        distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=1.0),
    )
    critic = RslRlMLPModelCfg(hidden_dims=[512, 256, 128], activation="elu", obs_normalization=False)
    algorithm = RslRlPpoAlgorithmCfg(
        class_name="navila_agents.locomotion.ppo_runner:NavilaPPO",
        value_loss_coef=1.0,
        use_clipped_value_loss=True,
        clip_param=0.2,
        entropy_coef=0.01,
        num_learning_epochs=5,
        num_mini_batches=4,
        learning_rate=1.0e-3,
        schedule="adaptive",
        gamma=0.99,
        lam=0.95,
        desired_kl=0.01,
        max_grad_norm=1.0,
    )


@configclass
class Go2RoughLidarPPORunnerCfg(Go2RoughBlindPPORunnerCfg):
    """PPO for the LiDAR policy: the actor also reads the height map."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.experiment_name = "go2_rough_lidar"
        self.obs_groups = {"actor": LIDAR_ACTOR_GROUPS, "critic": [*LIDAR_ACTOR_GROUPS, "critic"]}


@configclass
class Go2FlatPPORunnerCfg(Go2RoughLidarPPORunnerCfg):
    """PPO for the flat-ground LiDAR policy (converges sooner)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.experiment_name = "go2_flat"
        self.max_iterations = 500

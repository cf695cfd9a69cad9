"""rsl_rl PPO runner configs of the Go2 tasks (reference hyper-parameters, docs/reference.md §2)."""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

BLIND_ACTOR_GROUPS = ["policy", "proprio_history"]
LIDAR_ACTOR_GROUPS = [*BLIND_ACTOR_GROUPS, "height_map"]


@configclass
class Go2RoughBlindPPORunnerCfg(RslRlOnPolicyRunnerCfg):
    """PPO for the blind policy: MLP 512-256-128 ELU, 24 steps/env, 5 epochs × 4 mini-batches, adaptive lr."""

    num_steps_per_env = 24
    max_iterations = 2000
    save_interval = 50
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

    def __post_init__(self):
        super().__post_init__()
        self.experiment_name = "go2_rough_lidar"
        self.obs_groups = {"actor": LIDAR_ACTOR_GROUPS, "critic": [*LIDAR_ACTOR_GROUPS, "critic"]}


@configclass
class Go2FlatPPORunnerCfg(Go2RoughLidarPPORunnerCfg):
    """PPO for the flat-ground LiDAR policy (converges sooner)."""

    def __post_init__(self):
        super().__post_init__()
        self.experiment_name = "go2_flat"
        self.max_iterations = 500

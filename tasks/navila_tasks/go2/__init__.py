"""Unitree Go2 velocity-tracking tasks (NaVILA locomotion), registered with gym."""

import gymnasium as gym

AGENTS = "navila_agents.rsl_rl_cfg"

TASKS: dict[str, tuple[str, str]] = {
    "NaVILA-Go2-Flat": ("Go2FlatEnvCfg", "Go2FlatPPORunnerCfg"),
    "NaVILA-Go2-Rough-Blind": ("Go2RoughBlindEnvCfg", "Go2RoughBlindPPORunnerCfg"),
    "NaVILA-Go2-Rough-Lidar": ("Go2RoughLidarEnvCfg", "Go2RoughLidarPPORunnerCfg"),
    "NaVILA-Go2-Rough-Lidar-Gaps": ("Go2RoughLidarGapsEnvCfg", "Go2RoughLidarPPORunnerCfg"),
    "NaVILA-Go2-Rough-Lidar-Gaps-Turn": ("Go2RoughLidarGapsTurnEnvCfg", "Go2RoughLidarPPORunnerCfg"),
    "NaVILA-Go2-Rough-Lidar-Gaps-Walls": ("Go2RoughLidarGapsWallsEnvCfg", "Go2RoughLidarPPORunnerCfg"),
    "NaVILA-Go2-Rough-Lidar-MaxMap": ("Go2RoughLidarMaxMapEnvCfg", "Go2RoughLidarPPORunnerCfg"),
    "NaVILA-Go2-Rough-Lidar-Open-Walls": ("Go2RoughLidarOpenWallsEnvCfg", "Go2RoughLidarPPORunnerCfg"),
    "NaVILA-Go2-Rough-Lidar-Slopes": ("Go2RoughLidarSlopesEnvCfg", "Go2RoughLidarPPORunnerCfg"),
}
"""Task id → (env cfg class, rsl_rl runner cfg class); each also gets a ``-Play`` id."""

for task_id, (env_cfg, runner_cfg) in TASKS.items():
    for suffix, cfg_suffix in (("", ""), ("-Play", "_PLAY")):
        gym.register(
            id=f"{task_id}{suffix}",
            entry_point="isaaclab.envs:ManagerBasedRLEnv",
            disable_env_checker=True,
            kwargs={
                "env_cfg_entry_point": f"{__name__}.env_cfg:{env_cfg}{cfg_suffix}",
                "rsl_rl_cfg_entry_point": f"{AGENTS}:{runner_cfg}",
            },
        )

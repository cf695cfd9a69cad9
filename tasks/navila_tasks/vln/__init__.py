"""Go2 vision-language navigation task (VLN scenes, front camera, command from the VLA layer), registered with gym."""

import gymnasium as gym

TASKS: dict[str, str] = {"NaVILA-Go2-VLN": "Go2VlnEnvCfg", "NaVILA-Go2-VLN-Depth": "Go2VlnDepthEnvCfg"}
"""Task id → env cfg class; the runner cfg is the LiDAR policy's (the env also serves blind policies)."""

for task_id, env_cfg in TASKS.items():
    gym.register(
        id=task_id,
        entry_point="isaaclab.envs:ManagerBasedRLEnv",
        disable_env_checker=True,
        kwargs={
            "env_cfg_entry_point": f"{__name__}.env_cfg:{env_cfg}",
            "rsl_rl_cfg_entry_point": "navila_agents.rsl_rl_cfg:Go2RoughLidarPPORunnerCfg",
        },
    )

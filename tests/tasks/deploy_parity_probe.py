"""Subprocess body of the deploy parity test: rolls out a play task on CPU and records, per policy step, what the
real robot would report (raw joint and IMU state, velocity command, LiDAR sweeps) next to the env's observation.

Usage: ``deploy_parity_probe.py TASK OUT_DIR``. Writes ``OUT_DIR/rollout.npz`` and a freshly initialised policy's
checkpoint ``OUT_DIR/model_0.pt`` with the actor's actions on every recorded observation; prints a JSON line.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from navila_agents.locomotion import runtime
from tensordict import TensorDict

NUM_ENVS = 3
NUM_STEPS = 30
RESET_ENV, RESET_STEP = 1, 13
"""Env forced to time out at that policy step (its episode restarts mid-rollout)."""
ACTOR_GROUPS = ("policy", "proprio_history", "height_map")


def configure(env_cfg) -> None:
    """Few envs on CPU, commands that change every few steps over the training ranges."""
    env_cfg.sim.device = "cpu"
    env_cfg.scene.num_envs = NUM_ENVS
    env_cfg.seed = 0
    command = env_cfg.commands.base_velocity
    command.ranges.lin_vel_x, command.ranges.ang_vel_z = (0.0, 1.0), (-1.0, 1.0)
    command.resampling_time_range = (0.1, 0.2)


def main(task: str, out_dir: str) -> None:
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, create_rsl_rl_runner

    env_cfg, agent_cfg = runtime.load_cfgs(task, [], play=True)
    configure(env_cfg)
    agent_cfg.device = "cpu"
    corrupted = [name for name in ACTOR_GROUPS if getattr(env_cfg.observations, name).enable_corruption]
    assert not corrupted, f"play task keeps observation noise on in {corrupted}"
    records: dict[str, list] = {
        key: []
        for key in (
            "obs",
            "joint_pos",
            "joint_vel",
            "root_quat_w",
            "root_ang_vel_w",
            "command",
            "done",
            "action",
            "targets",
            "sweep",
            "sweep_hits_w",
            "sweep_body_pos_w",
            "sweep_body_quat_w",
        )
    }
    generator = torch.Generator().manual_seed(0)
    with runtime.open_env(task, env_cfg) as env:
        unwrapped = env.unwrapped
        robot, lidar = unwrapped.scene["robot"], unwrapped.scene.sensors["lidar"]
        action_term = unwrapped.action_manager.get_term("joint_pos")
        # the map term sweeps all envs at its own cadence, and each env once more when it resets: the sensor is read
        # only right after a sweep, so as not to disturb its lazy updates
        map_term = unwrapped.observation_manager._group_obs_class_term_cfgs["height_map"][0].func
        last_sweep = [map_term._last_step]

        def record(obs: dict, done: torch.Tensor, action: torch.Tensor) -> None:
            data = robot.data
            records["obs"].append(torch.cat([obs[name] for name in ACTOR_GROUPS], dim=-1))
            records["joint_pos"].append(data.joint_pos.torch.clone())
            records["joint_vel"].append(data.joint_vel.torch.clone())
            records["root_quat_w"].append(data.root_quat_w.torch.clone())
            records["root_ang_vel_w"].append(data.root_ang_vel_w.torch.clone())
            records["command"].append(unwrapped.command_manager.get_command("base_velocity").clone())
            records["done"].append(done.clone())
            records["action"].append(action.clone())
            records["targets"].append(action_term.processed_actions.clone())
            swept = done.clone() if map_term._last_step == last_sweep[0] else torch.ones_like(done)
            last_sweep[0] = map_term._last_step
            records["sweep"].append(swept)
            if swept.any():
                records["sweep_hits_w"].append(lidar.data.ray_hits_w.torch.clone())
                records["sweep_body_pos_w"].append(lidar.data.pos_w.torch.clone())
                records["sweep_body_quat_w"].append(lidar.data.quat_w.torch.clone())

        obs, _ = unwrapped.reset()
        record(obs, torch.ones(NUM_ENVS, dtype=torch.bool), torch.zeros(NUM_ENVS, 12))
        for step in range(1, NUM_STEPS + 1):
            if step == RESET_STEP:
                unwrapped.episode_length_buf[RESET_ENV] = unwrapped.max_episode_length - 1
            action = 0.5 * torch.randn(NUM_ENVS, 12, generator=generator)
            obs, _, terminated, truncated, _ = unwrapped.step(action)
            record(obs, terminated | truncated, action)

        runner = create_rsl_rl_runner(RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions), agent_cfg, None)
        actor = runner.get_inference_policy("cpu")
        assert list(actor.obs_groups) == list(ACTOR_GROUPS), actor.obs_groups
        widths = [obs[name].shape[-1] for name in ACTOR_GROUPS]
        stacked = torch.stack(records["obs"])
        groups = dict(zip(ACTOR_GROUPS, stacked.split(widths, dim=-1), strict=True))
        with torch.no_grad():
            actor_actions = actor(TensorDict(groups, batch_size=stacked.shape[:2]))
        runner.save(str(Path(out_dir) / "model_0.pt"))
        arrays = {key: torch.stack(value).numpy() for key, value in records.items()}
        np.savez(
            Path(out_dir) / "rollout.npz",
            **arrays,
            actor_actions=actor_actions.numpy(),
            joint_names=np.array(robot.joint_names),
            default_joint_pos=robot.data.default_joint_pos.torch.numpy(),
            lidar_offset_pos=np.array(lidar.cfg.offset.pos),
            lidar_offset_quat_xyzw=np.array(lidar.cfg.offset.rot),
            term_names=np.array(unwrapped.observation_manager.active_terms["policy"]),
        )
    print(json.dumps({"sweeps": int(arrays["sweep"].any(1).sum()), "resets": arrays["done"][1:].sum(0).tolist()}))


if __name__ == "__main__":
    main(*sys.argv[1:])

"""A second implementation of the deploy contract: walks an exported policy in plain MuJoCo from ``deploy.yaml`` alone.

Written from ``docs/deploy_contract.md`` with MuJoCo, NumPy, PyYAML and ONNX Runtime only: no robot-side code
(``navila_sim2real``) and not even the contract's loader (``navila_lab.deploy_spec``). The project provides only the
Go2's MJCF (the robot, not the contract). Everything else (joint map, start state, PD at ``pd_dt`` with the trained
delay and torque limits, each observation term, history, LiDAR rays from the pattern and the mount, height map,
fusion of sweeps) comes from the file. If this walks the policy, the contract is complete.

Usage: ``contract_walker.py POLICY_DIR [SPEED]``; prints one JSON line (speed, fall, modules imported).
"""

import json
import sys
from collections import deque
from pathlib import Path

import mujoco
import numpy as np
import onnxruntime
import yaml
from navila_lab.assets.go2_mjcf import go2_mjcf_path

WARMUP, WINDOW = 2.0, 6.0
"""Seconds walked before and during the measurement."""
ROBOT_GROUP = 5
"""Geom group given to the robot's geoms, left out of the LiDAR's rays when ``hits_robot`` is false."""
SECTOR_DEG = 4.0
"""Width of the bearing sectors in which ``pool: open`` finds the nearest hit above the map (the contract's 4°)."""
SECTORS = round(360 / SECTOR_DEG)
"""Bearing sectors around the sensor."""


def rotation(quat_wxyz) -> np.ndarray:
    """Rotation matrix of a (w, x, y, z) quaternion."""
    matrix = np.zeros(9)
    mujoco.mju_quat2Mat(matrix, np.asarray(quat_wxyz, dtype=np.float64) / np.linalg.norm(quat_wxyz))
    return matrix.reshape(3, 3)


def zyx_euler(matrix: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw of a rotation matrix, ZYX convention."""
    return np.array(
        [
            np.arctan2(matrix[2, 1], matrix[2, 2]),
            np.arcsin(np.clip(-matrix[2, 0], -1.0, 1.0)),
            np.arctan2(matrix[1, 0], matrix[0, 0]),
        ]
    )


class HeightMap:
    """The contract's height map: per cell the lowest z in the sensor frame, clipped, max-pooled as ``pool`` says,
    shadows cleared for ``pool: open``, sweeps fused as ``fusion`` says."""

    def __init__(self, grid: dict) -> None:
        self.grid = grid
        (x0, x1), (y0, y1), res = grid["x_range"], grid["y_range"], grid["resolution"]
        self.shape = (int(np.ceil((x1 - x0) / res - 1e-9)), int(np.ceil((y1 - y0) / res - 1e-9)))
        self.sweeps: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=grid["num_sweeps"])
        center_x, center_y = np.meshgrid(
            x0 + (np.arange(self.shape[0]) + 0.5) * res, y0 + (np.arange(self.shape[1]) + 0.5) * res, indexing="ij"
        )
        self.center_distance = np.hypot(center_x, center_y)
        self.center_sector = self.sector(center_x, center_y)

    @staticmethod
    def sector(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the bearing sector of SECTOR_DEG centered on -180 + SECTOR_DEG * k degrees."""
        return np.round((np.degrees(np.arctan2(y, x)) + 180.0) / SECTOR_DEG).astype(int) % SECTORS

    def window_max(self, cells: np.ndarray) -> np.ndarray:
        pad = self.grid["pool_size"] // 2
        padded = np.pad(cells, pad)  # values are >= 0, so zero padding is the max-pool's
        return np.lib.stride_tricks.sliding_window_view(padded, (2 * pad + 1, 2 * pad + 1)).max(axis=(-1, -2))

    def sweep(self, points: np.ndarray) -> None:
        (x0, x1), (y0, y1), res = self.grid["x_range"], self.grid["y_range"], self.grid["resolution"]
        low, high = self.grid["z_clip"]
        x, y, z = points.T
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        x, y, z = x[inside], y[inside], z[inside]
        rows = np.minimum(((x - x0) / res).astype(int), self.shape[0] - 1)
        cols = np.minimum(((y - y0) / res).astype(int), self.shape[1] - 1)
        lowest = np.full(self.shape, np.inf)
        np.minimum.at(lowest, (rows, cols), z)
        hit = np.isfinite(lowest)
        cells = np.where(hit & (lowest >= low), np.minimum(lowest, high), 0.0)
        pool = self.grid.get("pool", "max")
        value = self.window_max(cells) if pool == "max" else np.where(hit, cells, self.window_max(cells))
        if pool == "open":
            nearest = np.full(SECTORS, np.inf)
            tall = z < low
            np.minimum.at(nearest, self.sector(x[tall], y[tall]), np.hypot(x[tall], y[tall]))
            value[self.center_distance > nearest[self.center_sector]] = 0.0
        self.sweeps.append((value, self.window_max(hit.astype(float)) > 0))

    def value(self) -> np.ndarray:
        maps, covered = (np.stack(part) for part in zip(*self.sweeps, strict=True))
        if self.grid.get("fusion", "max") == "max":
            return maps.max(axis=0).reshape(-1)
        newest = len(maps) - 1 - np.argmax(covered[::-1], axis=0)  # the newest sweep covering each cell
        fused = np.take_along_axis(maps, newest[None], axis=0)[0] * covered.any(axis=0)
        return fused.reshape(-1)


class ContractGo2:
    """The Go2 MJCF driven exactly as one ``deploy.yaml`` says."""

    def __init__(self, policy_dir: Path) -> None:
        c = self.contract = yaml.safe_load((policy_dir / "deploy.yaml").read_text())
        assert c["format_version"] == 2, c["format_version"]
        self.session = onnxruntime.InferenceSession(str(policy_dir / "policy.onnx"), providers=["CPUExecutionProvider"])
        self.model = mujoco.MjModel.from_xml_path(go2_mjcf_path())
        self.model.opt.timestep = c["actuator"]["pd_dt"]
        self.data = mujoco.MjData(self.model)
        m = self.model
        joints = [m.joint(name) for name in c["joint_names"]]
        self.qpos = np.array([j.qposadr[0] for j in joints])
        self.dof = np.array([j.dofadr[0] for j in joints])
        self.motor = np.array([list(m.actuator_trnid[:, 0]).index(j.id) for j in joints])
        self.base = m.body(c["base_body"]).id
        self.default = np.array(c["default_joint_pos"])
        self.action = np.zeros(len(joints))
        self.history: deque[np.ndarray] = deque(maxlen=c["history"]["length"])
        lidar = c["lidar"]
        self.map = HeightMap(c["height_map"]) if lidar else None
        if lidar:
            pattern = lidar["pattern"]
            elevation = np.deg2rad(np.linspace(*pattern["elevation_range"], pattern["channels"]))
            azimuth = np.deg2rad(-180.0 + pattern["azimuth_step"] * np.arange(round(360 / pattern["azimuth_step"])))
            e, a = np.meshgrid(elevation, azimuth, indexing="ij")
            self.rays = np.stack([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], -1).reshape(-1, 3)
            robot = m.body_rootid[m.geom_bodyid] != 0
            if not lidar["hits_robot"]:
                m.geom_group[robot] = ROBOT_GROUP
            self.lidar_body = m.body(lidar["body"]).id

    def reset(self) -> None:
        start = self.contract["start_state"]
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:7] = [0.0, 0.0, start["base_height"], 1.0, 0.0, 0.0, 0.0]
        self.data.qpos[self.qpos] = self.default
        mujoco.mj_forward(self.model, self.data)

    def base_rotation(self) -> np.ndarray:
        return self.data.xmat[self.base].reshape(3, 3).copy()

    def base_velocity(self) -> np.ndarray:
        """(angular, linear) velocity of the base body in its own frame."""
        world = np.zeros(6)
        mujoco.mj_objectVelocity(self.model, self.data, mujoco.mjtObj.mjOBJ_BODY, self.base, world, 0)
        rot = self.base_rotation()
        return np.concatenate([rot.T @ world[:3], rot.T @ world[3:]])

    def cast_sweep(self) -> None:
        lidar, pattern = self.contract["lidar"], self.contract["lidar"]["pattern"]
        body_rot = self.data.xmat[self.lidar_body].reshape(3, 3)
        sensor_rot = body_rot @ rotation(lidar["quat_wxyz"])
        origin = self.data.xpos[self.lidar_body] + body_rot @ np.asarray(lidar["pos"])
        count = len(self.rays)
        geom, dist = np.zeros(count, dtype=np.int32), np.zeros(count)
        groups = np.array([g != ROBOT_GROUP for g in range(6)], dtype=np.uint8)
        world_rays = (self.rays @ sensor_rot.T).reshape(-1)
        mujoco.mj_multiRay(self.model, self.data, origin, world_rays, groups, 1, -1, geom, dist, None, count, 1e9)
        hit = (geom >= 0) & (dist <= pattern["max_distance"])
        self.map.sweep(self.rays[hit] * dist[hit, None])

    def term(self, name: str, command: np.ndarray) -> np.ndarray:
        """Each term as its ``meaning`` in the contract says."""
        rot = self.base_rotation()
        return {
            "base_ang_vel": lambda: self.base_velocity()[:3],
            "base_rpy": lambda: zyx_euler(rot),
            "projected_gravity": lambda: rot.T @ np.array([0.0, 0.0, -1.0]),
            "velocity_commands": lambda: command,
            "joint_pos": lambda: self.data.qpos[self.qpos] - self.default,
            "joint_vel": lambda: self.data.qvel[self.dof].copy(),
            "actions": lambda: self.action,
        }[name]()

    def observation(self, command: np.ndarray) -> np.ndarray:
        frame = []
        for term in self.contract["observations"]:
            value = self.term(term["name"], command)
            if term["clip"] is not None:
                value = np.clip(value, *term["clip"])
            frame.append(value * np.asarray(term["scale"]))
        frame = np.concatenate(frame)
        assert self.contract["history"] == {"length": self.history.maxlen, **HISTORY_LAYOUT}
        self.history.extend([frame] * (self.history.maxlen if not self.history else 1))
        parts = {"frame": [frame], "history": list(self.history), "height_map": [self.map.value()] if self.map else []}
        return np.concatenate([part for name in self.contract["actor_input"] for part in parts[name]])

    def act(self, command: np.ndarray) -> np.ndarray:
        """One policy step: the joint position targets of the new action."""
        obs = self.observation(command).astype(np.float32)[None]
        action = self.session.run(None, {self.session.get_inputs()[0].name: obs})[0][0].astype(np.float64)
        if self.contract["action_clip"] is not None:
            action = np.clip(action, -self.contract["action_clip"], self.contract["action_clip"])
        self.action = action
        return self.default + self.contract["action_scale"] * action

    def walk(self, speed: float) -> dict:
        c, actuator = self.contract, self.contract["actuator"]
        dt = actuator["pd_dt"]
        decimation, delay = round(c["step_dt"] / dt), round(actuator["delay"] / dt)
        sweep_every = round(c["lidar"]["pattern"]["update_period"] / dt) if self.map else None
        kp, kd, limit = (np.asarray(actuator[key]) for key in ("stiffness", "damping", "effort_limit"))
        command = np.array([speed, 0.0, 0.0])
        self.reset()
        targets = deque([(0, self.default.copy())])
        forward, fell = 0.0, False
        for step in range(round((WARMUP + WINDOW) / dt)):
            if self.map and step % sweep_every == 0:
                self.cast_sweep()
            if step % decimation == 0:
                targets.append((step + delay, self.act(command)))
            while len(targets) > 1 and targets[1][0] <= step:
                targets.popleft()
            q, dq = self.data.qpos[self.qpos], self.data.qvel[self.dof]
            self.data.ctrl[self.motor] = np.clip(kp * (targets[0][1] - q) - kd * dq, -limit, limit)
            mujoco.mj_step(self.model, self.data)
            if step * dt >= WARMUP:
                forward += self.base_velocity()[3] * dt
            if self.base_rotation()[2, 2] < np.cos(1.0):
                fell = True
                break
        return {"speed": forward / WINDOW, "fell": fell}


HISTORY_LAYOUT = {"order": "oldest_first", "reset": "repeat_first_frame"}
"""The only history layout this implementation (and contract version 2) knows."""


if __name__ == "__main__":
    directory, speed = Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    result = ContractGo2(directory).walk(speed)
    ours = sorted(name for name in sys.modules if name.startswith(("navila_sim2real", "navila_lab.deploy_spec")))
    print(json.dumps({**result, "policy": directory.name, "speed_command": speed, "robot_side_modules": ours}))

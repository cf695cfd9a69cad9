"""Conversions between unitree_sdk2py messages and :mod:`navila_sim2real.state` (facts §5 layouts).

Topics and types are declared here once; both the robot side and the sim2sim simulator use them.
"""

from __future__ import annotations

import numpy as np
from unitree_sdk2py.idl.builtin_interfaces.msg.dds_ import Time_
from unitree_sdk2py.idl.default import unitree_go_msg_dds__LowCmd_, unitree_go_msg_dds__LowState_
from unitree_sdk2py.idl.sensor_msgs.msg.dds_ import PointCloud2_, PointField_
from unitree_sdk2py.idl.std_msgs.msg.dds_ import Header_
from unitree_sdk2py.idl.unitree_go.msg.dds_ import LowCmd_, LowState_, WirelessController_
from unitree_sdk2py.utils.crc import CRC

from navila_sim2real.remote import decode_remote
from navila_sim2real.state import NUM_MOTORS, JointCommand, LowState

TOPIC_LOWCMD = "rt/lowcmd"
TOPIC_LOWSTATE = "rt/lowstate"
TOPIC_REMOTE = "rt/wirelesscontroller"
TOPIC_CLOUD = "rt/utlidar/cloud"

TOPIC_TYPES = {
    TOPIC_LOWCMD: LowCmd_,
    TOPIC_LOWSTATE: LowState_,
    TOPIC_REMOTE: WirelessController_,
    TOPIC_CLOUD: PointCloud2_,
}

HEAD = (0xFE, 0xEF)
LEVEL_LOW = 0xFF
MODE_SERVO = 0x01
POS_STOP = 2.146e9
"""Position target meaning "no position control" (unused motor slots)."""
VEL_STOP = 16000.0
"""Velocity target meaning "no velocity control"."""
FLOAT32 = 7
"""``PointField_`` datatype of float32."""

crc = CRC()
"""The SDK's CRC-32/MPEG-2 helper (``crc.Crc(msg)``)."""


def new_low_cmd() -> LowCmd_:
    """Make a LowCmd_ with the header, level flag and all 20 motors in servo mode with zero gains."""
    msg = unitree_go_msg_dds__LowCmd_()
    msg.head = list(HEAD)
    msg.level_flag = LEVEL_LOW
    for motor in msg.motor_cmd:
        motor.mode, motor.q, motor.dq, motor.kp, motor.kd, motor.tau = MODE_SERVO, POS_STOP, VEL_STOP, 0, 0, 0
    return msg


def fill_low_cmd(msg: LowCmd_, cmd: JointCommand, tag: int = 0) -> LowCmd_:
    """Write ``cmd`` into the first 12 motors, ``tag`` into ``reserve``, and the CRC; returns ``msg``."""
    for i, motor in enumerate(msg.motor_cmd[:NUM_MOTORS]):
        motor.q, motor.dq, motor.tau = float(cmd.q[i]), float(cmd.dq[i]), float(cmd.tau[i])
        motor.kp, motor.kd = float(cmd.kp[i]), float(cmd.kd[i])
    msg.reserve = tag & 0xFFFFFFFF
    msg.crc = crc.Crc(msg)
    return msg


def read_low_cmd(msg: LowCmd_) -> dict[str, np.ndarray]:
    """Per-motor arrays (``mode``, ``q``, ``dq``, ``tau``, ``kp``, ``kd``) of the first 12 motors."""
    motors = msg.motor_cmd[:NUM_MOTORS]
    fields = ("mode", "q", "dq", "tau", "kp", "kd")
    return {name: np.array([getattr(motor, name) for motor in motors], dtype=np.float64) for name in fields}


def crc_ok(msg: LowCmd_ | LowState_) -> bool:
    """Whether the message's CRC matches its content."""
    return msg.crc == crc.Crc(msg)


def read_low_state(msg: LowState_, stamp: float) -> LowState:
    """Convert one ``rt/lowstate`` sample received at ``stamp`` into a :class:`LowState`."""
    motors = msg.motor_state[:NUM_MOTORS]
    imu = msg.imu_state

    def motor_array(name: str, dtype: type = np.float64) -> np.ndarray:
        return np.array([getattr(motor, name) for motor in motors], dtype=dtype)

    return LowState(
        stamp=stamp,
        tick=msg.tick,
        quat=np.array(imu.quaternion, dtype=np.float64),
        gyro=np.array(imu.gyroscope, dtype=np.float64),
        rpy=np.array(imu.rpy, dtype=np.float64),
        q=motor_array("q"),
        dq=motor_array("dq"),
        tau_est=motor_array("tau_est"),
        temperature=motor_array("temperature"),
        lost=motor_array("lost", np.int64),
        remote=decode_remote(msg.wireless_remote),
    )


def new_low_state() -> LowState_:
    """Make an empty LowState_ with the header and level flag set."""
    msg = unitree_go_msg_dds__LowState_()
    msg.head = list(HEAD)
    msg.level_flag = LEVEL_LOW
    return msg


def points_from_bytes(
    data: bytes, offsets: dict[str, int], point_step: int, count: int, big_endian: bool
) -> np.ndarray:
    """Extract (P, 3) float64 x, y, z from point bytes, given the byte offsets of the float32 fields."""
    if not {"x", "y", "z"} <= offsets.keys():
        raise ValueError("point cloud without float32 x, y, z fields")
    layout = np.dtype(
        {
            "names": ["x", "y", "z"],
            "formats": [">f4" if big_endian else "<f4"] * 3,
            "offsets": [offsets["x"], offsets["y"], offsets["z"]],
            "itemsize": point_step,
        }
    )
    records = np.frombuffer(data, dtype=layout, count=count)
    return np.stack([records["x"], records["y"], records["z"]], axis=-1).astype(np.float64)


def cloud_points(msg: PointCloud2_) -> np.ndarray:
    """Extract the (P, 3) float64 x, y, z of a PointCloud2_ whose x, y, z fields are float32 (any point layout)."""
    offsets = {field.name: field.offset for field in msg.fields if field.datatype == FLOAT32}
    return points_from_bytes(bytes(msg.data), offsets, msg.point_step, msg.width * msg.height, msg.is_bigendian)


def new_cloud(points: np.ndarray, frame_id: str, stamp: float) -> PointCloud2_:
    """Make a PointCloud2_ of float32 x, y, z points (P, 3) in ``frame_id``, stamped ``stamp`` seconds."""
    data = np.ascontiguousarray(points, dtype="<f4")
    fields = [PointField_(name, 4 * i, FLOAT32, 1) for i, name in enumerate("xyz")]
    header = Header_(Time_(int(stamp), int((stamp % 1.0) * 1e9)), frame_id)
    return PointCloud2_(header, 1, len(data), fields, False, 12, 12 * len(data), data.tobytes(), True)

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("sdk")


def random_low_state(rng):
    from navila_sim2real.messages import new_low_state
    from navila_sim2real.remote import Key, RemoteState, encode_remote

    msg = new_low_state()
    msg.tick = int(rng.integers(0, 2**32))
    for name, size in (("quaternion", 4), ("gyroscope", 3), ("accelerometer", 3), ("rpy", 3)):
        setattr(msg.imu_state, name, rng.normal(size=size).astype(np.float32).tolist())
    for motor in msg.motor_state[:12]:
        motor.q, motor.dq, motor.tau_est = (float(v) for v in rng.normal(size=3).astype(np.float32))
        motor.temperature, motor.lost = int(rng.integers(0, 256)), int(rng.integers(0, 2**32))
    msg.wireless_remote = encode_remote(RemoteState.pressing(Key.L2, Key.B, lx=float(np.float32(rng.normal()))))
    return msg


def random_command(rng):
    from navila_sim2real.state import JointCommand

    return JointCommand(*(rng.normal(size=(3, 12)).astype(np.float32).astype(float)), stamp=0.0)


@pytest.mark.parametrize("version_2", [None, False, True])
class TestCodecs:
    def test_low_state_encode_is_byte_identical(self, version_2):
        """LowStateCodec.encode gives exactly LowState_.serialize's bytes."""
        from navila_sim2real.codec import IMU_FIELDS, LowStateCodec

        codec, rng = LowStateCodec(), np.random.default_rng(0)
        for _ in range(5):
            msg = random_low_state(rng)
            imu = tuple(np.array(getattr(msg.imu_state, n)) for n in IMU_FIELDS)
            motors = tuple(np.array([getattr(m, n) for m in msg.motor_state[:12]]) for n in ("q", "dq", "tau_est"))
            encoded = codec.encode(
                version_2,
                tick=msg.tick,
                imu=imu,
                motors=motors,
                temperature=np.array([m.temperature for m in msg.motor_state[:12]]),
                lost=np.array([m.lost for m in msg.motor_state[:12]]),
                remote=msg.wireless_remote,
            )
            assert encoded == msg.serialize(use_version_2=version_2)

    def test_low_state_decode_matches_sdk(self, version_2):
        """LowStateCodec.decode reads what the SDK's deserializer reads."""
        from navila_sim2real.codec import LowStateCodec
        from navila_sim2real.messages import read_low_state

        codec, rng = LowStateCodec(), np.random.default_rng(1)
        for _ in range(5):
            msg = random_low_state(rng)
            fast, slow = codec.decode(msg.serialize(use_version_2=version_2), 1.0), read_low_state(msg, 1.0)
            for field in ("quat", "gyro", "rpy", "q", "dq", "tau_est", "temperature", "lost"):
                assert np.array_equal(getattr(fast, field), getattr(slow, field)), field
            assert (fast.tick, fast.remote) == (slow.tick, slow.remote)

    def test_low_cmd_encoder_is_byte_identical(self, version_2):
        """LowCmdEncoder's serialize gives exactly LowCmd_.serialize's bytes, CRC included."""
        from navila_sim2real.codec import LowCmdEncoder
        from navila_sim2real.messages import crc_ok, fill_low_cmd

        encoder, rng = LowCmdEncoder(), np.random.default_rng(2)
        for tag in range(5):
            msg = fill_low_cmd(encoder.message, random_command(rng), tag)
            assert crc_ok(msg)
            assert msg.serialize(use_version_2=version_2) == type(msg).serialize(msg, use_version_2=version_2)

    def test_cloud_round_trip(self, version_2):
        """CloudCodec.encode equals the SDK's serialization; decode returns the points and the frame."""
        from navila_sim2real.codec import CloudCodec
        from navila_sim2real.messages import cloud_points, new_cloud
        from unitree_sdk2py.idl.sensor_msgs.msg.dds_ import PointCloud2_

        points = np.random.default_rng(3).normal(size=(321, 3))
        sdk_bytes = new_cloud(points, "utlidar_lidar", 12.25).serialize(use_version_2=version_2)
        assert CloudCodec.encode(points, "utlidar_lidar", 12.25, version_2) == sdk_bytes
        decoded, frame = CloudCodec.decode(sdk_bytes)
        assert frame == "utlidar_lidar"
        assert np.array_equal(decoded, cloud_points(PointCloud2_.deserialize(sdk_bytes)))


class TestLowCmdDecoder:
    def test_values_and_crc(self):
        """The decoder reads the motor fields and agrees with the SDK's CRC helper, including on corruption."""
        from navila_sim2real.codec import LowCmdDecoder
        from navila_sim2real.messages import fill_low_cmd, new_low_cmd

        rng = np.random.default_rng(4)
        for tag in range(1, 6):
            command = random_command(rng)
            data = bytearray(fill_low_cmd(new_low_cmd(), command, tag).serialize())
            fields, reserve, ok = LowCmdDecoder().decode(bytes(data))
            assert ok and reserve == tag
            assert np.array_equal(fields["q"], command.q) and np.array_equal(fields["kd"], command.kd)
            data[int(rng.integers(4, len(data) - 4))] ^= 0x10
            assert not LowCmdDecoder().decode(bytes(data))[2]

    def test_other_encodings_left_to_sdk(self):
        """XCDR2 bytes are not decoded by the fast path (the simulator falls back to the SDK's type)."""
        from navila_sim2real.codec import LowCmdDecoder
        from navila_sim2real.messages import new_low_cmd

        assert LowCmdDecoder().decode(new_low_cmd().serialize(use_version_2=True)) is None

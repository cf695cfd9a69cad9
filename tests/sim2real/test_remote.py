import struct

import pytest
from navila_sim2real.remote import Key, RemoteState, decode_remote, encode_remote


class TestRemote:
    def test_layout_matches_sdk_bytes(self):
        """Keys are the little-endian uint16 at [2:4] with the documented bits; sticks are float32 at 4/8/12/20."""
        raw = bytearray(40)
        struct.pack_into("<H", raw, 2, (1 << 5) | (1 << 9))  # L2 + B
        for offset, value in ((4, 0.25), (8, -0.5), (12, 0.75), (20, -1.0)):
            struct.pack_into("<f", raw, offset, value)
        state = decode_remote(raw)
        assert state.held(Key.L2, Key.B) and not state.held(Key.A)
        assert (state.lx, state.rx, state.ry, state.ly) == (0.25, -0.5, 0.75, -1.0)

    def test_round_trip(self):
        """encode_remote is the inverse of decode_remote."""
        state = RemoteState.pressing(Key.START, Key.A, lx=0.5, ly=-0.25, rx=1.0, ry=0.0)
        assert decode_remote(encode_remote(state)) == state

    def test_wrong_length_rejected(self):
        """A remote buffer of the wrong size is an error, not a silent misread."""
        with pytest.raises(ValueError, match="40"):
            decode_remote(bytes(39))

"""The Go2 remote (wireless controller): key bits and sticks packed in ``LowState_.wireless_remote`` (facts §5).

Key mapping used by :mod:`navila_sim2real.fsm`:

* ``Start``: stand up (ramp to the default pose); in POLICY, go back to STAND.
* ``A``: start the policy (once standing).
* ``L2`` + ``B``: damp (from any state).
* ``Select``: leave DAMP for PASSIVE once no fault is active.
* Left stick forward/back: forward speed; left stick sideways: lateral speed; right stick sideways: yaw rate.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

REMOTE_BYTES = 40
"""Length of ``LowState_.wireless_remote``."""


class Key(IntEnum):
    """Bit of each button in the little-endian uint16 at bytes [2:4]."""

    R1 = 0
    L1 = 1
    START = 2
    SELECT = 3
    R2 = 4
    L2 = 5
    F1 = 6
    F2 = 7
    A = 8
    B = 9
    X = 10
    Y = 11
    UP = 12
    RIGHT = 13
    DOWN = 14
    LEFT = 15


_STICK_OFFSETS = {"lx": 4, "rx": 8, "ry": 12, "ly": 20}
"""Byte offset of each float32 stick axis."""


@dataclass(frozen=True)
class RemoteState:
    """Buttons held and stick deflections (−1..1; ``ly`` > 0 is forward, ``lx``/``rx`` > 0 is right)."""

    keys: int = 0
    lx: float = 0.0
    ly: float = 0.0
    rx: float = 0.0
    ry: float = 0.0

    def held(self, *keys: Key) -> bool:
        """Whether all the given keys are held."""
        return all(self.keys >> key & 1 for key in keys)

    @classmethod
    def pressing(cls, *keys: Key, **sticks: float) -> RemoteState:
        """State with the given keys held and stick values (for tests and the simulator)."""
        return cls(keys=sum(1 << key for key in set(keys)), **sticks)


def decode_remote(data: bytes | list[int]) -> RemoteState:
    """Parse the 40 remote bytes of ``LowState_.wireless_remote``."""
    raw = bytes(data)
    if len(raw) != REMOTE_BYTES:
        raise ValueError(f"remote data has {len(raw)} bytes, expected {REMOTE_BYTES}")
    (keys,) = struct.unpack_from("<H", raw, 2)
    sticks = {name: struct.unpack_from("<f", raw, offset)[0] for name, offset in _STICK_OFFSETS.items()}
    return RemoteState(keys=keys, **sticks)


def encode_remote(state: RemoteState) -> list[int]:
    """Pack a state into the 40 remote bytes (inverse of :func:`decode_remote`)."""
    raw = bytearray(REMOTE_BYTES)
    struct.pack_into("<H", raw, 2, state.keys)
    for name, offset in _STICK_OFFSETS.items():
        struct.pack_into("<f", raw, offset, getattr(state, name))
    return list(raw)

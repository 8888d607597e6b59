"""The bytes an event is hashed as in the log's Merkle tree (its *leaf input*).

Version 1 of the layout, every integer unsigned and big-endian::

    offset  size  field
    0       1     0x01 (the layout's version)
    1       8     position (the event's notification id in the log)
    9       16    originator id (the goal's UUID, its 16 bytes in RFC 4122 order)
    25      8     originator version
    33      4     length of the topic in bytes, T
    37      T     the topic, UTF-8
    37+T    4     length of the state in bytes, S
    41+T    S     the state exactly as stored (after any compression or encryption)

and ``leaf_hash = SHA-256(0x00 || leaf_input)`` (RFC 9162 2.1.1).
"""

from __future__ import annotations

import struct
from typing import NamedTuple
from uuid import UUID

LAYOUT = 1
_HEAD = struct.Struct(">BQ16sQI")
_LENGTH = struct.Struct(">I")


class Leaf(NamedTuple):
    """What a leaf input holds."""

    position: int
    goal_id: UUID
    version: int
    topic: str
    state: bytes


def leaf_input(position: int, goal_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    return leaf_input_of(position, goal_id.bytes, version, topic, state)


def leaf_input_of(position: int, goal_id: bytes, version: int, topic: str, state: bytes
                  ) -> bytes:
    """:func:`leaf_input` of a goal id's 16 bytes (verify reads them from the rows)."""
    encoded = topic.encode()
    return b"".join((_HEAD.pack(LAYOUT, position, goal_id, version, len(encoded)),
                     encoded, _LENGTH.pack(len(state)), state))


def parse(data: bytes) -> Leaf:
    """The fields of a leaf input; ValueError, saying what is wrong, for anything else."""
    if len(data) < _HEAD.size + _LENGTH.size:
        raise ValueError(f"a leaf input of {len(data)} bytes is too short")
    layout, position, goal_id, version, topic_length = _HEAD.unpack_from(data)
    if layout != LAYOUT:
        raise ValueError(f"leaf input layout {layout} is not known (this goalflow reads"
                         f" {LAYOUT})")
    at = _HEAD.size + topic_length
    if len(data) < at + _LENGTH.size:
        raise ValueError("the leaf input ends inside its topic")
    (state_length,) = _LENGTH.unpack_from(data, at)
    if len(data) != at + _LENGTH.size + state_length:
        raise ValueError("the leaf input's state is not as long as it says")
    try:
        topic = data[_HEAD.size:at].decode()
    except UnicodeDecodeError:
        raise ValueError("the leaf input's topic is not UTF-8") from None
    return Leaf(position, UUID(bytes=goal_id), version, topic, data[at + _LENGTH.size:])

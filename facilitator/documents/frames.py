"""The framing of the render service's pipes, and of the messages between the
processes that lay out one PDF: a 4-byte big-endian length, then the body."""

from __future__ import annotations

import struct
from typing import BinaryIO

HEADER = struct.Struct(">I")
#: A request larger than this is refused unread (a plan of thousands of actions is far less).
MAX_REQUEST = 64 * 1024 * 1024


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """``size`` bytes, or None at end of stream (a pipe may give fewer per read)."""
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's body, or None at end of stream."""
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_REQUEST:
        raise ValueError(f"a frame of {size} bytes is larger than {MAX_REQUEST}")
    return _read_exactly(stream, size)


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()

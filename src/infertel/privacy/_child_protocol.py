"""Framing between the serving process and its redaction child.

Messages are length-prefixed. Parent side: every write and read is non-blocking under a
deadline and a size bound, so a stopped or wedged child can never block the worker (a blocking
``write`` into a full pipe, or a ``read`` of half a message, would wait forever). While it waits,
the parent polls the child's state, so a stopped child (SIGSTOP) is seen within a poll interval
instead of at the deadline. Child side: plain blocking reads on stdin; EOF means the parent
closed the pipe or died, and the child exits.

Batches and answers are ``marshal``-ed (plain str / list / tuple / float; fast, and decoding
runs no code). Only the configuration message, parent to child, is a pickle.
"""

from __future__ import annotations

import errno
import marshal
import os
import select
import struct
import time
from collections.abc import Callable
from typing import IO, Any

__all__ = [
    "MAX_MESSAGE_BYTES",
    "ChildError",
    "child_read",
    "child_write",
    "decode",
    "encode",
    "process_state",
    "recv",
    "send",
]

_HEADER = struct.Struct("!I")
# Bound on one message either way (a chunk of texts is far smaller: see _offload.CHUNK_CHARS).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# How often a waiting parent checks the child's state.
POLL_S = 0.1


class ChildError(Exception):
    """The child failed; ``reason`` is one short word, safe to log and to export."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Watch = Callable[[], None]


def send(fd: int, payload: bytes, deadline: float, watch: Watch | None = None) -> None:
    """Write ``payload`` with its header to non-blocking ``fd`` before ``deadline``."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ChildError("oversize")
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        _wait(fd, deadline, watch, write=True)
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        except OSError as error:  # EPIPE: the child is gone
            raise ChildError("exited") from error
        view = view[written:]


def recv(fd: int, deadline: float, watch: Watch | None = None) -> bytes:
    """Read one whole message from non-blocking ``fd`` before ``deadline``."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline, watch))
    if size > MAX_MESSAGE_BYTES:
        raise ChildError("protocol")
    return _read_exactly(fd, size, deadline, watch)


def decode(payload: bytes) -> Any:
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError) as error:
        raise ChildError("protocol") from error


def encode(message: Any) -> bytes:
    return marshal.dumps(message)


def _read_exactly(fd: int, size: int, deadline: float, watch: Watch | None) -> bytes:
    parts: list[bytes] = []
    missing = size
    while missing:
        _wait(fd, deadline, watch, write=False)
        try:
            chunk = os.read(fd, min(missing, 1 << 20))
        except BlockingIOError:
            continue
        except OSError as error:
            raise ChildError("exited") from error
        if not chunk:
            raise ChildError("exited")
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def _wait(fd: int, deadline: float, watch: Watch | None, *, write: bool) -> None:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChildError("timeout")
        try:
            if write:
                _, ready, _ = select.select([], [fd], [], min(remaining, POLL_S))
            else:
                ready, _, _ = select.select([fd], [], [], min(remaining, POLL_S))
        except (OSError, ValueError) as error:  # fd closed under us (close() from another thread)
            raise ChildError("closed") from error
        if ready:
            return
        if watch is not None:
            watch()


def process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` from ``/proc`` (``T`` = stopped), None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    # "pid (comm) S ...": comm may hold spaces or parentheses, so split after the last ")".
    end = data.rfind(b")")
    if end < 0 or end + 2 >= len(data):
        return None
    return chr(data[end + 2])


# ------------------------------------------------------------------------------- child side
def child_read(stream: IO[bytes]) -> bytes | None:
    """One message from the parent, or None at EOF (the parent closed the pipe or died)."""
    header = _read_blocking(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE_BYTES:
        return None
    return _read_blocking(stream, size)


def child_write(fd: int, payload: bytes) -> None:
    """Write one message (blocking: the parent reads it or kills us)."""
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        try:
            view = view[os.write(fd, view):]
        except InterruptedError:
            continue
        except OSError as error:
            if error.errno == errno.EAGAIN:
                select.select([], [fd], [])
                continue
            raise


def _read_blocking(stream: IO[bytes], size: int) -> bytes | None:
    parts: list[bytes] = []
    missing = size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)

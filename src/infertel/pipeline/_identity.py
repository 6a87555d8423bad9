"""Process identity: trace and span ids the application cannot seed, the semantic-conventions
schema URL, and a fresh ``service.instance.id`` for every process (forked ones included)."""

from __future__ import annotations

import functools
import os
import struct
import uuid
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.id_generator import IdGenerator

from infertel import conventions as c

# 512 random 64-bit words per refill: one getrandom() call serves 512 span ids (or 256 trace
# ids), so an id costs a list pop (~0.1 us) instead of a system call per id (~0.8 us).
_WORDS = 512
_unpack = struct.Struct(f"<{_WORDS}Q").unpack
_unpack_half = struct.Struct(f"<{_WORDS // 2}Q").unpack
# Ids not yet handed out. Shared lists: ``pop`` and ``extend`` are each atomic under the
# interpreter lock, so serving threads share them without a lock (two threads refilling at once
# only add more ids, never the same one twice).
_span_ids: list[int] = []
_trace_ids: list[int] = []


class SecureIdGenerator(IdGenerator):
    """Trace and span ids from ``os.urandom``, drawn in blocks.

    The SDK's default generator uses the ``random`` module, which applications seed
    (``random.seed(0)`` is routine in ML code): every process then draws the same ids and
    backends drop whole runs as duplicates. ``os.urandom`` cannot be seeded. The blocks are
    emptied in a forked child, so parent and child never hand out the same ids.
    """

    __slots__ = ()

    def generate_span_id(self) -> int:
        try:
            return _span_ids.pop()
        except IndexError:
            _span_ids.extend(_draw_span_ids())
            return _span_ids.pop()

    def generate_trace_id(self) -> int:
        try:
            return _trace_ids.pop()
        except IndexError:
            _trace_ids.extend(_draw_trace_ids())
            return _trace_ids.pop()


def _draw_span_ids() -> list[int]:
    # 0 is the invalid id (probability 2**-64 per word): left out, and the block is never empty.
    ids = [word for word in _unpack(os.urandom(_WORDS * 8)) if word]
    return ids or _draw_span_ids()


def _draw_trace_ids() -> list[int]:
    block = os.urandom(_WORDS * 8)
    half = _WORDS * 4
    ids = [(high << 64) | low
           for high, low in zip(_unpack_half(block[:half]), _unpack_half(block[half:]),
                                strict=True)]
    while 0 in ids:  # the invalid id (probability 2**-128 per id)
        ids.remove(0)
    return ids or _draw_trace_ids()


# The worker keeps this many ids of each kind in stock (top_up_ids), so serving threads usually
# only pop; they draw a block themselves only when the stock runs out.
_STOCK = 4096


def top_up_ids() -> None:
    """Refill the stocks, off the serving threads (the worker calls this between batches).

    A block takes ~30-50 us; a full refill of both stocks (24 blocks, ~1 ms) stays well under
    the interpreter's 5 ms switch interval.
    """
    while len(_trace_ids) < _STOCK:
        _trace_ids.extend(_draw_trace_ids())
    while len(_span_ids) < _STOCK:
        _span_ids.extend(_draw_span_ids())


def _forget_ids_in_child() -> None:
    _span_ids.clear()
    _trace_ids.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_ids_in_child)


@functools.lru_cache(maxsize=1)
def schema_url() -> str:
    """The schema URL of the newest semantic-conventions version installed ('' if unknown)."""
    try:
        from opentelemetry.semconv.schemas import Schemas
    except ImportError:  # the semantic-conventions package is optional for the SDK
        return ""
    return max(Schemas, key=lambda s: _version(s.value)).value


def _version(url: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in url.rstrip("/").rsplit("/", 1)[1].split("."))
    except ValueError:
        return ()


def new_instance_id() -> str:
    """A random UUID v4, as the resource semantic conventions recommend."""
    return str(uuid.uuid4())


def with_new_instance_id(resource: Resource) -> Resource:
    """The same resource for a new process: only ``service.instance.id`` changes.

    Used in a forked child, where running resource detectors (thread pools) is not safe.
    """
    attributes: dict[str, Any] = dict(resource.attributes)
    attributes[c.SERVICE_INSTANCE_ID] = new_instance_id()
    return Resource(attributes, resource.schema_url)

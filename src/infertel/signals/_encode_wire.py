"""Protocol-buffers wire format for OTLP values, written by hand.

The worker encodes every inference span and log record it exports. OpenTelemetry's encoder
builds one protobuf object per value (a ``KeyValue`` holding an ``AnyValue``) and serialises
the tree afterwards; here each value goes straight to its bytes, and what repeats from call to
call (attribute keys, low-cardinality values such as the model name, the resource and scope)
is encoded once and reused. The output parses to the same message the OpenTelemetry encoder
builds (``tests/test_encode.py`` checks it field for field).

A value this module cannot encode exactly as OpenTelemetry's encoder would (an integer outside
int64, a string with lone surrogates, a subclass of ``str``...) raises :class:`Unencodable`;
the caller then sends that record through the SDK objects and the export package's sanitising
encoder instead, so such values keep their established treatment.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any, Final, cast

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
_U64: Final = (1 << 64) - 1
# Nesting deeper than this is left to the sanitising encoder (it cuts what it cannot carry).
MAX_DEPTH: Final = 32
# Attribute (key, text value) pairs remembered as encoded bytes, for keys whose values repeat.
_PAIR_CACHE_SIZE: Final = 4096

_double = struct.Struct("<d").pack
_fixed64 = struct.Struct("<Q").pack
_fixed32 = struct.Struct("<I").pack


class Unencodable(ValueError):
    """A value outside what this encoder writes byte-exactly; the record takes the SDK path."""


def _varint_slow(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL: Final = [_varint_slow(n) for n in range(1 << 14)]


def varint(value: int) -> bytes:
    """Unsigned varint (lengths, enums, counts)."""
    if value < 16384:
        return _SMALL[value]
    return _varint_slow(value)


def tag(field: int, wire_type: int) -> bytes:
    return varint((field << 3) | wire_type)


def field_bytes(field: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes or sub-message), emitted even when empty."""
    return tag(field, 2) + varint(len(payload)) + payload


def field_text(field: int, text: str | None) -> bytes:
    """A proto3 string field: absent when empty, as protobuf serialises it."""
    if not text:
        return b""
    return field_bytes(field, utf8(text))


def field_fixed64(field: int, value: int | None) -> bytes:
    if not value:
        return b""
    return tag(field, 1) + _fixed64(value)


def utf8(text: str) -> bytes:
    if type(text) is not str:
        raise Unencodable("text")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: the sanitising encoder replaces them
        raise Unencodable("text") from None


# ----------------------------------------------------------------------- AnyValue
_TRUE: Final = b"\x10\x01"
_FALSE: Final = b"\x10\x00"


def any_value(value: Any, depth: int = 0) -> bytes:
    """The bytes of an ``AnyValue`` message (without its own tag and length), as
    ``opentelemetry.exporter.otlp.proto.common``'s ``_encode_value`` builds it. Exact types
    only: anything else is :class:`Unencodable`."""
    kind = type(value)
    if kind is str:
        data = utf8(value)
        return b"\x0a" + varint(len(data)) + data
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise Unencodable("int64")
        return b"\x18" + varint(value & _U64)
    if kind is float:
        return b"\x21" + _double(value)
    if value is None:
        return b""
    if kind is bytes:
        data = cast(bytes, value)
        return b"\x3a" + varint(len(data)) + data
    if depth >= MAX_DEPTH:
        raise Unencodable("depth")
    if kind is list or kind is tuple:
        inner = b"".join([_prefixed(b"\x0a", any_value(item, depth + 1)) for item in value])
        return b"\x2a" + varint(len(inner)) + inner
    if kind is dict:
        inner = b"".join([b"\x0a" + key_value(key, item, depth + 1)
                          for key, item in value.items()])
        return b"\x32" + varint(len(inner)) + inner
    raise Unencodable("type")


def _prefixed(field_tag: bytes, payload: bytes) -> bytes:
    return field_tag + varint(len(payload)) + payload


def key_value(key: Any, value: Any, depth: int = 0) -> bytes:
    """A ``KeyValue`` message, length-prefixed (ready to follow a repeated field's tag)."""
    if type(key) is not str:
        raise Unencodable("key")
    data = utf8(key)
    av = any_value(value, depth)
    body = (b"\x0a" + varint(len(data)) + data if data else b"") + b"\x12" + varint(len(av)) + av
    return varint(len(body)) + body


class Attributes:
    """Encodes attribute maps. Remembers each key's encoded prefix, and whole (key, text)
    pairs for the keys whose values repeat (``cached_keys``). Not thread-safe."""

    __slots__ = ("_cached_keys", "_keys", "_pairs")

    def __init__(self, cached_keys: frozenset[str]) -> None:
        self._cached_keys = cached_keys
        self._pairs: dict[tuple[str, str], bytes] = {}
        self._keys: dict[str, bytes] = {}

    def key(self, key: str) -> bytes:
        """``KeyValue.key`` as a field (tag, length, UTF-8), remembered."""
        encoded = self._keys.get(key)
        if encoded is None:
            data = utf8(key)
            encoded = b"\x0a" + varint(len(data)) + data if data else b""
            if len(self._keys) >= _PAIR_CACHE_SIZE:
                self._keys.clear()
            self._keys[key] = encoded
        return encoded

    def pair(self, key: str, value_bytes: bytes) -> bytes:
        """A length-prefixed ``KeyValue`` from a key and an encoded ``AnyValue``."""
        body = self.key(key) + b"\x12" + varint(len(value_bytes)) + value_bytes
        return varint(len(body)) + body

    def items(self, attributes: Mapping[str, Any]) -> list[bytes]:
        """Each attribute as a length-prefixed ``KeyValue``, in the map's order. The scalar
        cases are written inline: this loop runs for every attribute of every record."""
        try:
            return self._items(attributes)
        except UnicodeEncodeError:  # lone surrogates: the sanitising encoder replaces them
            raise Unencodable("text") from None

    def _items(self, attributes: Mapping[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        append = out.append
        cached = self._cached_keys
        pairs = self._pairs
        keys = self._keys
        small = _SMALL
        for key, value in attributes.items():
            kind = type(value)
            remember = False
            if kind is str:
                if key in cached:
                    encoded = pairs.get((key, value))
                    if encoded is not None:
                        append(encoded)
                        continue
                    remember = True
                data = value.encode("utf-8")
                size = len(data)
                value_bytes = b"\x0a" + (small[size] if size < 16384 else varint(size)) + data
            elif kind is float:
                value_bytes = b"\x21" + _double(value)
            elif kind is bool:
                value_bytes = _TRUE if value else _FALSE
            elif kind is int and INT64_MIN <= value <= INT64_MAX:
                value_bytes = b"\x18" + varint(value & _U64)
            else:
                value_bytes = any_value(value)
            key_bytes = keys.get(key)
            if key_bytes is None:
                key_bytes = self.key(key)
            size = len(value_bytes)
            body = key_bytes + b"\x12" + (small[size] if size < 16384 else varint(size)) \
                + value_bytes
            size = len(body)
            encoded = (small[size] if size < 16384 else varint(size)) + body
            if remember:
                if len(pairs) >= _PAIR_CACHE_SIZE:
                    pairs.clear()  # a key whose values did not repeat after all
                pairs[(key, value)] = encoded
            append(encoded)
        return out


def repeated(field_tag: bytes, items: list[bytes]) -> bytes:
    """Length-prefixed items as one repeated field: the tag joins them."""
    if not items:
        return b""
    return field_tag + field_tag.join(items)


def fixed32(value: int) -> bytes:
    return _fixed32(value)


def fixed64(value: int) -> bytes:
    return _fixed64(value)


def double(value: float) -> bytes:
    return _double(value)

"""What OTLP/JSON fields look like, for the scan walk: the shapes of fields that are not text
(ids, times, counts, enums), and ``AnyValue`` conversions that lose nothing a detector needs."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

_HEX: Final = re.compile(r"[0-9a-fA-F]{0,64}")
NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|-?Infinity")
_ENUM: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def _is_id(v: Any) -> bool:
    return isinstance(v, str) and _HEX.fullmatch(v) is not None


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, (int, float)) or (isinstance(v, str) and NUMBER.fullmatch(v) is not None)


def _is_enum(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, str) and _ENUM.fullmatch(v) is not None)


def _is_numeric_tree(v: Any) -> bool:
    if isinstance(v, list):
        return all(_is_numeric_tree(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _ENUM.fullmatch(k.upper()) is not None
                   and _is_numeric_tree(x) for k, x in v.items())
    return _is_number(v)


# Fields that are not text, by the shape their value must have to go unscanned.
SHAPED: Final[Mapping[str, Callable[[Any], bool]]] = {
    "traceId": _is_id, "spanId": _is_id, "parentSpanId": _is_id,
    "flags": _is_number, "kind": _is_enum, "code": _is_enum,
    "severityNumber": _is_enum, "aggregationTemporality": _is_enum,
    "isMonotonic": lambda v: isinstance(v, bool),
    "startTimeUnixNano": _is_number, "endTimeUnixNano": _is_number,
    "timeUnixNano": _is_number, "observedTimeUnixNano": _is_number,
    "droppedAttributesCount": _is_number, "droppedEventsCount": _is_number,
    "droppedLinksCount": _is_number,
    # Metric point values are measurements (counts, sums, bounds), not attributes.
    "asInt": _is_number, "asDouble": _is_number, "count": _is_number, "sum": _is_number,
    "min": _is_number, "max": _is_number, "scale": _is_number, "zeroCount": _is_number,
    "zeroThreshold": _is_number, "bucketCounts": _is_numeric_tree,
    "explicitBounds": _is_numeric_tree, "positive": _is_numeric_tree,
    "negative": _is_numeric_tree, "quantileValues": _is_numeric_tree,
}

class _Invalid:
    """An AnyValue that is not one: walked as arbitrary JSON instead."""


INVALID: Final = _Invalid()


def plain(value: Any) -> Any:
    """A scalar AnyValue as Python (for shape checks); containers and oddities are INVALID."""
    if not isinstance(value, dict) or len(value) != 1:
        return INVALID
    [(kind, raw)] = value.items()
    if kind == "stringValue" and isinstance(raw, str):
        return raw
    if kind == "boolValue" and isinstance(raw, bool):
        return raw
    if kind == "intValue" and (isinstance(raw, int) or (
            isinstance(raw, str) and re.fullmatch(r"-?[0-9]{1,20}", raw))):
        return int(raw)
    if kind == "doubleValue" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    if kind in ("arrayValue", "kvlistValue"):
        return _container(raw, kind)
    return INVALID


def _container(raw: Any, kind: str) -> Any:
    if not isinstance(raw, dict):
        return INVALID
    values = raw.get("values", [])
    if not isinstance(values, list):
        return INVALID
    if kind == "arrayValue":
        return [plain(v) for v in values]
    out: dict[str, Any] = {}
    for item in values:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            return INVALID
        out[item["key"]] = plain(item.get("value"))
    return out


_ANY_VALUE_KINDS: Final = frozenset({"stringValue", "boolValue", "intValue", "doubleValue",
                                      "bytesValue", "arrayValue", "kvlistValue"})


def loose(value: Any) -> Any:
    """An AnyValue as plain JSON, keeping whatever it holds (unknown shapes included)."""
    if isinstance(value, dict) and len(value) == 1:
        [(kind, raw)] = value.items()
        if kind in _ANY_VALUE_KINDS:
            if kind == "arrayValue" and isinstance(raw, dict):
                return [loose(v) for v in raw.get("values") or []] \
                    if isinstance(raw.get("values", []), list) else _loose_plain(raw)
            if kind == "kvlistValue" and isinstance(raw, dict):
                values = raw.get("values", [])
                if isinstance(values, list) and all(
                        isinstance(i, dict) and isinstance(i.get("key"), str) for i in values):
                    return {i["key"]: loose(i.get("value")) for i in values}
                return _loose_plain(raw)
            if kind == "bytesValue" and isinstance(raw, str):
                return decoded(raw)
            return raw
    return _loose_plain(value)


def _loose_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): loose(v) for k, v in value.items()}
    if isinstance(value, list):
        return [loose(v) for v in value]
    return value


def decoded(raw: str) -> str:
    """A ``bytesValue`` (base64) as text, so a detector can read what it encodes."""
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return raw

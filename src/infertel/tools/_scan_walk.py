"""Every value an OTLP/JSON export request carries, with a location that quotes no value.

The walk knows the OTLP shapes (resource, scope, span, event, link, status, log record, metric,
data point, exemplar) and yields one :class:`Item` per thing a detector must look at: text
(names, messages, string values, tracestate, schema URLs), numbers long enough to be a phone,
card or id, keys, and values whose key's name says they are personal or secret. Fields that are
not text (ids, times, counts, enums) are skipped only when their value has that field's shape;
anything else, unknown fields included, is walked as arbitrary JSON. Nothing is trusted by a
key's name: infertel's own keys go unscanned only when their value fits the key's declared
shape (``_key_rules.fits_shape``).

Locations are paths: ``span attribute ml.input.req.note``, ``log body.inputs.notes[3]``. A key
is named in a path only when :func:`label` accepts it (an identifier with nothing a detector
finds and no long digit run); any other key is shown by its position, ``[#2]``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from infertel.tools._key_rules import fits_shape, is_digit_run, key_entity

Kind = Literal["text", "number", "key", "keyed"]
# Decides whether a key may be shown in a location (see ScanContext.label).
Labeller = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to check. ``text`` is what a detector reads (numbers as digits); ``entity``
    is set for ``keyed`` items, values under a personal or secret key."""

    location: str
    kind: Kind
    text: str
    entity: str | None = None


_HEX: Final = re.compile(r"[0-9a-fA-F]{0,64}")
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|-?Infinity")
_ENUM: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def _is_id(v: Any) -> bool:
    return isinstance(v, str) and _HEX.fullmatch(v) is not None


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, (int, float)) or (isinstance(v, str) and _NUMBER.fullmatch(v) is not None)


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
_SHAPED: Final[Mapping[str, Callable[[Any], bool]]] = {
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
_TOP: Final = {"traces": ("resourceSpans", "scopeSpans", "spans"),
               "logs": ("resourceLogs", "scopeLogs", "logRecords"),
               "metrics": ("resourceMetrics", "scopeMetrics", "metrics")}
_METRIC_DATA: Final = ("sum", "gauge", "histogram", "exponentialHistogram", "summary")


class Walker:
    """Walks one request at a time; ``label`` says which keys a location may name."""

    def __init__(self, label: Labeller) -> None:
        self._label = label

    # ------------------------------------------------------------------ labels
    def name(self, key: str, index: int) -> str:
        """``key`` as a path component, or its position when the key may not be shown."""
        return key if self._label(key) else f"[#{index}]"

    def seq(self, value: Any, where: str,
            each: Callable[[Any, int], Iterator[Item]]) -> Iterator[Item]:
        """The elements of a list field; anything else there is walked as arbitrary JSON."""
        if isinstance(value, list):
            for index, element in enumerate(value):
                yield from each(element, index)
        else:
            yield from self.any(value, f"{where} (not a list)")

    # ------------------------------------------------------------------ requests
    def document(self, signal: str, data: Mapping[str, Any]) -> Iterator[Item]:
        top, scopes_key, items_key = _TOP[signal]
        item_walk = {"traces": self._span, "logs": self._log, "metrics": self._metric}[signal]
        yield from self.seq(data.get(top), "request", lambda block, _i: self._object(
            block, "resource block", {
                "resource": lambda v, _w: self._resource(v),
                "schemaUrl": lambda v, _w: self.text(v, "resource schema url"),
                scopes_key: lambda v, _w: self._scopes(v, items_key, item_walk),
            }))
        for extra, value in data.items():
            if extra != top:
                yield from self.any(value, f"request field {self.name(extra, 0)}")

    def _scopes(self, scopes: Any, items_key: str,
                item_walk: Callable[[Any], Iterator[Item]]) -> Iterator[Item]:
        yield from self.seq(scopes, "resource block", lambda block, _i: self._object(
            block, "scope block", {
                "scope": lambda v, _w: self._scope(v),
                "schemaUrl": lambda v, _w: self.text(v, "scope schema url"),
                items_key: lambda v, w: self.seq(v, w, lambda item, _j: item_walk(item)),
            }))

    def _resource(self, resource: Any) -> Iterator[Item]:
        yield from self._object(resource, "resource", {
            "attributes": lambda v, _w: self.attributes(v, "resource attribute")})

    def _scope(self, scope: Any) -> Iterator[Item]:
        yield from self._object(scope, "scope", {
            "name": lambda v, _w: self.text(v, "scope name"),
            "version": lambda v, _w: self.text(v, "scope version"),
            "attributes": lambda v, _w: self.attributes(v, "scope attribute")})

    def _span(self, span: Any) -> Iterator[Item]:
        yield from self._object(span, "span", {
            "name": lambda v, _w: self.text(v, "span name"),
            "traceState": lambda v, _w: self.text(v, "span tracestate"),
            "attributes": lambda v, _w: self.attributes(v, "span attribute"),
            "events": lambda v, _w: self._events(v),
            "links": lambda v, w: self.seq(v, w, lambda link, _i: self._link(link)),
            "status": lambda v, _w: self._object(v, "span status", {
                "message": lambda m, _x: self.text(m, "span status message")}),
        })

    def _events(self, events: Any) -> Iterator[Item]:
        yield from self.seq(events, "span", self._event)

    def _event(self, event: Any, index: int) -> Iterator[Item]:
        raw = event.get("name") if isinstance(event, dict) else None
        where = (f"span event {self.name(raw, index)}" if isinstance(raw, str) and raw
                 else f"span event [#{index}]")
        yield from self._object(event, where, {
            "name": lambda v, _w: self.text(v, "span event name"),
            "attributes": lambda v, w: self.attributes(v, f"{w} attribute")})

    def _link(self, link: Any) -> Iterator[Item]:
        yield from self._object(link, "span link", {
            "traceState": lambda v, _w: self.text(v, "span link tracestate"),
            "attributes": lambda v, _w: self.attributes(v, "span link attribute")})

    def _log(self, record: Any) -> Iterator[Item]:
        yield from self._object(record, "log", {
            "body": lambda v, _w: self.any_value(v, "log body"),
            "attributes": lambda v, _w: self.attributes(v, "log attribute"),
            "eventName": lambda v, _w: self.text(v, "log event name"),
            "severityText": lambda v, _w: self.text(v, "log severity text")})

    def _metric(self, metric: Any) -> Iterator[Item]:
        raw = metric.get("name") if isinstance(metric, dict) else None
        where = f"metric {self.name(raw, 0)}" if isinstance(raw, str) and raw else "metric"
        handlers: dict[str, Callable[[Any, str], Iterator[Item]]] = {
            "name": lambda v, _w: self.text(v, "metric name"),
            "description": lambda v, _w: self.text(v, "metric description"),
            "unit": lambda v, _w: self.text(v, "metric unit"),
            "metadata": lambda v, w: self.attributes(v, f"{w} metadata"),
        }
        for kind in _METRIC_DATA:
            handlers[kind] = lambda v, w: self._object(v, w, {
                "dataPoints": lambda points, x: self.seq(
                    points, x, lambda p, _i: self._point(p, x))})
        yield from self._object(metric, where, handlers)

    def _point(self, point: Any, where: str) -> Iterator[Item]:
        yield from self._object(point, where, {
            "attributes": lambda v, w: self.attributes(v, f"{w} attribute"),
            "exemplars": lambda v, w: self.seq(v, w, lambda e, _i: self._object(
                e, w, {"filteredAttributes":
                       lambda a, x: self.attributes(a, f"{x} exemplar attribute")}))})

    # ------------------------------------------------------------------ generic parts
    def _object(self, node: Any, where: str,
                handlers: Mapping[str, Callable[[Any, str], Iterator[Item]]]) -> Iterator[Item]:
        """A known OTLP object: its text fields by ``handlers``, its other known fields only
        when they do not have their shape, and any unknown field as arbitrary JSON."""
        if not isinstance(node, dict):
            yield from self.any(node, f"{where} (not an object)")
            return
        for index, (key, value) in enumerate(node.items()):
            handler = handlers.get(key)
            if handler is not None:
                yield from handler(value, where)
                continue
            shape = _SHAPED.get(key)
            if shape is not None and shape(value):
                continue
            yield from self.any(value, f"{where} field {self.name(key, index)}")

    def attributes(self, attributes: Any, where: str) -> Iterator[Item]:
        """An OTLP ``[{key, value}]`` list."""
        yield from self.seq(attributes, where, lambda item, index: self._pair(
            item, index, f"{where} "))

    def _pair(self, item: Any, index: int, prefix: str) -> Iterator[Item]:
        """One ``{key, value}`` of an attribute list or a kvlist; ``prefix`` + key names it."""
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            yield from self.any(item, f"{prefix}[#{index}]")
            return
        key = item["key"]
        here = prefix + self.name(key, index)
        yield Item(f"{here} key", "key", key)
        rest = {k: v for k, v in item.items() if k not in ("key", "value")}
        if rest:
            yield from self.any(rest, f"{here} (extra fields)")
        yield from self._keyed(key, item.get("value"), here, any_value=True)

    def _keyed(self, key: str, value: Any, where: str, *, any_value: bool) -> Iterator[Item]:
        """A value under ``key``: unscanned only if it fits an infertel key's shape; every leaf
        is personal when the key's name says so; else scanned by content."""
        plain = _plain(value) if any_value else value
        if plain is not _INVALID and fits_shape(key, plain):
            return
        entity = key_entity(key)
        if entity is not None:
            yield from self._leaves(_loose(value) if any_value else value, where, entity)
        elif any_value:
            yield from self.any_value(value, where)
        else:
            yield from self.any(value, where)

    def _leaves(self, value: Any, where: str, entity: str) -> Iterator[Item]:
        """Every string and number under a personal or secret key, whatever it looks like."""
        if isinstance(value, dict):
            for index, (key, inner) in enumerate(value.items()):
                yield from self._leaves(inner, f"{where}.{self.name(str(key), index)}", entity)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                yield from self._leaves(inner, f"{where}[{index}]", entity)
        elif (isinstance(value, str) and value) or (
                isinstance(value, (int, float)) and not isinstance(value, bool)):
            yield Item(where, "keyed", str(value), entity)

    def any_value(self, value: Any, where: str) -> Iterator[Item]:
        """An OTLP ``AnyValue`` ({"stringValue": ...}, {"kvlistValue": ...}, ...)."""
        if not isinstance(value, dict):
            yield from self.any(value, f"{where} (not an AnyValue)")
            return
        for kind, raw in value.items():
            if kind == "stringValue":
                yield from self.text(raw, where)
            elif kind in ("intValue", "doubleValue"):
                yield from self.number(raw, where)
            elif kind == "boolValue" and isinstance(raw, bool):
                continue
            elif kind == "bytesValue" and isinstance(raw, str):
                yield from self.text(_decoded(raw), f"{where} (bytes)")
            elif kind == "arrayValue" and isinstance(raw, dict):
                yield from self.seq(raw.get("values", []), where, lambda element, i: (
                    self.any_value(element, f"{where}[{i}]")))
            elif kind == "kvlistValue" and isinstance(raw, dict):
                yield from self.seq(raw.get("values", []), where, lambda item, i: (
                    self._pair(item, i, f"{where}.")))
            else:
                yield from self.any(raw, f"{where} ({self.name(kind, 0)})")

    def any(self, value: Any, where: str) -> Iterator[Item]:
        """Arbitrary JSON: strings, numbers and keys anywhere inside."""
        if isinstance(value, str):
            yield from self.text(value, where)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, (int, float)):
            yield from self.number(value, where)
        elif isinstance(value, dict):
            for index, (key, inner) in enumerate(value.items()):
                key = str(key)
                here = f"{where}.{self.name(key, index)}"
                yield Item(f"{here} key", "key", key)
                yield from self._keyed(key, inner, here, any_value=False)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                yield from self.any(inner, f"{where}[{index}]")

    def text(self, value: Any, where: str) -> Iterator[Item]:
        """A text field; text holding a JSON object or array is walked as that structure, as
        the runtime's scrubber does (escaped quotes would hide values from a detector)."""
        if not isinstance(value, str):
            yield from self.any(value, where)
            return
        if not value:
            return
        stripped = value.strip()
        if len(stripped) > 1 and stripped[0] in "{[" and stripped[-1] in "}]":
            try:
                parsed = json.loads(stripped)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, (dict, list)):
                yield from self.any(parsed, f"{where} (json)")
                return
        yield Item(where, "text", value)

    def number(self, value: Any, where: str) -> Iterator[Item]:
        """A number: its digits are checked when it is long enough to be a phone, card or id
        (as the runtime does); a "number" that is not one is text."""
        number: int | float | None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _NUMBER.fullmatch(value):
            try:
                number = int(value) if re.fullmatch(r"-?[0-9]+", value) else float(value)
            except (ValueError, OverflowError):
                number = None
        else:
            yield from self.text(value, where) if isinstance(value, str) else self.any(
                value, where)
            return
        if number is not None and is_digit_run(number):
            yield Item(where, "number", str(abs(int(number))))


class _Invalid:
    """An AnyValue that is not one: walked as arbitrary JSON instead."""


_INVALID: Final = _Invalid()


def _plain(value: Any) -> Any:
    """A scalar AnyValue as Python (for shape checks); containers and oddities are _INVALID."""
    if not isinstance(value, dict) or len(value) != 1:
        return _INVALID
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
    return _INVALID


def _container(raw: Any, kind: str) -> Any:
    if not isinstance(raw, dict):
        return _INVALID
    values = raw.get("values", [])
    if not isinstance(values, list):
        return _INVALID
    if kind == "arrayValue":
        return [_plain(v) for v in values]
    out: dict[str, Any] = {}
    for item in values:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            return _INVALID
        out[item["key"]] = _plain(item.get("value"))
    return out


_ANY_VALUE_KINDS: Final = frozenset({"stringValue", "boolValue", "intValue", "doubleValue",
                                      "bytesValue", "arrayValue", "kvlistValue"})


def _loose(value: Any) -> Any:
    """An AnyValue as plain JSON, keeping whatever it holds (unknown shapes included)."""
    if isinstance(value, dict) and len(value) == 1:
        [(kind, raw)] = value.items()
        if kind in _ANY_VALUE_KINDS:
            if kind == "arrayValue" and isinstance(raw, dict):
                return [_loose(v) for v in raw.get("values") or []] \
                    if isinstance(raw.get("values", []), list) else _loose_plain(raw)
            if kind == "kvlistValue" and isinstance(raw, dict):
                values = raw.get("values", [])
                if isinstance(values, list) and all(
                        isinstance(i, dict) and isinstance(i.get("key"), str) for i in values):
                    return {i["key"]: _loose(i.get("value")) for i in values}
                return _loose_plain(raw)
            if kind == "bytesValue" and isinstance(raw, str):
                return _decoded(raw)
            return raw
    return _loose_plain(value)


def _loose_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _loose(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_loose(v) for v in value]
    return value


def _decoded(raw: str) -> str:
    """A ``bytesValue`` (base64) as text, so a detector can read what it encodes."""
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return raw

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

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from infertel.tools._key_rules import fits_shape, is_digit_run, key_entity
from infertel.tools._scan_shapes import INVALID, NUMBER, SHAPED, decoded, loose, plain

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
            shape = SHAPED.get(key)
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
        scalar = plain(value) if any_value else value
        if scalar is not INVALID and fits_shape(key, scalar):
            return
        entity = key_entity(key)
        if entity is not None:
            yield from self._leaves(loose(value) if any_value else value, where, entity)
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
                yield from self.text(decoded(raw), f"{where} (bytes)")
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
        elif isinstance(value, str) and NUMBER.fullmatch(value):
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

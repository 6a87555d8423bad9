"""Leak scanning: run a detector over every string a store exports and say where PII sits.

Walks OTLP/JSON (the local store or a Collector's file output) signal by signal and reports
findings by signal, location (span attribute ``ml.input.req.note``, log body path, span event,
status message...) and entity type, with the first file and line it was seen at. The matched
value itself is never kept, so a report can be shared.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from infertel import conventions as c
from infertel.privacy._markers import MARKER
from infertel.tools._store import ReadStats, StoreDocument, iter_documents

if TYPE_CHECKING:
    from infertel.privacy._detector import PiiDetector


_ITEMS: Final = {"traces": ("scopeSpans", "spans"), "logs": ("scopeLogs", "logRecords"),
                 "metrics": ("scopeMetrics", "metrics")}
_TOP: Final = {"traces": "resourceSpans", "logs": "resourceLogs", "metrics": "resourceMetrics"}


@dataclass(frozen=True)
class LeakKey:
    signal: str
    location: str
    entity_type: str


@dataclass
class ScanReport:
    counts: collections.Counter[LeakKey] = field(default_factory=collections.Counter)
    first_seen: dict[LeakKey, tuple[Path, int]] = field(default_factory=dict)
    strings_scanned: int = 0
    stats: ReadStats = field(default_factory=ReadStats)

    @property
    def clean(self) -> bool:
        return not self.counts

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for key, count in sorted(self.counts.items(),
                                 key=lambda kv: (kv[0].signal, kv[0].location, kv[0].entity_type)):
            path, line = self.first_seen[key]
            out.append({"signal": key.signal, "location": key.location,
                        "entity_type": key.entity_type, "count": count,
                        "first_seen": f"{path}:{line}"})
        return out


def scan_store(path: str | os.PathLike[str], detector: PiiDetector,
               on_document: Callable[[StoreDocument], None] | None = None,
               key_detector: PiiDetector | None = None) -> ScanReport:
    """Scan every exported string under ``path``; raises ``StoreError`` for a bad store.

    ``key_detector`` scans attribute and map keys (identifiers written in code); pass a
    pattern detector when ``detector`` uses NER, which reads dotted names as people.
    """
    report = ScanReport()
    key_detector = key_detector or detector
    for document in iter_documents(path, report.stats):
        if on_document is not None:
            on_document(document)
        for location, text in document_strings(document.signal, document.data):
            report.strings_scanned += 1
            # Our own markers are blanked, so a pseudonym's digits are not read as a number.
            cleaned = MARKER.sub(" ", text)
            if not cleaned.strip():
                continue
            scanner = key_detector if location.endswith(" key") else detector
            for finding in scanner.analyze(cleaned):
                key = LeakKey(document.signal, location, finding.entity_type)
                report.counts[key] += 1
                report.first_seen.setdefault(key, (document.path, document.line))
    return report


def document_strings(signal: str, data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every exported string of one OTLP/JSON request, with a readable location."""
    scope_key, items_key = _ITEMS[signal]
    for block in _list(data.get(_TOP[signal])):
        resource = _dict(block.get("resource"))
        yield from _attributes(resource.get("attributes"), "resource attribute")
        for scope in _list(block.get(scope_key)):
            for item in _list(_dict(scope).get(items_key)):
                item = _dict(item)
                if signal == "traces":
                    yield from _span_strings(item)
                elif signal == "logs":
                    yield from _log_strings(item)
                else:
                    yield from _metric_strings(item)


def _span_strings(span: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield from _text("span name", span.get("name"))
    yield from _attributes(span.get("attributes"), "span attribute")
    for event in _list(span.get("events")):
        event = _dict(event)
        name = event.get("name") if isinstance(event.get("name"), str) else "?"
        yield from _text("span event name", name)
        yield from _attributes(event.get("attributes"), f"span event {name!s:.40} attribute")
    for link in _list(span.get("links")):
        yield from _attributes(_dict(link).get("attributes"), "span link attribute")
    yield from _text("span status message", _dict(span.get("status")).get("message"))


def _log_strings(record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield from _any_value(record.get("body"), "log body")
    yield from _attributes(record.get("attributes"), "log attribute")
    yield from _text("log event name", record.get("eventName"))


def _metric_strings(metric: dict[str, Any]) -> Iterator[tuple[str, str]]:
    name = metric.get("name") if isinstance(metric.get("name"), str) else "?"
    yield from _text("metric name", name)
    yield from _text("metric description", metric.get("description"))
    for kind in ("sum", "gauge", "histogram", "exponentialHistogram", "summary"):
        for point in _list(_dict(metric.get(kind)).get("dataPoints")):
            point = _dict(point)
            yield from _attributes(point.get("attributes"), f"metric {name!s:.60} attribute")
            for exemplar in _list(point.get("exemplars")):
                yield from _attributes(_dict(exemplar).get("filteredAttributes"),
                                       f"metric {name!s:.60} exemplar attribute")


def _attributes(attributes: object, where: str) -> Iterator[tuple[str, str]]:
    for item in _list(attributes):
        item = _dict(item)
        key = item.get("key")
        if not isinstance(key, str):
            continue
        yield f"{where} key", key
        if key in c.SAFE_ATTRIBUTE_KEYS:
            continue
        yield from _any_value(item.get("value"), f"{where} {key}")


def _any_value(value: object, where: str) -> Iterator[tuple[str, str]]:
    value = _dict(value)
    if isinstance(value.get("stringValue"), str):
        yield where, value["stringValue"]
    elif "arrayValue" in value:
        for element in _list(_dict(value["arrayValue"]).get("values")):
            yield from _any_value(element, where + "[]")
    elif "kvlistValue" in value:
        for item in _list(_dict(value["kvlistValue"]).get("values")):
            item = _dict(item)
            key = item.get("key")
            if isinstance(key, str):
                yield f"{where} key", key
                if key not in c.SAFE_ATTRIBUTE_KEYS:  # digests in a body, as in attributes
                    yield from _any_value(item.get("value"), f"{where}.{key}")


def _text(where: str, value: object) -> Iterator[tuple[str, str]]:
    if isinstance(value, str) and value:
        yield where, value


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []

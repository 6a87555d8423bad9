"""Flatten OTLP/JSON export requests into plain rows: one per span, one per log record.

OTLP/JSON ``AnyValue``s become plain JSON-compatible Python (kvlists become dicts), ``*UnixNano``
fields become UTC datetimes, ids become lower-case hex. The rows' keys are
:data:`SPAN_COLUMNS` / :data:`LOG_COLUMNS`, the tables :mod:`infertel.tools._store` loads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from infertel import conventions as c

# Column name -> DuckDB type. The order is the table's column order.
SPAN_COLUMNS: Final[Mapping[str, str]] = {
    "trace_id": "VARCHAR",
    "span_id": "VARCHAR",
    "parent_span_id": "VARCHAR",
    "name": "VARCHAR",
    "service": "VARCHAR",
    "model": "VARCHAR",
    "version": "VARCHAR",
    "ring": "VARCHAR",
    "segment": "VARCHAR",
    "outcome": "VARCHAR",
    "error_type": "VARCHAR",
    "status": "VARCHAR",
    "status_message": "VARCHAR",
    "start": "TIMESTAMP",
    "duration_ms": "DOUBLE",
    "attributes": "JSON",
    "events": "JSON",
}
LOG_COLUMNS: Final[Mapping[str, str]] = {
    "time": "TIMESTAMP",
    "trace_id": "VARCHAR",
    "span_id": "VARCHAR",
    "severity": "VARCHAR",
    "severity_number": "INTEGER",
    "event_name": "VARCHAR",
    "body": "JSON",
    "attributes": "JSON",
    "service": "VARCHAR",
}

_STATUS_NAMES: Final[Mapping[int | str, str]] = {
    0: "unset",
    1: "ok",
    2: "error",
    # Enum names, for writers that do not use integers for enums.
    "STATUS_CODE_UNSET": "unset",
    "STATUS_CODE_OK": "ok",
    "STATUS_CODE_ERROR": "error",
}
_EPOCH: Final = datetime(1970, 1, 1)


def any_value(value: object) -> Any:
    """An OTLP/JSON ``AnyValue`` as plain JSON-compatible Python (kvlists become dicts).

    Non-finite doubles become the strings ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"`` (as
    protobuf's JSON mapping writes them), since JSON itself cannot hold them.
    """
    if not isinstance(value, dict):
        return None
    for kind, raw in value.items():  # one key names the kind: a dict lookup beats a chain of ifs
        convert = _ANY_VALUE_KINDS.get(kind)
        if convert is not None:
            return convert(raw)
    return None


def attributes_dict(attributes: object) -> dict[str, Any]:
    """An OTLP/JSON ``[{key, value}]`` list as a dict (a later duplicate key wins)."""
    result: dict[str, Any] = {}
    if not isinstance(attributes, list):
        return result
    for item in attributes:
        if isinstance(item, dict):
            key = item.get("key")
            if isinstance(key, str):
                result[key] = any_value(item.get("value"))
    return result


def _array_value(raw: object) -> list[Any]:
    return [any_value(item) for item in _list(_dict(raw).get("values"))]


def _kvlist_value(raw: object) -> dict[str, Any]:
    return attributes_dict(_dict(raw).get("values"))


def _same(raw: object) -> object:
    return raw


def _int_value(raw: object) -> int | None:
    # int64 is a string in protobuf's JSON mapping; some writers emit a bare number.
    if not isinstance(raw, (str, int, float)):
        return None
    try:
        return int(raw)
    except (ValueError, OverflowError):
        return None


def _double_value(raw: object) -> float | str | None:
    if not isinstance(raw, (str, int, float)):
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


_ANY_VALUE_KINDS: Final[Mapping[str, Callable[[object], Any]]] = {
    "stringValue": _same,
    "boolValue": bool,
    "intValue": _int_value,
    "doubleValue": _double_value,
    "arrayValue": _array_value,
    "kvlistValue": _kvlist_value,
    "bytesValue": _same,  # base64 text, as protobuf's JSON mapping writes bytes
}


def nanos_to_datetime(nanos: object) -> datetime | None:
    """A ``*UnixNano`` field (string or number) as a naive UTC datetime; None when unset."""
    value = _int_value(nanos)
    if not value or value < 0:
        return None
    try:
        return _EPOCH + timedelta(microseconds=value // 1000)
    except OverflowError:
        return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    """An attribute value for a text column: None stays None, anything else becomes text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _id(value: object) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


# ------------------------------------------------------------------------------- flatten
def span_rows(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Flatten an ExportTraceServiceRequest into one row per span (keys: SPAN_COLUMNS)."""
    for resource_spans in _list(document.get("resourceSpans")):
        resource = attributes_dict(_dict(_dict(resource_spans).get("resource")).get("attributes"))
        for scope_spans in _list(_dict(resource_spans).get("scopeSpans")):
            for span in _list(_dict(scope_spans).get("spans")):
                if isinstance(span, dict):
                    yield span_row(span, resource)


def span_row(span: Mapping[str, Any], resource: Mapping[str, Any]) -> dict[str, Any]:
    """One span as a row; span attributes win over resource attributes of the same name."""
    attributes = {**resource, **attributes_dict(span.get("attributes"))}
    status = _dict(span.get("status"))
    start_nanos = _int_value(span.get("startTimeUnixNano"))
    end_nanos = _int_value(span.get("endTimeUnixNano"))
    duration_ms = None
    if start_nanos and end_nanos:
        duration_ms = (end_nanos - start_nanos) / 1e6
    return {
        "trace_id": _id(span.get("traceId")),
        "span_id": _id(span.get("spanId")),
        "parent_span_id": _id(span.get("parentSpanId")),
        "name": _text(span.get("name")),
        "service": _text(attributes.get(c.SERVICE_NAME)),
        "model": _text(attributes.get(c.MODEL_NAME)),
        "version": _text(attributes.get(c.MODEL_VERSION)),
        "ring": _text(attributes.get(c.DEPLOYMENT_RING)),
        "segment": _text(attributes.get(c.SEGMENT)),
        "outcome": _text(attributes.get(c.INFERENCE_OUTCOME)),
        "error_type": _text(attributes.get(c.ERROR_TYPE)),
        "status": _status_name(status.get("code")),
        "status_message": _text(status.get("message")) or None,
        "start": _timestamp_text(nanos_to_datetime(start_nanos)),
        "duration_ms": duration_ms,
        "attributes": attributes,
        "events": [_event(event) for event in _list(span.get("events"))],
    }


def _status_name(code: object) -> str:
    if isinstance(code, (int, str)):
        return _STATUS_NAMES.get(code, "unset")
    return "unset"


def _event(event: object) -> dict[str, Any]:
    event = _dict(event)
    return {
        "name": _text(event.get("name")),
        # Inside a JSON column, so ISO-8601 with its UTC suffix, as --json prints every time.
        "time": iso_utc(nanos_to_datetime(event.get("timeUnixNano"))),
        "attributes": attributes_dict(event.get("attributes")),
    }


def log_rows(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Flatten an ExportLogsServiceRequest into one row per log record (keys: LOG_COLUMNS)."""
    for resource_logs in _list(document.get("resourceLogs")):
        resource = attributes_dict(_dict(_dict(resource_logs).get("resource")).get("attributes"))
        for scope_logs in _list(_dict(resource_logs).get("scopeLogs")):
            for record in _list(_dict(scope_logs).get("logRecords")):
                if isinstance(record, dict):
                    yield log_row(record, resource)


def log_row(record: Mapping[str, Any], resource: Mapping[str, Any]) -> dict[str, Any]:
    """One log record as a row; ``body`` is the AnyValue as JSON (a string body stays a string)."""
    # OpenTelemetry: when the event time is unset, the observed time stands in for it.
    time = nanos_to_datetime(record.get("timeUnixNano")) or nanos_to_datetime(
        record.get("observedTimeUnixNano")
    )
    return {
        "time": _timestamp_text(time),
        "trace_id": _id(record.get("traceId")),
        "span_id": _id(record.get("spanId")),
        "severity": _text(record.get("severityText")) or None,
        "severity_number": _int_value(record.get("severityNumber")),
        "event_name": _text(record.get("eventName")) or None,
        "body": any_value(record.get("body")),
        "attributes": attributes_dict(record.get("attributes")),
        "service": _text(resource.get(c.SERVICE_NAME)),
    }


def _timestamp_text(moment: datetime | None) -> str | None:
    # The text DuckDB loads into a TIMESTAMP column (naive, UTC).
    return moment.isoformat(sep=" ") if moment is not None else None


def iso_utc(moment: datetime | None) -> str | None:
    """A naive UTC datetime as ISO-8601 with a ``Z`` suffix (microseconds always shown)."""
    if moment is None:
        return None
    return moment.isoformat(timespec="microseconds") + "Z"

"""OTLP/JSON export requests built straight from ``ScrubbedCall`` batches, for the local store
and the console: the document ``export._otlp_json.to_json`` renders from the protobuf request
(protobuf's JSON mapping: 64-bit integers as strings, enums as numbers, default values left
out; trace and span ids as lowercase hex), built without the protobuf request in between.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from infertel import conventions as c
from infertel._record import ScrubbedCall
from infertel.signals._attributes import span_value
from infertel.signals._encode_pb import CACHED_KEYS
from infertel.signals._encode_wire import INT64_MAX, INT64_MIN, MAX_DEPTH, Unencodable

_PAIR_CACHE_SIZE: Final = 4096
_BODY_EVENT: Final = {"key": "event", "value": {"stringValue": c.EVENT_INFERENCE}}
_STATUS_UNSET: Final[dict[str, Any]] = {}


def _text(value: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Unencodable("text") from None
    return value


def _double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def any_value(value: Any, depth: int = 0) -> dict[str, Any]:
    kind = type(value)
    if kind is str:
        return {"stringValue": _text(value)}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise Unencodable("int64")
        return {"intValue": str(value)}
    if kind is float:
        return {"doubleValue": _double(value)}
    if value is None:
        return {}
    if kind is bytes:
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if depth >= MAX_DEPTH:
        raise Unencodable("depth")
    if kind is list or kind is tuple:
        items = [any_value(item, depth + 1) for item in value]
        return {"arrayValue": {"values": items} if items else {}}
    if kind is dict:
        pairs = [key_value(key, item, depth + 1) for key, item in value.items()]
        return {"kvlistValue": {"values": pairs} if pairs else {}}
    raise Unencodable("type")


def key_value(key: Any, value: Any, depth: int = 0, *, raw: bool = False) -> dict[str, Any]:
    """``{"key": ..., "value": AnyValue}``; ``raw``: ``value`` is already an AnyValue."""
    if type(key) is not str:
        raise Unencodable("key")
    encoded = value if raw else any_value(value, depth)
    if key:
        return {"key": _text(key), "value": encoded}
    return {"value": encoded}


class _Attributes:
    __slots__ = ("_pairs",)

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], dict[str, Any]] = {}

    def items(self, attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = []
        pairs = self._pairs
        for key, value in attributes.items():
            if key in CACHED_KEYS and type(value) is str:
                encoded = pairs.get((key, value))
                if encoded is None:
                    encoded = key_value(key, value)
                    if len(pairs) >= _PAIR_CACHE_SIZE:
                        pairs.clear()
                    pairs[(key, value)] = encoded
                out.append(encoded)
            else:
                out.append(key_value(key, value))
        return out


def _attributes_of(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [key_value(k, v) for k, v in (attributes or {}).items()]


class JsonRequests:
    """Spans and log records of one pipeline as OTLP/JSON documents; one line per batch.
    Worker thread only."""

    __slots__ = ("_attributes", "_resource", "_resource_schema", "_scope", "_scope_schema",
                 "resource", "scope")

    def __init__(self, resource: Resource, scope: InstrumentationScope) -> None:
        self.resource = resource
        self.scope = scope
        self._attributes = _Attributes()
        resource_attributes = _attributes_of(dict(resource.attributes))
        self._resource: dict[str, Any] = (
            {"attributes": resource_attributes} if resource_attributes else {})
        scope_doc: dict[str, Any] = {}
        if scope.name:
            scope_doc["name"] = scope.name
        if scope.version:
            scope_doc["version"] = scope.version
        scope_attributes = _attributes_of(dict(scope.attributes or {}))
        if scope_attributes:
            scope_doc["attributes"] = scope_attributes
        self._scope = scope_doc
        self._scope_schema = scope.schema_url
        self._resource_schema = resource.schema_url

    def request(self, signal: str, records: list[dict[str, Any]]) -> str:
        """One line: ``{"resourceSpans": [...]}`` (``signal`` "traces") or
        ``{"resourceLogs": [...]}`` ("logs")."""
        noun = "Spans" if signal == "traces" else "Logs"
        scoped: dict[str, Any] = {"scope": self._scope,
                                  ("spans" if signal == "traces" else "logRecords"): records}
        if self._scope_schema:
            scoped["schemaUrl"] = self._scope_schema
        block: dict[str, Any] = {"resource": self._resource, f"scope{noun}": [scoped]}
        if self._resource_schema:
            block["schemaUrl"] = self._resource_schema
        return json.dumps({f"resource{noun}": [block]}, separators=(",", ":"),
                          ensure_ascii=False)

    # ------------------------------------------------------------------ calls
    def call(self, call: ScrubbedCall, with_span: bool
             ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The span (when ``with_span``) and the inference log record of ``call``, sharing
        their attribute objects (``json.dumps`` writes a shared object at each place)."""
        if not (0 <= call.trace_id < 1 << 128 and 0 <= call.span_id < 1 << 64):
            raise Unencodable("ids")
        attributes = self._attributes
        common = attributes.items(call.attributes)
        span_payload, body = self._payload(call)
        exception = call.exception
        exception_items = [] if exception is None else attributes.items({
            c.EXCEPTION_TYPE: exception.type_name,
            c.EXCEPTION_MESSAGE: exception.message,
            c.EXCEPTION_STACKTRACE: exception.stacktrace,
        })
        trace_id = f"{call.trace_id:032x}"
        span_id = f"{call.span_id:016x}"
        end = str(call.end_ns) if call.end_ns else None
        log: dict[str, Any] = {}
        if end:
            log["timeUnixNano"] = log["observedTimeUnixNano"] = end
        log["severityNumber"] = 17 if exception is not None else 9
        log["severityText"] = "ERROR" if exception is not None else "INFO"
        log["body"] = body
        duration = {"key": c.DURATION, "value": {"doubleValue": _double(call.duration_s)}}
        log["attributes"] = [*common, duration, *exception_items]
        if call.sampled:
            log["flags"] = 1
        if call.trace_id:
            log["traceId"] = trace_id
        if call.span_id:
            log["spanId"] = span_id
        log["eventName"] = c.EVENT_INFERENCE
        if not with_span:
            return None, log
        span: dict[str, Any] = {"traceId": trace_id, "spanId": span_id}
        if call.trace_state:
            state = ",".join(f"{k}={v}" for k, v in call.trace_state)
            if state:
                span["traceState"] = _text(state)
        if call.parent_span_id is not None:
            if not 0 <= call.parent_span_id < 1 << 64:
                raise Unencodable("ids")
            span["parentSpanId"] = f"{call.parent_span_id:016x}"
        span["flags"] = 256
        if call.name:
            span["name"] = _text(call.name)
        span["kind"] = 1
        if call.start_ns:
            span["startTimeUnixNano"] = str(call.start_ns)
        if end:
            span["endTimeUnixNano"] = end
        span_attributes = common + span_payload
        if span_attributes:
            span["attributes"] = span_attributes
        if exception is None:
            span["status"] = _STATUS_UNSET
        else:
            event: dict[str, Any] = {}
            if end:
                event["timeUnixNano"] = end
            event["name"] = "exception"
            event["attributes"] = exception_items
            span["events"] = [event]
            span["status"] = {"message": _text(f"{exception.type_name}: {exception.message}"),
                              "code": 2}
        return span, log

    def _payload(self, call: ScrubbedCall) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        span_items: list[dict[str, Any]] = []
        body = [_BODY_EVENT]
        for prefix, fields, name in ((c.INPUT_PREFIX, call.inputs, "inputs"),
                                     (c.OUTPUT_PREFIX, call.outputs, "outputs")):
            if not fields:
                continue
            entries = []
            for path, value in fields.items():
                if type(path) is not str:
                    raise Unencodable("key")
                kind = type(value)
                if kind is str or kind is float or kind is int or kind is bool:
                    encoded = any_value(value)
                    span_items.append({"key": prefix + path, "value": encoded})
                    entries.append(key_value(path, encoded, raw=True))
                else:
                    span_items.append({"key": prefix + path, "value": any_value(span_value(value))})
                    entries.append(key_value(path, value, 2))
            body.append({"key": name, "value": {"kvlistValue": {"values": entries}}})
        return span_items, {"kvlistValue": {"values": body}}

    def log_record(self, readable: ReadableLogRecord) -> dict[str, Any]:
        if readable.resource is not self.resource and readable.resource != self.resource:
            raise Unencodable("resource")
        if readable.instrumentation_scope != self.scope:
            raise Unencodable("scope")
        record = readable.log_record
        if getattr(record.attributes, "dropped", 0):
            raise Unencodable("dropped attributes")
        severity = record.severity_number
        return self._log(record.timestamp, record.observed_timestamp,
                         None if severity is None else severity.value, record.severity_text,
                         record.body, record.attributes, int(record.trace_flags or 0),
                         record.trace_id or 0, record.span_id or 0, record.event_name)

    def _log(self, time_ns: int | None, observed_ns: int | None, severity: int | None,
             severity_text: str | None, body: Any, attributes: Mapping[str, Any] | None,
             flags: int, trace_id: int, span_id: int, event_name: str | None
             ) -> dict[str, Any]:
        if not (0 <= trace_id < 1 << 128 and 0 <= span_id < 1 << 64):
            raise Unencodable("ids")
        log: dict[str, Any] = {}
        if time_ns:
            log["timeUnixNano"] = str(time_ns)
        if observed_ns:
            log["observedTimeUnixNano"] = str(observed_ns)
        if severity:
            log["severityNumber"] = severity
        if severity_text:
            log["severityText"] = _text(severity_text)
        log["body"] = any_value(body)
        if attributes:
            log["attributes"] = self._attributes.items(attributes)
        if flags:
            log["flags"] = flags
        if trace_id:
            log["traceId"] = f"{trace_id:032x}"
        if span_id:
            log["spanId"] = f"{span_id:016x}"
        if event_name:
            log["eventName"] = _text(event_name)
        return log

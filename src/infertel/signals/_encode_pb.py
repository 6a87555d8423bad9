"""OTLP/protobuf export requests built straight from ``ScrubbedCall`` batches.

One ``ExportTraceServiceRequest`` / ``ExportLogsServiceRequest`` per worker batch, with no
``ReadableSpan`` or ``LogRecord`` in between. The span and log record of a call carry exactly
what ``SpanBuilder.build`` and ``LogBuilder.inference`` put on them, encoded as OpenTelemetry's
encoder would encode those objects (field for field; ``tests/test_encode.py`` parses both and
compares). Resource and scope are encoded once per pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from infertel import conventions as c
from infertel._record import ScrubbedCall
from infertel.signals._attributes import span_value
from infertel.signals._encode_wire import (
    Attributes,
    Unencodable,
    any_value,
    double,
    field_bytes,
    field_fixed64,
    field_text,
    fixed32,
    fixed64,
    repeated,
    utf8,
    varint,
)

# Span fields (opentelemetry/proto/trace/v1/trace.proto).
_SPAN_ATTRIBUTE: Final = b"\x4a"  # 9, length-delimited
_SPAN_EVENT: Final = b"\x5a"  # 11
_SPAN_KIND_INTERNAL: Final = b"\x30\x01"  # 6 = SPAN_KIND_INTERNAL
_SPAN_FLAGS: Final = b"\x85\x01" + fixed32(0x100)  # 16: CONTEXT_HAS_IS_REMOTE, parent local
_STATUS_UNSET: Final = b"\x7a\x00"  # 15: an empty Status message, present
_EVENT_ATTRIBUTE: Final = b"\x1a"  # Span.Event 3
# LogRecord fields (opentelemetry/proto/logs/v1/logs.proto).
_LOG_ATTRIBUTE: Final = b"\x32"  # 6
_INFO_SEVERITY: Final = b"\x10\x09\x1a\x04INFO"  # severity_number 9, severity_text
_ERROR_SEVERITY: Final = b"\x10\x11\x1a\x05ERROR"  # 17
_INFERENCE_EVENT_NAME: Final = field_bytes(12, c.EVENT_INFERENCE.encode())

# Attribute keys whose values repeat across calls: their encoded pairs are reused.
CACHED_KEYS: Final = frozenset({
    c.INFERENCE_KIND, c.CODE_FUNCTION, c.DEPLOYMENT_RING, c.SEGMENT, c.INFERENCE_OUTCOME,
    c.ERROR_TYPE, c.MODEL_NAME, c.MODEL_VERSION, c.EXCEPTION_TYPE,
})


def _scope_bytes(scope: InstrumentationScope) -> bytes:
    attributes = Attributes(frozenset()).items(dict(scope.attributes or {}))
    return (field_text(1, scope.name) + field_text(2, scope.version)
            + repeated(b"\x1a", attributes))


def _resource_bytes(resource: Resource) -> bytes:
    return repeated(b"\x0a", Attributes(frozenset()).items(dict(resource.attributes)))


class ProtobufRequests:
    """Encodes spans and log records of one pipeline (one resource, one scope) and wraps a
    batch of them into one request. Worker thread only (the attribute cache is not locked)."""

    __slots__ = ("_attributes", "_body_event", "_resource", "_resource_schema", "_scope",
                 "_wrap_head", "_wrap_tail", "resource", "scope")

    def __init__(self, resource: Resource, scope: InstrumentationScope) -> None:
        self.resource = resource
        self.scope = scope
        self._attributes = Attributes(CACHED_KEYS)
        self._body_event = self._attributes.pair("event", any_value(c.EVENT_INFERENCE))
        self._resource = field_bytes(1, _resource_bytes(resource))
        self._scope = field_bytes(1, _scope_bytes(scope))
        self._wrap_head = self._scope  # ScopeSpans / ScopeLogs: scope first
        self._wrap_tail = field_text(3, scope.schema_url)
        self._resource_schema = field_text(3, resource.schema_url)

    # ------------------------------------------------------------------ requests
    def request(self, signal: str, records: list[bytes]) -> bytes:
        """``Export{Trace,Logs}ServiceRequest`` bytes holding ``records`` (each an encoded
        ``Span`` or ``LogRecord``) under this pipeline's resource and scope. Both requests
        have the same shape (resource_X = 1, scope_X = 2, records = 2), so ``signal``
        ("traces" or "logs") changes nothing. Lengths are summed first, so the records are
        copied once, into the request."""
        parts: list[bytes] = []
        size = 0
        for record in records:
            prefix = b"\x12" + varint(len(record))
            parts.append(prefix)
            parts.append(record)
            size += len(prefix) + len(record)
        scoped = len(self._wrap_head) + size + len(self._wrap_tail)
        scoped_prefix = b"\x12" + varint(scoped)
        schema = self._resource_schema
        block = len(self._resource) + len(scoped_prefix) + scoped + len(schema)
        return b"".join([b"\x0a", varint(block), self._resource, scoped_prefix, self._wrap_head,
                         *parts, self._wrap_tail, schema])

    # ------------------------------------------------------------------ calls
    def call(self, call: ScrubbedCall, with_span: bool) -> tuple[bytes | None, bytes]:
        """The ``Span`` of ``SpanBuilder.build(call)`` (when ``with_span``) and the log record
        of ``LogBuilder.inference(call)``, encoded. The two share their encoded attributes:
        the call's attributes, the captured values and the exception's three attributes are
        each encoded once."""
        attributes = self._attributes
        common = attributes.items(call.attributes)
        span_payload, body = self._payload(call)
        exception = call.exception
        exception_items = [] if exception is None else attributes.items({
            c.EXCEPTION_TYPE: exception.type_name,
            c.EXCEPTION_MESSAGE: exception.message,
            c.EXCEPTION_STACKTRACE: exception.stacktrace,
        })
        try:
            trace_id = call.trace_id.to_bytes(16, "big")
            span_id = call.span_id.to_bytes(8, "big")
            parent = None if call.parent_span_id is None else \
                call.parent_span_id.to_bytes(8, "big")
        except (OverflowError, AttributeError, TypeError):
            raise Unencodable("ids") from None
        end = fixed64(call.end_ns)
        log_items = [*common, attributes.pair(c.DURATION, b"\x21" + double(call.duration_s))]
        log = b"".join((
            b"\x09" + end if call.end_ns else b"",  # time_unix_nano
            b"\x59" + end if call.end_ns else b"",  # observed_time_unix_nano
            _ERROR_SEVERITY if exception is not None else _INFO_SEVERITY,
            b"\x2a" + varint(len(body)) + body,
            repeated(_LOG_ATTRIBUTE, log_items + exception_items),
            b"\x45\x01\x00\x00\x00" if call.sampled else b"",  # flags: SAMPLED
            b"\x4a\x10" + trace_id if call.trace_id else b"",
            b"\x52\x08" + span_id if call.span_id else b"",
            _INFERENCE_EVENT_NAME,
        ))
        if not with_span:
            return None, log
        out = [b"\x0a\x10" + trace_id, b"\x12\x08" + span_id]
        if call.trace_state:
            out.append(field_text(3, ",".join(f"{k}={v}" for k, v in call.trace_state)))
        if parent is not None:
            out.append(b"\x22\x08" + parent)
        out.append(field_text(5, call.name))
        out.append(_SPAN_KIND_INTERNAL)
        out.append(field_fixed64(7, call.start_ns))
        out.append(b"\x41" + end if call.end_ns else b"")
        out.append(repeated(_SPAN_ATTRIBUTE, common + span_payload))
        if exception is None:
            out.append(_STATUS_UNSET)
        else:
            event = ((b"\x09" + end if call.end_ns else b"") + b"\x12\x09exception"
                     + repeated(_EVENT_ATTRIBUTE, exception_items))
            out.append(_SPAN_EVENT + varint(len(event)) + event)
            status = (field_text(2, f"{exception.type_name}: {exception.message}")
                      + b"\x18\x02")  # STATUS_CODE_ERROR
            out.append(field_bytes(15, status))
        out.append(_SPAN_FLAGS)
        return b"".join(out), log

    def _payload(self, call: ScrubbedCall) -> tuple[list[bytes], bytes]:
        """Captured values as span attributes (``ml.input.<path>``, scalars as they are, the
        rest as JSON text) and the log body ``{"event", "inputs", "outputs"}`` as an
        ``AnyValue``; a scalar's encoded value serves both."""
        pair = self._attributes.pair
        span_items: list[bytes] = []
        body = [self._body_event]
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
                    span_items.append(pair(prefix + path, encoded))
                    entries.append(pair(path, encoded))
                else:
                    span_items.append(pair(prefix + path, any_value(span_value(value))))
                    entries.append(pair(path, any_value(value, 2)))
            inner = b"\x0a" + b"\x0a".join(entries)
            body.append(pair(name, b"\x32" + varint(len(inner)) + inner))
        inner = b"\x0a" + b"\x0a".join(body)
        return span_items, b"\x32" + varint(len(inner)) + inner

    def log_record(self, readable: ReadableLogRecord) -> bytes:
        """Any finished log record of this pipeline's resource and scope (deployment, user
        and monitor events), encoded as OpenTelemetry's log encoder would."""
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
             flags: int, trace_id: int, span_id: int, event_name: str | None) -> bytes:
        out = [field_fixed64(1, time_ns), b"\x59" + fixed64(observed_ns) if observed_ns else b""]
        if severity:
            out.append(b"\x10" + varint(severity))
        out.append(field_text(3, severity_text))
        out.append(field_bytes(5, any_value(body)))
        if attributes:
            out.append(repeated(_LOG_ATTRIBUTE, self._attributes.items(attributes)))
        if flags:
            out.append(b"\x45" + fixed32(flags))
        try:
            if trace_id:
                out.append(b"\x4a\x10" + trace_id.to_bytes(16, "big"))
            if span_id:
                out.append(b"\x52\x08" + span_id.to_bytes(8, "big"))
        except (OverflowError, AttributeError, TypeError):
            raise Unencodable("ids") from None
        if event_name:
            out.append(field_bytes(12, utf8(event_name)))
        return b"".join(out)

"""Materialise the finished span of a call from its record, in the background.

The serving thread only reserved ids and timestamps; here the span is built as a ReadableSpan
that the worker exports directly, so exporters see exactly what the SDK would have produced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from infertel import conventions as c
from infertel.signals._attributes import ExceptionText

if TYPE_CHECKING:
    from infertel._record import InferenceRecord

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)


class SpanBuilder:
    __slots__ = ("_resource", "_scope")

    def __init__(self, resource: Resource, scope: InstrumentationScope) -> None:
        self._resource = resource
        self._scope = scope

    def build(self, record: InferenceRecord, attributes: dict[str, Any], name: str,
              exception: ExceptionText | None) -> ReadableSpan:
        context = SpanContext(record.trace_id, record.span_id, is_remote=False,
                              trace_flags=_SAMPLED, trace_state=record.trace_state)
        parent = None
        if record.parent_span_id is not None:
            parent = SpanContext(record.trace_id, record.parent_span_id, is_remote=False,
                                 trace_flags=_SAMPLED, trace_state=record.trace_state)
        events: list[Event] = []
        status = Status(StatusCode.UNSET)
        if exception is not None:
            events.append(
                Event(
                    "exception",
                    {
                        c.EXCEPTION_TYPE: exception.type_name,
                        c.EXCEPTION_MESSAGE: exception.message,
                        c.EXCEPTION_STACKTRACE: exception.stacktrace,
                    },
                    timestamp=record.end_ns,
                )
            )
            status = Status(StatusCode.ERROR, f"{exception.type_name}: {exception.message}")
        return ReadableSpan(
            name=name,
            context=context,
            parent=parent,
            resource=self._resource,
            attributes=attributes,
            events=events,
            kind=SpanKind.INTERNAL,
            status=status,
            start_time=record.start_ns,
            end_time=record.end_ns,
            instrumentation_scope=self._scope,
        )

"""Materialise the finished span of a call from its record, in the background.

The serving thread only reserved ids and timestamps; here the span is built as a ReadableSpan
from the call's ``ScrubbedCall`` (the privacy boundary's output, never the raw record) and the
worker exports it directly, so exporters see exactly what the SDK would have produced.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from infertel import conventions as c
from infertel._record import ScrubbedCall
from infertel.signals._attributes import payload_attributes

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_EMPTY_STATE = TraceState()


class SpanBuilder:
    __slots__ = ("_resource", "_scope")

    def __init__(self, resource: Resource, scope: InstrumentationScope) -> None:
        self._resource = resource
        self._scope = scope

    def build(self, call: ScrubbedCall) -> ReadableSpan:
        state = TraceState(list(call.trace_state)) if call.trace_state else _EMPTY_STATE
        context = SpanContext(call.trace_id, call.span_id, is_remote=False,
                              trace_flags=_SAMPLED, trace_state=state)
        parent = None
        if call.parent_span_id is not None:
            parent = SpanContext(call.trace_id, call.parent_span_id, is_remote=False,
                                 trace_flags=_SAMPLED, trace_state=state)
        exception = call.exception
        attributes: dict[str, Any] = {**call.attributes,
                                      **payload_attributes(call.inputs, call.outputs)}
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
                    timestamp=call.end_ns,
                )
            )
            status = Status(StatusCode.ERROR, f"{exception.type_name}: {exception.message}")
        return ReadableSpan(
            name=call.name,
            context=context,
            parent=parent,
            resource=self._resource,
            attributes=attributes,
            events=events,
            kind=SpanKind.INTERNAL,
            status=status,
            start_time=call.start_ns,
            end_time=call.end_ns,
            instrumentation_scope=self._scope,
        )

"""Log records: the per-call ``inference`` record, deployment events and user log events.

User logging goes through a structlog chain (``infertel.get_logger()``) whose last processor
stamps the current trace context and hands the event dict to the background worker instead of
rendering it; the worker turns it into an OpenTelemetry log record on the same export path.
Records are built finished (``ReadableLogRecord``) and exported by the worker itself, so there
is no second queue whose overflow would go uncounted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TraceFlags

from infertel import conventions as c
from infertel._record import LogEvent, ScrubbedCall

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)

_SEVERITY = {
    "debug": SeverityNumber.DEBUG,
    "info": SeverityNumber.INFO,
    "warning": SeverityNumber.WARN,
    "warn": SeverityNumber.WARN,
    "error": SeverityNumber.ERROR,
    "exception": SeverityNumber.ERROR,
    "critical": SeverityNumber.FATAL,
}


class LogBuilder:
    """Builds finished log records (``ReadableLogRecord``) for the worker to export directly."""

    __slots__ = ("_resource", "_scope")

    def __init__(self, resource: Resource, scope: InstrumentationScope) -> None:
        self._resource = resource
        self._scope = scope

    def _record(self, record: LogRecord) -> ReadableLogRecord:
        return ReadableLogRecord(record, self._resource, self._scope)

    def inference(self, call: ScrubbedCall) -> ReadableLogRecord:
        """The ``inference`` record of one call: outcome, duration and the captured fields."""
        body: dict[str, Any] = {"event": c.EVENT_INFERENCE}
        if call.inputs:
            body["inputs"] = call.inputs
        if call.outputs:
            body["outputs"] = call.outputs
        log_attributes = dict(call.attributes)
        log_attributes[c.DURATION] = call.duration_s
        exception = call.exception
        if exception is not None:
            log_attributes[c.EXCEPTION_TYPE] = exception.type_name
            log_attributes[c.EXCEPTION_MESSAGE] = exception.message
            log_attributes[c.EXCEPTION_STACKTRACE] = exception.stacktrace
        failed = exception is not None
        # trace_id/span_id given directly (no Context object to build): the SDK accepts them
        # with event_name, though its typing overloads keep the two apart.
        return self._record(
            LogRecord(  # type: ignore[call-overload]
                timestamp=call.end_ns,
                observed_timestamp=call.end_ns,
                trace_id=call.trace_id,
                span_id=call.span_id,
                trace_flags=_SAMPLED if call.sampled else _NOT_SAMPLED,
                severity_number=SeverityNumber.ERROR if failed else SeverityNumber.INFO,
                severity_text="ERROR" if failed else "INFO",
                body=body,
                attributes=log_attributes,
                event_name=c.EVENT_INFERENCE,
            )
        )

    def user_event(self, event: LogEvent) -> ReadableLogRecord:
        """A ``get_logger()`` event the privacy boundary has already scrubbed."""
        fields = dict(event.event)
        message = fields.pop("event", "")
        return self._record(
            LogRecord(
                timestamp=event.time_ns,
                observed_timestamp=event.time_ns,
                trace_id=event.trace_id or None,
                span_id=event.span_id or None,
                trace_flags=_SAMPLED if event.sampled else _NOT_SAMPLED,
                severity_number=_SEVERITY.get(event.level, SeverityNumber.INFO),
                severity_text=event.level.upper(),
                body=message,
                attributes=fields,
            )
        )

    def event(self, name: str, body: Mapping[str, Any], attributes: Mapping[str, Any],
              time_ns: int, severity: str = "info") -> ReadableLogRecord:
        """A named event (deployment, drift, rollout decision) from scrubbed parts."""
        return self._record(
            LogRecord(
                timestamp=time_ns,
                observed_timestamp=time_ns,
                severity_number=_SEVERITY.get(severity, SeverityNumber.INFO),
                severity_text=severity.upper(),
                body={"event": name, **body},
                attributes=dict(attributes),
                event_name=name,
            )
        )

    def deployment(self, provenance: Mapping[str, Any], time_ns: int) -> ReadableLogRecord:
        """The ``ml.deployment`` event: full provenance under the resource attribute names."""
        return self.event(c.EVENT_DEPLOYMENT, provenance, provenance, time_ns)

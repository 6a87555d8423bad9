"""Log records: the per-call ``inference`` record, deployment events and user log events.

User logging goes through a structlog chain (``infertel.get_logger()``) whose last processor
stamps the current trace context and hands the event dict to the background worker instead of
rendering it; the worker turns it into an OpenTelemetry log record on the same export path.
Records are built finished (``ReadableLogRecord``) and exported by the worker itself, so there
is no second queue whose overflow would go uncounted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TraceFlags

from infertel import conventions as c
from infertel._record import LogEvent
from infertel.signals._attributes import (
    ExceptionText,
    exception_type_name,
)

if TYPE_CHECKING:
    from infertel._record import InferenceRecord

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

    __slots__ = ("_resource", "_scope", "_trusted_scope")

    def __init__(self, resource: Resource, scope: InstrumentationScope,
                 trusted_scope: InstrumentationScope) -> None:
        self._resource = resource
        self._scope = scope
        self._trusted_scope = trusted_scope

    def _record(self, record: LogRecord) -> ReadableLogRecord:
        return ReadableLogRecord(record, self._resource, self._scope)

    def inference(self, record: InferenceRecord, attributes: dict[str, Any],
                  inputs: dict[str, Any] | None, outputs: dict[str, Any] | None,
                  exception: ExceptionText | None) -> ReadableLogRecord:
        """The ``inference`` record of one call: outcome, duration and the captured fields."""
        body: dict[str, Any] = {"event": c.EVENT_INFERENCE}
        if inputs:
            body["inputs"] = inputs
        if outputs:
            body["outputs"] = outputs
        log_attributes = dict(attributes)
        log_attributes[c.DURATION] = (record.end_ns - record.start_ns) / 1e9
        if exception is not None:
            log_attributes[c.EXCEPTION_TYPE] = exception.type_name
            log_attributes[c.EXCEPTION_MESSAGE] = exception.message
            log_attributes[c.EXCEPTION_STACKTRACE] = exception.stacktrace
        failed = exception is not None
        # trace_id/span_id given directly (no Context object to build): the SDK accepts them
        # with event_name, though its typing overloads keep the two apart. Built from parts the
        # worker already scrubbed, it carries the trusted scope (see privacy._exporters).
        return ReadableLogRecord(
            LogRecord(  # type: ignore[call-overload]
                timestamp=record.end_ns,
                observed_timestamp=record.end_ns,
                trace_id=record.trace_id,
                span_id=record.span_id,
                trace_flags=_SAMPLED if record.sampled else _NOT_SAMPLED,
                severity_number=SeverityNumber.ERROR if failed else SeverityNumber.INFO,
                severity_text="ERROR" if failed else "INFO",
                body=body,
                attributes=log_attributes,
                event_name=c.EVENT_INFERENCE,
            ),
            self._resource,
            self._trusted_scope,
        )

    def user_event(self, event: LogEvent) -> ReadableLogRecord:
        fields = dict(event.event)
        message = fields.pop("event", "")
        exc_info = fields.pop("exc_info", None)
        attributes = {key: _log_value(value) for key, value in fields.items()}
        if isinstance(exc_info, BaseException):
            exception = ExceptionText.of(exc_info)
            attributes[c.EXCEPTION_TYPE] = exception.type_name
            attributes[c.EXCEPTION_MESSAGE] = exception.message
            attributes[c.EXCEPTION_STACKTRACE] = exception.stacktrace
        return self._record(
            LogRecord(
                timestamp=event.time_ns,
                observed_timestamp=event.time_ns,
                trace_id=event.trace_id or None,
                span_id=event.span_id or None,
                trace_flags=_SAMPLED if event.sampled else _NOT_SAMPLED,
                severity_number=_SEVERITY.get(event.level, SeverityNumber.INFO),
                severity_text=event.level.upper(),
                body=_log_value(message),
                attributes=attributes,
            )
        )

    def deployment(self, provenance: Mapping[str, Any], time_ns: int) -> ReadableLogRecord:
        """The ``ml.deployment`` event: full provenance under the resource attribute names."""
        return self._record(
            LogRecord(
                timestamp=time_ns,
                observed_timestamp=time_ns,
                severity_number=SeverityNumber.INFO,
                severity_text="INFO",
                body={"event": c.EVENT_DEPLOYMENT, **provenance},
                attributes={key: _log_value(v) for key, v in provenance.items()},
                event_name=c.EVENT_DEPLOYMENT,
            )
        )


def _log_value(value: Any) -> Any:
    """Log attribute values: OTel AnyValue shapes only; other objects by type name."""
    if isinstance(value, (str, bool, int, float, bytes)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _log_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_log_value(v) for v in value]
    if isinstance(value, BaseException):
        return exception_type_name(value)
    return f"<{type(value).__name__}>"

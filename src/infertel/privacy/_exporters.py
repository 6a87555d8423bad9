"""Exit scrubbing: exporter wrappers that pass every span and log record through the scrubber.

They wrap whatever exporter is configured (OTLP, local store, console, in-memory), so no exit
can skip them: span names, attributes, events (exception message and stack text included),
links and status descriptions; log bodies and attributes. Fail closed: when scrubbing a record
raises or runs out of budget, the record leaves with its free-form content replaced by markers
and ``infertel.redaction.failures`` counts it. Resources are scrubbed once, when the Telemetry
is built; metric attributes are scrubbed by the worker before they are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status

from infertel import conventions as c
from infertel.privacy._scrubber import REDACTION_FAILED, Scrubber, ScrubContext


class ScrubbingSpanExporter(SpanExporter):
    """``trusted_scope``: the scope object (identity, not name) of the spans the worker built
    from parts it already scrubbed; those pass as they are, everything else is scrubbed."""

    def __init__(self, inner: SpanExporter, scrubber: Scrubber,
                 trusted_scope: object = None) -> None:
        self.inner = inner
        self._scrubber = scrubber
        self._trusted = trusted_scope

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        trusted = self._trusted
        return self.inner.export([
            span if trusted is not None and span.instrumentation_scope is trusted
            else self._scrub(span)
            for span in spans
        ])

    def _scrub(self, span: ReadableSpan) -> ReadableSpan:
        scrubber = self._scrubber
        context = ScrubContext(scrubber.policy.redaction_timeout_s)
        try:
            name = scrubber.text(span.name, context)
            attributes = scrubber.attributes(span.attributes, context)
            events = [Event(e.name, scrubber.attributes(e.attributes, context), e.timestamp)
                      for e in span.events]
            links = [Link(link.context, scrubber.attributes(link.attributes, context))
                     for link in span.links]
            status = span.status
            if status.description:
                status = Status(status.status_code, scrubber.text(status.description, context))
        except Exception:
            scrubber.count_failure()
            name = REDACTION_FAILED
            attributes = _failed_attributes(span.attributes, scrubber)
            events, links = [], []
            status = Status(span.status.status_code,
                            REDACTION_FAILED if span.status.description else None)
        return ReadableSpan(
            name=name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=events,
            links=links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class ScrubbingLogExporter(LogRecordExporter):
    """As :class:`ScrubbingSpanExporter`: records of ``trusted_scope`` pass as they are."""

    def __init__(self, inner: LogRecordExporter, scrubber: Scrubber,
                 trusted_scope: object = None) -> None:
        self.inner = inner
        self._scrubber = scrubber
        self._trusted = trusted_scope

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        trusted = self._trusted
        return self.inner.export([
            record if trusted is not None and record.instrumentation_scope is trusted
            else self._scrub(record)
            for record in batch
        ])

    def _scrub(self, readable: ReadableLogRecord) -> ReadableLogRecord:
        scrubber = self._scrubber
        record = readable.log_record
        context = ScrubContext(scrubber.policy.redaction_timeout_s)
        try:
            body = scrubber.value(record.body, context)
            attributes = scrubber.attributes(record.attributes, context)
        except Exception:
            scrubber.count_failure()
            body = REDACTION_FAILED
            attributes = _failed_attributes(record.attributes, scrubber)
        # ids + event_name together, as in signals.logs (typing overloads keep them apart)
        clean = LogRecord(  # type: ignore[call-overload]
            timestamp=record.timestamp,
            observed_timestamp=record.observed_timestamp,
            trace_id=record.trace_id,
            span_id=record.span_id,
            trace_flags=record.trace_flags,
            severity_text=record.severity_text,
            severity_number=record.severity_number,
            body=body,
            attributes=attributes,
            event_name=record.event_name,
        )
        return ReadableLogRecord(clean, readable.resource, readable.instrumentation_scope,
                                 readable.limits)

    def shutdown(self) -> None:
        self.inner.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


def _failed_attributes(attributes: Any, scrubber: Scrubber) -> dict[str, Any]:
    """What survives a failed scrub: infertel's own safe attributes, and a failure flag."""
    safe = scrubber.policy.safe_keys
    kept = {k: v for k, v in (attributes or {}).items() if k in safe}
    kept[c.REDACTION_FAILED] = True
    return kept

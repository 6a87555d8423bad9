"""The worker's side of a batch: every record crosses the privacy boundary, then signals are
built from what it returns (``ScrubbedCall``), then spans and log records are exported.

Runs only on the background worker thread; it never raises out (a failing record is counted as
an internal error and costs that record only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter

from infertel._record import InferenceRecord, LogEvent, ScrubbedCall
from infertel.privacy._boundary import Boundary
from infertel.privacy._scrubber import Scrubber
from infertel.signals.logs import LogBuilder
from infertel.signals.metrics import InferenceMetrics
from infertel.signals.traces import SpanBuilder

# Hooks that see each batch's scrubbed calls after signals are built (drift, rollout guard).
CallObserver = Callable[[list[ScrubbedCall]], list[ReadableLogRecord]]


class CallProcessor:
    """Turns one worker batch into exported spans and log records and recorded metrics."""

    def __init__(self, boundary: Boundary, scrubber: Scrubber, spans: SpanBuilder,
                 logs: LogBuilder, metrics: InferenceMetrics,
                 span_exporter: SpanExporter | None, log_exporter: LogRecordExporter | None,
                 internal_error: Callable[..., None]) -> None:
        self.boundary = boundary
        self.scrubber = scrubber
        self.spans = spans
        self.logs = logs
        self.metrics = metrics
        self.span_exporter = span_exporter
        self.log_exporter = log_exporter
        self._internal_error = internal_error
        self.observers: list[CallObserver] = []
        # Rollout (issue 11): per-call attributes (feature flags) set before any signal is
        # built from the call.
        self.annotators: list[Callable[[ScrubbedCall], None]] = []

    def handle(self, batch: list[Any]) -> None:
        spans: list[ReadableSpan] = []
        logs: list[ReadableLogRecord] = []
        calls: list[ScrubbedCall] = []
        if self.boundary.policy.redaction:
            self._preload(batch)
        try:
            self._build_batch(batch, spans, logs, calls)
        finally:
            self.scrubber.release()
            self.metrics.flush()
        for observe in self.observers:
            try:
                logs.extend(observe(calls))
            except Exception as error:
                self._internal_error(error, reraise=False)
        if spans and self.span_exporter is not None:
            self.span_exporter.export(spans)
        if logs and self.log_exporter is not None:
            self.log_exporter.export(logs)

    def _preload(self, batch: list[Any]) -> None:
        """Send the batch's long payload strings to the redaction child in one round trip."""
        payloads = [r.inputs for r in batch if isinstance(r, InferenceRecord) and r.inputs]
        payloads += [r.outputs for r in batch if isinstance(r, InferenceRecord) and r.outputs]
        if payloads:
            try:
                self.scrubber.preload(payloads,
                                      self.boundary.policy.redaction_timeout_s * len(batch))
            except Exception as error:
                self._internal_error(error, reraise=False)

    def _build_batch(self, batch: list[Any], spans: list[ReadableSpan],
                     logs: list[ReadableLogRecord], calls: list[ScrubbedCall]) -> None:
        boundary = self.boundary
        for item in batch:
            try:
                if isinstance(item, InferenceRecord):
                    call = boundary.scrub_call(item)
                    for annotate in self.annotators:  # rollout (issue 11)
                        annotate(call)
                    calls.append(call)
                    self.metrics.record(call)
                    if call.sampled:
                        spans.append(self.spans.build(call))
                    logs.append(self.logs.inference(call))
                elif isinstance(item, LogEvent):
                    logs.append(self.logs.user_event(boundary.scrub_log_event(item)))
                else:  # a deferred task; it may produce a log record (the deployment event)
                    produced = item()
                    if isinstance(produced, ReadableLogRecord):
                        logs.append(produced)
            except Exception as error:
                self._internal_error(error, reraise=False)

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
from infertel.pipeline._direct import DirectBatch, DirectExport
from infertel.privacy._boundary import Boundary
from infertel.privacy._scrubber import Scrubber
from infertel.signals._aggregate import InferenceAggregates
from infertel.signals.logs import LogBuilder
from infertel.signals.metrics import InferenceMetrics
from infertel.signals.traces import SpanBuilder

# Hooks that see each batch's scrubbed calls after signals are built (drift, rollout guard).
CallObserver = Callable[[list[ScrubbedCall]], list[ReadableLogRecord]]


class CallProcessor:
    """Turns one worker batch into exported spans and log records and recorded metrics."""

    def __init__(self, boundary: Boundary, scrubber: Scrubber, spans: SpanBuilder,
                 logs: LogBuilder, metrics: InferenceMetrics | InferenceAggregates,
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
        # --- direct encoding (issue 12): signals whose exporter is infertel's own are encoded
        # from the ScrubbedCalls into one request per batch (pipeline/_direct.py); the SDK
        # objects below are built only for the other exporters.
        self.direct: DirectExport | None = None

    def enable_direct(self, resource: Any, scope: Any) -> None:
        self.direct = DirectExport.wire(self.span_exporter, self.log_exporter, resource, scope,
                                        self.spans, self.logs)
        # --- end direct encoding

    def handle(self, batch: list[Any]) -> None:
        spans: list[ReadableSpan] = []
        logs: list[ReadableLogRecord] = []
        calls: list[ScrubbedCall] = []
        direct = self.direct.batch() if self.direct is not None else None  # issue 12
        if self.boundary.policy.redaction:
            self._preload(batch)
        try:
            self._build_batch(batch, spans, logs, calls, direct)
        finally:
            self.scrubber.release()
            self.metrics.flush()
        for observe in self.observers:
            try:
                produced = observe(calls)
                if direct is not None and direct.takes_logs:  # issue 12
                    for record in produced:
                        direct.log(record)
                else:
                    logs.extend(produced)
            except Exception as error:
                self._internal_error(error, reraise=False)
        if direct is not None:  # issue 12
            direct.export(self._internal_error)
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
                     logs: list[ReadableLogRecord], calls: list[ScrubbedCall],
                     direct: DirectBatch | None) -> None:
        boundary = self.boundary
        # SDK objects only for the signals the direct path does not take (issue 12), and
        # only when an exporter will receive them.
        sdk_spans = self.span_exporter is not None and (direct is None or not direct.takes_spans)
        sdk_logs = self.log_exporter is not None and (direct is None or not direct.takes_logs)
        add_log = direct.log if direct is not None and direct.takes_logs else logs.append
        for item in batch:
            try:
                if isinstance(item, InferenceRecord):
                    call = boundary.scrub_call(item)
                    for annotate in self.annotators:  # rollout (issue 11)
                        annotate(call)
                    calls.append(call)
                    self.metrics.record(call)
                    if direct is not None:
                        direct.call(call)
                    if call.sampled and sdk_spans:
                        spans.append(self.spans.build(call))
                    if sdk_logs:
                        logs.append(self.logs.inference(call))
                elif isinstance(item, LogEvent):
                    add_log(self.logs.user_event(boundary.scrub_log_event(item)))
                else:  # a deferred task; it may produce a log record (the deployment event)
                    produced = item()
                    if isinstance(produced, ReadableLogRecord):
                        add_log(produced)
            except Exception as error:
                self._internal_error(error, reraise=False)

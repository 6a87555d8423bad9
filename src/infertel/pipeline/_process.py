"""The worker's side of a call: apply the privacy policy, then build span, metrics and log.

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

from infertel import conventions as c
from infertel._provenance import ModelInfo
from infertel._record import InferenceRecord, LogEvent
from infertel.config import Settings
from infertel.privacy._actions import apply_actions
from infertel.privacy._policy import PrivacyPolicy
from infertel.privacy._scrubber import REDACTION_FAILED, Scrubber, ScrubContext
from infertel.signals._attributes import (
    ExceptionText,
    call_attributes,
    metric_segment,
    payload_attributes,
)
from infertel.signals.logs import LogBuilder
from infertel.signals.metrics import InferenceMetrics, metric_attributes
from infertel.signals.traces import SpanBuilder

# Names from code (span, model, version) are scrubbed once each, under this budget.
NAME_BUDGET_S = 5.0


class CallProcessor:
    """Turns one worker batch into exported spans and log records and recorded metrics."""

    def __init__(self, settings: Settings, model: ModelInfo | None, privacy: PrivacyPolicy,
                 scrubber: Scrubber, spans: SpanBuilder, logs: LogBuilder,
                 metrics: InferenceMetrics, span_exporter: SpanExporter | None,
                 log_exporter: LogRecordExporter | None,
                 internal_error: Callable[..., None]) -> None:
        self.settings = settings
        self.model = model
        self.privacy = privacy
        self.scrubber = scrubber
        self.spans = spans
        self.logs = logs
        self.metrics = metrics
        self.span_exporter = span_exporter
        self.log_exporter = log_exporter
        self._internal_error = internal_error
        self._segments_seen: set[str] = set()
        self._scrubbed_names: dict[str, str] = {}

    def handle(self, batch: list[Any]) -> None:
        spans: list[ReadableSpan] = []
        logs: list[ReadableLogRecord] = []
        if self.privacy.redaction:
            payloads = [r.inputs for r in batch if isinstance(r, InferenceRecord) and r.inputs]
            payloads += [r.outputs for r in batch if isinstance(r, InferenceRecord) and r.outputs]
            if payloads:
                try:
                    self.scrubber.preload(payloads, self.privacy.redaction_timeout_s * len(batch))
                except Exception as error:
                    self._internal_error(error, reraise=False)
        try:
            self._build_batch(batch, spans, logs)
        finally:
            self.scrubber.release()
            self.metrics.flush()
        if spans and self.span_exporter is not None:
            self.span_exporter.export(spans)
        if logs and self.log_exporter is not None:
            self.log_exporter.export(logs)

    def _build_batch(self, batch: list[Any], spans: list[ReadableSpan],
                     logs: list[ReadableLogRecord]) -> None:
        for item in batch:
            try:
                if isinstance(item, InferenceRecord):
                    span, log = self._build(item)
                    if span is not None:
                        spans.append(span)
                    logs.append(log)
                elif isinstance(item, LogEvent):
                    logs.append(self.logs.user_event(item))
                else:  # a deferred task; it may produce a log record (the deployment event)
                    produced = item()
                    if isinstance(produced, ReadableLogRecord):
                        logs.append(produced)
            except Exception as error:
                self._internal_error(error, reraise=False)

    def _build(self, record: InferenceRecord) -> tuple[ReadableSpan | None, ReadableLogRecord]:
        """Apply the privacy policy to the record's payload, then build span, metrics, log."""
        scrubber = self.scrubber
        context = ScrubContext(self.privacy.redaction_timeout_s)
        spec = record.spec
        failures_before = scrubber.failures()
        try:
            inputs = apply_actions(record.inputs, spec.input_actions, scrubber, context,
                                   self.privacy.default_action)
            outputs = apply_actions(record.outputs, spec.output_actions, scrubber, context)
            segment = self._segment(record.segment, context)
        except Exception:
            # Fail closed: the payload never leaves raw; the call's metadata still does.
            scrubber.count_failure()
            inputs = dict.fromkeys(record.inputs or (), REDACTION_FAILED) or None
            outputs = dict.fromkeys(record.outputs or (), REDACTION_FAILED) or None
            segment = c.SEGMENT_UNKNOWN
        exception = ExceptionText.of(record.exception) if record.exception is not None else None
        if exception is not None and self.privacy.redaction:
            exception = self._scrubbed_exception(exception)
        attributes = call_attributes(record, segment, self.settings.ring)
        model = spec.model or self.model
        if model is not None:
            attributes[c.MODEL_NAME] = self.name(model.name)
            attributes[c.MODEL_VERSION] = self.name(model.version)
        if self.privacy.redaction:
            attributes[c.REDACTION_COUNT] = context.redactions
            if scrubber.failures() != failures_before:
                attributes[c.REDACTION_FAILED] = True
        metric_attrs = metric_attributes(attributes)
        metric_attrs[c.SEGMENT] = metric_segment(segment, self._segments_seen,
                                                 self.privacy.segment_limit)
        self.metrics.record(record, metric_attrs)
        span = None
        if record.sampled:
            span = self.spans.build(record, {**attributes, **payload_attributes(inputs, outputs)},
                                    self.name(spec.span_name), exception)
        return span, self.logs.inference(record, attributes, inputs, outputs, exception)

    def _scrubbed_exception(self, exception: ExceptionText) -> ExceptionText:
        """Message and stack text through the scrubber; markers if that fails (fail closed)."""
        try:
            context = ScrubContext(self.privacy.redaction_timeout_s)
            return ExceptionText(exception.type_name,
                                 self.scrubber.text(exception.message, context),
                                 self.scrubber.text(exception.stacktrace, context))
        except Exception:
            self.scrubber.count_failure()
            return ExceptionText(exception.type_name, REDACTION_FAILED, REDACTION_FAILED)

    def name(self, name: str) -> str:
        """A name from code (span, model, version), scrubbed once and remembered."""
        if not self.privacy.redaction:
            return name
        scrubbed = self._scrubbed_names.get(name)
        if scrubbed is None:
            try:
                scrubbed = self.scrubber.text(name, ScrubContext(NAME_BUDGET_S))
            except Exception:
                self.scrubber.count_failure()
                scrubbed = REDACTION_FAILED
            if len(self._scrubbed_names) < 10_000:
                self._scrubbed_names[name] = scrubbed
        return scrubbed

    def _segment(self, segment: str | None, context: ScrubContext) -> str:
        if not segment:
            return c.SEGMENT_UNKNOWN
        if self.privacy.segment_action == "hash":
            return self.scrubber.pseudonym("SEGMENT", segment)
        if self.privacy.redaction:
            return self.scrubber.text(segment, context)
        return segment

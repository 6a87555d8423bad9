"""Telemetry: providers, the background worker, the process default, fork handling, shutdown."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import DEFAULT_ON, Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

from infertel import _state
from infertel import conventions as c
from infertel._provenance import ModelInfo
from infertel._record import InferenceRecord, LogEvent
from infertel._version import VERSION
from infertel._worker import Worker
from infertel.config import Settings
from infertel.export._setup import Exporters, build_exporters
from infertel.export._wrappers import (
    GuardedLogExporter,
    GuardedMetricExporter,
    GuardedSpanExporter,
)
from infertel.privacy._actions import apply_actions
from infertel.privacy._exporters import ScrubbingLogExporter, ScrubbingSpanExporter
from infertel.privacy._policy import PrivacyPolicy
from infertel.privacy._scrubber import REDACTION_FAILED, Scrubber, ScrubContext
from infertel.signals._attributes import (
    ExceptionText,
    call_attributes,
    metric_segment,
    payload_attributes,
)
from infertel.signals._structlog import make_structlog_logger
from infertel.signals.logs import LogBuilder
from infertel.signals.metrics import InferenceMetrics, metric_attributes, register_self_metrics
from infertel.signals.traces import SpanBuilder

_log = logging.getLogger("infertel")

_RESOURCE_BUDGET_S = 5.0


def current() -> Telemetry | None:
    """The process default Telemetry, or None before ``configure()``."""
    return _state.current


class Telemetry:
    """One configured telemetry pipeline. Create it with :func:`infertel.configure`."""

    def __init__(self, settings: Settings, model: ModelInfo | None = None, *,
                 privacy: PrivacyPolicy | None = None,
                 exporters: Exporters | None = None,
                 metric_readers: Sequence[MetricReader] = ()) -> None:
        self.settings = settings
        self.model = model
        self.privacy = privacy if privacy is not None else PrivacyPolicy()
        self.scrubber = Scrubber(self.privacy)
        self.enabled = settings.enabled
        self._internal_errors = 0
        self._callback_errors = 0
        self._first_internal_error: BaseException | None = None
        self._segments_seen: set[str] = set()
        self._closed = False
        self._configured_ns = time.time_ns()
        self.worker = Worker(self._handle, settings.queue_size, "infertel-worker")
        self.resource = self._scrubbed_resource(_resource(settings, model))
        if not self.privacy.redaction:
            _log.warning("infertel: redaction is OFF: telemetry may carry personal data")

        exporters = exporters if exporters is not None else build_exporters(settings)
        timeout_ms = int(settings.export_timeout_s * 1000)
        on_loss = self.worker.count_drop

        # Spans and log records of inference calls are built and exported by the worker itself
        # (one bounded queue, every loss counted). The tracer provider's batch processor only
        # carries spans of nested OpenTelemetry instrumentation inside predict().
        self._span_exporter: SpanExporter | None = None
        self._log_exporter: LogRecordExporter | None = None
        scope = InstrumentationScope(c.INSTRUMENTATION_SCOPE, VERSION)
        # The same scope, as a distinct object: it marks the spans and log records the worker
        # builds from parts it has already scrubbed, which the exit wrappers let through.
        trusted_scope = InstrumentationScope(c.INSTRUMENTATION_SCOPE, VERSION)
        # shutdown_on_exit=False: infertel shuts its providers down (with a deadline) itself.
        self.tracer_provider = TracerProvider(resource=self.resource, shutdown_on_exit=False)
        if exporters.spans is not None:
            span_exporter: SpanExporter = exporters.spans
            if self.privacy.redaction:
                span_exporter = ScrubbingSpanExporter(span_exporter, self.scrubber, trusted_scope)
            self._span_exporter = GuardedSpanExporter(span_exporter, on_loss)
            self.tracer_provider.add_span_processor(
                BatchSpanProcessor(self._span_exporter,
                                   max_queue_size=max(settings.queue_size, 512),
                                   export_timeout_millis=timeout_ms)
            )
        if exporters.logs is not None:
            log_exporter: LogRecordExporter = exporters.logs
            if self.privacy.redaction:
                log_exporter = ScrubbingLogExporter(log_exporter, self.scrubber, trusted_scope)
            self._log_exporter = GuardedLogExporter(log_exporter, on_loss)

        readers = list(metric_readers)
        if exporters.metrics is not None:
            readers.append(
                PeriodicExportingMetricReader(
                    GuardedMetricExporter(exporters.metrics, on_loss),
                    export_interval_millis=settings.metric_interval_s * 1000,
                    export_timeout_millis=timeout_ms,
                )
            )
        self.meter_provider = MeterProvider(resource=self.resource, metric_readers=readers,
                                            shutdown_on_exit=False)

        meter = self.meter_provider.get_meter(c.INSTRUMENTATION_SCOPE, VERSION)
        self._spans = SpanBuilder(self.resource, trusted_scope)
        self._logs = LogBuilder(self.resource, scope, trusted_scope)
        # Span names and model names scrubbed once each (they come from code, not requests).
        self._scrubbed_names: dict[str, str] = {}
        self._metrics = InferenceMetrics(meter)
        register_self_metrics(meter, self.worker.dropped, lambda: self._internal_errors,
                              self.scrubber.entity_counts, self.scrubber.failures)

        # Hot-path helpers, resolved once.
        self.id_generator = self.tracer_provider.id_generator
        sampler = self.tracer_provider.sampler
        self.sampler: Sampler | None = None if _samples_everything(sampler) else sampler
        self.capture_undeclared = self.privacy.default_action != "drop"

        self.worker.start()
        if self.privacy.redaction:
            self.worker.submit(self.scrubber.warm_up)
        if model is not None:
            provenance = {**model.resource_attributes(), **_extra_provenance(model)}
            configured = self._configured_ns
            self.worker.submit(lambda: self._logs.deployment(provenance, configured))

    def _scrubbed_resource(self, resource: Resource) -> Resource:
        """Resource attributes (OTEL_RESOURCE_ATTRIBUTES included) pass the same scrubber."""
        if not self.privacy.redaction:
            return resource
        # Once per process, so a fixed, generous budget rather than the per-record one.
        try:
            clean = self.scrubber.attributes(resource.attributes, ScrubContext(_RESOURCE_BUDGET_S))
        except Exception:
            self.scrubber.count_failure()
            safe = self.privacy.safe_keys
            clean = {k: v for k, v in resource.attributes.items() if k in safe}
            clean[c.REDACTION_FAILED] = True
        return Resource(clean, resource.schema_url)

    # ----------------------------------------------------------------- hot-path services
    def should_sample(self, parent: Context | None, parent_span: SpanContext, trace_id: int,
                      name: str) -> bool:
        sampler = self.sampler
        if sampler is None:  # ParentBased(always_on): follow the parent, sample roots
            return parent_span.trace_flags.sampled if parent_span.is_valid else True
        decision = sampler.should_sample(parent, trace_id, name).decision
        return bool(decision.is_sampled())  # type: ignore[no-untyped-call]

    def internal_error(self, error: BaseException, *, reraise: bool = True) -> None:
        """Count (and log once) an SDK failure; under tests, surface it."""
        self._internal_errors += 1
        if self._first_internal_error is None:
            self._first_internal_error = error
            _log.warning("infertel internal error (telemetry continues): %r", error,
                         exc_info=error)
        if reraise and self.settings.raise_internal_errors:
            raise _state.InternalError(f"infertel internal error: {error!r}") from error

    def callback_error(self, error: BaseException) -> None:
        """A user-supplied callback (a segment function) failed: counted, logged once, never
        raised, because it is the application's bug rather than the SDK's."""
        self._callback_errors += 1
        if self._callback_errors == 1:
            _log.warning("infertel: a segment callback raised %r; segment set to 'unknown'",
                         type(error).__name__)

    @property
    def callback_errors(self) -> int:
        return self._callback_errors

    def dropped(self) -> dict[str, int]:
        """Records lost so far, by reason (``queue_full``, ``shutdown``, ``export_failed``...)."""
        return self.worker.dropped()

    @property
    def internal_errors(self) -> int:
        return self._internal_errors

    # ----------------------------------------------------------------- background side
    def _handle(self, batch: list[Any]) -> None:
        spans: list[ReadableSpan] = []
        logs: list[ReadableLogRecord] = []
        if self.privacy.redaction:
            payloads = [r.inputs for r in batch if isinstance(r, InferenceRecord) and r.inputs]
            payloads += [r.outputs for r in batch if isinstance(r, InferenceRecord) and r.outputs]
            if payloads:
                try:
                    self.scrubber.preload(payloads, self.privacy.redaction_timeout_s * len(batch))
                except Exception as error:
                    self.internal_error(error, reraise=False)
        try:
            self._build_batch(batch, spans, logs)
        finally:
            self.scrubber.release()
            self._metrics.flush()
        if spans and self._span_exporter is not None:
            self._span_exporter.export(spans)
        if logs and self._log_exporter is not None:
            self._log_exporter.export(logs)

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
                    logs.append(self._logs.user_event(item))
                else:  # a deferred task; it may produce a log record (the deployment event)
                    produced = item()
                    if isinstance(produced, ReadableLogRecord):
                        logs.append(produced)
            except Exception as error:
                self.internal_error(error, reraise=False)

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
            attributes[c.MODEL_NAME] = self._name(model.name)
            attributes[c.MODEL_VERSION] = self._name(model.version)
        if self.privacy.redaction:
            attributes[c.REDACTION_COUNT] = context.redactions
            if scrubber.failures() != failures_before:
                attributes[c.REDACTION_FAILED] = True
        metric_attrs = metric_attributes(attributes)
        metric_attrs[c.SEGMENT] = metric_segment(segment, self._segments_seen,
                                                 self.privacy.segment_limit)
        self._metrics.record(record, metric_attrs)
        span = None
        if record.sampled:
            span = self._spans.build(record, {**attributes, **payload_attributes(inputs, outputs)},
                                     self._name(spec.span_name), exception)
        return span, self._logs.inference(record, attributes, inputs, outputs, exception)

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

    def _name(self, name: str) -> str:
        """A name from code (span, model, version), scrubbed once and remembered."""
        if not self.privacy.redaction:
            return name
        scrubbed = self._scrubbed_names.get(name)
        if scrubbed is None:
            try:
                scrubbed = self.scrubber.text(name, ScrubContext(_RESOURCE_BUDGET_S))
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

    # ----------------------------------------------------------------- public surface
    def get_logger(self, name: str | None = None, **initial: Any) -> Any:
        """A structlog logger bound to this Telemetry; see :func:`infertel.get_logger`."""
        return make_structlog_logger(self.worker.submit, name, **initial)

    def flush(self, timeout: float = 5.0, *, metrics: bool = True) -> bool:
        """Export everything handed over so far; False if ``timeout`` passed first.

        ``metrics=False`` leaves metric readers alone (a collection resets exemplars, which an
        in-memory reader in tests wants to see).
        """
        deadline = time.monotonic() + timeout
        done = self.worker.flush(timeout)
        done = self.tracer_provider.force_flush(_ms_left(deadline)) and done
        if metrics:
            done = self.meter_provider.force_flush(_ms_left(deadline)) and done
        if self.settings.raise_internal_errors and self._first_internal_error is not None:
            raise _state.InternalError("infertel internal error") from self._first_internal_error
        return done

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Drain, export and stop, within ``timeout`` seconds whatever the backend does.

        The work runs on a helper thread; at the deadline this returns False and the
        remainder is abandoned (the helper is a daemon thread, so it cannot hold the process).
        """
        if self._closed:
            return True
        self._closed = True
        self.enabled = False
        if _state.current is self:
            _state.current = None
        deadline = time.monotonic() + max(0.0, timeout)

        def remaining() -> float:
            return max(0.0, deadline - time.monotonic())

        # Drain the hand-off queue into the processors first, then shut the three providers
        # down side by side: a hung trace export must not starve the metrics and logs.
        drained = _run_with_deadline(lambda: self.worker.stop(remaining()), remaining())
        steps = [
            self.tracer_provider.shutdown,  # also shuts the span exporter down
            lambda: self.meter_provider.shutdown(timeout_millis=_ms_left(deadline)),
        ]
        if self._log_exporter is not None:
            steps.append(self._log_exporter.shutdown)
        steps.append(self.scrubber.close)
        done = [_start_daemon(step) for step in steps]
        finished = [event.wait(remaining()) for event in done]
        lost = self.dropped()
        if lost:
            _log.warning("infertel: telemetry records were dropped: %s", lost)
        return drained and all(finished)

    def _after_fork_in_child(self) -> None:
        if not self._closed:
            self.worker.reset_after_fork()


def _start_daemon(step: Callable[[], object]) -> threading.Event:
    """Run ``step`` on a daemon thread (it cannot keep the process alive); the event is set
    when it has returned. A step that fails past its deadline is expected during shutdown."""
    finished = threading.Event()

    def run() -> None:
        try:
            step()
        except Exception as error:
            _log.debug("infertel shutdown step failed: %r", error)
        finally:
            finished.set()

    threading.Thread(target=run, name="infertel-shutdown", daemon=True).start()
    return finished


def _run_with_deadline(step: Callable[[], object], timeout: float) -> bool:
    return _start_daemon(step).wait(timeout)


def _extra_provenance(model: ModelInfo) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if model.library_versions:
        extra[c.MODEL_LIBRARY_VERSIONS] = dict(model.library_versions)
    return extra


def _ms_left(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def _samples_everything(sampler: Sampler) -> bool:
    """True for the default ParentBased(ALWAYS_ON), which the hot path can decide inline."""
    return sampler is DEFAULT_ON


def _resource(settings: Settings, model: ModelInfo | None) -> Resource:
    attributes: dict[str, Any] = {
        c.SERVICE_NAME: settings.service_name,
        c.SERVICE_INSTANCE_ID: str(uuid.uuid4()),
    }
    if settings.service_version:
        attributes[c.SERVICE_VERSION] = settings.service_version
    if settings.environment:
        attributes[c.DEPLOYMENT_ENVIRONMENT] = settings.environment
    if model is not None:
        attributes.update(model.resource_attributes())
    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and the SDK's telemetry.sdk.* attributes.
    return Resource.create(attributes)


def install(telemetry: Telemetry) -> None:
    """Make ``telemetry`` the process default, replacing (and shutting down) the previous one."""
    previous = _state.current
    _state.current = telemetry
    if previous is not None and previous is not telemetry:
        previous.shutdown(timeout=2.0)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        # Nested OpenTelemetry instrumentation inside predict() exports through us too. The
        # global provider can be set only once per process, so it forwards to whichever
        # Telemetry is current: a second configure() keeps nested spans flowing.
        trace.set_tracer_provider(_ForwardingTracerProvider())


class _ForwardingTracer(trace.Tracer):
    """A tracer that starts spans on the current Telemetry's provider (no-op when none)."""

    def __init__(self, name: str, version: str | None, schema_url: str | None,
                 attributes: Any) -> None:
        self._key = (name, version, schema_url, attributes)
        self._cached: tuple[TracerProvider | None, trace.Tracer] | None = None

    def _target(self) -> trace.Tracer:
        telemetry = _state.current
        provider = telemetry.tracer_provider if telemetry is not None else None
        cached = self._cached
        if cached is not None and cached[0] is provider:
            return cached[1]
        name, version, schema_url, attributes = self._key
        if provider is None:
            tracer: trace.Tracer = trace.NoOpTracer()
        else:
            tracer = provider.get_tracer(name, version, schema_url, attributes)
        self._cached = (provider, tracer)
        return tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._target().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._target().start_as_current_span(*args, **kwargs)


class _ForwardingTracerProvider(trace.TracerProvider):
    """The global provider: tracers and SDK calls go to the current Telemetry's provider."""

    def add_span_processor(self, processor: Any) -> None:
        # Tools that add their own processor to the global provider (Traceloop, Logfire)
        # get it added to the provider that actually exports.
        telemetry = _state.current
        if telemetry is not None:
            telemetry.tracer_provider.add_span_processor(processor)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        telemetry = _state.current
        return telemetry.tracer_provider.force_flush(timeout_millis) if telemetry else True

    def get_tracer(self, instrumenting_module_name: str,
                   instrumenting_library_version: str | None = None,
                   schema_url: str | None = None, attributes: Any = None) -> trace.Tracer:
        return _ForwardingTracer(instrumenting_module_name, instrumenting_library_version,
                                 schema_url, attributes)


def shutdown(timeout: float = 5.0) -> bool:
    """Shut the process default down within ``timeout`` seconds (True if it finished in time)."""
    telemetry = _state.current
    return telemetry.shutdown(timeout) if telemetry is not None else True


def _shutdown_at_exit() -> None:
    telemetry = _state.current
    if telemetry is not None:
        telemetry.shutdown(timeout=telemetry.settings.export_timeout_s)


def _reset_in_child() -> None:
    telemetry = _state.current
    if telemetry is not None:
        telemetry._after_fork_in_child()


atexit.register(_shutdown_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)

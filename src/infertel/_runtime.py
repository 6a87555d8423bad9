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
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import DEFAULT_ON, Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

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
from infertel.signals._attributes import call_attributes, metric_segment, payload_attributes
from infertel.signals.logs import LogBuilder, make_structlog_logger
from infertel.signals.metrics import InferenceMetrics, metric_attributes, register_self_metrics
from infertel.signals.traces import SpanBuilder

_log = logging.getLogger("infertel")

_current: Telemetry | None = None


def current() -> Telemetry | None:
    """The process default Telemetry, or None before ``configure()``."""
    return _current


class InternalError(RuntimeError):
    """An SDK-internal failure, raised only when ``raise_internal_errors`` is on (tests)."""


class Telemetry:
    """One configured telemetry pipeline. Create it with :func:`infertel.configure`."""

    def __init__(self, settings: Settings, model: ModelInfo | None = None, *,
                 exporters: Exporters | None = None,
                 metric_readers: Sequence[MetricReader] = ()) -> None:
        self.settings = settings
        self.model = model
        self.enabled = settings.enabled
        self._internal_errors = 0
        self._callback_errors = 0
        self._first_internal_error: BaseException | None = None
        self._segments_seen: set[str] = set()
        self._closed = False
        self.resource = _resource(settings, model)
        self.worker = Worker(self._handle, settings.queue_size, "infertel-worker")

        exporters = exporters if exporters is not None else build_exporters(settings)
        timeout_ms = int(settings.export_timeout_s * 1000)
        on_loss = self.worker.count_drop

        self.tracer_provider = TracerProvider(resource=self.resource)
        span_processors = []
        if exporters.spans is not None:
            processor = BatchSpanProcessor(
                GuardedSpanExporter(exporters.spans, on_loss), export_timeout_millis=timeout_ms
            )
            self.tracer_provider.add_span_processor(processor)
            span_processors.append(processor)

        self.logger_provider = LoggerProvider(resource=self.resource)
        if exporters.logs is not None:
            self.logger_provider.add_log_record_processor(
                BatchLogRecordProcessor(
                    GuardedLogExporter(exporters.logs, on_loss), export_timeout_millis=timeout_ms
                )
            )

        readers = list(metric_readers)
        if exporters.metrics is not None:
            readers.append(
                PeriodicExportingMetricReader(
                    GuardedMetricExporter(exporters.metrics, on_loss),
                    export_interval_millis=settings.metric_interval_s * 1000,
                    export_timeout_millis=timeout_ms,
                )
            )
        self.meter_provider = MeterProvider(resource=self.resource, metric_readers=readers)

        scope = InstrumentationScope(c.INSTRUMENTATION_SCOPE, VERSION)
        meter = self.meter_provider.get_meter(c.INSTRUMENTATION_SCOPE, VERSION)
        self._spans = SpanBuilder(self.resource, span_processors, scope)
        self._metrics = InferenceMetrics(meter)
        register_self_metrics(meter, self.worker.dropped, lambda: self._internal_errors)
        self._logs = LogBuilder(self.logger_provider.get_logger(c.INSTRUMENTATION_SCOPE, VERSION))

        # Hot-path helpers, resolved once.
        self.id_generator = self.tracer_provider.id_generator
        sampler = self.tracer_provider.sampler
        self.sampler: Sampler | None = None if _samples_everything(sampler) else sampler

        self.worker.start()
        if model is not None:
            provenance = model.model_dump(exclude_none=True)
            self.worker.submit(lambda: self._logs.deployment(provenance))

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
            raise InternalError(f"infertel internal error: {error!r}") from error

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
        for item in batch:
            try:
                if isinstance(item, InferenceRecord):
                    self._emit(item)
                elif isinstance(item, LogEvent):
                    self._logs.user_event(item)
                else:
                    item()
            except Exception as error:
                self.internal_error(error, reraise=False)

    def _emit(self, record: InferenceRecord) -> None:
        segment = metric_segment(record.segment, self._segments_seen, self.settings.segment_limit)
        attributes = call_attributes(record, segment, self.settings.ring)
        model = record.spec.model or self.model
        if model is not None:
            attributes[c.MODEL_NAME] = model.name
            attributes[c.MODEL_VERSION] = model.version
        span_attributes = {**attributes, **payload_attributes(record)}
        self._spans.emit(record, span_attributes)
        self._metrics.record(record, metric_attributes(attributes))
        self._logs.inference(record, attributes)

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
        done = self.logger_provider.force_flush(_ms_left(deadline)) and done
        if metrics:
            done = self.meter_provider.force_flush(_ms_left(deadline)) and done
        if self.settings.raise_internal_errors and self._first_internal_error is not None:
            raise InternalError("infertel internal error") from self._first_internal_error
        return done

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Drain, export and stop, within ``timeout`` seconds whatever the backend does.

        The work runs on a helper thread; at the deadline this returns False and the
        remainder is abandoned (the helper is a daemon thread, so it cannot hold the process).
        """
        global _current
        if self._closed:
            return True
        self._closed = True
        self.enabled = False
        if _current is self:
            _current = None
        deadline = time.monotonic() + max(0.0, timeout)

        def remaining() -> float:
            return max(0.0, deadline - time.monotonic())

        # Drain the hand-off queue into the processors first, then shut the three providers
        # down side by side: a hung trace export must not starve the metrics and logs.
        drained = _run_with_deadline(lambda: self.worker.stop(remaining()), remaining())
        steps = (
            self.tracer_provider.shutdown,
            self.logger_provider.shutdown,
            lambda: self.meter_provider.shutdown(timeout_millis=_ms_left(deadline)),
        )
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
    global _current
    previous = _current
    _current = telemetry
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
        telemetry = _current
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
    def get_tracer(self, instrumenting_module_name: str,
                   instrumenting_library_version: str | None = None,
                   schema_url: str | None = None, attributes: Any = None) -> trace.Tracer:
        return _ForwardingTracer(instrumenting_module_name, instrumenting_library_version,
                                 schema_url, attributes)


def shutdown(timeout: float = 5.0) -> bool:
    """Shut the process default down within ``timeout`` seconds (True if it finished in time)."""
    telemetry = _current
    return telemetry.shutdown(timeout) if telemetry is not None else True


def submit_log(event: LogEvent) -> object:
    telemetry = _current
    if telemetry is not None and telemetry.enabled:
        return telemetry.worker.submit(event)
    return False


def _shutdown_at_exit() -> None:
    telemetry = _current
    if telemetry is not None:
        telemetry.shutdown(timeout=telemetry.settings.export_timeout_s)


def _reset_in_child() -> None:
    telemetry = _current
    if telemetry is not None:
        telemetry._after_fork_in_child()


atexit.register(_shutdown_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)

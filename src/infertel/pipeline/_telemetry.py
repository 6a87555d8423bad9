"""Telemetry: one configured pipeline — providers, exporters, the worker, flush and shutdown."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import DEFAULT_ON, Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

from infertel import _state
from infertel import conventions as c
from infertel._provenance import ModelInfo
from infertel._version import VERSION
from infertel.config import Settings
from infertel.export._setup import Exporters, build_exporters
from infertel.export._wrappers import (
    GuardedLogExporter,
    GuardedMetricExporter,
    GuardedSpanExporter,
)
from infertel.pipeline._deadline import DeliveryLedger, Step, ms_left, seconds_left
from infertel.pipeline._direct import inference_metrics
from infertel.pipeline._fork import quiesce_inherited_readers
from infertel.pipeline._health import collect_health, register_health_metrics
from infertel.pipeline._identity import (
    SecureIdGenerator,
    new_instance_id,
    schema_url,
    top_up_ids,
    with_new_instance_id,
)
from infertel.pipeline._process import CallProcessor
from infertel.pipeline._worker import Worker
from infertel.privacy._boundary import Boundary, error_location
from infertel.privacy._guard import ExitGuard, GuardedTracerProvider, ScrubbingMetricExporter
from infertel.privacy._policy import PrivacyPolicy
from infertel.privacy._policy_file import write_policy
from infertel.privacy._scrubber import Scrubber
from infertel.signals._structlog import make_structlog_logger
from infertel.signals.logs import LogBuilder
from infertel.signals.metrics import register_self_metrics
from infertel.signals.traces import SpanBuilder

if TYPE_CHECKING:
    from infertel.monitor import DriftConfig  # drift monitoring (issue 10)
    from infertel.rollout import RolloutGuard  # rollout (issue 11)

_log = logging.getLogger("infertel")

_RESOURCE_BUDGET_S = 5.0


class Telemetry:
    """One configured telemetry pipeline. Create it with :func:`infertel.configure`."""

    def __init__(self, settings: Settings, model: ModelInfo | None = None, *,
                 privacy: PrivacyPolicy | None = None,
                 exporters: Exporters | None = None,
                 metric_readers: Sequence[MetricReader] = (),
                 drift: DriftConfig | None = None,
                 rollout: RolloutGuard | None = None) -> None:
        self.settings = settings
        self.model = model
        # --- lifecycle: what a forked child needs to build its own pipeline (see
        # after_fork_in_child), and the drop counts already reported by flush()/shutdown().
        self._given_exporters = exporters
        self._given_readers = tuple(metric_readers)
        self._delivery = DeliveryLedger()
        self._shutdown_result: bool | None = None
        # --- end lifecycle
        self.privacy = privacy if privacy is not None else PrivacyPolicy()
        self.scrubber = Scrubber(self.privacy)
        self.enabled = settings.enabled
        self._internal_errors = 0
        self._callback_errors = 0
        self._first_internal_error: BaseException | None = None
        self._closed = False
        self._configured_ns = time.time_ns()
        # The worker also keeps the id blocks stocked (lifecycle), so serving threads only pop.
        self.worker = Worker(self._handle_batch, settings.queue_size, "infertel-worker",
                             housekeeping=top_up_ids)
        # The privacy boundary: ``boundary`` for what the hot path hands over, ``guard`` for
        # everything else (user spans, user metrics, resource, scopes). One scrubber, one policy.
        self.guard = ExitGuard(self.scrubber, enabled=self.privacy.redaction)
        self.boundary = Boundary(self.privacy, self.scrubber, ring=settings.ring, model=model)
        # --- lifecycle: a forked child keeps its parent's (already scrubbed) resource under a
        # new service.instance.id, without running resource detectors after the fork.
        inherited = getattr(self, "resource", None)
        self.resource = (with_new_instance_id(inherited) if inherited is not None
                         else self.guard.resource(_resource(settings, model)))
        # --- end lifecycle
        if not self.privacy.redaction:
            _log.warning("infertel: redaction is OFF: telemetry may carry personal data")
        _write_policy_file(self.privacy)
        # --- drift monitoring (issue 10; pipeline/_drift.py): capture on the hot path, binning
        # inside the boundary, counting and windows after signals, histograms on export.
        self.drift_config = drift
        self._drift = None if drift is None else _drift_wiring(drift, model, settings.ring,
                                                               self.internal_error)
        self.drift_capture = self._drift.capture if self._drift is not None else None
        self.boundary.binner = self._drift.bin if self._drift is not None else None
        # --- end drift monitoring

        # --- exporter wiring (export/ owns this block) ---
        on_loss = self.worker.count_drop
        exporters = exporters if exporters is not None else build_exporters(settings, on_loss)
        timeout_ms = int(settings.export_timeout_s * 1000)
        # Per-signal delivery facts and the durable spool (None unless spool_dir is set), for
        # health(): ``export_status.snapshot()``, ``spool.stats()``.
        self.export_status = exporters.status
        self.spool = exporters.spool
        guarded: dict[str, Any] = {"counts_own_losses": exporters.count_own_losses,
                                   "status": exporters.status}

        # Spans and log records of inference calls are built and exported by the worker itself
        # (one bounded queue, every loss counted). The tracer provider's batch processor only
        # carries spans of nested OpenTelemetry instrumentation inside predict().
        self._span_exporter: SpanExporter | None = None
        self._log_exporter: LogRecordExporter | None = None
        scope = InstrumentationScope(c.INSTRUMENTATION_SCOPE, VERSION, schema_url())
        # shutdown_on_exit=False: infertel shuts its providers down (with a deadline) itself.
        # Every span processor of this provider sits behind the ExitGuard (user spans only: the
        # worker builds inference spans from the boundary's ScrubbedCall and exports them).
        # Ids from os.urandom (SecureIdGenerator): the application's random.seed() must not
        # make ids repeat across processes.
        self.tracer_provider = GuardedTracerProvider(self.guard, resource=self.resource,
                                                     shutdown_on_exit=False,
                                                     id_generator=SecureIdGenerator())
        if exporters.spans is not None:
            self._span_exporter = GuardedSpanExporter(exporters.spans, on_loss, **guarded)
            self.tracer_provider.add_span_processor(
                BatchSpanProcessor(self._span_exporter,
                                   max_queue_size=max(settings.queue_size, 512),
                                   export_timeout_millis=timeout_ms)
            )
        if exporters.logs is not None:
            self._log_exporter = GuardedLogExporter(exporters.logs, on_loss, **guarded)

        readers = list(metric_readers)
        if exporters.metrics is not None:
            readers.append(
                PeriodicExportingMetricReader(
                    GuardedMetricExporter(self._with_drift_metrics(  # drift: issue 10
                        ScrubbingMetricExporter(exporters.metrics, self.guard)),
                                          on_loss, **guarded),
                    export_interval_millis=settings.metric_interval_s * 1000,
                    export_timeout_millis=timeout_ms,
                )
            )
        self.meter_provider = MeterProvider(resource=self.resource, metric_readers=readers,
                                            shutdown_on_exit=False)
        # --- end of exporter wiring ---

        meter = self.meter_provider.get_meter(c.INSTRUMENTATION_SCOPE, VERSION,
                                              schema_url=schema_url())
        self._logs = LogBuilder(self.resource, scope)
        self._processor = CallProcessor(
            self.boundary, self.scrubber, SpanBuilder(self.resource, scope), self._logs,
            inference_metrics(self.meter_provider, meter, self.resource, scope,  # issue 12
                              drift.prediction_bounds() if drift is not None else None,
                              lambda error: self.internal_error(error, reraise=False)),
            self._span_exporter, self._log_exporter, self.internal_error)
        self._processor.enable_direct(self.resource, scope)  # issue 12: direct OTLP encoding
        if self._drift is not None:  # drift monitoring (issue 10)
            self._drift.logs = self._logs
            self._processor.observers.append(self._drift.observe)
        # --- rollout (issue 11; pipeline/_rollout.py): feature flags on every call, the
        # guard fed each batch's scrubbed calls, plan and decision events, the state gauge.
        self.rollout_guard = rollout
        self._rollout = None if rollout is None else _rollout_wiring(rollout, self._logs, model)
        if self._rollout is not None:
            self._processor.annotators.append(self._rollout.annotate)
            self._processor.observers.append(self._rollout.observe)
            self._rollout.register_metrics(meter)
        if self._drift is not None and self._rollout is not None:  # DriftAlerts: the drift
            # observer runs first, so state changes reach the guard before it looks.
            self._drift.listeners.append(self._rollout.guard.observe_drift)
        # --- end rollout
        register_self_metrics(meter, self.worker.dropped, lambda: self._internal_errors,
                              self.scrubber.entity_counts, self.scrubber.failures)
        register_health_metrics(meter, lambda: collect_health(self))  # lifecycle

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
            self.worker.submit(lambda: self._logs.deployment(
                self.boundary.scrub_attributes(provenance), configured))
        if self._drift is not None:  # drift monitoring (issue 10): baseline, schema change
            for build in self._drift.configure_events(self._configured_ns):
                self.worker.submit(build)
        if self._rollout is not None:  # rollout (issue 11): the pre-registered plan, once
            self.worker.submit(self._rollout.plan_builder(self._configured_ns))

    def _with_drift_metrics(self, exporter: Any) -> Any:
        """Drift monitoring (issue 10): the drift histograms join every metric export, ahead
        of the ExitGuard's scrubbing like any other metric."""
        return exporter if self._drift is None else self._drift.metric_exporter(exporter)

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
            # Type and code location only: an exception's message or repr can quote the
            # payload value that caused it, and stderr is an exit like any other.
            _log.warning("infertel internal error (telemetry continues): %s",
                         error_location(error))
        if reraise and self.settings.raise_internal_errors:
            raise _state.InternalError(f"infertel internal error: {error!r}") from error

    def submit(self, item: object) -> bool:
        """Hand a record or log event to the background worker (the hot path's one call)."""
        return self.worker.submit(item)

    @property
    def raise_internal_errors(self) -> bool:
        return self.settings.raise_internal_errors

    def _handle_batch(self, batch: list[Any]) -> None:
        self._processor.handle(batch)

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

    # ----------------------------------------------------------------- public surface
    def get_logger(self, name: str | None = None, **initial: Any) -> Any:
        """A structlog logger bound to this Telemetry; see :func:`infertel.get_logger`."""
        return make_structlog_logger(self.worker.submit, name, **initial)

    # --- lifecycle: flush, shutdown, fork (pipeline/_lifecycle.py calls these) -----------
    def flush(self, timeout: float = 5.0, *, metrics: bool = True) -> bool:
        """Export everything handed over so far, within ``timeout`` seconds. Never raises.

        True when everything handed over since the previous flush()/shutdown() was delivered
        in time; otherwise False, and one warning line says what was not (records dropped, by
        reason; records still queued; steps that did not finish). ``metrics=False`` leaves
        metric readers alone (a collection resets exemplars, which an in-memory reader in
        tests wants to see).
        """
        deadline = time.monotonic() + max(0.0, timeout)
        drained = self.worker.flush(max(0.0, timeout))
        # Each provider's flush on its own daemon thread: OpenTelemetry's force_flush raises
        # on a short deadline and an exporter can hang; neither reaches the caller.
        steps = [Step("traces", lambda: self.tracer_provider.force_flush(ms_left(deadline)))]
        if metrics:
            steps.append(Step("metrics",
                              lambda: self.meter_provider.force_flush(ms_left(deadline))))
        for step in steps:
            step.wait(seconds_left(deadline))
        steps.append(self._spool_step(deadline))
        delivered = self._delivery.report("flush", timeout, self.dropped(), drained,
                                          self.worker.pending, steps)
        if self.settings.raise_internal_errors and self._first_internal_error is not None:
            raise _state.InternalError("infertel internal error") from self._first_internal_error
        return delivered

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Drain, export and stop, within ``timeout`` seconds whatever the backend does.

        Returns True only when everything handed over since the previous flush() was
        delivered; otherwise False, with one warning line of counts by reason. What is still
        queued at the deadline is dropped (``shutdown``); steps still running then are
        abandoned on daemon threads, which cannot hold the process. Never raises; a second
        call returns the first call's answer.
        """
        if self._closed:
            return bool(self._shutdown_result)
        self._closed = True
        self.enabled = False
        if _state.current is self:
            _state.current = None
        deadline = time.monotonic() + max(0.0, timeout)
        # The worker's own deadline is a little earlier, so what it leaves queued is counted
        # (as ``shutdown``) before the summary below is written.
        drain_by = deadline - min(0.05, 0.1 * max(0.0, timeout))
        drain = Step("drain", lambda: self.worker.stop(seconds_left(drain_by)))
        drain.wait(seconds_left(deadline))
        # Then the three providers side by side: a hung trace export must not starve the
        # metrics and logs.
        steps = [
            drain,
            Step("traces", self.tracer_provider.shutdown),  # also shuts the span exporter
            Step("metrics", lambda: self.meter_provider.shutdown(timeout_millis=ms_left(deadline))),
        ]
        if self._log_exporter is not None:
            steps.append(Step("logs", self._log_exporter.shutdown))
        # The redaction child is stopped too (EOF, then SIGKILL); not a delivery step.
        closing = Step("redaction", self.scrubber.close)
        for step in [*steps, closing]:
            step.wait(seconds_left(deadline))
        # Batches the exporters spooled are replayed in what time is left; what is still on
        # disk then stays for the next start, but was not delivered, so the answer is False.
        steps.append(self._spool_step(deadline))
        self._shutdown_result = self._delivery.report("shutdown", timeout, self.dropped(),
                                                      drain.ok, self.worker.pending, steps)
        return self._shutdown_result

    def _spool_step(self, deadline: float) -> Step:
        spool = self.spool
        if spool is None:
            return Step("spool", lambda: True)
        step = Step("spool", lambda: spool.drain(seconds_left(deadline)))
        step.wait(seconds_left(deadline))
        return step

    @property
    def closed(self) -> bool:
        return self._closed

    def after_fork_in_child(self) -> None:
        """In a forked child: a pipeline of its own, from the same configuration.

        The child gets a new worker, queue, scrubber (its redaction child starts when first
        needed), exporters, providers (so cumulative metrics start at zero, not at the
        parent's counts) and ``service.instance.id``. What the parent had queued stays the
        parent's to export. The parent's metric reader, restarted here by OpenTelemetry's own
        fork hook, is made to collect nothing, or it would export the parent's counts again.
        """
        if self._closed:
            return
        quiesce_inherited_readers(self.meter_provider, self._given_readers)
        Telemetry.__init__(self, self.settings, self.model, privacy=self.privacy,
                           exporters=self._given_exporters, metric_readers=self._given_readers,
                           drift=self.drift_config, rollout=self.rollout_guard)
    # --- end lifecycle -------------------------------------------------------------------


# --- drift monitoring (issue 10) -----------------------------------------------------------
def _drift_wiring(config: DriftConfig, model: ModelInfo | None, ring: str,
                  internal_error: Any) -> Any:
    # Imported here: numpy-free, but the monitor package is only needed when drift is on.
    from infertel.pipeline._drift import DriftWiring

    return DriftWiring(config, model, ring, internal_error)
# --- end drift monitoring ------------------------------------------------------------------


# --- rollout (issue 11) --------------------------------------------------------------------
def _rollout_wiring(guard: RolloutGuard, logs: LogBuilder, model: ModelInfo | None) -> Any:
    from infertel.pipeline._rollout import RolloutWiring

    return RolloutWiring(guard, logs, model)
# --- end rollout ---------------------------------------------------------------------------


def _extra_provenance(model: ModelInfo) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if model.library_versions:
        extra[c.MODEL_LIBRARY_VERSIONS] = dict(model.library_versions)
    return extra


def _samples_everything(sampler: Sampler) -> bool:
    """True for the default ParentBased(ALWAYS_ON), which the hot path can decide inline."""
    return sampler is DEFAULT_ON


def _resource(settings: Settings, model: ModelInfo | None) -> Resource:
    attributes: dict[str, Any] = {
        c.SERVICE_NAME: settings.service_name,
        c.SERVICE_INSTANCE_ID: new_instance_id(),
    }
    if settings.service_version:
        attributes[c.SERVICE_VERSION] = settings.service_version
    if settings.environment:
        attributes[c.DEPLOYMENT_ENVIRONMENT] = settings.environment
    if model is not None:
        attributes.update(model.resource_attributes())
    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and the SDK's telemetry.sdk.* attributes.
    # Resource and scope carry the semantic-conventions version their attribute names follow.
    return Resource.create(attributes, schema_url() or None)


def _write_policy_file(policy: PrivacyPolicy) -> None:
    """Write the policy (without secrets) where ``INFERTEL_POLICY_FILE`` says, so the
    collector's second privacy layer applies the service's policy, not the defaults."""
    target = os.environ.get("INFERTEL_POLICY_FILE")
    if not target:
        return
    try:
        write_policy(policy, target)
    except OSError as error:
        _log.warning("infertel: cannot write the policy file named by INFERTEL_POLICY_FILE "
                     "(%s)", type(error).__name__)

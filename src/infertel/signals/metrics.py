"""Per-call metric updates, derived from the call's ``ScrubbedCall`` in the background worker.

Attributes come only from ``conventions.METRIC_ATTRIBUTE_ALLOWLIST`` (the boundary bounds the
segment); prediction values are the numbers the boundary allowed out (an output declared
``hash``, ``bucket`` or ``truncate`` never reaches a value, min, max or sum). The span context is
passed so the SDK's trace-based exemplar filter links data points to sampled traces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from infertel import conventions as c
from infertel._record import ScrubbedCall

_NO_SPAN = Context()  # an empty context: no current span, so no exemplar is offered
# Default prediction buckets: fine steps over [0, 1] (probabilities and scores), then coarse
# steps for regression outputs.
_SCORE_BUCKETS = (
    0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75,
    0.8, 0.85, 0.9, 0.95, 1.0, 2.0, 5.0, 10.0, 100.0, 1000.0,
)
_DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
    7.5, 10.0,
)


class InferenceMetrics:
    __slots__ = ("_duration", "_errors", "_pending", "_predictions", "_requests")

    def __init__(self, meter: Meter, prediction_buckets: Sequence[float] | None = None) -> None:
        self._requests = meter.create_counter(
            c.METRIC_REQUESTS, unit="{request}", description="Inference calls, by outcome"
        )
        self._errors = meter.create_counter(
            c.METRIC_ERRORS, unit="{error}", description="Inference calls that raised"
        )
        self._duration = meter.create_histogram(
            c.METRIC_DURATION, unit="s", description="Inference call duration",
            explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
        )
        # Buckets that suit the model's scores (the SDK default, 0..10000, puts every 0-1
        # score into two buckets): given, or the baseline's prediction edges when monitoring.
        self._predictions = meter.create_histogram(
            c.METRIC_PREDICTION_VALUE, unit="1", description="Numeric prediction values",
            explicit_bucket_boundaries_advisory=list(prediction_buckets or _SCORE_BUCKETS),
        )
        # Counter increments of the batch being built: attribute items -> [attrs, calls, errors]
        self._pending: dict[tuple[tuple[str, Any], ...], list[Any]] = {}

    def record(self, call: ScrubbedCall) -> None:
        """Histograms per call (with exemplars); counters are summed until :meth:`flush`."""
        attributes = call.metric_attributes
        context = None
        if call.sampled:
            span = NonRecordingSpan(SpanContext(call.trace_id, call.span_id, False,
                                                TraceFlags(TraceFlags.SAMPLED)))
            context = trace.set_span_in_context(span)
        self._duration.record(call.duration_s, attributes, context)
        pending = self._pending.get(key := tuple(attributes.items()))
        if pending is None:
            pending = self._pending[key] = [attributes, 0, 0]
        pending[1] += 1
        if call.exception is not None:
            pending[2] += 1
        # No span context here: the duration histogram already links calls to traces, and
        # exemplar bookkeeping is a large share of each SDK measurement.
        for value in call.predictions:
            self._predictions.record(value, attributes, _NO_SPAN)

    def flush(self) -> None:
        """Add the batch's summed counts: one counter update per attribute set, not per call
        (each SDK update hashes and sorts the attributes; the worker shares the GIL)."""
        pending, self._pending = self._pending, {}
        for attributes, requests, errors in pending.values():
            self._requests.add(requests, attributes)
            if errors:
                self._errors.add(errors, attributes)


def register_self_metrics(meter: Meter, dropped: Callable[[], dict[str, int]],
                          internal_errors: Callable[[], int],
                          redacted_entities: Callable[[], dict[str, int]],
                          redaction_failures: Callable[[], int]) -> None:
    """SDK health as observable counters, read at collection time (nothing on the hot path)."""

    def observe_dropped(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {c.DROP_REASON: reason}) for reason, n in dropped().items()]

    def observe_internal(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(internal_errors())]

    meter.create_observable_counter(
        c.METRIC_QUEUE_DROPPED, [observe_dropped], unit="{record}",
        description="Telemetry records dropped, by reason",
    )
    def observe_entities(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {c.REDACTION_ENTITY_TYPE: entity})
                for entity, n in redacted_entities().items()]

    def observe_failures(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(redaction_failures())]

    meter.create_observable_counter(
        c.METRIC_INTERNAL_ERRORS, [observe_internal], unit="{error}",
        description="SDK-internal errors swallowed so they never reach the application",
    )
    meter.create_observable_counter(
        c.METRIC_REDACTION_ENTITIES, [observe_entities], unit="{entity}",
        description="Personal data and secrets redacted, by entity type",
    )
    meter.create_observable_counter(
        c.METRIC_REDACTION_FAILURES, [observe_failures], unit="{record}",
        description="Records whose scrubbing failed or timed out; their payload was replaced",
    )

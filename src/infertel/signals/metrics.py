"""Per-call metric updates, derived from the record in the background worker.

Attributes come only from ``conventions.METRIC_ATTRIBUTE_ALLOWLIST``; the span context is passed
so the SDK's trace-based exemplar filter links data points to sampled traces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from infertel import conventions as c

if TYPE_CHECKING:
    from infertel._record import InferenceRecord

# Prediction values of one batch call recorded at most: a 100k-row batch must not stall the
# worker, and the histogram shape is already clear long before that.
_MAX_PREDICTIONS_PER_CALL = 1000
_NO_SPAN = Context()  # an empty context: no current span, so no exemplar is offered
_DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
    7.5, 10.0,
)


def metric_attributes(call_attributes: dict[str, Any]) -> dict[str, Any]:
    allow = c.METRIC_ATTRIBUTE_ALLOWLIST
    return {key: value for key, value in call_attributes.items() if key in allow}


class InferenceMetrics:
    __slots__ = ("_duration", "_errors", "_pending", "_predictions", "_requests")

    def __init__(self, meter: Meter) -> None:
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
        self._predictions = meter.create_histogram(
            c.METRIC_PREDICTION_VALUE, unit="1", description="Numeric prediction values"
        )
        # Counter increments of the batch being built: attribute items -> [attrs, calls, errors]
        self._pending: dict[tuple[tuple[str, Any], ...], list[Any]] = {}

    def record(self, record: InferenceRecord, attributes: dict[str, Any]) -> None:
        """Histograms per call (with exemplars); counters are summed until :meth:`flush`."""
        context = None
        if record.sampled:
            span = NonRecordingSpan(SpanContext(record.trace_id, record.span_id, False,
                                                TraceFlags(TraceFlags.SAMPLED)))
            context = trace.set_span_in_context(span)
        duration = (record.end_ns - record.start_ns) / 1e9
        self._duration.record(duration, attributes, context)
        pending = self._pending.get(key := tuple(attributes.items()))
        if pending is None:
            pending = self._pending[key] = [attributes, 0, 0]
        pending[1] += 1
        if record.exception is not None:
            pending[2] += 1
        # No span context here: the duration histogram already links calls to traces, and
        # exemplar bookkeeping is a large share of each SDK measurement.
        for value in _numbers(record.prediction if record.prediction is not None
                              else _first_numeric_output(record.outputs)):
            self._predictions.record(value, attributes, _NO_SPAN)

    def flush(self) -> None:
        """Add the batch's summed counts: one counter update per attribute set, not per call
        (each SDK update hashes and sorts the attributes; the worker shares the GIL)."""
        pending, self._pending = self._pending, {}
        for attributes, requests, errors in pending.values():
            self._requests.add(requests, attributes)
            if errors:
                self._errors.add(errors, attributes)


def _first_numeric_output(outputs: dict[str, Any] | None) -> Any:
    """A declared output that is a number (or a list of them) is the prediction value."""
    for value in (outputs or {}).values():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    return None


def _numbers(prediction: Any) -> Iterable[float]:
    if prediction is None:
        return ()
    if isinstance(prediction, (int, float)) and not isinstance(prediction, bool):
        return (float(prediction),)
    if isinstance(prediction, list):
        return [
            float(v)
            for v in prediction[:_MAX_PREDICTIONS_PER_CALL]
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
    return ()


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

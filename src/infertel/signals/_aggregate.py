"""The inference metrics, pre-aggregated per worker batch in infertel's own bucketed state.

``InferenceMetrics`` (``signals.metrics``) hands every call to OpenTelemetry's metric SDK: one
measurement per histogram value, each hashing its attributes, taking locks and offering an
exemplar. Here a batch is summed first (per attribute set: request and error counts, duration
and prediction histograms with their buckets, min, max and sum, and the duration's exemplars),
and each metric reader's state takes the batch's sums at once. At collection, the reader's
state becomes SDK data points (``Sum``, ``Histogram``) under infertel's scope, in the reader's
temporality, with the SDK's semantics (see ``_aggregate_reader`` for how they join a
collection):

* cumulative: every attribute set seen so far, start time = its first batch, exemplars since
  the previous collection; delta: the attribute sets with data since the previous collection,
  start time = that collection, state released afterwards;
* counters only for attribute sets with counts (``ml.inference.errors`` for those with
  errors); the prediction histogram only where values were recorded;
* exemplars on ``ml.inference.duration`` only, for sampled calls (the SDK's trace-based filter),
  the last call per bucket (its aligned-bucket reservoir); none with the always-off filter;
* past a reader's cardinality limit (OpenTelemetry SDK >= 1.45.2), new attribute sets go to the
  ``otel.metric.overflow`` point.

The exemplar's time is the call's end (when its duration was measured); the SDK stamps the
moment the worker recorded it. Everything else matches the SDK path; ``tests/test_aggregate.py``
compares the two on the same calls.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any, Final

from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    Sum,
)

from infertel import conventions as c
from infertel._record import ScrubbedCall
from infertel.signals.metrics import _DURATION_BUCKETS, _SCORE_BUCKETS

OVERFLOW_ATTRIBUTES: Final = {"otel.metric.overflow": True}
_OVERFLOW_KEY: Final = (("otel.metric.overflow", True),)
_INF: Final = float("inf")

# (name, unit, description): the same instruments as signals.metrics.InferenceMetrics.
REQUESTS: Final = (c.METRIC_REQUESTS, "{request}", "Inference calls, by outcome")
ERRORS: Final = (c.METRIC_ERRORS, "{error}", "Inference calls that raised")
DURATION: Final = (c.METRIC_DURATION, "s", "Inference call duration")
PREDICTIONS: Final = (c.METRIC_PREDICTION_VALUE, "1", "Numeric prediction values")
_HISTOGRAMS: Final = frozenset({DURATION[0], PREDICTIONS[0]})


class _Sample:
    """An exemplar candidate: the call's sequence number orders candidates from different
    attribute sets that land in one overflow point (the SDK keeps the last one offered)."""

    __slots__ = ("attributes", "sequence", "span_id", "time_ns", "trace_id", "value")

    def __init__(self, sequence: int, value: float, time_ns: int, span_id: int, trace_id: int,
                 attributes: dict[str, Any]) -> None:
        self.sequence = sequence
        self.value = value
        self.time_ns = time_ns
        self.span_id = span_id
        self.trace_id = trace_id
        self.attributes = attributes

    def exemplar(self, point_attributes: dict[str, Any]) -> Exemplar:
        # The measurement's attributes that the point does not carry (none, except in the
        # overflow point), as the SDK's exemplar bucket filters them.
        filtered = {k: v for k, v in self.attributes.items() if k not in point_attributes}
        return Exemplar(filtered, self.value, self.time_ns, self.span_id, self.trace_id)


class _Pending:
    """One attribute set's sums within the batch being built (worker thread only)."""

    __slots__ = ("attributes", "d_buckets", "d_count", "d_max", "d_min", "d_sum", "errors",
                 "exemplars", "first_error", "first_prediction", "p_buckets", "p_count", "p_max",
                 "p_min", "p_sum", "requests")

    def __init__(self, attributes: dict[str, Any], duration_slots: int,
                 prediction_slots: int) -> None:
        self.attributes = attributes
        self.requests = 0
        self.errors = 0
        # Position in the batch of the first error / prediction value: the SDK creates those
        # series in that order, which decides what overflows a cardinality limit.
        self.first_error = 0
        self.first_prediction = 0
        self.d_count = 0
        self.d_sum = 0.0
        self.d_min = _INF
        self.d_max = -_INF
        self.d_buckets = [0] * duration_slots
        self.exemplars: dict[int, _Sample] = {}
        self.p_count = 0
        self.p_sum = 0.0
        self.p_min = _INF
        self.p_max = -_INF
        self.p_buckets = [0] * prediction_slots


class _Histogram:
    """One attribute set of a histogram in one reader's state."""

    __slots__ = ("attributes", "buckets", "count", "exemplars", "interval_sum", "max", "min",
                 "start_ns", "total_sum")

    def __init__(self, attributes: dict[str, Any], start_ns: int, slots: int) -> None:
        self.attributes = attributes
        self.start_ns = start_ns
        self.count = 0
        self.interval_sum = 0.0
        self.total_sum = 0.0
        self.min = _INF
        self.max = -_INF
        self.buckets = [0] * slots
        self.exemplars: dict[int, _Sample] = {}

    def restart(self, now: int) -> None:
        """A kept delta series after its point was collected: the next interval starts."""
        self.start_ns = now
        self.count = 0
        self.interval_sum = 0.0
        self.min = _INF
        self.max = -_INF
        self.buckets = [0] * len(self.buckets)

    def add(self, count: int, total: float, low: float, high: float, buckets: list[int]) -> None:
        self.count += count
        self.interval_sum += total
        if low < self.min:
            self.min = low
        if high > self.max:
            self.max = high
        self.buckets = [a + b for a, b in zip(self.buckets, buckets, strict=True)]


class _Counter:
    __slots__ = ("attributes", "start_ns", "value")

    def __init__(self, attributes: dict[str, Any], start_ns: int) -> None:
        self.attributes = attributes
        self.start_ns = start_ns
        self.value = 0

    def restart(self, now: int) -> None:
        self.start_ns = now
        self.value = 0


class ReaderState:
    """What one metric reader has not collected yet (delta) or has seen so far (cumulative).

    Delta series are released at each collection when the reader has a cardinality limit
    (OpenTelemetry SDK >= 1.45.2 does both); otherwise they are kept and restarted, as older
    SDKs do. Either way a delta point covers one collection interval and only series with data
    in it have one."""

    __slots__ = ("collected_at", "counter_delta", "counter_limit", "histogram_delta",
                 "histogram_limit", "series")

    def __init__(self, counter_delta: bool, histogram_delta: bool, counter_limit: int | None,
                 histogram_limit: int | None) -> None:
        self.counter_delta = counter_delta
        self.histogram_delta = histogram_delta
        self.counter_limit = counter_limit
        self.histogram_limit = histogram_limit
        self.series: dict[str, dict[Any, Any]] = {
            REQUESTS[0]: {}, ERRORS[0]: {}, DURATION[0]: {}, PREDICTIONS[0]: {}}
        # Per metric, once it has had a series: the time of the last collection (the SDK's
        # per-instrument "previous collection start", used as a new delta series' start).
        self.collected_at: dict[str, int | None] = {}

    def delta(self, metric: str) -> bool:
        return self.histogram_delta if metric in _HISTOGRAMS else self.counter_delta

    def limit(self, metric: str) -> int | None:
        return self.histogram_limit if metric in _HISTOGRAMS else self.counter_limit

    def slot(self, metric: str, key: Any, attributes: dict[str, Any], now: int,
             make: Any) -> Any:
        series = self.series[metric]
        found = series.get(key)
        if found is not None:
            return found
        limit = self.limit(metric)
        if limit is not None and len(series) >= limit:
            key, attributes = _OVERFLOW_KEY, dict(OVERFLOW_ATTRIBUTES)
            found = series.get(key)
            if found is not None:
                return found
        start = now
        if limit is not None and self.delta(metric):
            start = self.collected_at.get(metric) or now
        self.collected_at.setdefault(metric, None)
        found = series[key] = make(attributes, start)
        return found

    def collected(self, metric: str, now: int) -> None:
        """After a collection: delta series released (or restarted), the time remembered."""
        if metric in self.collected_at:
            self.collected_at[metric] = now
        if not self.delta(metric):
            return
        series = self.series[metric]
        if self.limit(metric) is not None:
            series.clear()
            return
        for item in series.values():
            item.restart(now)


class InferenceAggregates:
    """Drop-in for ``InferenceMetrics`` (``record(call)`` per call, ``flush()`` per batch):
    counts, durations and prediction values of the inference calls, by metric attributes."""

    def __init__(self, prediction_buckets: Sequence[float] | None = None, *,
                 exemplars: bool = True) -> None:
        self.duration_bounds = tuple(float(b) for b in _DURATION_BUCKETS)
        self.prediction_bounds = tuple(float(b) for b in (prediction_buckets or _SCORE_BUCKETS))
        self.exemplars = exemplars
        self._pending: dict[tuple[tuple[str, Any], ...], _Pending] = {}
        self._sequence = 0
        self._position = 0
        self._lock = threading.Lock()
        self._readers: dict[int, ReaderState] = {}

    # ------------------------------------------------------------------ worker thread
    def record(self, call: ScrubbedCall) -> None:
        attributes = call.metric_attributes
        key = tuple(attributes.items())
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(
                dict(attributes), len(self.duration_bounds) + 1, len(self.prediction_bounds) + 1)
        pending.requests += 1
        self._position += 1
        if call.exception is not None:
            if not pending.errors:
                pending.first_error = self._position
            pending.errors += 1
        value = (call.end_ns - call.start_ns) / 1e9
        pending.d_count += 1
        pending.d_sum += value
        if value < pending.d_min:
            pending.d_min = value
        if value > pending.d_max:
            pending.d_max = value
        index = bisect_left(self.duration_bounds, value)
        pending.d_buckets[index] += 1
        if call.sampled and self.exemplars:
            self._sequence += 1
            pending.exemplars[index] = _Sample(self._sequence, value, call.end_ns, call.span_id,
                                               call.trace_id, pending.attributes)
        predictions = call.predictions
        if predictions:
            if not pending.p_count:
                pending.first_prediction = self._position
            bounds = self.prediction_bounds
            buckets = pending.p_buckets
            for number in predictions:
                pending.p_count += 1
                pending.p_sum += number
                if number < pending.p_min:
                    pending.p_min = number
                if number > pending.p_max:
                    pending.p_max = number
                buckets[bisect_left(bounds, number)] += 1

    def flush(self) -> None:
        """Hand the batch's sums to every reader's state (one lock, one step per attribute
        set and reader)."""
        pending, self._pending = self._pending, {}
        self._position = 0
        if not pending:
            return
        now = time.time_ns()
        errors = sorted((p for p in pending.items() if p[1].errors),
                        key=lambda item: item[1].first_error)
        predictions = sorted((p for p in pending.items() if p[1].p_count),
                             key=lambda item: item[1].first_prediction)
        with self._lock:
            for state in self._readers.values():
                for key, sums in pending.items():
                    _merge(state, key, sums, now)
                for key, sums in errors:
                    state.slot(ERRORS[0], key, sums.attributes, now, _Counter).value += \
                        sums.errors
                for key, sums in predictions:
                    slots = len(sums.p_buckets)
                    state.slot(PREDICTIONS[0], key, sums.attributes, now,
                               lambda a, s, n=slots: _Histogram(a, s, n)).add(
                        sums.p_count, sums.p_sum, sums.p_min, sums.p_max, sums.p_buckets)

    # ------------------------------------------------------------------ readers
    def add_reader(self, reader_id: int, state: ReaderState) -> None:
        with self._lock:
            self._readers[reader_id] = state

    def collect(self, reader_id: int) -> list[Metric]:
        """The reader's data points now, as SDK metrics; resets what the temporality says."""
        with self._lock:
            state = self._readers.get(reader_id)
            if state is None:
                return []
            now = time.time_ns()
            metrics = [
                _sum_metric(REQUESTS, state, now),
                _sum_metric(ERRORS, state, now),
                _histogram_metric(DURATION, state, self.duration_bounds, now),
                _histogram_metric(PREDICTIONS, state, self.prediction_bounds, now),
            ]
        return [metric for metric in metrics if metric is not None]


def _merge(state: ReaderState, key: tuple[tuple[str, Any], ...], sums: _Pending,
           now: int) -> None:
    """Requests and durations of one attribute set (errors and predictions: see flush)."""
    attributes = sums.attributes
    state.slot(REQUESTS[0], key, attributes, now, _Counter).value += sums.requests
    slots = len(sums.d_buckets)
    duration = state.slot(DURATION[0], key, attributes, now,
                          lambda a, s: _Histogram(a, s, slots))
    duration.add(sums.d_count, sums.d_sum, sums.d_min, sums.d_max, sums.d_buckets)
    kept = duration.exemplars
    for index, sample in sums.exemplars.items():
        held = kept.get(index)
        if held is None or held.sequence < sample.sequence:
            kept[index] = sample


def _temporality(delta: bool) -> AggregationTemporality:
    return AggregationTemporality.DELTA if delta else AggregationTemporality.CUMULATIVE


def _sum_metric(spec: tuple[str, str, str], state: ReaderState, now: int) -> Metric | None:
    series: dict[Any, _Counter] = state.series[spec[0]]
    delta = state.counter_delta
    points = [NumberDataPoint(attributes=counter.attributes,
                              start_time_unix_nano=counter.start_ns, time_unix_nano=now,
                              value=counter.value, exemplars=[])
              for counter in series.values() if counter.value or not delta]
    state.collected(spec[0], now)
    if not points:
        return None
    return Metric(name=spec[0], description=spec[2], unit=spec[1],
                  data=Sum(data_points=points, aggregation_temporality=_temporality(delta),
                           is_monotonic=True))


def _histogram_metric(spec: tuple[str, str, str], state: ReaderState,
                      bounds: tuple[float, ...], now: int) -> Metric | None:
    series: dict[Any, _Histogram] = state.series[spec[0]]
    delta = state.histogram_delta
    points = []
    for histogram in series.values():
        if delta:
            if not histogram.count:
                continue
            total = histogram.interval_sum
        else:
            # The SDK adds each interval's sum to the running total at collection.
            total = histogram.total_sum = histogram.interval_sum + histogram.total_sum
            histogram.interval_sum = 0.0
        exemplars = [histogram.exemplars[i].exemplar(histogram.attributes)
                     for i in sorted(histogram.exemplars)]
        histogram.exemplars = {}
        points.append(HistogramDataPoint(
            attributes=histogram.attributes, start_time_unix_nano=histogram.start_ns,
            time_unix_nano=now, count=histogram.count, sum=total,
            bucket_counts=tuple(histogram.buckets), explicit_bounds=bounds,
            min=histogram.min, max=histogram.max, exemplars=exemplars))
    state.collected(spec[0], now)
    if not points:
        return None
    return Metric(name=spec[0], description=spec[2], unit=spec[1],
                  data=Histogram(data_points=points,
                                 aggregation_temporality=_temporality(delta)))

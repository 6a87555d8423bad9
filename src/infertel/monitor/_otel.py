"""The exported form of drift: OpenTelemetry metrics with per-feature bucket bounds.

The OpenTelemetry Python SDK fixes a histogram's buckets per instrument (an advisory or a View
for one instrument name), and has no MetricProducer hook (1.45: ``MetricReader`` takes no
``metric_producers``). A single ``ml.feature.distribution`` metric needs different bounds per
feature, which OTLP allows per data point. So the monitor's counts are turned into SDK metric
data here and added to each export by :class:`DriftMetricExporter`, a wrapper around whatever
metric exporter is configured (the style of every infertel exporter: wrap, never subclass).

* ``ml.feature.distribution``: one histogram point per (model, version, ring, feature),
  ``explicit_bounds`` = the baseline's bounds, cumulative since the monitor started (or delta
  when the wrapped exporter prefers delta). ``sum``, ``min`` and ``max`` are left unset: the
  monitor only ever sees bin indices, never the values.
* ``ml.feature.categories``: a monotonic counter per baseline category (``ml.feature.bin``).
* ``ml.drift.score``: a gauge per (model, version, ring, feature, metric), the latest window.
* ``ml.input.violations``: a monotonic counter per (model, version, feature, kind).

The OpenTelemetry SDK is imported when this module is, so import it only when metrics are on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.metrics import Histogram as HistogramInstrument
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from infertel import conventions as c
from infertel._version import VERSION
from infertel.monitor._monitor import DriftMonitor, group_attributes
from infertel.monitor._schema import NumericFeature

_log = logging.getLogger("infertel")
# infertel's own scope: the ExitGuard scrubs the values of its metrics' attributes but does
# not cut them to the per-call allowlist (which has no ml.feature.name / ml.feature.bin).
SCOPE_NAME = c.INSTRUMENTATION_SCOPE
_CUMULATIVE = AggregationTemporality.CUMULATIVE
_DELTA = AggregationTemporality.DELTA


class DriftMetrics:
    """Builds the drift metrics of one :class:`DriftMonitor` at collection time."""

    def __init__(self, monitor: DriftMonitor, *, delta: bool = False,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self._monitor = monitor
        self._clock = clock
        self._delta = delta
        self._last_ns = monitor.start_ns
        self._previous: dict[tuple[Any, ...], list[int]] = {}
        self.scope = InstrumentationScope(SCOPE_NAME, VERSION)

    def collect(self, now_ns: int | None = None) -> list[Metric]:
        now = now_ns if now_ns is not None else self._clock()
        start = self._last_ns if self._delta else self._monitor.start_ns
        histograms: list[HistogramDataPoint] = []
        categories: list[NumberDataPoint] = []
        for group, name, counts in self._monitor.distributions():
            counts = self._since_last((group, name), counts)
            attributes = {**group_attributes(group), c.FEATURE_NAME: name}
            feature = self._monitor.feature(name)
            if isinstance(feature, NumericFeature):
                histograms.append(HistogramDataPoint(
                    attributes=attributes, start_time_unix_nano=start, time_unix_nano=now,
                    count=sum(counts), bucket_counts=counts,
                    explicit_bounds=list(feature.bounds),
                    # Unset on purpose (OTLP: optional): no raw value ever reaches the monitor.
                    sum=None, min=None, max=None,  # type: ignore[arg-type]
                ))
            else:
                categories.extend(
                    NumberDataPoint(attributes={**attributes, c.FEATURE_BIN: label},
                                    start_time_unix_nano=start, time_unix_nano=now, value=n)
                    for label, n in zip(feature.bin_labels(), counts, strict=True))
        violations = [
            NumberDataPoint(attributes={c.MODEL_NAME: model, c.MODEL_VERSION: version,
                                        c.FEATURE_NAME: feature, c.VIOLATION_KIND: kind},
                            start_time_unix_nano=start, time_unix_nano=now,
                            value=self._since_last_one(("violation", model, version, feature,
                                                        kind), n))
            for (model, version, feature, kind), n in self._monitor.violation_counts().items()
        ]
        scores = [
            NumberDataPoint(attributes={**group_attributes(group), c.FEATURE_NAME: name,
                                        c.DRIFT_METRIC: metric},
                            start_time_unix_nano=start, time_unix_nano=now, value=value)
            for group, name, values in self._monitor.latest_scores()
            for metric, value in values.items()
        ]
        self._last_ns = now
        temporality = _DELTA if self._delta else _CUMULATIVE
        metrics = []
        if histograms:
            metrics.append(Metric(c.METRIC_FEATURE_DISTRIBUTION, "Drift feature values per "
                                  "baseline bucket", "1", Histogram(histograms, temporality)))
        if categories:
            metrics.append(Metric(c.METRIC_FEATURE_CATEGORIES, "Drift feature values per "
                                  "baseline category", "{call}",
                                  Sum(categories, temporality, True)))
        if violations:
            metrics.append(Metric(c.METRIC_INPUT_VIOLATIONS, "Inputs that failed validation "
                                  "against the baseline", "{violation}",
                                  Sum(violations, temporality, True)))
        if scores:
            metrics.append(Metric(c.METRIC_DRIFT_SCORE, "Drift score of the latest window",
                                  "1", Gauge(scores)))
        return metrics

    def _since_last(self, key: tuple[Any, ...], counts: list[int]) -> list[int]:
        if not self._delta:
            return counts
        previous = self._previous.get(key)
        self._previous[key] = counts
        if previous is None:
            return counts
        return [now - before for now, before in zip(counts, previous, strict=True)]

    def _since_last_one(self, key: tuple[Any, ...], value: int) -> int:
        return self._since_last(key, [value])[0]


class DriftMetricExporter(MetricExporter):
    """Wraps a metric exporter and adds the drift metrics to every export it makes.

    A failure to build them costs the drift metrics of that export, never the export.
    """

    def __init__(self, inner: MetricExporter, monitor: DriftMonitor,
                 resource: Resource | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__(preferred_temporality=inner._preferred_temporality,
                         preferred_aggregation=inner._preferred_aggregation)
        self.inner = inner
        preferred = inner._preferred_temporality or {}
        delta = preferred.get(HistogramInstrument) is _DELTA
        self.metrics = DriftMetrics(monitor, delta=delta, clock=clock)
        self._resource = resource
        self.failures = 0

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        try:
            metrics_data = self._with_drift(metrics_data)
        except Exception:  # telemetry never breaks: the SDK's own metrics still go out
            self.failures += 1
            _log.warning("infertel: building drift metrics failed", exc_info=True)
        return self.inner.export(metrics_data, timeout_millis=timeout_millis)

    def _with_drift(self, data: MetricsData) -> MetricsData:
        metrics = self.metrics.collect()
        if not metrics:
            return data
        scope = ScopeMetrics(self.metrics.scope, metrics, "")
        resources = list(data.resource_metrics)
        if resources:
            first = resources[0]
            resources[0] = ResourceMetrics(first.resource, [*first.scope_metrics, scope],
                                           first.schema_url)
        else:
            resources.append(ResourceMetrics(self._resource or Resource.get_empty(), [scope],
                                             ""))
        return MetricsData(resources)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis)

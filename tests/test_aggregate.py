"""Pre-aggregated inference metrics (signals._aggregate) against OpenTelemetry's metric SDK
recording the same calls one by one (signals.metrics.InferenceMetrics): same points in every
collection, for cumulative and delta readers, with exemplars, cardinality overflow and the
exemplar filters; readers the aggregates cannot reproduce get the SDK instruments."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import pytest
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    Counter,
    Histogram,
    MeterProvider,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

import infertel
from infertel import conventions as c
from infertel._record import InferenceRecord, ScrubbedCall
from infertel.signals._aggregate import InferenceAggregates
from infertel.signals._aggregate_reader import inference_metrics
from infertel.signals.metrics import InferenceMetrics
from infertel.testing import capture_telemetry

SCOPE = InstrumentationScope("infertel", "0.1.0", "https://opentelemetry.io/schemas/1.26.0")
DELTA = {Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA}


def _calls(n: int = 240, tiers: tuple[str, ...] = ("free", "pro", "gold")) -> list[ScrubbedCall]:
    with capture_telemetry(model=infertel.ModelInfo(name="fraud-detector", version="2.3.1")
                           ) as captured:
        telemetry = captured.telemetry
        items: list[Any] = []
        telemetry.worker._handle = items.extend  # type: ignore[assignment]

        @infertel.traced_inference(segment=lambda r: r["tier"], outputs={"return": "keep"})
        def predict(req: dict[str, Any]) -> Any:
            if req["i"] % 7 == 0:
                raise ValueError("declined")
            return 0.1 * (req["i"] % 11) if req["i"] % 2 else [0.2, 0.93, 1.7, 250.0]

        for i in range(n):
            with contextlib.suppress(ValueError):
                predict({"tier": tiers[i % len(tiers)], "i": i})
        telemetry.worker.flush(10)
        return [telemetry.boundary.scrub_call(i) for i in items
                if isinstance(i, InferenceRecord)]


def _run(kind: str, calls: list[ScrubbedCall], reader: InMemoryMetricReader,
         **provider: Any) -> tuple[list[MetricsData | None], Any]:
    resource = Resource.create({"service.name": "aggregate-test"})
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader], **provider)
    meter = meter_provider.get_meter(SCOPE.name, SCOPE.version, schema_url=SCOPE.schema_url)
    errors: list[BaseException] = []
    metrics = (InferenceMetrics(meter) if kind == "sdk"
               else inference_metrics(meter_provider, meter, resource, SCOPE, None, errors.append))
    collections = []
    # Batches of different sizes, a collection after each, one with nothing new.
    for chunk in (calls[:100], calls[100:101], [], calls[101:]):
        for call in chunk:
            metrics.record(call)
        metrics.flush()
        collections.append(reader.get_metrics_data())
    assert not errors
    return collections, metrics


def _points(data: MetricsData | None) -> dict[str, Any]:
    """Metric -> (unit, description, temporality, monotonic, points by attributes)."""
    out: dict[str, Any] = {}
    for block in data.resource_metrics if data else ():
        for scoped in block.scope_metrics:
            for metric in scoped.metrics:
                if not metric.name.startswith(("ml.inference", "ml.prediction")):
                    continue
                assert scoped.scope == SCOPE
                points = {}
                for point in metric.data.data_points:
                    fields = {k: v for k, v in vars(point).items()
                              if k not in ("attributes", "exemplars", "time_unix_nano",
                                           "start_time_unix_nano", "sum")}
                    fields["sum"] = getattr(point, "sum", None)
                    fields["exemplars"] = [(e.value, e.span_id, e.trace_id,
                                            e.filtered_attributes) for e in point.exemplars]
                    points[json.dumps(dict(point.attributes), sort_keys=True)] = fields
                out[metric.name] = (metric.unit, metric.description,
                                    getattr(metric.data, "aggregation_temporality", None),
                                    getattr(metric.data, "is_monotonic", None), points)
    return out


def _same(sdk: dict[str, Any], ours: dict[str, Any]) -> None:
    assert sdk.keys() == ours.keys()
    for name in sdk:
        *head_sdk, points_sdk = sdk[name]
        *head_ours, points_ours = ours[name]
        assert head_sdk == head_ours, name
        assert points_sdk.keys() == points_ours.keys(), name
        for key, want in points_sdk.items():
            got = points_ours[key]
            if want["sum"] is not None:  # summed per batch, then per collection: float order
                assert math.isclose(got.pop("sum"), want.pop("sum"), rel_tol=1e-12)
            assert got == want, (name, key)


@pytest.mark.parametrize("temporality", ["cumulative", "delta"])
def test_every_collection_matches_the_sdk(temporality: str) -> None:
    calls = _calls()
    preferred = DELTA if temporality == "delta" else None
    sdk, _ = _run("sdk", calls, InMemoryMetricReader(preferred_temporality=preferred))
    ours, metrics = _run("ours", calls, InMemoryMetricReader(preferred_temporality=preferred))
    assert isinstance(metrics, InferenceAggregates)
    names = set()
    for want, got in zip(sdk, ours, strict=True):
        _same(_points(want), _points(got))
        names |= set(_points(got))
    assert names == {c.METRIC_REQUESTS, c.METRIC_ERRORS, c.METRIC_DURATION,
                     c.METRIC_PREDICTION_VALUE}
    # Something to compare: exemplars on durations of sampled calls, none elsewhere.
    last = _points(ours[0])
    assert all(p["exemplars"] for p in last[c.METRIC_DURATION][4].values())
    assert not any(p["exemplars"] for name in (c.METRIC_REQUESTS, c.METRIC_PREDICTION_VALUE)
                   for p in last[name][4].values())


def test_time_semantics() -> None:
    calls = _calls(60)
    by_span = {call.span_id: call for call in calls}
    cumulative, _ = _run("ours", calls, InMemoryMetricReader())
    delta, _ = _run("ours", calls, InMemoryMetricReader(preferred_temporality=DELTA))
    starts: dict[tuple[str, str], int] = {}
    for data in cumulative:
        assert data is not None
        for metric in data.resource_metrics[0].scope_metrics[0].metrics:
            for point in metric.data.data_points:
                key = (metric.name, json.dumps(dict(point.attributes), sort_keys=True))
                assert starts.setdefault(key, point.start_time_unix_nano) == \
                    point.start_time_unix_nano  # a cumulative series keeps its start
                assert point.start_time_unix_nano <= point.time_unix_nano
                for exemplar in getattr(point, "exemplars", ()):
                    assert exemplar.time_unix_nano == by_span[exemplar.span_id].end_ns
    times = []
    for data in delta:
        if data is None:
            continue
        points = [p for m in data.resource_metrics[0].scope_metrics[0].metrics
                  for p in m.data.data_points]
        times.append(points[0].time_unix_nano)
        if len(times) > 1:  # a delta point starts at the previous collection
            assert {p.start_time_unix_nano for p in points} == {times[-2]}


def test_cardinality_overflow_matches_the_sdk() -> None:
    if "cardinality_limits" not in InMemoryMetricReader.__init__.__code__.co_varnames:
        pytest.skip("this opentelemetry-sdk has no cardinality limits")
    calls = _calls(120, tiers=tuple(f"t{i}" for i in range(9)))
    limits = {Counter: 4, Histogram: 3}
    sdk, _ = _run("sdk", calls, InMemoryMetricReader(cardinality_limits=limits))
    ours, _ = _run("ours", calls, InMemoryMetricReader(cardinality_limits=limits))
    for want, got in zip(sdk, ours, strict=True):
        _same(_points(want), _points(got))
    assert any("otel.metric.overflow" in key
               for key in _points(ours[-1])[c.METRIC_REQUESTS][4])


def test_always_off_filter_has_no_exemplars_as_in_the_sdk() -> None:
    calls = _calls(50)
    sdk, _ = _run("sdk", calls, InMemoryMetricReader(), exemplar_filter=AlwaysOffExemplarFilter())
    ours, metrics = _run("ours", calls, InMemoryMetricReader(),
                         exemplar_filter=AlwaysOffExemplarFilter())
    assert isinstance(metrics, InferenceAggregates)
    for want, got in zip(sdk, ours, strict=True):
        _same(_points(want), _points(got))
    assert not any(p["exemplars"] for p in _points(ours[0])[c.METRIC_DURATION][4].values())


@pytest.mark.parametrize("setup", ["always_on", "exponential", "views"])
def test_configurations_the_aggregates_do_not_reproduce_get_sdk_instruments(setup: str) -> None:
    from opentelemetry.sdk.metrics.view import View

    reader = InMemoryMetricReader(
        preferred_aggregation={Histogram: ExponentialBucketHistogramAggregation()}
        if setup == "exponential" else None)
    provider: dict[str, Any] = {}
    if setup == "always_on":
        provider["exemplar_filter"] = AlwaysOnExemplarFilter()
    if setup == "views":
        provider["views"] = [View(instrument_name="*")]
    _, metrics = _run("ours", _calls(20), reader, **provider)
    assert isinstance(metrics, InferenceMetrics)


def test_a_failing_aggregate_collection_keeps_the_sdk_metrics() -> None:
    resource = Resource.create({"service.name": "aggregate-test"})
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = provider.get_meter(SCOPE.name, SCOPE.version, schema_url=SCOPE.schema_url)
    errors: list[BaseException] = []
    metrics = inference_metrics(provider, meter, resource, SCOPE, None, errors.append)
    assert isinstance(metrics, InferenceAggregates)
    meter.create_counter("user.counter").add(3)

    def broken(reader_id: int) -> list[Any]:
        raise RuntimeError("aggregate state broke")

    metrics.collect = broken  # type: ignore[method-assign]
    data = reader.get_metrics_data()
    assert data is not None
    names = [m.name for b in data.resource_metrics for s in b.scope_metrics for m in s.metrics]
    assert names == ["user.counter"]
    assert [type(e).__name__ for e in errors] == ["RuntimeError"]

"""How the pre-aggregated inference metrics join each metric reader's collections.

OpenTelemetry's SDK 1.45 has no ``MetricProducer`` (the specification's way to add data a
reader collects). The equivalent here: once the ``MeterProvider`` has registered its readers,
each reader's collect callback (the provider's measurement consumer) is wrapped so that what
it returns gets infertel's inference metrics appended under infertel's scope, in the reader's
own temporality. Every reader therefore sees them: the periodic OTLP reader (and so the
ExitGuard's metric exporter and the export wrappers after it) as well as a test's in-memory
reader, exactly where the SDK's own instruments would have appeared.

The hook is taken only when every reader and the provider are configured the way the
aggregates reproduce (default aggregations, no views, the trace-based or always-off exemplar
filter); otherwise :func:`inference_metrics` returns the SDK-instrument ``InferenceMetrics``.
A failure while appending never breaks the collection: the SDK's own data still goes out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricReader,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.metrics.view import DefaultAggregation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from infertel.signals._aggregate import InferenceAggregates, ReaderState
from infertel.signals.metrics import InferenceMetrics

_log = logging.getLogger("infertel")


def _instrument_classes() -> tuple[type, type] | None:
    try:
        from opentelemetry.sdk.metrics._internal.instrument import _Counter, _Histogram
    except ImportError:  # a future SDK moved them: use the SDK instruments
        return None
    return _Counter, _Histogram


def _reader_state(reader: MetricReader) -> ReaderState | None:
    """The reader's temporality and cardinality limits, or None when it asks for something
    the aggregates do not reproduce (another aggregation, an unknown SDK layout)."""
    classes = _instrument_classes()
    temporality = getattr(reader, "_instrument_class_temporality", None)
    aggregation = getattr(reader, "_instrument_class_aggregation", None)
    if classes is None or not isinstance(temporality, dict) or not isinstance(aggregation, dict):
        return None
    counter, histogram = classes
    if not all(isinstance(aggregation.get(kind), DefaultAggregation) for kind in classes):
        return None
    if any(temporality.get(kind) not in (AggregationTemporality.CUMULATIVE,
                                         AggregationTemporality.DELTA) for kind in classes):
        return None
    limits = getattr(reader, "_instrument_class_cardinality_limit", None)
    limits = limits if isinstance(limits, dict) else {}
    return ReaderState(temporality[counter] is AggregationTemporality.DELTA,
                       temporality[histogram] is AggregationTemporality.DELTA,
                       limits.get(counter), limits.get(histogram))


def inference_metrics(provider: MeterProvider, meter: Meter, resource: Resource,
                      scope: InstrumentationScope, prediction_buckets: Sequence[float] | None,
                      on_error: Callable[[BaseException], None]
                      ) -> InferenceAggregates | InferenceMetrics:
    """Pre-aggregated inference metrics hooked into every reader of ``provider`` when they
    all allow it; else the SDK-instrument ``InferenceMetrics`` on ``meter``."""
    config = getattr(provider, "_sdk_config", None)
    readers = list(getattr(provider, "_metric_readers", None) or ())
    exemplar_filter = getattr(config, "exemplar_filter", None)
    states = [_reader_state(reader) for reader in readers]
    plain = (config is not None and not getattr(config, "views", ())
             and isinstance(exemplar_filter, (TraceBasedExemplarFilter, AlwaysOffExemplarFilter))
             and all(state is not None for state in states)
             and all(callable(getattr(reader, "_collect", None)) for reader in readers))
    if not plain:
        return InferenceMetrics(meter, prediction_buckets)
    aggregates = InferenceAggregates(
        prediction_buckets, exemplars=isinstance(exemplar_filter, TraceBasedExemplarFilter))
    for reader, state in zip(readers, states, strict=True):
        assert state is not None
        aggregates.add_reader(id(reader), state)
        _hook(reader, aggregates, resource, scope, on_error)
    return aggregates


def _hook(reader: MetricReader, aggregates: InferenceAggregates, resource: Resource,
          scope: InstrumentationScope, on_error: Callable[[BaseException], None]) -> None:
    original: Callable[..., MetricsData | None] = reader._collect  # type: ignore[assignment]
    reader_id = id(reader)

    def collect(metric_reader: MetricReader, timeout_millis: float = 10_000
                ) -> MetricsData | None:
        data = original(metric_reader, timeout_millis=timeout_millis)
        try:
            metrics = aggregates.collect(reader_id)
            return join(data, metrics, resource, scope) if metrics else data
        except Exception as error:  # the SDK's own metrics still go out
            on_error(error)
            return data

    reader._collect = collect  # type: ignore[assignment]


def join(data: MetricsData | None, metrics: list[Any], resource: Resource,
         scope: InstrumentationScope) -> MetricsData:
    """``data`` with ``metrics`` added under (``resource``, ``scope``): into the scope's block
    when the SDK produced one, else a new block, as the SDK would group them."""
    blocks = list(data.resource_metrics) if data is not None else []
    for i, block in enumerate(blocks):
        if block.resource is not resource and block.resource != resource:
            continue
        scopes = list(block.scope_metrics)
        for j, scoped in enumerate(scopes):
            if scoped.scope == scope:
                scopes[j] = replace(scoped, metrics=[*scoped.metrics, *metrics])
                break
        else:
            scopes.append(ScopeMetrics(scope=scope, metrics=metrics,
                                       schema_url=scope.schema_url or ""))
        blocks[i] = replace(block, scope_metrics=scopes)
        break
    else:
        blocks.append(ResourceMetrics(
            resource=resource,
            scope_metrics=[ScopeMetrics(scope=scope, metrics=metrics,
                                        schema_url=scope.schema_url or "")],
            schema_url=resource.schema_url))
    return MetricsData(resource_metrics=blocks)

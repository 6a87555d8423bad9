"""Test helpers for users of infertel: capture telemetry in memory.

    with capture_telemetry() as captured:
        predict(request)
    spans = captured.spans()          # flushed ReadableSpans
    logs = captured.logs()            # ReadableLogRecords
    points = captured.metric_points("ml.inference.requests")

The same pipeline runs as in production (background worker, privacy policy, exit scrubbing,
exporter wrappers); only the exporters are in-memory ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from infertel import _state
from infertel._provenance import ModelInfo
from infertel.config import resolve_settings
from infertel.export._setup import Exporters
from infertel.pipeline._telemetry import Telemetry
from infertel.privacy._policy import PrivacyPolicy


class CapturedTelemetry:
    def __init__(self, telemetry: Telemetry, spans: InMemorySpanExporter,
                 logs: InMemoryLogRecordExporter, metrics: InMemoryMetricReader) -> None:
        self.telemetry = telemetry
        self._spans = spans
        self._logs = logs
        self._metrics = metrics

    def flush(self) -> None:
        # Metric readers are collected by metric_points() only: each collection resets
        # exemplars, so flushing them here would hide exemplars from the test.
        self.telemetry.flush(timeout=10.0, metrics=False)

    def spans(self) -> list[ReadableSpan]:
        self.flush()
        return list(self._spans.get_finished_spans())

    def logs(self) -> list[ReadableLogRecord]:
        self.flush()
        return list(self._logs.get_finished_logs())

    def metric_points(self, name: str) -> list[Any]:
        """Data points of metric ``name`` collected now (cumulative since start)."""
        self.flush()
        data = self._metrics.get_metrics_data()
        points: list[Any] = []
        if data is None:
            return points
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


@contextmanager
def capture_telemetry(*, model: ModelInfo | None = None, privacy: PrivacyPolicy | None = None,
                      service_name: str = "test-service",
                      queue_size: int = 10_000, raise_internal_errors: bool = True,
                      **settings: Any) -> Iterator[CapturedTelemetry]:
    """Install an in-memory Telemetry as the process default for the duration of the block."""
    resolved = resolve_settings(service_name=service_name, exporter="none", queue_size=queue_size,
                                raise_internal_errors=raise_internal_errors, **settings)
    spans = InMemorySpanExporter()
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    metrics = InMemoryMetricReader()
    telemetry = Telemetry(resolved, model, privacy=privacy, exporters=Exporters(spans, logs, None),
                          metric_readers=[metrics])
    previous = _state.current
    _state.current = telemetry
    try:
        yield CapturedTelemetry(telemetry, spans, logs, metrics)
    finally:
        telemetry.shutdown(timeout=5.0)
        _state.current = previous

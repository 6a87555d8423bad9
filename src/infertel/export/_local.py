"""The embedded local store: OTLP-JSON lines under ``<dir>/{traces,logs,metrics}/``.

One export request per line, the layout an OpenTelemetry Collector file exporter writes, so the
CLI reads either. Each process writes its own files (pid in the name: no interleaving between
workers of one service) and starts a new file once the current one passes ``max_bytes``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from infertel.export._otlp_json import logs_to_json, metrics_to_json, spans_to_json

_log = logging.getLogger("infertel")

SIGNALS = ("traces", "logs", "metrics")


class RotatingJsonLines:
    """Appends one JSON document per line to ``<dir>/<signal>/<signal>-<time>-<pid>.jsonl``."""

    def __init__(self, directory: Path, signal: str, max_bytes: int) -> None:
        self._directory = Path(directory) / signal
        self._signal = signal
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._pid = 0
        self._sequence = 0

    def write(self, line: str) -> None:
        with self._lock:
            handle = self._current()
            handle.write(line)
            handle.write("\n")
            handle.flush()  # a crash loses at most the line being written
            if handle.tell() >= self._max_bytes:
                handle.close()
                self._file = None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _current(self) -> IO[str]:
        if self._file is not None and self._pid == os.getpid():
            return self._file
        # First write, rotation, or a forked child: never append to the parent's file.
        self._pid = os.getpid()
        self._sequence += 1
        self._directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{self._signal}-{stamp}-{self._pid}-{self._sequence}.jsonl"
        self._file = (self._directory / name).open("a", encoding="utf-8")
        return self._file


class LocalSpanExporter(SpanExporter):
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self._out = RotatingJsonLines(directory, "traces", max_bytes)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self._out.write(spans_to_json(spans))
        except Exception:
            _log.exception("infertel: writing %d spans to the local store failed", len(spans))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class LocalLogExporter(LogRecordExporter):
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self._out = RotatingJsonLines(directory, "logs", max_bytes)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            self._out.write(logs_to_json(batch))
        except Exception:
            _log.exception("infertel: writing %d log records to the local store failed", len(batch))
            return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class LocalMetricExporter(MetricExporter):
    def __init__(self, directory: Path, max_bytes: int) -> None:
        super().__init__(preferred_temporality=_cumulative())
        self._out = RotatingJsonLines(directory, "metrics", max_bytes)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: object) -> MetricExportResult:
        try:
            self._out.write(metrics_to_json(metrics_data))
        except Exception:
            _log.exception("infertel: writing metrics to the local store failed")
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self._out.close()


def _cumulative() -> dict[type, AggregationTemporality]:
    from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter

    return {
        Counter: AggregationTemporality.CUMULATIVE,
        Histogram: AggregationTemporality.CUMULATIVE,
        ObservableCounter: AggregationTemporality.CUMULATIVE,
    }

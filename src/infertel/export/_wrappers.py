"""Exporter wrappers: behaviour is added by wrapping an exporter, never by subclassing it.

``Guarded*Exporter`` turns an exporter exception into a failure result and counts what it lost,
so a broken exporter shows up in ``infertel.queue.dropped{reason=export_failed}`` instead of in
the application. The log line names the exception's type only: its message can quote a value.
infertel's own exporters count their losses themselves (``counts_own_losses=True``); for any
other exporter (in-memory ones in tests, a user's) the guard counts a failed batch and records
successes in the signal's status.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from infertel.export._status import EXPORT_FAILED, ExportStatus, OnLoss

_log = logging.getLogger("infertel")


class _Guard:
    """The accounting shared by the three wrappers."""

    __slots__ = ("_counts_own", "_on_loss", "_raised", "_signal", "_status")

    def __init__(self, signal: str, on_loss: OnLoss, counts_own_losses: bool,
                 status: ExportStatus | None) -> None:
        self._signal = signal
        self._on_loss = on_loss
        self._counts_own = counts_own_losses
        self._status = status if status is not None and signal in status.signals else None
        self._raised = 0

    def raised(self, error: BaseException, records: int) -> None:
        self._raised += 1
        if self._raised == 1 or self._raised % 1000 == 0:
            _log.warning("infertel: %s export raised %s (%d time(s)); the batch is counted as "
                         "export_failed", self._signal, type(error).__name__, self._raised)
        self._lost(records)

    def result(self, ok: bool, records: int) -> None:
        if self._counts_own:
            return
        if ok:
            if self._status is not None:
                self._status[self._signal].exported(records)
        else:
            self._lost(records)

    def _lost(self, records: int) -> None:
        if self._status is not None:
            self._status[self._signal].failed(EXPORT_FAILED)
            self._status.loss(self._signal, EXPORT_FAILED, records)
        else:
            try:
                self._on_loss(EXPORT_FAILED, records)
            except Exception:  # the guard itself must never raise
                return


class GuardedSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, on_loss: OnLoss, *, counts_own_losses: bool = False,
                 status: ExportStatus | None = None) -> None:
        self.inner = inner
        self._guard = _Guard("traces", on_loss, counts_own_losses, status)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as error:
            self._guard.raised(error, len(spans))
            return SpanExportResult.FAILURE
        self._guard.result(result is SpanExportResult.SUCCESS, len(spans))
        return result

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception as error:
            _log.warning("infertel: span exporter shutdown raised %s", type(error).__name__)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return self.inner.force_flush(timeout_millis)
        except Exception:
            return False


class GuardedLogExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter, on_loss: OnLoss, *,
                 counts_own_losses: bool = False, status: ExportStatus | None = None) -> None:
        self.inner = inner
        self._guard = _Guard("logs", on_loss, counts_own_losses, status)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            result = self.inner.export(batch)
        except Exception as error:
            self._guard.raised(error, len(batch))
            return LogRecordExportResult.FAILURE
        self._guard.result(result is LogRecordExportResult.SUCCESS, len(batch))
        return result

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()  # type: ignore[no-untyped-call]
        except Exception as error:
            _log.warning("infertel: log exporter shutdown raised %s", type(error).__name__)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception:
            return False


class GuardedMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter, on_loss: OnLoss, *,
                 counts_own_losses: bool = False, status: ExportStatus | None = None) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self._guard = _Guard("metrics", on_loss, counts_own_losses, status)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: object) -> MetricExportResult:
        count = sum(len(sm.metrics) for rm in metrics_data.resource_metrics
                    for sm in rm.scope_metrics)
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis)
        except Exception as error:
            self._guard.raised(error, count)
            return MetricExportResult.FAILURE
        self._guard.result(result is MetricExportResult.SUCCESS, count)
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        try:
            return self.inner.force_flush(timeout_millis)
        except Exception:
            return False

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        try:
            self.inner.shutdown(timeout_millis=timeout_millis)
        except Exception as error:
            _log.warning("infertel: metric exporter shutdown raised %s", type(error).__name__)

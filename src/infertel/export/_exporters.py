"""The exporters the SDK calls: encode once (one bad record costs itself), then hand the encoded
request to a sink — the collector (``OtlpSink``), the local store (``_local.LocalSink``) or the
console (``ConsoleSink``).

They never raise and never return before every record is accounted for in the
:class:`~infertel.export._status.ExportStatus`: exported, spooled, or dropped with a reason.
``SUCCESS`` means nothing was lost (a spooled batch is not lost).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, Protocol

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

from infertel.export._delivery import Delivery, Replayer
from infertel.export._encode import (
    Encoded,
    encode_log_batch,
    encode_metric_batch,
    encode_span_batch,
    mark_log_records,
)
from infertel.export._otlp_json import to_json
from infertel.export._spool import Spool
from infertel.export._status import ENCODE_FAILED, EXPORT_FAILED, ExportStatus


class Sink(Protocol):
    def put(self, encoded: Encoded) -> bool: ...

    def flush(self, timeout: float) -> bool: ...

    def close(self) -> None: ...


class Outbox:
    """The spool and its replayer, shared by the signals' sinks; closed with the last one.
    What is still in the spool then stays on disk for the next start."""

    def __init__(self, spool: Spool, replayer: Replayer) -> None:
        self.spool = spool
        self.replayer = replayer
        self._users = 0
        self._lock = threading.Lock()

    def stats(self) -> dict[str, Any]:
        """The spool's size and state (see :meth:`Spool.stats`), plus the replayer's."""
        stats = self.spool.stats()
        stats["replay_attempts"] = self.replayer.attempts
        stats["replay_failures"] = self.replayer.failures
        return stats

    def drain(self, timeout: float) -> bool:
        """Replay until the spool holds nothing for this process's destinations; False when
        ``timeout`` passed first (what is left stays on disk for later or the next start)."""
        try:
            return self.replayer.drain(max(0.0, timeout))
        except Exception:  # never raise into flush()/shutdown()
            return False

    def acquire(self) -> None:
        with self._lock:
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0:
                return
        self.replayer.stop(timeout=1.0)
        held = self.spool.stats()
        if held["batches"]:
            import logging

            logging.getLogger("infertel").warning(
                "infertel: %d batch(es), %d record(s) stay in the spool (%s) for the next start",
                held["batches"], held["records"], held["path"])
        self.spool.close()


class OtlpSink:
    def __init__(self, delivery: Delivery, outbox: Outbox | None) -> None:
        self.delivery = delivery
        self.outbox = outbox
        # With a spool a batch may reach the collector twice (a crash between sending and
        # forgetting it, or a timed-out request the collector did take): log records carry a
        # log.record.uid from their first attempt on, so readers can drop the copy. Spans
        # are identified by their span id already; metrics are cumulative.
        self._mark = outbox is not None and delivery.signal == "logs"
        if outbox is not None:
            outbox.acquire()
        self._closed = False

    def put(self, encoded: Encoded) -> bool:
        assert encoded.message is not None
        if self._mark:
            mark_log_records(encoded.message)
        return self.delivery.deliver(encoded.message.SerializeToString(), encoded.records)

    def flush(self, timeout: float) -> bool:
        if self.outbox is None:
            return True
        return self.outbox.replayer.drain(timeout, {self.delivery.key})

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.delivery.close()
        if self.outbox is not None:
            self.outbox.release()


class ConsoleSink:
    """One OTLP/JSON request per line on standard output (the file exporter's format)."""

    def __init__(self, signal: str, status: ExportStatus) -> None:
        self.signal = signal
        self.status = status
        self._lock = threading.Lock()

    def put(self, encoded: Encoded) -> bool:
        assert encoded.message is not None
        try:
            line = to_json(encoded.message)
            with self._lock:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
        except Exception as error:  # closed or broken stdout
            self.status[self.signal].failed(type(error).__name__)
            self.status.loss(self.signal, EXPORT_FAILED, encoded.records)
            return False
        self.status[self.signal].exported(encoded.records)
        return True

    def flush(self, timeout: float) -> bool:
        return True

    def close(self) -> None:
        return None


def _hand_over(signal: str, encoded: Encoded, sink: Sink, status: ExportStatus) -> bool:
    status.loss(signal, ENCODE_FAILED, encoded.failed)
    if encoded.message is None:
        return encoded.failed == 0
    try:
        delivered = sink.put(encoded)
    except Exception as error:  # a sink bug: count, never raise into the SDK
        status[signal].failed(type(error).__name__)
        status.loss(signal, EXPORT_FAILED, encoded.records)
        return False
    return delivered and encoded.failed == 0


class EncodingSpanExporter(SpanExporter):
    def __init__(self, sink: Sink, status: ExportStatus) -> None:
        self.sink = sink
        self.status = status

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = _hand_over("traces", encode_span_batch(spans), self.sink, self.status)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self.sink.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.sink.flush(timeout_millis / 1000)


class EncodingLogExporter(LogRecordExporter):
    def __init__(self, sink: Sink, status: ExportStatus) -> None:
        self.sink = sink
        self.status = status

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        ok = _hand_over("logs", encode_log_batch(batch), self.sink, self.status)
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        self.sink.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.sink.flush(timeout_millis / 1000)


class EncodingMetricExporter(MetricExporter):
    def __init__(self, sink: Sink, status: ExportStatus,
                 preferred: dict[type, AggregationTemporality] | None = None) -> None:
        super().__init__(preferred_temporality=preferred if preferred is not None
                         else temporality())
        self.sink = sink
        self.status = status

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: object) -> MetricExportResult:
        ok = _hand_over("metrics", encode_metric_batch(metrics_data), self.sink, self.status)
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.sink.flush(timeout_millis / 1000)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self.sink.close()


def temporality(honour_environment: bool = True) -> dict[type, AggregationTemporality]:
    """Cumulative, unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE asks for delta
    (as OpenTelemetry's exporters read it). Cumulative points replayed twice are harmless
    (same start, time and value); delta points replayed twice would count twice."""
    from opentelemetry.sdk.metrics import (
        Counter,
        Histogram,
        ObservableCounter,
        ObservableGauge,
        ObservableUpDownCounter,
        UpDownCounter,
    )

    cumulative, delta = AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA
    preference = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "")
    preference = preference.strip().lower() if honour_environment else "cumulative"
    temporalities: dict[type, AggregationTemporality] = dict.fromkeys(
        (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter,
         ObservableGauge), cumulative)
    if preference in ("delta", "lowmemory"):
        temporalities[Counter] = temporalities[Histogram] = delta
        if preference == "delta":
            temporalities[ObservableCounter] = delta
    return temporalities

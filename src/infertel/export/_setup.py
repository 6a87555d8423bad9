"""Build the span, log and metric exporters a configuration asks for, one choice per signal
(``otlp``, ``local``, ``console``, ``none``), sharing one spool when ``spool_dir`` is set."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.trace.export import SpanExporter

from infertel.config import SIGNALS, Settings
from infertel.export._spool import Spool
from infertel.export._status import SPOOL_EVICTED, ExportStatus, OnLoss

if TYPE_CHECKING:
    from infertel.export._exporters import Outbox, Sink


@dataclass(frozen=True)
class Exporters:
    spans: SpanExporter | None
    logs: LogRecordExporter | None
    metrics: MetricExporter | None
    # Per-signal delivery facts (exported, dropped by reason, last success) for health().
    status: ExportStatus = field(default_factory=lambda: ExportStatus({}))
    # The durable spool, when spool_dir is set and a signal goes over OTLP: ``stats()`` for
    # health(), ``drain(timeout)`` for flush()/shutdown().
    spool: Outbox | None = None
    # True when the exporters count their own losses (infertel's own exporters do); the
    # guard wrappers then count only what an exception lost.
    count_own_losses: bool = False


def build_exporters(settings: Settings, on_loss: OnLoss | None = None) -> Exporters:
    """Exporters for ``settings``; ``on_loss(reason, records)`` hears of every record lost."""
    from infertel.export._exporters import (
        EncodingLogExporter,
        EncodingMetricExporter,
        EncodingSpanExporter,
    )

    names = {signal: settings.signal_exporter(signal) for signal in SIGNALS}
    status = ExportStatus(dict(names), on_loss)
    sinks: dict[str, Sink] = {}
    otlp = [signal for signal in SIGNALS if names[signal] == "otlp"]
    spool = None
    if otlp:
        otlp_sinks, spool = _otlp_sinks(settings, otlp, status)
        sinks.update(otlp_sinks)
    for signal in SIGNALS:
        if names[signal] == "local":
            from infertel.export._local import LocalSink

            sinks[signal] = LocalSink(settings.local_dir, signal, settings.local_max_bytes,
                                      status)
        elif names[signal] == "console":
            from infertel.export._exporters import ConsoleSink

            sinks[signal] = ConsoleSink(signal, status)
    metrics = None
    if "metrics" in sinks:
        from infertel.export._exporters import temporality

        # The local store reader sums cumulative points; other sinks follow the environment.
        preferred = temporality(honour_environment=names["metrics"] != "local")
        metrics = EncodingMetricExporter(sinks["metrics"], status, preferred)
    return Exporters(
        EncodingSpanExporter(sinks["traces"], status) if "traces" in sinks else None,
        EncodingLogExporter(sinks["logs"], status) if "logs" in sinks else None,
        metrics, status=status, spool=spool, count_own_losses=True)


def _otlp_sinks(settings: Settings, signals: list[str],
                status: ExportStatus) -> tuple[dict[str, Sink], Outbox | None]:
    from infertel.export._delivery import Delivery, Replayer
    from infertel.export._exporters import OtlpSink, Outbox
    from infertel.export._transport import make_transport, resolve_destination

    outbox = None
    if settings.spool_dir is not None:
        spool = Spool(settings.spool_dir, settings.spool_max_bytes,
                      lambda signal, records: status.loss(signal, SPOOL_EVICTED, records))
        outbox = Outbox(spool, Replayer(spool, settings.export_timeout_s))
    sinks: dict[str, Sink] = {}
    for signal in signals:
        destination = resolve_destination(signal, settings.otlp_protocol,
                                          signal_url(settings, signal), dict(os.environ))
        delivery = Delivery(make_transport(destination), status, settings.export_timeout_s,
                            outbox.spool if outbox else None,
                            outbox.replayer if outbox else None)
        if outbox is not None:
            outbox.replayer.add(delivery)
        sinks[signal] = OtlpSink(delivery, outbox)
    if outbox is not None:
        outbox.replayer.start()  # replays what a previous run left behind
    return sinks, outbox


def signal_url(settings: Settings, signal: str) -> str:
    """The URL one signal is sent to: ``otlp_endpoint`` given in code is the collector's base
    URL (argument > environment); otherwise ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`` (used as
    it is), then ``OTEL_EXPORTER_OTLP_ENDPOINT`` (base URL), then localhost."""
    grpc = settings.otlp_protocol == "grpc"
    if not settings.otlp_endpoint_from_argument:
        own = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "").strip()
        if own:
            return own
    base = settings.otlp_endpoint or ("http://localhost:4317" if grpc
                                      else "http://localhost:4318")
    return base if grpc else f"{base.rstrip('/')}/v1/{signal}"

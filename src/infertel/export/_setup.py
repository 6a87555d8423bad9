"""Build the span, log and metric exporters a configuration asks for."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter, LogRecordExporter
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from infertel.config import Settings


@dataclass(frozen=True)
class Exporters:
    spans: SpanExporter | None
    logs: LogRecordExporter | None
    metrics: MetricExporter | None


def build_exporters(settings: Settings) -> Exporters:
    name = settings.exporter_name
    if name == "none":
        return Exporters(None, None, None)
    if name == "console":
        return Exporters(ConsoleSpanExporter(), ConsoleLogRecordExporter(), ConsoleMetricExporter())
    if name == "local":
        # Imported here: the OTLP-JSON encoders (protobuf's JSON mapping) are only needed
        # when the local store is in use.
        from infertel.export._local import (
            LocalLogExporter,
            LocalMetricExporter,
            LocalSpanExporter,
        )

        directory, size = settings.local_dir, settings.local_max_bytes
        return Exporters(
            LocalSpanExporter(directory, size),
            LocalLogExporter(directory, size),
            LocalMetricExporter(directory, size),
        )
    return _otlp(settings)


def _otlp(settings: Settings) -> Exporters:
    """OTLP exporters; unset options fall through to the standard OTEL_EXPORTER_OTLP_* vars."""
    timeout = settings.export_timeout_s
    endpoint = settings.otlp_endpoint
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return Exporters(
            OTLPSpanExporter(endpoint=endpoint, timeout=timeout),
            OTLPLogExporter(endpoint=endpoint, timeout=timeout),
            OTLPMetricExporter(endpoint=endpoint, timeout=timeout),
        )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    def signal_url(path: str) -> str | None:
        # An endpoint given in code is the collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
        # is; the HTTP exporters want the per-signal URL.
        return f"{endpoint.rstrip('/')}/{path}" if endpoint else None

    return Exporters(
        HttpSpanExporter(endpoint=signal_url("v1/traces"), timeout=timeout),
        HttpLogExporter(endpoint=signal_url("v1/logs"), timeout=timeout),
        HttpMetricExporter(endpoint=signal_url("v1/metrics"), timeout=timeout),
    )

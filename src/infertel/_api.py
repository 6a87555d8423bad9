"""The module-level entry points: configure(), get_logger(), shutdown()."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from infertel import _state
from infertel._provenance import ModelInfo
from infertel.config import ExporterName, OtlpProtocol, Ring, resolve_settings
from infertel.pipeline import _lifecycle
from infertel.pipeline._telemetry import Telemetry
from infertel.privacy._policy import PrivacyPolicy
from infertel.signals._structlog import make_structlog_logger


def configure(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    model: ModelInfo | None = None,
    privacy: PrivacyPolicy | None = None,
    exporter: ExporterName | None = None,
    local_dir: str | os.PathLike[str] | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: OtlpProtocol | None = None,
    export_timeout_s: float | None = None,
    queue_size: int | None = None,
    metric_interval_s: float | None = None,
    ring: Ring | None = None,
    enabled: bool | None = None,
    raise_internal_errors: bool | None = None,
) -> Telemetry:
    """Set up telemetry for this process and make it the default for ``@traced_inference``.

    Every argument is optional: an argument wins over its ``INFERTEL_*`` / ``OTEL_*``
    environment variable, which wins over the default. The exporter is ``otlp`` when
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the local store otherwise; passing ``local_dir``
    without ``exporter`` means the local store. Invalid settings raise
    ``pydantic.ValidationError`` (a ``ValueError``) here, never later during a call.
    """
    if exporter is None and local_dir is not None:
        exporter = "local"  # a store folder given in code is a request for the local store
    settings = resolve_settings(
        service_name=service_name,
        service_version=service_version,
        environment=environment,
        exporter=exporter,
        local_dir=Path(local_dir) if local_dir is not None else None,
        otlp_endpoint=otlp_endpoint,
        otlp_protocol=otlp_protocol,
        export_timeout_s=export_timeout_s,
        queue_size=queue_size,
        metric_interval_s=metric_interval_s,
        ring=ring,
        enabled=enabled,
        raise_internal_errors=raise_internal_errors,
    )
    if model is not None and not isinstance(model, ModelInfo):
        raise TypeError("model must be an infertel.ModelInfo")
    if privacy is not None and not isinstance(privacy, PrivacyPolicy):
        raise TypeError("privacy must be an infertel.PrivacyPolicy")
    telemetry = Telemetry(settings, model, privacy=privacy)
    _lifecycle.install(telemetry)
    return telemetry


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger whose events become OpenTelemetry log records.

    Each event carries the trace and span id current when it was logged, goes through the same
    background export path as the inference records, and never does I/O on the calling thread.
    It may be created before ``configure()``: events go to whichever Telemetry is the process
    default when they are logged (and are discarded while there is none).
    """
    return make_structlog_logger(_state.submit_log, name, **initial)


def shutdown(timeout: float = 5.0) -> bool:
    """Flush and stop the default Telemetry; returns within ``timeout`` seconds."""
    return _lifecycle.shutdown(timeout)

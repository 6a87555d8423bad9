"""The module-level entry points: configure(), get_logger(), shutdown()."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infertel import _state
from infertel._provenance import ModelInfo
from infertel.config import ExporterName, OtlpProtocol, Ring, check_settings, resolve_settings
from infertel.errors import ConfigurationTypeError
from infertel.pipeline import _lifecycle
from infertel.pipeline._telemetry import Telemetry
from infertel.privacy._policy import PrivacyPolicy
from infertel.signals._structlog import make_structlog_logger

if TYPE_CHECKING:
    from infertel.monitor import DriftConfig  # drift monitoring (issue 10)
    from infertel.rollout import RolloutGuard  # rollout (issue 11)


def configure(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    model: ModelInfo | None = None,
    privacy: PrivacyPolicy | None = None,
    exporter: ExporterName | None = None,
    traces_exporter: ExporterName | None = None,
    logs_exporter: ExporterName | None = None,
    metrics_exporter: ExporterName | None = None,
    local_dir: str | os.PathLike[str] | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: OtlpProtocol | None = None,
    export_timeout_s: float | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    spool_max_bytes: int | None = None,
    queue_size: int | None = None,
    metric_interval_s: float | None = None,
    ring: Ring | None = None,
    enabled: bool | None = None,
    raise_internal_errors: bool | None = None,
    drift: DriftConfig | None = None,
    rollout: RolloutGuard | None = None,
) -> Telemetry:
    """Set up telemetry for this process and make it the default for ``@traced_inference``.

    Every argument is optional: an argument wins over its ``INFERTEL_*`` / ``OTEL_*``
    environment variable, which wins over the default. The exporter is ``otlp`` when
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the local store otherwise; passing ``local_dir``
    without ``exporter`` means the local store. ``traces_exporter``, ``logs_exporter`` and
    ``metrics_exporter`` (``OTEL_{TRACES,LOGS,METRICS}_EXPORTER``) choose per signal, e.g.
    ``logs_exporter="none"`` for a traces-only backend. ``spool_dir`` keeps OTLP batches that
    could not be sent on disk (at most ``spool_max_bytes``) and replays them in order.
    ``drift`` (:class:`infertel.DriftConfig`) monitors declared input features against a
    training baseline: bin counts as ``ml.feature.distribution``, scores, drift events.
    ``rollout`` (:class:`infertel.RolloutGuard`) compares the candidate ring with the
    baseline ring on its pre-registered criteria, from the background worker: decisions as
    ``ml.rollout.decision`` events, ``infertel.rollout.active_version()`` flips on rollback.

    Invalid settings raise :class:`infertel.ConfigurationError` (a ``ValueError``) here, naming
    the argument or environment variable, never later during a call; an argument overriding a
    contradicting variable warns (:class:`infertel.errors.ConfigurationWarning`).
    """
    settings = resolve_settings(
        service_name=service_name,
        service_version=service_version,
        environment=environment,
        exporter=exporter,
        traces_exporter=traces_exporter,
        logs_exporter=logs_exporter,
        metrics_exporter=metrics_exporter,
        local_dir=_path(local_dir, "local_dir"),
        otlp_endpoint=otlp_endpoint,
        otlp_protocol=otlp_protocol,
        export_timeout_s=export_timeout_s,
        spool_dir=_path(spool_dir, "spool_dir"),
        spool_max_bytes=spool_max_bytes,
        queue_size=queue_size,
        metric_interval_s=metric_interval_s,
        ring=ring,
        enabled=enabled,
        raise_internal_errors=raise_internal_errors,
    )
    if model is not None and not isinstance(model, ModelInfo):
        raise ConfigurationTypeError("argument model=", "must be an infertel.ModelInfo")
    if privacy is not None and not isinstance(privacy, PrivacyPolicy):
        raise ConfigurationTypeError("argument privacy=", "must be an infertel.PrivacyPolicy")
    check_settings(settings)
    if drift is not None:  # drift monitoring (issue 10)
        from infertel.monitor import DriftConfig

        if not isinstance(drift, DriftConfig):
            raise ConfigurationTypeError("argument drift=", "must be an infertel.DriftConfig")
    if rollout is not None:  # rollout (issue 11)
        from infertel.rollout import RolloutGuard

        if not isinstance(rollout, RolloutGuard):
            raise ConfigurationTypeError("argument rollout=", "must be an infertel.RolloutGuard")
    telemetry = Telemetry(settings, model, privacy=privacy, drift=drift, rollout=rollout)
    _lifecycle.install(telemetry)
    return telemetry


def _path(value: str | os.PathLike[str] | None, name: str) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigurationTypeError(f"argument {name}=", "must be a str or os.PathLike folder")
    return Path(value)


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

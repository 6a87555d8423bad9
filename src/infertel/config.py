"""Configuration models and their resolution: argument > environment > default.

Environment variables are ``INFERTEL_*`` plus the standard ``OTEL_*`` ones where a standard one
exists (``OTEL_SERVICE_NAME``, ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_PROTOCOL``,
``OTEL_SDK_DISABLED``). Other ``OTEL_EXPORTER_OTLP_*`` settings (headers, TLS, timeouts) are read
by the OpenTelemetry exporters themselves, so they behave exactly as OpenTelemetry documents.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infertel._types import Action, ExporterName, OtlpProtocol, Ring

__all__ = ["DEFAULT_LOCAL_DIR", "Action", "ExporterName", "OtlpProtocol", "Ring", "Settings",
           "resolve_settings"]

DEFAULT_LOCAL_DIR = "infertel-data"


def _env(*names: str) -> Any:
    return Field(validation_alias=AliasChoices(*names))


class Settings(BaseSettings):
    """Resolved settings for one :class:`~infertel.Telemetry`."""

    model_config = SettingsConfigDict(
        env_prefix="INFERTEL_", case_sensitive=False, extra="forbid", populate_by_name=True
    )

    service_name: str = Field(
        "infertel-service",
        min_length=1,
        validation_alias=AliasChoices("service_name", "INFERTEL_SERVICE_NAME", "OTEL_SERVICE_NAME"),
    )
    service_version: str | None = None
    environment: str | None = None
    exporter: ExporterName | None = None
    local_dir: Path = Path(DEFAULT_LOCAL_DIR)
    # The local store starts a new file once the current one passes this size.
    local_max_bytes: int = Field(64 * 1024 * 1024, ge=4096)
    otlp_endpoint: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "otlp_endpoint", "INFERTEL_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
    )
    otlp_protocol: OtlpProtocol = Field(
        "http/protobuf",
        validation_alias=AliasChoices(
            "otlp_protocol", "INFERTEL_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"
        ),
    )
    # Seconds one export may take before it is abandoned (and its data counted as dropped).
    export_timeout_s: float = Field(5.0, gt=0, le=300)
    queue_size: int = Field(10_000, ge=1, le=10_000_000)
    metric_interval_s: float = Field(10.0, gt=0)
    # The ring of decorated functions that do not name one: lets one build move between
    # stable and canary by configuration.
    ring: Ring = "stable"
    enabled: bool = True
    sdk_disabled: bool = Field(
        False, validation_alias=AliasChoices("sdk_disabled", "OTEL_SDK_DISABLED")
    )
    # Off in production: SDK-internal errors are counted and swallowed. Tests turn it on.
    raise_internal_errors: bool = False

    @model_validator(mode="after")
    def _choose_exporter(self) -> Settings:
        if self.exporter is None:
            self.exporter = "otlp" if self.otlp_endpoint or _signal_endpoint_set() else "local"
        if self.sdk_disabled:
            self.enabled = False
        return self

    @property
    def exporter_name(self) -> ExporterName:
        assert self.exporter is not None  # set by the validator
        return self.exporter


def _signal_endpoint_set() -> bool:
    return any(
        os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
        for signal in ("TRACES", "LOGS", "METRICS")
    )


def resolve_settings(**arguments: Any) -> Settings:
    """Build settings from keyword arguments (None means "not given") over the environment."""
    given = {key: value for key, value in arguments.items() if value is not None}
    return Settings(**given)

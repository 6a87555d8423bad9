"""Shared fixtures: every test starts and ends with no process-default Telemetry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import infertel
from infertel import _state

_ENV_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_SERVICE_NAME",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
)


@pytest.fixture(autouse=True)
def _isolated_telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in __import__("os").environ if n.startswith("INFERTEL_")]:
        monkeypatch.delenv(name, raising=False)
    yield
    infertel.shutdown(timeout=5.0)
    _state.current = None


@pytest.fixture
def model() -> infertel.ModelInfo:
    return infertel.ModelInfo(name="fraud-detector", version="2.3.1", dataset_version="txn-2025-07")

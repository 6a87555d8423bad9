"""Settings resolution: argument > INFERTEL_*/OTEL_* environment > default."""

from __future__ import annotations

import pydantic
import pytest

import infertel
from infertel.config import resolve_settings


def test_defaults_choose_the_local_store() -> None:
    settings = resolve_settings()
    assert settings.exporter == "local"
    assert str(settings.local_dir) == "infertel-data"
    assert settings.enabled is True


def test_otlp_endpoint_in_the_environment_selects_otlp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    settings = resolve_settings()
    assert settings.exporter == "otlp"
    assert settings.otlp_endpoint == "http://collector:4318"


def test_signal_specific_endpoint_also_selects_otlp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces")
    assert resolve_settings().exporter == "otlp"


def test_argument_beats_environment_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-otel-env")
    assert resolve_settings().service_name == "from-otel-env"
    monkeypatch.setenv("INFERTEL_SERVICE_NAME", "from-infertel-env")
    assert resolve_settings().service_name == "from-infertel-env"
    assert resolve_settings(service_name="from-argument").service_name == "from-argument"
    monkeypatch.setenv("INFERTEL_EXPORTER", "none")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert resolve_settings().exporter == "none"
    assert resolve_settings(exporter="console").exporter == "console"


def test_otel_sdk_disabled_turns_telemetry_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert resolve_settings().enabled is False


@pytest.mark.parametrize(
    "arguments",
    [
        {"exporter": "kafka"},
        {"queue_size": 0},
        {"export_timeout_s": -1},
        {"otlp_protocol": "thrift"},
        {"service_name": ""},
    ],
)
def test_bad_values_fail_at_configure_with_a_clear_error(arguments: dict) -> None:
    with pytest.raises(pydantic.ValidationError) as raised:
        infertel.configure(**arguments)
    assert next(iter(arguments)) in str(raised.value)


def test_bad_environment_value_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERTEL_QUEUE_SIZE", "lots")
    with pytest.raises(pydantic.ValidationError, match="queue_size"):
        resolve_settings()


def test_model_must_be_model_info() -> None:
    with pytest.raises(TypeError, match="ModelInfo"):
        infertel.configure(exporter="none", model={"name": "m"})  # type: ignore[arg-type]


def test_local_dir_given_in_code_means_the_local_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    telemetry = infertel.configure(local_dir=tmp_path)
    assert telemetry.settings.exporter == "local"
    assert infertel.configure().settings.exporter == "otlp"

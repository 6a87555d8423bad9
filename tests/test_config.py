"""Settings resolution: argument > INFERTEL_*/OTEL_* environment > default; every problem is a
ConfigurationError at configure(), naming the argument or variable, never the value."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import infertel
from infertel.config import resolve_settings
from infertel.errors import ConfigurationError, ConfigurationTypeError, ConfigurationWarning


def test_defaults_choose_the_local_store() -> None:
    settings = resolve_settings()
    assert settings.exporter == "local"
    assert {settings.signal_exporter(s) for s in ("traces", "logs", "metrics")} == {"local"}
    assert str(settings.local_dir) == "infertel-data"
    assert settings.enabled is True
    assert settings.spool_dir is None


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
    # The argument wins, and each contradicted variable is reported.
    with pytest.warns(ConfigurationWarning) as reported:
        assert resolve_settings(exporter="console").exporter == "console"
    messages = " ".join(str(w.message) for w in reported)
    assert "INFERTEL_EXPORTER" in messages
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in messages


def test_per_signal_exporters_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://phoenix:6006")
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "NONE")  # deployment files shout
    settings = resolve_settings()
    assert settings.signal_exporter("traces") == "otlp"
    assert settings.signal_exporter("logs") == "none"
    assert settings.signal_exporter("metrics") == "none"


def test_per_signal_arguments_beat_the_general_one() -> None:
    settings = resolve_settings(exporter="local", logs_exporter="console", metrics_exporter="none")
    assert [settings.signal_exporter(s) for s in ("traces", "logs", "metrics")] == [
        "local", "console", "none"]


def test_general_argument_overrides_a_per_signal_variable_with_a_warning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    with pytest.warns(ConfigurationWarning, match="OTEL_LOGS_EXPORTER"):
        settings = resolve_settings(exporter="console")
    assert settings.signal_exporter("logs") == "console"


def test_agreeing_argument_and_variable_do_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_settings(traces_exporter="console").signal_exporter("traces") == "console"


def test_otel_sdk_disabled_turns_telemetry_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert resolve_settings().enabled is False


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"exporter": "kafka"}, "argument exporter="),
        ({"logs_exporter": "zipkin"}, "argument logs_exporter="),
        ({"queue_size": 0}, "argument queue_size="),
        ({"export_timeout_s": -1}, "argument export_timeout_s="),
        ({"otlp_protocol": "thrift"}, "argument otlp_protocol="),
        ({"service_name": ""}, "argument service_name="),
        ({"spool_max_bytes": 10}, "argument spool_max_bytes="),
        ({"exporter": "otlp", "otlp_endpoint": "garbage"}, "argument otlp_endpoint="),
        ({"exporter": "otlp", "otlp_endpoint": "ftp://collector:21"}, "argument otlp_endpoint="),
        ({"exporter": "otlp", "otlp_endpoint": "http://collector:99999"},
         "argument otlp_endpoint="),
    ],
)
def test_bad_values_fail_at_configure_naming_the_argument(arguments: dict, named: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        infertel.configure(**arguments)
    assert str(raised.value).startswith(named)
    assert isinstance(raised.value, ValueError)  # what pydantic's ValidationError was


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "garbage"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318/v1/traces"),
        ("INFERTEL_QUEUE_SIZE", "lots"),
        ("OTEL_TRACES_EXPORTER", "jaeger"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ],
)
def test_bad_environment_values_fail_at_configure_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        infertel.configure()
    assert raised.value.name == f"environment variable {variable}"
    assert variable in str(raised.value)


def test_secret_values_are_not_repeated_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "s3cr3t-t0ken@collector")
    with pytest.raises(ConfigurationError) as raised:
        infertel.configure()
    assert "s3cr3t" not in str(raised.value)
    # No chained pydantic/urllib error either (their text can quote the value).
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__


def test_exporter_none_leaves_an_unused_bad_endpoint_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "garbage")
    monkeypatch.setenv("INFERTEL_EXPORTER", "none")
    assert infertel.configure().settings.uses("otlp") is False


def test_wrong_types_are_configuration_errors_and_type_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationTypeError, match="argument model="):
        infertel.configure(exporter="none", model={"name": "m"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argument privacy="):
        infertel.configure(exporter="none", privacy="strict")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationTypeError, match="argument local_dir="):
        infertel.configure(local_dir=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationTypeError, match="argument service_name="):
        infertel.configure(exporter="none", service_name=7)  # type: ignore[arg-type]
    assert issubclass(ConfigurationTypeError, ConfigurationError)


def test_local_dir_that_is_a_file_fails_at_configure(tmp_path: Path) -> None:
    a_file = tmp_path / "store"
    a_file.write_text("not a folder")
    with pytest.raises(ConfigurationError, match=r"^local_dir: exists and is not a directory"):
        infertel.configure(local_dir=a_file)
    with pytest.raises(ConfigurationError, match=r"^local_dir: is not a writable directory"):
        infertel.configure(local_dir=a_file / "below")


def test_unwritable_local_dir_fails_at_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite runs as root, which ignores mode bits: /proc refuses everyone.
    monkeypatch.setenv("INFERTEL_LOCAL_DIR", "/proc/infertel-store")
    with pytest.raises(ConfigurationError, match=r"^local_dir: is not a writable directory"):
        infertel.configure()


def test_spool_dir_is_checked_when_otlp_is_used(tmp_path: Path) -> None:
    a_file = tmp_path / "spool"
    a_file.write_text("")
    with pytest.raises(ConfigurationError, match=r"^spool_dir"):
        infertel.configure(exporter="otlp", otlp_endpoint="http://127.0.0.1:9", spool_dir=a_file)
    with pytest.warns(ConfigurationWarning, match="spool_dir has no effect"):
        infertel.configure(exporter="none", spool_dir=tmp_path / "unused")


def test_local_dir_given_in_code_means_the_local_store(tmp_path: Path) -> None:
    telemetry = infertel.configure(local_dir=tmp_path)
    assert telemetry.settings.exporter == "local"


def test_local_dir_with_an_endpoint_in_the_environment_is_ambiguous(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    with pytest.raises(ConfigurationError) as raised:
        infertel.configure(local_dir=tmp_path)
    assert raised.value.name == "local_dir"
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in str(raised.value)
    # Naming the exporter resolves it either way (the unused endpoint is still reported).
    with pytest.warns(ConfigurationWarning, match="collector endpoint is not used"):
        telemetry = infertel.configure(local_dir=tmp_path, exporter="local")
    assert telemetry.settings.exporter == "local"
    assert infertel.configure(exporter="otlp").settings.exporter == "otlp"


def test_local_dir_unused_because_the_environment_names_an_exporter(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERTEL_EXPORTER", "none")
    with pytest.warns(ConfigurationWarning, match="local_dir has no effect"):
        telemetry = infertel.configure(local_dir=tmp_path)
    assert telemetry.settings.exporter == "none"


def test_endpoint_argument_against_a_different_variable_warns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector-a:4318")
    with pytest.warns(ConfigurationWarning, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        settings = resolve_settings(otlp_endpoint="http://collector-b:4318")
    assert settings.otlp_endpoint == "http://collector-b:4318"
    assert settings.otlp_endpoint_from_argument


def test_exporter_argument_that_ignores_an_endpoint_variable_warns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    with pytest.warns(ConfigurationWarning, match="collector endpoint is not used"):
        assert resolve_settings(exporter="none").uses("otlp") is False


def test_configuration_error_is_public() -> None:
    assert infertel.ConfigurationError is ConfigurationError
    assert "ConfigurationError" in infertel.__all__

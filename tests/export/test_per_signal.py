"""Per-signal exporters: a traces-only backend (405 for logs and metrics, as Arize Phoenix and
Jaeger answer) gets traces only, with no errors and no failure counts."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fake_otlp import FakeOtlp, fake_otlp

import infertel

pytestmark = pytest.mark.integration


@pytest.fixture
def traces_only() -> FakeOtlp:
    with fake_otlp() as endpoint:
        endpoint.behaviour.status.update(logs=405, metrics=405)
        yield endpoint


def _serve(n: int) -> list[str]:
    log = infertel.get_logger("per-signal")

    @infertel.traced_inference(name="per_signal_predict")
    def predict(x: int) -> int:
        log.info("inside", x=x)
        return x

    return [str(predict(i)) for i in range(n)]


@pytest.mark.parametrize("how", ["arguments", "environment"])
def test_traces_only_backend_gets_traces_only_and_nothing_fails(
        traces_only: FakeOtlp, how: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    if how == "arguments":
        telemetry = infertel.configure(exporter="otlp", otlp_endpoint=traces_only.url,
                                       logs_exporter="none", metrics_exporter="none",
                                       metric_interval_s=0.2, export_timeout_s=2.0)
    else:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", traces_only.url)
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
        telemetry = infertel.configure(metric_interval_s=0.2, export_timeout_s=2.0)
    _serve(20)
    assert telemetry.flush(timeout=10.0)
    assert infertel.shutdown(timeout=10.0)
    assert len(traces_only.span_ids()) == 20
    assert traces_only.hits["logs"] == []
    assert traces_only.hits["metrics"] == []
    assert telemetry.dropped() == {}
    status = telemetry.export_status.snapshot()
    assert status["traces"]["exported_records"] == 20
    assert status["traces"]["exporter"] == "otlp"
    assert status["logs"]["exporter"] == "none"
    assert status["metrics"]["exporter"] == "none"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_without_per_signal_choice_the_refusal_is_counted_and_said_once(
        traces_only: FakeOtlp, caplog: pytest.LogCaptureFixture) -> None:
    telemetry = infertel.configure(exporter="otlp", otlp_endpoint=traces_only.url,
                                   metric_interval_s=0.2, export_timeout_s=2.0)
    for _ in range(3):
        _serve(10)
        telemetry.flush(timeout=10.0)
    infertel.shutdown(timeout=10.0)
    assert len(traces_only.span_ids()) == 30
    status = telemetry.export_status.snapshot()
    assert status["logs"]["dropped"] == {"export_rejected": status["logs"]["dropped"].get(
        "export_rejected", 0)}
    assert status["logs"]["dropped"]["export_rejected"] >= 30
    assert status["logs"]["last_error"] == "http 405"
    assert telemetry.dropped()["export_rejected"] >= 30
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    # One line per signal and error, however many batches: not a log line per export.
    assert len(refusals) == 2
    assert all("OTEL_LOGS_EXPORTER=none" in m or "OTEL_METRICS_EXPORTER=none" in m
               for m in refusals)


def test_signals_can_go_to_different_places(
        traces_only: FakeOtlp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    telemetry = infertel.configure(exporter="otlp", otlp_endpoint=traces_only.url,
                                   logs_exporter="local", local_dir=tmp_path,
                                   metrics_exporter="console", metric_interval_s=60)
    _serve(5)
    assert telemetry.flush(timeout=10.0)
    assert infertel.shutdown(timeout=10.0)
    assert len(traces_only.span_ids()) == 5
    assert not (tmp_path / "traces").exists()
    lines = [json.loads(line) for f in (tmp_path / "logs").glob("*.jsonl")
             for line in f.read_text().splitlines()]
    bodies = [r["body"].get("stringValue") for doc in lines for rl in doc["resourceLogs"]
              for sl in rl["scopeLogs"] for r in sl["logRecords"] if "body" in r]
    assert bodies.count("inside") == 5
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith('{"resourceMetrics"')]
    names = {m["name"] for doc in printed for rm in doc["resourceMetrics"]
             for sm in rm["scopeMetrics"] for m in sm["metrics"]}
    assert "ml.inference.requests" in names

"""``infertel scan``: every exported string is looked at, markers are not findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import infertel
from infertel.cli import app
from infertel.privacy import PiiDetector
from infertel.tools._scan import document_strings, scan_store

EMAIL = "leaky.person@example.com"


def _kv(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


def collector_style_store(folder: Path) -> Path:
    """One file holding all three signals, nested, as a Collector file exporter may write."""
    nested = folder / "otel" / "2026"
    nested.mkdir(parents=True)
    traces = {"resourceSpans": [{"resource": {"attributes": [_kv("owner", EMAIL)]},
                                 "scopeSpans": [{"spans": [{
                                     "traceId": "ab" * 16, "spanId": "cd" * 8, "name": "predict",
                                     "attributes": [_kv("ml.inference.id", "4155552671415555")],
                                     "events": [{"name": "exception", "attributes": [
                                         _kv("exception.message", f"bad {EMAIL}")]}],
                                     "status": {"code": 2, "message": "card 4111 1111 1111 1111"},
                                 }]}]}]}
    logs = {"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": [{
        "body": {"kvlistValue": {"values": [{"key": "note", "value": {
            "stringValue": "<EMAIL_ADDRESS:k1:0a1b2c3d4e5f> called <PHONE_NUMBER>"}}]}},
        "attributes": [_kv("ml.input.ip", "203.0.113.42")]}]}]}]}
    metrics = {"resourceMetrics": [{"resource": {}, "scopeMetrics": [{"metrics": [{
        "name": "ml.inference.requests",
        "sum": {"dataPoints": [{"attributes": [_kv("ml.segment", EMAIL)], "asInt": "3"}]}}]}]}]}
    (nested / "all.json").write_text("\n".join(json.dumps(d) for d in (traces, logs, metrics)))
    return folder


def test_every_exit_location_is_scanned_and_markers_are_not_findings(tmp_path: Path) -> None:
    report = scan_store(collector_style_store(tmp_path), PiiDetector())
    found = {(k.signal, k.location, k.entity_type) for k in report.counts}
    assert found == {
        ("traces", "resource attribute owner", "EMAIL_ADDRESS"),
        ("traces", "span event exception attribute exception.message", "EMAIL_ADDRESS"),
        ("traces", "span status message", "CREDIT_CARD"),
        ("logs", "log attribute ml.input.ip", "IP_ADDRESS"),
        ("metrics", "metric ml.inference.requests attribute ml.segment", "EMAIL_ADDRESS"),
    }


def test_safe_keys_are_not_scanned_but_their_names_are() -> None:
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "name": "n", "attributes": [_kv("ml.inference.id", "x")]}]}]}]}
    locations = [loc for loc, _ in document_strings("traces", document)]
    assert "span attribute key" in locations
    assert "span attribute ml.inference.id" not in locations


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    leaky = runner.invoke(app, ["scan", str(collector_style_store(tmp_path / "a")),
                                "--detection", "patterns"], env={"COLUMNS": "200"})
    assert leaky.exit_code == 1
    assert EMAIL not in leaky.output
    assert "5 location(s)" in leaky.output
    missing = runner.invoke(app, ["scan", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    bad = runner.invoke(app, ["scan", str(tmp_path / "a"), "--detection", "magic"])
    assert bad.exit_code == 2


@pytest.mark.integration
def test_store_written_by_the_sdk_scans_clean(tmp_path: Path) -> None:
    infertel.configure(local_dir=tmp_path)

    @infertel.traced_inference(inputs={"text": "redact"}, segment=lambda text: text)
    def predict(text: str) -> None:
        raise ValueError(f"could not parse {text}")

    with pytest.raises(ValueError, match="could not parse"):
        predict(f"write to {EMAIL} or 4111 1111 1111 1111")
    assert infertel.shutdown(timeout=10)
    report = scan_store(tmp_path, PiiDetector())
    assert report.clean, report.rows()
    assert report.strings_scanned > 20


def test_safe_keys_inside_a_log_body_are_not_scanned() -> None:
    """The ml.deployment event carries digests in its body; they are ids, not text."""
    digest = "sha256:" + "4155552671" * 6
    document = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"kvlistValue": {
        "values": [{"key": "ml.model.artifact.digest", "value": {"stringValue": digest}},
                   {"key": "note", "value": {"stringValue": "free text"}}]}}}]}]}]}
    texts = [text for _, text in document_strings("logs", document)]
    assert digest not in texts
    assert "free text" in texts

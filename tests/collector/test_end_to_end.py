"""A decorated service -> OTLP (gRPC, HTTP) -> rotel with infertel's processors -> files that
``infertel query`` and ``infertel scan`` read unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from collector_helpers import Collector, dump, free_port, wait_for
from opentelemetry import trace
from typer.testing import CliRunner

import infertel
from infertel import conventions as c
from infertel.cli import app
from infertel.tools import _collector

pytestmark = pytest.mark.integration

WIDE = {"COLUMNS": "250"}


@dataclass
class Request:
    text: str
    amount: float
    user_email: str


def _current_trace_id() -> str:
    return format(trace.get_current_span().get_span_context().trace_id, "032x")


def _metric_points(documents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    points: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        for block in document["resourceMetrics"]:
            for scope in block.get("scopeMetrics", []):
                for metric in scope.get("metrics", []):
                    for kind in ("sum", "gauge", "histogram", "exponentialHistogram", "summary"):
                        for point in metric.get(kind, {}).get("dataPoints", []):
                            points.setdefault(metric["name"], []).append(point)
    return points


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_service_to_collector_query_and_scan(collector: Collector, protocol: str) -> None:
    telemetry = infertel.configure(
        service_name="e2e-service", exporter="otlp", otlp_endpoint=collector.endpoint(protocol),
        otlp_protocol=protocol, metric_interval_s=0.5, export_timeout_s=5.0,
        model=infertel.ModelInfo(name="fraud-detector", version="2.3.1"),
        raise_internal_errors=True,
    )
    log = infertel.get_logger("e2e")

    @infertel.traced_inference(name="predict", ring="canary", segment="gold",
                               inputs={"req.text": "redact", "req.amount": "keep",
                                       "req.user_email": "drop"},
                               outputs={"score": "keep"})
    def predict(req: Request) -> dict[str, Any]:
        seen.append(_current_trace_id())
        log.info("scoring", note=req.text, amount=req.amount)
        if req.amount < 0:
            raise ValueError("negative amount for bob@example.com")
        return {"score": 0.25}

    seen: list[str] = []
    for i, text in enumerate(["write to jane.doe@example.com", "card 4111 1111 1111 1111",
                              "call +1 415 555 0100"]):
        assert predict(Request(text, 10.0 + i, "jane.doe@example.com")) == {"score": 0.25}
    with pytest.raises(ValueError, match="negative amount"):
        predict(Request("oops bob@example.com", -1.0, "bob@example.com"))
    assert telemetry.flush(timeout=10.0)
    assert infertel.shutdown(timeout=10.0)
    assert telemetry.dropped() == {}

    wanted = set(seen)
    assert len(wanted) == 4
    wait_for(lambda: wanted <= collector.trace_ids(), what="the service's traces in the output")

    runner = CliRunner()
    for trace_id in wanted:
        shown = runner.invoke(app, ["query", str(collector.out), "--trace", trace_id, "--json"],
                              env=WIDE)
        assert shown.exit_code == 0, shown.output
        tree = json.loads(shown.stdout)
        [span] = tree["spans"]
        assert span["name"] == "predict"
        assert (span["ring"], span["segment"]) == ("canary", "gold")
        assert span["version"] == "2.3.1"
        # Correlated logs: the user's log line and the inference record, same trace.
        assert {r["trace_id"] for r in tree["logs"]} == {trace_id}
        assert len(tree["logs"]) == 2, dump(tree["logs"])
        assert "ml.input.req.user_email" not in span["attributes"]  # declared "drop"
    listed = runner.invoke(app, ["query", str(collector.out), "--status", "error", "--json"],
                           env=WIDE)
    assert listed.exit_code == 0, listed.output
    assert [row["error_type"] for row in json.loads(listed.stdout)] == ["ValueError"]

    # Metrics: the SDK's instruments arrive, with allowlisted attributes only.
    wait_for(lambda: "ml.inference.requests" in _metric_points(collector.documents("metrics")),
             what="the request counter")
    points = _metric_points(collector.documents("metrics"))
    assert {"ml.inference.requests", "ml.inference.duration"} <= set(points)
    for name, metric_points in points.items():
        for point in metric_points:
            keys = {attribute["key"] for attribute in point.get("attributes", [])}
            assert keys <= c.METRIC_ATTRIBUTE_ALLOWLIST, (name, keys)
    requests = points["ml.inference.requests"]
    assert any({"key": c.DEPLOYMENT_RING, "value": {"stringValue": "canary"}}
               in point["attributes"] for point in requests)

    scanned = runner.invoke(app, ["scan", str(collector.out), "--detection", "patterns"],
                            env=WIDE)
    assert scanned.exit_code == 0, scanned.output
    assert "clean" in scanned.output


SECRETS = {
    "email": "jane.doe@example.com",
    "card": "4111 1111 1111 1111",
    "phone": "+1 415 555 0100",
    "aws": "AKIAIOSFODNN7EXAMPLE",
}


def test_collector_scrubs_what_an_unredacted_sdk_sends(collector: Collector) -> None:
    """Second layer: with SDK redaction off, personal data reaches the collector, and the
    collector's scrubbing processor still leaves nothing for ``infertel scan`` to find."""
    telemetry = infertel.configure(
        service_name="leaky-service", exporter="otlp",
        otlp_endpoint=collector.endpoint("http/protobuf"), otlp_protocol="http/protobuf",
        metric_interval_s=0.5, privacy=infertel.PrivacyPolicy(redaction=False),
    )
    log = infertel.get_logger("leaky")

    @infertel.traced_inference(
        name="leaky_predict",
        segment=lambda req: req["customer"],  # a segment that is an e-mail address
        inputs={"req.note": "keep", "req.credentials": "keep", "req.phone": "keep"},
        outputs={"return": "keep"},
    )
    def leaky_predict(req: dict[str, Any]) -> str:
        seen.append(_current_trace_id())
        log.warning("customer contact", email=SECRETS["email"], phone=SECRETS["phone"],
                    details={"card": SECRETS["card"], "password": "hunter2"})
        if req.get("fail"):
            raise RuntimeError(f"card {SECRETS['card']} declined for {SECRETS['email']}")
        return f"notified {SECRETS['email']}"

    seen: list[str] = []
    request = {"customer": SECRETS["email"],
               "note": f"mail {SECRETS['email']}, card {SECRETS['card']}",
               "credentials": {"password": "hunter2", "aws_access_key_id": SECRETS["aws"]},
               "phone": SECRETS["phone"]}
    assert leaky_predict(request) == f"notified {SECRETS['email']}"
    with pytest.raises(RuntimeError):
        leaky_predict({**request, "fail": True})
    assert infertel.shutdown(timeout=10.0)
    assert telemetry.dropped() == {}

    wait_for(lambda: set(seen) <= collector.trace_ids(), what="the leaky service's traces")
    wait_for(lambda: bool(collector.documents("metrics")), what="metrics")
    raw = "\n".join(path.read_text() for path in collector.out.rglob("*.jsonl"))
    for name, value in SECRETS.items():
        assert value not in raw, f"{name} reached the collector's output"
    assert "hunter2" not in raw
    # The scrubber acted (markers) rather than the data simply not arriving.
    assert "<EMAIL_ADDRESS>" in raw
    assert "<CREDIT_CARD>" in raw
    assert "exception.message" in raw

    scanned = CliRunner().invoke(app, ["scan", str(collector.out), "--detection", "patterns"],
                                 env=WIDE)
    assert scanned.exit_code == 0, scanned.output


EMPLOYEE = "EMP-48213"
PHONE = "+1 415 555 0100"


def test_collector_scrubs_by_the_services_policy_file_and_scrubs_scopes(
        tmp_path: Path) -> None:
    """``infertel collector start --policy FILE``: the services' own recognizers apply in the
    collector too, and instrumentation scope names are scrubbed by real rotel."""
    from infertel.privacy._policy import PrivacyPolicy, RecognizerSpec
    from infertel.tools._policy_file import write_policy

    policy = PrivacyPolicy(custom_recognizers=(
        RecognizerSpec(entity_type="EMPLOYEE_ID", pattern=r"EMP-[0-9]{5}"),))
    policy_file = write_policy(policy, tmp_path / "policy.json")
    grpc_port = free_port()
    running = Collector(tmp_path / "collector", grpc_port, free_port(exclude=(grpc_port,)),
                        policy_file=policy_file)
    running.start()
    try:
        infertel.configure(service_name="policy-service", exporter="otlp",
                           otlp_endpoint=running.endpoint("http/protobuf"),
                           otlp_protocol="http/protobuf", metric_interval_s=0.5,
                           privacy=PrivacyPolicy(redaction=False))

        @infertel.traced_inference(name="approve", inputs={"note": "keep"})
        def approve(note: str) -> str:
            tracer = trace.get_tracer(f"audit lib for {PHONE}")
            with tracer.start_as_current_span("audit") as span:
                span.set_attribute("approver", note)
            return "ok"

        assert approve(f"approved by {EMPLOYEE}") == "ok"
        assert infertel.shutdown(timeout=10.0)
        wait_for(lambda: len(running.trace_ids()) >= 1, what="the traces")
        wait_for(lambda: "audit" in "\n".join(
            p.read_text() for p in running.out.rglob("*.jsonl")), what="the user span")
        raw = "\n".join(path.read_text() for path in running.out.rglob("*.jsonl"))
        assert EMPLOYEE not in raw
        assert "<EMPLOYEE_ID>" in raw
        assert PHONE not in raw
        assert "<PHONE_NUMBER>" in raw
        scanned = CliRunner().invoke(app, ["scan", str(running.out), "--policy",
                                           str(policy_file)], env=WIDE)
        assert scanned.exit_code == 0, scanned.output
    finally:
        running.stop()


def test_collector_start_rejects_a_bad_policy_file_before_starting(tmp_path: Path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps({"detection": "telepathy"}), encoding="utf-8")
    result = CliRunner().invoke(app, ["collector", "start", "--out", str(tmp_path / "out"),
                                      "--policy", str(bad), "--grpc-port", str(free_port()),
                                      "--http-port", str(free_port())], env=WIDE)
    assert result.exit_code == 1
    assert "not a valid privacy policy" in result.output
    assert _collector.status(tmp_path / "out") is None

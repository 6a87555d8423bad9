"""``infertel scan`` on real store folders written as OTLP/JSON lines: it finds what was
planted wherever it sits, never prints it, and exits 2 on what it cannot read."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from infertel.cli import app
from infertel.privacy._policy import PrivacyPolicy, RecognizerSpec
from infertel.tools._policy_file import write_policy
from infertel.tools._scan import Scanner, scan_store

EMAIL = "leaky.person@example.com"
OTHER_EMAIL = "second.leak@example.org"
CARD = 4111111111111111
PHONE = "+1 415 555 0100"
SSN = "536-22-8143"
URL_PASSWORD = "Sup3rS3cretPw"
URL = f"https://admin:{URL_PASSWORD}@db.example.com/orders"
NAME = "Jo"

PLANTED = (EMAIL, OTHER_EMAIL, str(CARD), PHONE, SSN, URL_PASSWORD, "EMP-48213")


def forms(value: str) -> set[str]:
    """A planted value as it could come out: raw, digits only, case-folded, JSON-escaped."""
    out = {value, value.casefold(), json.dumps(value)[1:-1]}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6:
        out.add(digits)
    return out


def assert_never_printed(*outputs: str, planted: Iterable[str] = PLANTED) -> None:
    for output in outputs:
        for value in planted:
            for form in forms(value):
                assert form not in output, f"{form!r} was printed"


def s(value: str) -> dict[str, Any]:
    return {"stringValue": value}


def kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def write_lines(store: Path, signal: str, lines: Iterable[str], name: str = "part-1") -> Path:
    folder = store / signal
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def traces(*spans: dict[str, Any], scope: dict[str, Any] | None = None,
           resource: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": resource or [kv("service.name", s("svc"))]},
        "scopeSpans": [{"scope": scope or {"name": "infertel", "version": "0.1.0"},
                        "spans": list(spans)}]}]})


def span(**fields: Any) -> dict[str, Any]:
    return {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "predict",
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000500000000",
            "kind": 1, "status": {"code": 0}, **fields}


def logs(*records: dict[str, Any]) -> str:
    return json.dumps({"resourceLogs": [{"resource": {}, "scopeLogs": [
        {"scope": {"name": "infertel"}, "logRecords": list(records)}]}]})


def metrics(*items: dict[str, Any]) -> str:
    return json.dumps({"resourceMetrics": [{"resource": {}, "scopeMetrics": [
        {"scope": {"name": "infertel"}, "metrics": list(items)}]}]})


def leaky_store(store: Path) -> Path:
    """Personal data planted in every field an export carries, one place per field."""
    write_lines(store, "traces", [
        traces(span(
            name="predict",
            traceState=f"vendor=abc,ssn={SSN}",
            attributes=[kv("ml.input.req.note", s(f"mail {EMAIL}")),
                        # infertel's own keys, values of the wrong shape: scanned, not trusted
                        kv("ml.inference.id", s(OTHER_EMAIL)),
                        kv("ml.batch.size", {"intValue": str(CARD)}),
                        kv("ml.input.req.card", {"intValue": str(CARD)})],
            events=[{"name": f"retry for {OTHER_EMAIL}", "timeUnixNano": "1700000000100000000",
                     "attributes": [kv("exception.message", s(f"no phone {PHONE}"))]}],
            links=[{"traceId": "ef" * 16, "spanId": "01" * 8, "traceState": f"x={SSN}",
                    "attributes": [kv("db.url", s(URL))]}],
            status={"code": 2, "message": f"card {CARD}"},
        ), scope={"name": f"lib for {PHONE}", "version": OTHER_EMAIL,
                  "attributes": [kv("owner", s(EMAIL))]},
           resource=[kv("service.name", s("svc")), kv("team.contact", s(EMAIL))]),
    ])
    write_lines(store, "logs", [logs({
        "timeUnixNano": "1700000000200000000", "severityText": "INFO",
        "eventName": f"event for {EMAIL}",
        "body": {"kvlistValue": {"values": [
            kv("inputs", {"kvlistValue": {"values": [
                kv("notes", {"arrayValue": {"values": [s("ok"), s("fine"), s("call"),
                                                       s(f"mail {EMAIL}")]}}),
                kv(EMAIL, s("a personal value used as a map key")),
                kv("first_name", s(NAME)),
            ]}}),
            kv("blob", {"bytesValue": base64.b64encode(f"to {EMAIL}".encode()).decode()}),
        ]}},
        "attributes": [kv("payload", s(json.dumps({"user": {"email": OTHER_EMAIL}})))],
    })])
    write_lines(store, "metrics", [metrics({
        "name": "orders", "description": f"orders phoned in on {PHONE}",
        "sum": {"dataPoints": [{"attributes": [kv("ml.segment", s(EMAIL))], "asInt": "3",
                                "timeUnixNano": "1700000000300000000"}],
                "aggregationTemporality": 2, "isMonotonic": True}})])
    return store


EXPECTED = {
    ("traces", "span tracestate", "US_SSN"),
    ("traces", "span attribute ml.input.req.note", "EMAIL_ADDRESS"),
    ("traces", "span attribute ml.inference.id", "EMAIL_ADDRESS"),
    ("traces", "span attribute ml.batch.size", "CREDIT_CARD"),
    ("traces", "span event [#0] attribute exception.message", "PHONE_NUMBER"),
    ("traces", "span event name", "EMAIL_ADDRESS"),
    ("traces", "span link tracestate", "US_SSN"),
    ("traces", "span link attribute db.url", "URL_CREDENTIALS"),
    ("traces", "span status message", "CREDIT_CARD"),
    ("traces", "scope name", "PHONE_NUMBER"),
    ("traces", "scope version", "EMAIL_ADDRESS"),
    ("traces", "scope attribute owner", "EMAIL_ADDRESS"),
    ("traces", "resource attribute team.contact", "EMAIL_ADDRESS"),
    ("logs", "log event name", "EMAIL_ADDRESS"),
    ("logs", "log body.inputs.notes[3]", "EMAIL_ADDRESS"),
    ("logs", "log body.inputs.[#1] key", "EMAIL_ADDRESS"),
    ("logs", "log body.inputs.first_name", "PERSON"),
    ("logs", "log body.blob (bytes)", "EMAIL_ADDRESS"),
    ("logs", "log attribute payload (json).user.email", "EMAIL_ADDRESS"),
    ("metrics", "metric description", "PHONE_NUMBER"),
    ("metrics", "metric orders attribute ml.segment", "EMAIL_ADDRESS"),
}


def test_every_field_of_every_signal_is_checked(tmp_path: Path) -> None:
    report = scan_store(leaky_store(tmp_path))
    found = {(k.signal, k.location, k.entity_type) for k in report.counts}
    assert found >= EXPECTED, sorted(EXPECTED - found)
    # A card held as an int under a key that says "card" is personal by the key's name.
    assert ("traces", "span attribute ml.input.req.card", "ACCOUNT_NUMBER") in found
    assert report.complete
    by_key = {k.location for k in report.counts if k.found_by == "key name"}
    assert "log body.inputs.first_name" in by_key


def test_locations_are_paths_that_quote_no_value(tmp_path: Path) -> None:
    report = scan_store(leaky_store(tmp_path))
    locations = "\n".join(row["location"] for row in report.rows())
    assert_never_printed(locations, planted=(*PLANTED, NAME + '"'))
    assert "[#1] key" in locations  # the e-mail used as a map key is shown by position


def test_cli_reports_leaks_without_printing_them(tmp_path: Path) -> None:
    store = leaky_store(tmp_path / "store")
    human = invoke("scan", str(store))
    assert human.exit_code == 1, human.output
    assert "span tracestate" in human.stdout
    assert "scope name" in human.stdout
    as_json = invoke("scan", str(store), "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["detection"] == "patterns"  # the runtime's default, PrivacyPolicy()
    assert report["complete"] is True
    assert report["scanned_at"].endswith("Z")
    assert {f["entity_type"] for f in report["findings"]} >= {
        "EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER", "US_SSN", "URL_CREDENTIALS", "PERSON"}
    assert_never_printed(human.stdout, human.stderr, as_json.stdout, as_json.stderr)


def test_shaped_infertel_keys_pass_and_misshapen_ones_are_scanned(tmp_path: Path) -> None:
    write_lines(tmp_path, "traces", [traces(span(attributes=[
        kv("ml.inference.id", s("00f067aa0ba902b7")),
        kv("ml.model.artifact.digest", s("sha256:" + "4155552671" * 6 + "abcd")),
        kv("ml.batch.size", {"intValue": "32"}),
        kv("ml.deployment.ring", s("canary")),
    ]))])
    assert scan_store(tmp_path).clean
    write_lines(tmp_path, "traces", [traces(span(attributes=[
        kv("ml.deployment.ring", s(f"canary {PHONE}")),
        kv("ml.model.artifact.digest", s(f"sha256:{EMAIL}")),
    ]))], name="part-2")
    found = {(k.location, k.entity_type) for k in scan_store(tmp_path).counts}
    assert found == {("span attribute ml.deployment.ring", "PHONE_NUMBER"),
                     ("span attribute ml.model.artifact.digest", "EMAIL_ADDRESS")}


def test_our_markers_are_not_findings_but_marker_shaped_text_is_scanned(tmp_path: Path) -> None:
    write_lines(tmp_path, "logs", [logs({"body": {"kvlistValue": {"values": [
        kv("note", s("<EMAIL_ADDRESS:k1:415555267100> called <PHONE_NUMBER>")),
        kv("first_name", s("<PERSON>")),
        kv("password", s("<SECRET>")),
        kv("ref", s(f"<REF:{CARD}>")),
    ]}}})])
    found = {(k.location, k.entity_type) for k in scan_store(tmp_path).counts}
    assert found == {("log body.ref", "CREDIT_CARD")}


@pytest.mark.parametrize("broken", [
    f'{{"resourceLogs": [{{"body": "{EMAIL}"\n',           # not JSON
    json.dumps({"note": f"mail {EMAIL}"}) + "\n",            # JSON, not an OTLP request
])
def test_a_corrupt_line_holding_personal_data_is_exit_2_and_listed(
        tmp_path: Path, broken: str) -> None:
    path = write_lines(tmp_path, "logs", [logs({"body": s("fine")})])
    with path.open("a", encoding="utf-8") as handle:
        handle.write(broken)
        handle.write(logs({"body": s("also fine")}) + "\n")
    human = invoke("scan", str(tmp_path))
    assert human.exit_code == 2, human.output
    assert f"{path}:2" in human.stderr
    assert "clean:" not in human.stdout
    as_json = invoke("scan", str(tmp_path), "--json")
    assert as_json.exit_code == 2
    report = json.loads(as_json.stdout)
    assert report["complete"] is False
    assert report["unreadable"] == [{"file": str(path), "line": 2,
                                     "reason": report["unreadable"][0]["reason"]}]
    assert report["unreadable"][0]["reason"] in ("not JSON", "not an OTLP export request")
    assert_never_printed(human.stdout, human.stderr, as_json.stdout, as_json.stderr)


def test_a_cut_off_last_line_is_unreadable_too(tmp_path: Path) -> None:
    path = write_lines(tmp_path, "logs", [logs({"body": s("fine")})])
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f'{{"resourceLogs": [{{"scopeLogs": [{{"logRecords": [{{"body": "{EMAIL}')
    result = invoke("scan", str(tmp_path), "--json")
    assert result.exit_code == 2
    [item] = json.loads(result.stdout)["unreadable"]
    assert (item["line"], item["reason"]) == (2, "last line cut off (no newline)")
    assert_never_printed(result.stdout, result.stderr)


def test_a_store_with_nothing_readable_is_exit_2(tmp_path: Path) -> None:
    write_lines(tmp_path, "logs", [f'{{"oops": "{EMAIL}"', "not json"])
    result = invoke("scan", str(tmp_path), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["unreadable_count"] == 2
    assert_never_printed(result.stdout, result.stderr)


def test_usage_errors_are_exit_2(tmp_path: Path) -> None:
    assert invoke("scan", str(tmp_path / "nope")).exit_code == 2
    leaky_store(tmp_path / "a")
    assert invoke("scan", str(tmp_path / "a"), "--detection", "magic").exit_code == 2
    bad_policy = tmp_path / "policy.json"
    bad_policy.write_text(json.dumps({"detection": "telepathy", "entities": [EMAIL]}))
    result = invoke("scan", str(tmp_path / "a"), "--policy", str(bad_policy))
    assert result.exit_code == 2
    assert "detection" in result.stderr
    assert_never_printed(result.stdout, result.stderr)


def test_policy_file_brings_the_services_recognizers(tmp_path: Path) -> None:
    write_lines(tmp_path / "store", "logs", [logs({"body": s("approved by EMP-48213")})])
    assert invoke("scan", str(tmp_path / "store")).exit_code == 0  # the defaults know no EMP
    policy = PrivacyPolicy(custom_recognizers=(
        RecognizerSpec(entity_type="EMPLOYEE_ID", pattern=r"EMP-[0-9]{5}"),),
        hmac_key="a-secret-key-that-must-not-be-written")
    path = write_policy(policy, tmp_path / "policy.json")
    assert "a-secret-key" not in path.read_text()
    result = invoke("scan", str(tmp_path / "store"), "--policy", str(path), "--json")
    assert result.exit_code == 1, result.output
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["location"], finding["entity_type"]) == ("log body", "EMPLOYEE_ID")
    assert_never_printed(result.stdout, result.stderr)


def test_default_detection_is_the_runtimes_default() -> None:
    assert Scanner().policy.detection == PrivacyPolicy().detection == "patterns"


def test_ner_is_not_run_on_lists_of_floats(tmp_path: Path) -> None:
    """Feature vectors (numbers in arrays or in a JSON string) cannot hold a name; NER read
    some of them as LOCATION."""
    pytest.importorskip("spacy")
    features = [17.99, 10.38, 122.8, 1001.0, 0.1184, 0.2776, 79.12, 0.004312, 16.08]
    write_lines(tmp_path, "logs", [logs({
        "body": {"kvlistValue": {"values": [
            kv("features", {"arrayValue": {"values": [{"doubleValue": f} for f in features]}}),
            kv("as_text", s(json.dumps(features))),
            kv("note", s("Jane Doe moved to Paris")),
        ]}}})])
    try:
        scanner = Scanner(PrivacyPolicy(detection="ner"))
        scanner.warm_up()
    except (ImportError, OSError):
        pytest.skip("spaCy's English model is not installed")
    found = {(k.location, k.entity_type) for k in scan_store(tmp_path, scanner).counts}
    assert found == {("log body.note", "PERSON"), ("log body.note", "LOCATION")}


@pytest.mark.integration
def test_a_store_written_by_the_sdk_scans_clean(tmp_path: Path) -> None:
    import infertel

    infertel.configure(local_dir=tmp_path)

    @infertel.traced_inference(inputs={"text": "redact"}, segment=lambda text: text)
    def predict(text: str) -> None:
        raise ValueError(f"could not parse {text}")

    try:
        with pytest.raises(ValueError, match="could not parse"):
            predict(f"write to {EMAIL} or {CARD}")
    finally:
        assert infertel.shutdown(timeout=10)
    report = scan_store(tmp_path)
    assert report.clean, report.rows()
    assert report.complete
    assert report.strings_scanned > 20


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})

"""infertel's rotel processors without rotel: its ``rotel_sdk`` objects are faked.

The integration tests run the processors inside real rotel; these pin down what is hard to
provoke there: failing closed when scrubbing raises, never letting an exception reach rotel
(which panics on one), and the OTLP/JSON the file sink writes being what the store reader reads.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infertel import conventions as c
from infertel.privacy._scrubber import REDACTION_FAILED
from infertel.tools import _rotel, _rotel_values
from infertel.tools._store import log_rows, span_rows

TRACE_ID = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
SPAN_ID = bytes.fromhex("00f067aa0ba902b7")


class AnyValue:
    def __init__(self, value: Any = None) -> None:
        self.value = "" if value is None else value  # as rotel reads None back


class KeyValue:
    def __init__(self, key: str, value: AnyValue) -> None:
        self.key = key
        self.value = value


class KeyValueList(list):
    pass


class ArrayValue(list):
    pass


@pytest.fixture(autouse=True)
def fake_rotel_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    common = types.ModuleType("rotel_sdk.open_telemetry.common.v1")
    for cls in (AnyValue, KeyValue, KeyValueList, ArrayValue):
        setattr(common, cls.__name__, cls)
    for name in ("rotel_sdk", "rotel_sdk.open_telemetry", "rotel_sdk.open_telemetry.common"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "rotel_sdk.open_telemetry.common.v1", common)


def _kv(key: str, value: Any) -> KeyValue:
    return KeyValue(key, AnyValue(value))


def _resource_spans() -> SimpleNamespace:
    event = SimpleNamespace(name="exception", time_unix_nano=2_000, dropped_attributes_count=0,
                            attributes=[_kv(c.EXCEPTION_MESSAGE, "no card for jane@example.com"),
                                        _kv(c.EXCEPTION_TYPE, "ValueError")])
    span = SimpleNamespace(
        trace_id=TRACE_ID, span_id=SPAN_ID, parent_span_id=b"", trace_state="", flags=256,
        name="predict", kind=1, start_time_unix_nano=1_000_000, end_time_unix_nano=3_000_000,
        attributes=[_kv(c.INFERENCE_ID, "00f067aa0ba902b7"), _kv(c.BATCH_SIZE, 3),
                    _kv("ml.input.req.note", "mail jane@example.com"),
                    _kv("ml.input.req.secret", KeyValueList([_kv("password", "hunter2")]))],
        dropped_attributes_count=0, events=[event], dropped_events_count=0, links=[],
        dropped_links_count=0,
        status=SimpleNamespace(code=2, message="ValueError: no card for jane@example.com"))
    return SimpleNamespace(
        resource=SimpleNamespace(attributes=[_kv(c.SERVICE_NAME, "svc")],
                                 dropped_attributes_count=0),
        scope_spans=[SimpleNamespace(scope=SimpleNamespace(name="infertel", version="0.1",
                                                           attributes=[]),
                                     spans=[span], schema_url="")],
        schema_url="")


def _resource_logs() -> SimpleNamespace:
    record = SimpleNamespace(
        time_unix_nano=5_000, observed_time_unix_nano=6_000, severity_number=9,
        severity_text="INFO", body=AnyValue(KeyValueList([_kv("event", "call +1 415 555 0100")])),
        attributes=[_kv("email", "jane@example.com"), _kv(c.INFERENCE_OUTCOME, "success")],
        dropped_attributes_count=0, flags=1, trace_id=TRACE_ID, span_id=SPAN_ID,
        event_name="inference")
    return SimpleNamespace(resource=None, schema_url="",
                           scope_logs=[SimpleNamespace(scope=None, log_records=[record],
                                                       schema_url="")])


def test_scrubs_spans_and_encodes_what_the_store_reads() -> None:
    batch = _resource_spans()
    _rotel.RotelScrubber().spans(batch)
    [row] = span_rows(_rotel.resource_spans_to_json(batch))
    assert row["trace_id"] == TRACE_ID.hex()
    assert row["span_id"] == SPAN_ID.hex()
    assert row["parent_span_id"] is None
    assert row["status"] == "error"
    assert row["duration_ms"] == 2.0
    assert row["service"] == "svc"
    assert row["attributes"]["ml.input.req.note"] == "mail <EMAIL_ADDRESS>"
    # Under a secret-named key: replaced, whole or field by field as the runtime decides.
    assert "hunter2" not in json.dumps(row["attributes"])
    assert row["attributes"][c.BATCH_SIZE] == 3
    assert row["status_message"] == "ValueError: no card for <EMAIL_ADDRESS>"
    [event] = row["events"]
    assert event["attributes"][c.EXCEPTION_MESSAGE] == "no card for <EMAIL_ADDRESS>"


def test_scrubs_logs_and_encodes_what_the_store_reads() -> None:
    batch = _resource_logs()
    _rotel.RotelScrubber().logs(batch)
    [row] = log_rows(_rotel.resource_logs_to_json(batch))
    assert row["trace_id"] == TRACE_ID.hex()
    assert row["body"] == {"event": "call <PHONE_NUMBER>"}
    assert row["attributes"] == {"email": "<EMAIL_ADDRESS>", c.INFERENCE_OUTCOME: "success"}
    assert row["event_name"] == "inference"
    assert row["severity"] == "INFO"


def test_a_span_whose_scrubbing_fails_leaves_with_markers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    scrubber = _rotel.RotelScrubber()

    def broken(*args: object) -> str:
        raise RuntimeError("detector broke")

    monkeypatch.setattr(scrubber.scrubber, "text", broken)
    batch = _resource_spans()
    scrubber.spans(batch)
    [span] = batch.scope_spans[0].spans
    assert span.name == REDACTION_FAILED
    assert span.events == []
    assert span.status.message == REDACTION_FAILED
    kept = _rotel_values.attributes_to_dict(span.attributes)
    assert kept == {c.INFERENCE_ID: "00f067aa0ba902b7", c.BATCH_SIZE: 3,
                    c.REDACTION_FAILED: True}
    # The scope, the span, and the resource (service.name): each fails closed on its own.
    assert scrubber.scrubber.failures() == 3
    assert batch.scope_spans[0].scope.name == REDACTION_FAILED
    assert _rotel_values.attributes_to_dict(batch.resource.attributes) == {c.REDACTION_FAILED: True}


def test_nothing_escapes_into_rotel() -> None:
    scrubber = _rotel.RotelScrubber()
    before = _rotel.failures().get("test.spans", 0)

    def explode(batch: Any) -> None:
        raise RuntimeError("unexpected rotel object")

    guarded = _rotel._never_raise("test.spans", explode, scrubber.drop_spans)
    batch = _resource_spans()
    guarded(batch)  # must not raise: rotel 0.0.1a15 panics and exits on an exception
    assert batch.scope_spans[0].spans == []  # last resort: the batch does not leave
    assert _rotel.failures()["test.spans"] == before + 1


def test_metric_points_keep_only_allowlisted_attributes() -> None:
    point = SimpleNamespace(
        attributes=[_kv(c.DEPLOYMENT_RING, "canary"), _kv(c.SEGMENT, "jane@example.com"),
                    _kv("ml.input.req.note", "free text"), _kv(c.INFERENCE_ID, "abc")],
        start_time_unix_nano=1, time_unix_nano=2, flags=0, exemplars=[],
        value=None)

    class MetricDataSum:  # rotel's complex enum: data[0] is the Sum
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getitem__(self, index: int) -> Any:
            return self.inner

    MetricDataSum.__name__ = "MetricData_Sum"
    metric = SimpleNamespace(name="ml.inference.requests", description="", unit="", metadata=[],
                             data=MetricDataSum(SimpleNamespace(data_points=[point],
                                                                aggregation_temporality=2,
                                                                is_monotonic=True)))
    batch = SimpleNamespace(resource=None, schema_url="", scope_metrics=[
        SimpleNamespace(scope=None, metrics=[metric], schema_url="")])
    _rotel.RotelScrubber().metrics(batch)
    assert _rotel_values.attributes_to_dict(point.attributes) == {
        c.DEPLOYMENT_RING: "canary", c.SEGMENT: "<EMAIL_ADDRESS>"}


def test_drift_metric_attributes_survive_the_collector_layer() -> None:
    """Fleet drift through a collector needs the feature name and bin on every point."""
    point = SimpleNamespace(
        attributes=[_kv(c.FEATURE_NAME, "req.amount"), _kv(c.FEATURE_BIN, "__other__"),
                    _kv(c.DRIFT_METRIC, "psi"), _kv("ml.input.req.note", "free text")],
        start_time_unix_nano=1, time_unix_nano=2, flags=0, exemplars=[], value=None)

    class MetricDataSum:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getitem__(self, index: int) -> Any:
            return self.inner

    MetricDataSum.__name__ = "MetricData_Sum"
    metric = SimpleNamespace(name=c.METRIC_FEATURE_CATEGORIES, description="", unit="",
                             metadata=[], data=MetricDataSum(SimpleNamespace(
                                 data_points=[point], aggregation_temporality=2,
                                 is_monotonic=True)))
    batch = SimpleNamespace(resource=None, schema_url="", scope_metrics=[
        SimpleNamespace(scope=None, metrics=[metric], schema_url="")])
    _rotel.RotelScrubber().metrics(batch)
    assert _rotel_values.attributes_to_dict(point.attributes) == {
        c.FEATURE_NAME: "req.amount", c.FEATURE_BIN: "__other__", c.DRIFT_METRIC: "psi"}


SSN = "536-22-8143"
PHONE = "+1 415 555 0100"


def test_scope_tracestate_and_links_are_scrubbed() -> None:
    batch = _resource_spans()
    scope = batch.scope_spans[0].scope
    scope.name, scope.version = f"lib for {PHONE}", "jane@example.com"
    scope.attributes = [_kv("owner", "jane@example.com")]
    [span] = batch.scope_spans[0].spans
    span.trace_state = f"vendor=abc123,ssn={SSN}"
    span.links = [SimpleNamespace(trace_id=TRACE_ID, span_id=SPAN_ID, flags=0,
                                  trace_state=f"x={SSN}", dropped_attributes_count=0,
                                  attributes=[_kv("why", "jane@example.com")])]
    _rotel.RotelScrubber().spans(batch)
    encoded = json.dumps(_rotel.resource_spans_to_json(batch))
    for planted in (PHONE, "jane@example.com", SSN, SSN.replace("-", "")):
        assert planted not in encoded
    assert span.trace_state == "vendor=abc123"  # the clean entry survives
    assert scope.name == "lib for <PHONE_NUMBER>"


def test_metric_name_and_description_are_scrubbed() -> None:
    metric = SimpleNamespace(name="requests.jane@example.com", description=f"call {PHONE}",
                             unit="", metadata=[], data=None)
    batch = SimpleNamespace(resource=None, schema_url="", scope_metrics=[
        SimpleNamespace(scope=None, metrics=[metric], schema_url="")])
    _rotel.RotelScrubber().metrics(batch)
    assert "jane@example.com" not in metric.name
    assert PHONE not in metric.description


def test_the_collector_scrubs_with_the_services_policy_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recognizer the service declared (employee ids) is applied by the collector too."""
    from infertel.privacy._policy import PrivacyPolicy, RecognizerSpec
    from infertel.tools._policy_file import write_policy
    from infertel.tools._rotel_scrub import ENV_POLICY

    policy = PrivacyPolicy(custom_recognizers=(
        RecognizerSpec(entity_type="EMPLOYEE_ID", pattern=r"EMP-[0-9]{5}"),))
    monkeypatch.setenv(ENV_POLICY, str(write_policy(policy, tmp_path / "policy.json")))
    batch = _resource_logs()
    batch.scope_logs[0].log_records[0].attributes = [_kv("who", "approved by EMP-12345")]
    _rotel.RotelScrubber().logs(batch)
    [row] = log_rows(_rotel.resource_logs_to_json(batch))
    assert row["attributes"] == {"who": "approved by <EMPLOYEE_ID>"}
    monkeypatch.delenv(ENV_POLICY)
    default = _resource_logs()
    default.scope_logs[0].log_records[0].attributes = [_kv("who", "approved by EMP-12345")]
    _rotel.RotelScrubber().logs(default)
    assert "EMP-12345" in json.dumps(_rotel.resource_logs_to_json(default))  # defaults differ

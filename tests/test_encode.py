"""The direct encoders (signals._encode_pb, _encode_json) against OpenTelemetry's encoder on
the SDK objects the builders make from the same calls: the requests must parse to the same
message (protobuf) and the same document (OTLP/JSON as the local store writes it)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

import infertel
from infertel import conventions as c
from infertel._record import InferenceRecord, LogEvent, ScrubbedCall
from infertel.export._otlp_json import to_json
from infertel.export._raw import _uid_attribute
from infertel.pipeline._telemetry import Telemetry
from infertel.privacy._policy import PrivacyPolicy
from infertel.signals._encode_json import JsonRequests
from infertel.signals._encode_pb import ProtobufRequests
from infertel.signals._encode_wire import Unencodable, any_value, varint
from infertel.testing import capture_telemetry


@contextlib.contextmanager
def _pipeline(**kwargs: Any) -> Iterator[tuple[Telemetry, list[Any]]]:
    """A real pipeline whose worker hands its batches to the test instead of processing."""
    with capture_telemetry(model=infertel.ModelInfo(name="fraud-detector", version="2.3.1"),
                           **kwargs) as captured:
        telemetry = captured.telemetry
        items: list[Any] = []
        telemetry.worker._handle = items.extend  # type: ignore[assignment]
        yield telemetry, items
        telemetry.worker.flush(10)


def _calls(telemetry: Telemetry, items: list[Any]) -> list[ScrubbedCall]:
    telemetry.worker.flush(10)
    return [telemetry.boundary.scrub_call(i) for i in items if isinstance(i, InferenceRecord)]


def _encoders(telemetry: Telemetry) -> tuple[ProtobufRequests, JsonRequests]:
    scope = telemetry._processor.spans._scope  # the scope the SDK builders use
    return ProtobufRequests(telemetry.resource, scope), JsonRequests(telemetry.resource, scope)


EXTRAS: list[Any] = [
    None, True, 0, -7, 2**62, -(2**63), 3.5, float("nan"), float("inf"), -0.0, "",
    "é ü 😀", "a\nb\"c", [], {}, [1, 2.5, "x", None, True, [False]],
    {"a": {"b": [1, {"c": None}]}, "": 3}, ("t", 1),
]


def _shapes(telemetry: Telemetry) -> None:
    """Calls of every shape the encoders must reproduce."""

    @infertel.traced_inference(ring="canary", segment=lambda r: r["tier"],
                               inputs={"req.text": "redact", "req.extra": "keep",
                                       "req.amount": "keep"},
                               outputs={"score": "keep", "extra": "keep"})
    def predict(req: dict[str, Any]) -> dict[str, Any]:
        if req.get("fail") == "plain":
            raise ValueError(f"declined for {req['text']}")
        if req.get("fail") == "chained":
            try:
                raise KeyError(req["text"])
            except KeyError as error:
                raise RuntimeError("lookup failed") from error
        return {"score": 0.5 + req["amount"], "extra": req.get("extra")}

    @infertel.traced_inference(batch="rows")
    def batch_predict(rows: list[int]) -> list[float]:
        return [r / 10 for r in rows]

    @infertel.traced_inference
    def stream(n: int) -> Iterator[int]:
        yield from range(n)

    text = "call bob@example.com or +1 415 555 0100"
    for i, extra in enumerate(EXTRAS):
        with contextlib.suppress(Exception):
            predict({"text": text, "amount": float(i), "tier": ("free", "pro")[i % 2],
                     "extra": extra, "fail": (None, "plain", "chained")[i % 3]})
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("request"):  # a parent span: parent_span_id set
        predict({"text": text, "amount": 1.0, "tier": "gold"})
    unsampled = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(0),
                            trace_state=TraceState([("vendor", "v1"), ("other", "x")]))
    with trace.use_span(NonRecordingSpan(unsampled)):  # not sampled, inherited tracestate
        predict({"text": text, "amount": 2.0, "tier": "gold"})
    batch_predict([1, 2, 3])
    list(stream(3))


def test_spans_and_logs_parse_to_what_the_otel_encoder_builds() -> None:
    with _pipeline() as (telemetry, items):
        _shapes(telemetry)
        calls = _calls(telemetry, items)
        pb, js = _encoders(telemetry)
        builder, logs = telemetry._processor.spans, telemetry._processor.logs
        checked = unencodable = 0
        kinds: set[str] = set()
        for call in calls:
            try:
                span_bytes, log_bytes = pb.call(call, True)
                span_doc, log_doc = js.call(call, True)
            except Unencodable:
                unencodable += 1
                continue
            assert span_bytes is not None
            assert span_doc is not None
            span, log = builder.build(call), logs.inference(call)
            want_spans, want_logs = encode_spans([span]), encode_logs([log])
            assert ExportTraceServiceRequest.FromString(
                pb.request("traces", [span_bytes])) == want_spans
            assert ExportLogsServiceRequest.FromString(
                pb.request("logs", [log_bytes])) == want_logs
            assert json.loads(js.request("traces", [span_doc])) == json.loads(to_json(want_spans))
            assert json.loads(js.request("logs", [log_doc])) == json.loads(to_json(want_logs))
            checked += 1
            kinds.add("error" if call.exception else "ok")
            kinds.add("parent" if call.parent_span_id else "root")
            kinds.add("sampled" if call.sampled else "unsampled")
            kinds.add("state" if call.trace_state else "no-state")
        assert unencodable == 0
        assert checked == len(calls) == len(EXTRAS) + 4
        assert kinds == {"error", "ok", "parent", "root", "sampled", "unsampled", "state",
                         "no-state"}


def test_a_batch_request_holds_every_record_in_order() -> None:
    with _pipeline() as (telemetry, items):
        _shapes(telemetry)
        calls = _calls(telemetry, items)
        pb, js = _encoders(telemetry)
        builder, logs = telemetry._processor.spans, telemetry._processor.logs
        sampled = [call for call in calls if call.sampled]
        spans = [pb.call(call, True)[0] for call in sampled]
        got = ExportTraceServiceRequest.FromString(pb.request("traces", spans))  # type: ignore
        assert got == encode_spans([builder.build(call) for call in sampled])
        docs = [js.call(call, False)[1] for call in calls]
        assert json.loads(js.request("logs", docs)) == json.loads(
            to_json(encode_logs([logs.inference(call) for call in calls])))
        assert all(js.call(call, False)[0] is None for call in calls)


def test_other_log_records_deployment_and_user_events() -> None:
    with _pipeline() as (telemetry, items):
        log = infertel.get_logger("orders")
        with contextlib.suppress(ZeroDivisionError):
            try:
                1 / 0  # noqa: B018
            except ZeroDivisionError:
                log.exception("failed for alice@example.com", order=12, tags=["a", None],
                              nested={"k": 1.5})
        log.warning("plain", flag=True)
        telemetry.worker.flush(10)
        records = []
        for item in items:
            if isinstance(item, LogEvent):
                records.append(telemetry._logs.user_event(telemetry.boundary.scrub_log_event(item)))
            elif callable(item) and not isinstance(item, InferenceRecord):
                produced = item()
                if produced is not None:
                    records.append(produced)
        assert len(records) >= 3  # two user events and the deployment event
        pb, js = _encoders(telemetry)
        for record in records:
            want = encode_logs([record])
            assert ExportLogsServiceRequest.FromString(
                pb.request("logs", [pb.log_record(record)])) == want
            assert json.loads(js.request("logs", [js.log_record(record)])) == json.loads(
                to_json(want))
        assert "alice@example.com" not in json.dumps([js.log_record(r) for r in records])


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, "lone \ud800 surrogate",
                                   type("S", (str,), {})("subclass"),
                                   type("F", (float,), {})(1.5)])
def test_values_the_encoders_do_not_write_exactly_raise(value: Any) -> None:
    policy = PrivacyPolicy(redaction=False)  # raw values reach the call
    with _pipeline(privacy=policy) as (telemetry, items):
        @infertel.traced_inference(inputs={"x": "keep"})
        def predict(x: Any) -> int:
            return 1

        predict(value)
        [call] = _calls(telemetry, items)
        pb, js = _encoders(telemetry)
        with pytest.raises(Unencodable):
            pb.call(call, True)
        with pytest.raises(Unencodable):
            js.call(call, True)


def test_wire_primitives_match_the_otel_value_encoder() -> None:
    from opentelemetry.exporter.otlp.proto.common._internal import _encode_value
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    for n in (0, 1, 127, 128, 300, 16383, 16384, 2**35, 2**64 - 1):
        encoded = varint(n)
        decoded = sum((byte & 0x7F) << (7 * i) for i, byte in enumerate(encoded))
        assert decoded == n
        assert all(b & 0x80 for b in encoded[:-1])
        assert not encoded[-1] & 0x80
    for value in (True, False, 0, -1, 2**63 - 1, -(2**63), 1.25, -0.0, "", "x", "ü😀",
                  b"", b"\x00\xff", None, [], [1, "a", None], {}, {"k": [None, {"j": 2}]}):
        assert AnyValue.FromString(any_value(value)) == _encode_value(value), value


def test_log_record_uid_mark_parses_as_one_more_attribute() -> None:
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    with _pipeline() as (telemetry, items):
        _shapes(telemetry)
        [call, *_] = _calls(telemetry, items)
        pb, _ = _encoders(telemetry)
        _, encoded = pb.call(call, False)
        plain = LogRecord.FromString(encoded)
        marked = LogRecord.FromString(encoded + _uid_attribute("abc-0"))
        assert list(marked.attributes)[:-1] == list(plain.attributes)
        last = marked.attributes[-1]
        assert (last.key, last.value.string_value) == ("log.record.uid", "abc-0")


def _attribute(span: Any, key: str) -> Any:
    return next(a.value for a in span.attributes if a.key == key)


def test_no_payload_text_reaches_an_encoded_record_unscrubbed() -> None:
    """The encoders only see the boundary's output: planted personal data is not in it."""
    planted = "zoe.planted@example.org"
    with _pipeline() as (telemetry, items):
        @infertel.traced_inference(inputs={"req": "redact"}, outputs={"return": "redact"})
        def predict(req: dict[str, Any]) -> str:
            raise ValueError(f"bad request from {planted}")

        with contextlib.suppress(ValueError):
            predict({"email": planted, "note": f"mail {planted} now"})
        [call] = _calls(telemetry, items)
        pb, js = _encoders(telemetry)
        span_bytes, log_bytes = pb.call(call, True)
        span_doc, log_doc = js.call(call, True)
        assert span_bytes is not None
        for blob in (span_bytes, log_bytes, json.dumps([span_doc, log_doc]).encode()):
            assert planted.encode() not in blob
        span = ExportTraceServiceRequest.FromString(pb.request("traces", [span_bytes]))
        [event] = span.resource_spans[0].scope_spans[0].spans[0].events
        assert "<EMAIL_ADDRESS>" in _attribute(event, c.EXCEPTION_STACKTRACE).string_value



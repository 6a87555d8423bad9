"""One bad value costs one record, never a batch, and is never printed.

Values OTLP cannot carry are converted before encoding (checked in the encoded protobuf);
a record that still cannot be encoded is left out alone and counted as ``encode_failed``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry._logs import LogRecord
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

from infertel.export import _sanitize
from infertel.export._encode import encode_log_batch, encode_span_batch
from infertel.export._exporters import EncodingLogExporter
from infertel.export._status import ExportStatus

RESOURCE = Resource.create({"service.name": "isolation"})
SCOPE = InstrumentationScope("infertel", "test")
PLANTED_INT = 18446744073709551616123  # above 2**64
PLANTED_TEXT = "planted-secret-\ud800-value"


def _log(body: Any = "ok", **attributes: Any) -> ReadableLogRecord:
    return ReadableLogRecord(LogRecord(body=body, attributes=attributes or None), RESOURCE, SCOPE)


def _decoded(encoded: Any) -> list[Any]:
    request = ExportLogsServiceRequest.FromString(encoded.message.SerializeToString())
    return [r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records]


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


class NumpyLikeInt:
    """Behaves like numpy.int64: an integer through __index__, not an int subclass."""

    def __index__(self) -> int:
        return 42


class Opaque:
    def __repr__(self) -> str:
        return "Opaque(card=4111111111111111)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PLANTED_INT, str(PLANTED_INT)),
        (-(2**63) - 1, str(-(2**63) - 1)),
        (2**63 - 1, 2**63 - 1),
        ("a\ud800b", "a\ufffdb"),
        ("\ud83d\ude00", "\U0001f600"),  # a pair split over two code points is joined
        ({"nested": [b"\xff\x00", {"deeper": b"x"}]}, {"nested": [b"\xff\x00", {"deeper": b"x"}]}),
        ({1: "int key", ("a",): "tuple key"}, {"1": "int key", "<UNSUPPORTED_VALUE>": "tuple key"}),
        (frozenset({3}), [3]),
        (NumpyLikeInt(), 42),
        (Fraction(1, 4), 0.25),
        (Opaque(), "<UNSUPPORTED_VALUE>"),
        (bytearray(b"ab"), b"ab"),
    ],
)
def test_values_otlp_cannot_carry_are_converted(value: Any, expected: Any) -> None:
    encoded = encode_log_batch([_log(body=value, key=value)])
    assert (encoded.records, encoded.failed) == (1, 0)
    [record] = _decoded(encoded)
    assert _value(record.body) == expected
    assert _value(record.attributes[0].value) == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_travel_as_otlp_doubles(value: float) -> None:
    [record] = _decoded(encode_log_batch([_log(body=value, key=value)]))
    carried = record.body.double_value
    assert (math.isnan(carried) and math.isnan(value)) or carried == value


def test_self_referencing_value_is_cut_not_looped() -> None:
    loop: list[Any] = []
    loop.append(loop)
    [record] = _decoded(encode_log_batch([_log(body=loop)]))
    depth, node = 0, record.body
    while node.WhichOneof("value") == "array_value":
        node, depth = node.array_value.values[0], depth + 1
    assert node.string_value == _sanitize.UNSUPPORTED
    assert depth == _sanitize.MAX_DEPTH


def test_clean_records_are_not_copied() -> None:
    record = _log(body={"a": [1, 2.5, "x", b"y", None, True]}, key="value")
    assert _sanitize.log_carriable(record)
    span = ReadableSpan("s", context=SpanContext(1, 2, False), resource=RESOURCE,
                        attributes={"k": 1}, instrumentation_scope=SCOPE)
    assert _sanitize.span_carriable(span)


def test_bad_span_name_and_attribute_are_converted() -> None:
    span = ReadableSpan("predict-\udc00", context=SpanContext(1, 2, False), resource=RESOURCE,
                        attributes={"big": PLANTED_INT}, instrumentation_scope=SCOPE)
    encoded = encode_span_batch([span])
    assert (encoded.records, encoded.failed) == (1, 0)
    [rs] = encoded.message.resource_spans
    [out] = rs.scope_spans[0].spans
    assert out.name == "predict-\ufffd"
    assert out.attributes[0].value.string_value == str(PLANTED_INT)


def test_an_unencodable_record_costs_only_itself_and_is_counted() -> None:
    unencodable = _log(body="broken")
    unencodable.log_record.timestamp = "yesterday"  # type: ignore[assignment]
    batch = [_log(body=f"neighbour {i}") for i in range(5)]
    batch.insert(2, unencodable)
    lost: list[tuple[str, int]] = []
    status = ExportStatus({"logs": "test"}, lambda reason, n: lost.append((reason, n)))

    class Collect:
        def __init__(self) -> None:
            self.received: list[Any] = []

        def put(self, encoded: Any) -> bool:
            self.received.extend(_decoded(encoded))
            return True

        def flush(self, timeout: float) -> bool:
            return True

        def close(self) -> None:
            return None

    sink = Collect()
    EncodingLogExporter(sink, status).export(batch)
    assert [r.body.string_value for r in sink.received] == [f"neighbour {i}" for i in range(5)]
    assert lost == [("encode_failed", 1)]
    assert status.snapshot()["logs"]["dropped"] == {"encode_failed": 1}


ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()
    | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=4)
    | st.frozensets(st.integers(), max_size=3),
    max_leaves=20,
)


# The capture fixtures are shared by all examples on purpose: nothing may appear in any.
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ANY_VALUE, attribute=ANY_VALUE)
def test_any_python_value_is_encoded_without_a_word_on_stderr(
        body: Any, attribute: Any, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    encoded = encode_log_batch([_log(body=body, key=attribute), _log(body="neighbour")])
    assert (encoded.records, encoded.failed) == (2, 0)
    assert _decoded(encoded)[1].body.string_value == "neighbour"
    assert capfd.readouterr().err == ""
    assert not [r for r in caplog.records if r.levelno >= 30]


def test_planted_values_never_reach_stderr_and_neighbours_survive(tmp_path: Path) -> None:
    """The whole path in a fresh process (its real stderr): user log events and a declared
    payload carrying the planted values, exported to the local store."""
    script = textwrap.dedent(f"""
        import infertel
        telemetry = infertel.configure(service_name="iso", exporter="local",
                                       local_dir={str(tmp_path)!r})
        log = infertel.get_logger("iso")

        @infertel.traced_inference(inputs={{"x": "keep"}})
        def predict(x):
            return 1

        for i in range(20):
            log.info("neighbour", n=i)
            if i == 10:
                log.info("planted", big={PLANTED_INT}, text={PLANTED_TEXT!r},
                         nested={{"b": [b"\\xff", {{"deep": {PLANTED_INT}}}]}},
                         nan=float("nan"))
                predict({PLANTED_INT})
            predict(i)
        assert infertel.shutdown(timeout=20)
        print("DROPPED", telemetry.dropped())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for planted in (str(PLANTED_INT), "planted-secret", "18446744073709551616"):
        assert planted not in done.stderr
    assert "encode_failed" not in done.stdout
    bodies = []
    for path in (tmp_path / "logs").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            for rl in json.loads(line)["resourceLogs"]:
                for sl in rl["scopeLogs"]:
                    bodies += [r.get("body", {}).get("stringValue") for r in sl["logRecords"]]
    assert bodies.count("neighbour") == 20
    assert bodies.count("planted") == 1
    spans = [span for path in (tmp_path / "traces").glob("*.jsonl")
             for line in path.read_text().splitlines()
             for rs in json.loads(line)["resourceSpans"] for ss in rs["scopeSpans"]
             for span in ss["spans"]]
    assert len(spans) == 21

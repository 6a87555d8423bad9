"""The store reader: real files from the SDK's local exporter, and a Collector-style layout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import infertel
from infertel import conventions as c
from infertel.tools._store import (
    ReadStats,
    StoreError,
    any_value,
    describe_skipped,
    find_telemetry_files,
    iter_documents,
    load_store,
    open_store,
)

TRACE_ID = "5b8efff798038103d269b633813fc60c"
PARENT_ID = "eee19b7ec3c1b174"
CHILD_ID = "eee19b7ec3c1b175"


@pytest.fixture
def sdk_store(tmp_path: Path) -> Iterator[Path]:
    """A store written by the real SDK: successes, a failure, a nested call and a user log."""
    store = tmp_path / "sdk-store"
    infertel.configure(
        service_name="store-tests",
        exporter="local",
        local_dir=store,
        model=infertel.ModelInfo(name="resource-model", version="1"),
    )
    log = infertel.get_logger()

    @infertel.traced_inference(name="predict", ring="canary", segment="gold",
                               inputs={"x": "keep"})
    def predict(x: int) -> int:
        log.info("predicting", k=x)
        if x < 0:
            raise ValueError("negative input")
        return x * 2

    @infertel.traced_inference(name="route", model=infertel.ModelInfo(name="router", version="9"))
    def route(x: int) -> int:
        return predict(x)

    predict(1)
    with pytest.raises(ValueError, match="negative input"):
        predict(-1)
    route(5)
    assert infertel.shutdown(timeout=5)
    yield store
    infertel.shutdown(timeout=5)  # whatever a test did, leave no process-default Telemetry


def _attribute(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def _collector_lines() -> list[dict[str, Any]]:
    """What a Collector file exporter writes: one request per line, all signals in one file."""
    resource = {"attributes": [_attribute("service.name", {"stringValue": "gateway"})]}
    spans = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [
        {"traceId": TRACE_ID, "spanId": PARENT_ID, "name": "[bold]http[/bold]",
         "startTimeUnixNano": "1750000000000000000", "endTimeUnixNano": "1750000000250000000",
         "attributes": [_attribute(c.MODEL_NAME, {"stringValue": "ranker"})],
         "status": {"code": "STATUS_CODE_ERROR", "message": "boom"}},
        {"traceId": TRACE_ID, "spanId": CHILD_ID, "parentSpanId": PARENT_ID, "name": "db",
         "startTimeUnixNano": "1750000000010000000", "endTimeUnixNano": "1750000000020000000",
         "status": {"code": 1}},
    ]}]}]}
    logs = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [
        {"observedTimeUnixNano": "1750000000015000000", "severityText": "WARN",
         "severityNumber": 13, "traceId": TRACE_ID, "spanId": CHILD_ID,
         "body": {"kvlistValue": {"values": [_attribute("rows", {"intValue": "3"})]}}},
    ]}]}]}
    metrics = {"resourceMetrics": [{"resource": resource, "scopeMetrics": []}]}
    return [spans, logs, metrics]


@pytest.fixture
def collector_store(tmp_path: Path) -> Path:
    root = tmp_path / "otel-out"
    nested = root / "2025" / "06"
    nested.mkdir(parents=True)
    (nested / "everything.json").write_text(
        "".join(json.dumps(line) + "\n" for line in _collector_lines()), encoding="utf-8"
    )
    (nested / "README.txt").write_text("not telemetry", encoding="utf-8")
    return root


def _span_rows(db: Any) -> dict[str, dict[str, Any]]:
    cursor = db.execute("SELECT * FROM spans")
    names = [column[0] for column in cursor.description]
    return {row[names.index("span_id")]: dict(zip(names, row, strict=True))
            for row in cursor.fetchall()}


# ------------------------------------------------------------------------- SDK round trip
def test_sdk_spans_are_flattened_with_span_attributes_winning(sdk_store: Path) -> None:
    with open_store(sdk_store) as db:
        spans = list(_span_rows(db).values())
    assert len(spans) == 4
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    [route] = by_name["route"]
    assert (route["model"], route["version"]) == ("router", "9")  # the per-call override wins
    assert json.loads(route["attributes"])[c.MODEL_NAME] == "router"
    predicts = by_name["predict"]
    assert {(s["model"], s["version"], s["ring"], s["segment"]) for s in predicts} == {
        ("resource-model", "1", "canary", "gold")
    }
    assert all(s["service"] == "store-tests" for s in spans)
    nested = [s for s in predicts if s["parent_span_id"] is not None]
    assert [s["parent_span_id"] for s in nested] == [route["span_id"]]
    assert nested[0]["trace_id"] == route["trace_id"]


def test_sdk_error_span_has_status_error_type_and_exception_event(sdk_store: Path) -> None:
    with open_store(sdk_store) as db:
        failed = [s for s in _span_rows(db).values() if s["status"] == "error"]
    assert len(failed) == 1
    span = failed[0]
    assert span["outcome"] == c.OUTCOME_ERROR
    assert span["error_type"] == "ValueError"
    assert span["status_message"] == "ValueError: negative input"
    [event] = json.loads(span["events"])
    assert event["name"] == "exception"
    assert event["attributes"][c.EXCEPTION_TYPE] == "ValueError"
    assert span["duration_ms"] >= 0
    assert span["start"].year >= 2024


def test_sdk_successful_spans_are_unset_not_ok(sdk_store: Path) -> None:
    with open_store(sdk_store) as db:
        statuses = db.execute("SELECT status, count(*) FROM spans GROUP BY ALL").fetchall()
    assert dict(statuses) == {"unset": 3, "error": 1}


def test_sdk_logs_keep_their_span_and_body(sdk_store: Path) -> None:
    with open_store(sdk_store) as db:
        user = db.execute(
            "SELECT l.body, l.attributes, s.name FROM logs l JOIN spans s USING (span_id) "
            "WHERE l.event_name IS NULL ORDER BY l.time"
        ).fetchall()
        inference = db.execute(
            "SELECT body, severity FROM logs WHERE event_name = ? ORDER BY time",
            [c.EVENT_INFERENCE],
        ).fetchall()
        deployment = db.execute(
            "SELECT trace_id, service FROM logs WHERE event_name = ?", [c.EVENT_DEPLOYMENT]
        ).fetchall()
    assert [(json.loads(body), json.loads(attrs), name) for body, attrs, name in user] == [
        ("predicting", {"k": 1}, "predict"),
        ("predicting", {"k": -1}, "predict"),
        ("predicting", {"k": 5}, "predict"),
    ]
    assert len(inference) == 4
    assert json.loads(inference[0][0]) == {"event": "inference", "inputs": {"x": 1}}
    assert sorted(severity for _body, severity in inference) == ["ERROR", "INFO", "INFO", "INFO"]
    assert deployment == [(None, "store-tests")]


def test_load_store_reports_counts(sdk_store: Path) -> None:
    loaded = load_store(sdk_store)
    with loaded.connection:
        assert (loaded.spans, loaded.logs) == (4, 8)  # 4 inference + 3 user + 1 deployment
    assert loaded.stats.files == 3
    assert loaded.stats.documents["metrics"] >= 1
    assert loaded.stats.corrupt_lines == loaded.stats.truncated_lines == 0


# ------------------------------------------------------------------------ layout-agnostic
def test_collector_file_with_all_signals_is_dispatched_by_key(collector_store: Path) -> None:
    documents = list(iter_documents(collector_store))
    assert [(d.signal, d.line) for d in documents] == [("traces", 1), ("logs", 2), ("metrics", 3)]
    assert {d.path.name for d in documents} == {"everything.json"}
    assert find_telemetry_files(collector_store) == [documents[0].path]  # README.txt ignored


def test_collector_store_loads_spans_and_logs(collector_store: Path) -> None:
    with open_store(collector_store) as db:
        spans = _span_rows(db)
        logs = db.execute("SELECT span_id, severity, body, service, time FROM logs").fetchall()
    parent, child = spans[PARENT_ID], spans[CHILD_ID]
    assert (parent["status"], parent["status_message"], parent["model"]) == (
        "error", "boom", "ranker")
    assert parent["duration_ms"] == pytest.approx(250.0)
    assert (child["status"], child["parent_span_id"]) == ("ok", PARENT_ID)
    assert child["service"] == "gateway"
    [(span_id, severity, body, service, time)] = logs
    assert (span_id, severity, json.loads(body), service) == (CHILD_ID, "WARN", {"rows": 3},
                                                              "gateway")
    # No timeUnixNano: the observed time stands in for it.
    assert time.isoformat() == "2025-06-15T15:06:40.015000"


def test_pretty_printed_request_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "trace.json").write_text(json.dumps(_collector_lines()[0], indent=2),
                                         encoding="utf-8")
    stats = ReadStats()
    documents = list(iter_documents(tmp_path, stats))
    assert [d.signal for d in documents] == ["traces"]
    assert stats.corrupt_lines == 0


# --------------------------------------------------------------------------- damaged files
def _traces_file(store: Path) -> Path:
    [path] = sorted((store / "traces").glob("*.jsonl"))
    return path


def test_corrupt_line_among_good_ones_is_skipped_and_counted(sdk_store: Path) -> None:
    path = _traces_file(sdk_store)
    good = path.read_text(encoding="utf-8")
    path.write_bytes(b'{"not": "otlp"}\n\xff\xfe broken\n' + good.encode() + b"{oops\n")
    last = 2 + len(good.splitlines()) + 1  # the SDK may write the four spans on several lines
    loaded = load_store(sdk_store)
    with loaded.connection:
        assert loaded.spans == 4
    assert loaded.stats.corrupt_lines == 3
    assert loaded.stats.corrupt_locations == [(path, 1), (path, 2), (path, last)]
    assert loaded.stats.truncated_lines == 0
    assert [(u.line, u.reason) for u in loaded.stats.unreadable] == [
        (1, "not an OTLP export request"), (2, "not JSON"), (last, "not JSON")]


def test_truncated_last_line_is_normal_not_corrupt(sdk_store: Path) -> None:
    path = _traces_file(sdk_store)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"resourceSpans":[{"scopeSpans":[{"spa')  # a crash mid-write
    loaded = load_store(sdk_store)
    with loaded.connection:
        assert loaded.spans == 4
    assert (loaded.stats.truncated_lines, loaded.stats.corrupt_lines) == (1, 0)


def test_unreadable_file_is_skipped_and_named(sdk_store: Path) -> None:
    dangling = sdk_store / "traces" / "gone.jsonl"
    dangling.symlink_to(sdk_store / "no-such-file.jsonl")
    loaded = load_store(sdk_store)
    with loaded.connection:
        assert loaded.spans == 4
    assert loaded.stats.unreadable_files == [dangling]
    assert describe_skipped(loaded.stats) == f"could not read 1 file(s) ({dangling})"


def test_lone_surrogate_in_a_value_does_not_break_the_load(tmp_path: Path) -> None:
    line = json.dumps(_collector_lines()[0]).replace("[bold]http[/bold]", "bad\\ud800name")
    (tmp_path / "t.jsonl").write_text(line + "\n", encoding="utf-8")
    with open_store(tmp_path) as db:
        names = sorted(row[0] for row in db.execute("SELECT name FROM spans").fetchall())
    assert names == ["bad?name", "db"]


def test_missing_store_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="store not found"):
        open_store(tmp_path / "absent")


def test_file_instead_of_folder_is_a_store_error(tmp_path: Path) -> None:
    file = tmp_path / "traces.jsonl"
    file.write_text("{}\n", encoding="utf-8")
    with pytest.raises(StoreError, match="not a directory"):
        open_store(file)


def test_folder_without_telemetry_files_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(StoreError, match=r"no telemetry files \(\*\.json, \*\.jsonl\)"):
        open_store(tmp_path)


def test_all_corrupt_store_says_so_without_echoing_content(tmp_path: Path) -> None:
    secret = "jane.doe@example.com"
    (tmp_path / "logs").mkdir()
    bad = tmp_path / "logs" / "logs-1.jsonl"
    bad.write_text(f'{{"body": "{secret}"\nnot json either\n', encoding="utf-8")
    with pytest.raises(StoreError) as raised:
        open_store(tmp_path)
    message = str(raised.value)
    assert "no valid telemetry records in 1 file(s)" in message
    assert f"skipped 2 corrupt line(s) ({bad}:1, {bad}:2)" in message
    assert secret not in message


# ------------------------------------------------------------------------------- values
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"stringValue": "a"}, "a"),
        ({"intValue": "9007199254740993"}, 9007199254740993),  # int64 beyond a double
        ({"intValue": 7}, 7),
        ({"doubleValue": 0.5}, 0.5),
        ({"doubleValue": "NaN"}, "NaN"),
        ({"doubleValue": "-Infinity"}, "-Infinity"),
        ({"boolValue": True}, True),
        ({"bytesValue": "AQI="}, "AQI="),
        ({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "b"}]}}, [1, "b"]),
        ({"arrayValue": {}}, []),
        ({"kvlistValue": {"values": [_attribute("k", {"kvlistValue": {}})]}}, {"k": {}}),
        ({}, None),
        ("not an AnyValue", None),
    ],
)
def test_any_value_becomes_plain_json(value: object, expected: object) -> None:
    assert any_value(value) == expected

"""``infertel query`` against a store written by the real SDK (and a Collector-style folder)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import infertel
from infertel.cli import app
from infertel.cli.query import parse_time

# Wide enough that rich never wraps a table cell, so rows can be asserted as text.
WIDE = {"COLUMNS": "250"}
SLOW_SECONDS = 0.12  # slow_score sleeps this long; --min-duration 100 must find only it
ENV_TO_CLEAR = ("OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
                "OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "INFERTEL_LOCAL_DIR")


def _write_store(store: Path) -> None:
    """Eight spans in five traces, with per-call model overrides, failures and user logs.

    score        stable/gold     x=1, x=2 ok; x=-1 ValueError; x=3 nested under pipeline
    score_canary canary/silver   model version 2.0-rc; x=1 ok; x=-5 KeyError
    slow_score   shadow/gold     sleeps SLOW_SECONDS
    pipeline     stable          model router@0.1, calls score(3)
    """
    infertel.configure(service_name="query-tests", exporter="local", local_dir=store,
                       model=infertel.ModelInfo(name="fraud", version="1.0"))
    log = infertel.get_logger()

    @infertel.traced_inference(name="score", segment="gold", inputs={"x": "keep"})
    def score(x: int) -> int:
        log.info("scoring", k=x)
        if x < 0:
            raise ValueError("negative")
        return x

    @infertel.traced_inference(name="score_canary", ring="canary", segment="silver",
                               model=infertel.ModelInfo(name="fraud", version="2.0-rc"))
    def score_canary(x: int) -> int:
        if x < 0:
            raise KeyError("missing")
        return x

    @infertel.traced_inference(name="slow_score", ring="shadow", segment="gold")
    def slow_score() -> None:
        time.sleep(SLOW_SECONDS)

    @infertel.traced_inference(name="pipeline",
                               model=infertel.ModelInfo(name="router", version="0.1"))
    def pipeline(x: int) -> int:
        log.warning("routing", target="score")
        return score(x)

    for call, argument, error in ((score, 1, None), (score, 2, None), (score, -1, ValueError),
                                  (score_canary, 1, None), (score_canary, -5, KeyError)):
        if error is None:
            call(argument)
        else:
            with pytest.raises(error):
                call(argument)
    slow_score()
    pipeline(3)
    assert infertel.shutdown(timeout=5), "the store must be complete before tests read it"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Module scope: the store is read-only for every test here, so it is written once.
    path = tmp_path_factory.mktemp("query") / "store"
    with pytest.MonkeyPatch.context() as patch:
        for name in ENV_TO_CLEAR:
            patch.delenv(name, raising=False)
        try:
            _write_store(path)
        finally:
            infertel.shutdown(timeout=5)
    return path


@pytest.fixture(autouse=True)
def _no_default_telemetry() -> Iterator[None]:
    yield
    infertel.shutdown(timeout=5)  # reset infertel's global state after each test


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, ["query", *map(str, args)], env={**WIDE, **(env or {})})


def run_json(*args: str | Path) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def names(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(row["name"] for row in rows)


def trace_of(store: Path, span_name: str) -> str:
    [row] = [r for r in run_json(store, "--limit", "0") if r["name"] == span_name]
    return str(row["trace_id"])


# ------------------------------------------------------------------------- span listing
def cells(line: str) -> list[str]:
    """A table line's cells: columns are at least two spaces apart, values at most one."""
    return re.split(r"\s{2,}", line.strip())


SPAN_HEADERS = ["time (UTC)", "trace id", "name", "model", "version", "ring", "segment",
                "status", "duration ms", "error type"]


def test_default_lists_spans_newest_first_with_a_count(store: Path) -> None:
    result = run(store)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert cells(lines[0]) == SPAN_HEADERS
    rows = [cells(line) for line in lines[1:-1]]
    assert lines[-1] == "8 matching spans."
    assert len(rows) == 8
    assert sorted(row[2] for row in rows) == sorted(
        ["pipeline", "score", "score", "score", "score", "score_canary", "score_canary",
         "slow_score"])
    times = [row[0] for row in rows]
    assert times == sorted(times, reverse=True)
    assert all(len(row[1]) == 32 for row in rows)  # whole trace ids when the terminal is wide
    [failed] = [row for row in rows if row[-1] == "ValueError"]
    assert failed[2:8] == ["score", "fraud", "1.0", "stable", "gold", "error"]


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_narrow_terminal_gets_a_compact_table(store: Path) -> None:
    # TTY_COMPATIBLE=1: rich lays the output out as for a terminal of COLUMNS columns.
    result = run(store, "--status", "error", env={"COLUMNS": "80", "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.output
    lines = ANSI.sub("", result.stdout).splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "model@ver" in lines[0]  # model and version share a column (its header wraps)
    errors = {row["error_type"]: row for row in run_json(store, "--status", "error")}
    value_error = errors["ValueError"]
    [row] = [line for line in lines if value_error["trace_id"][:8] in line]
    assert value_error["trace_id"] not in row  # an 8-digit prefix, which --trace accepts
    assert "fraud@1.0" in row


def test_output_that_is_not_a_terminal_keeps_whole_ids_whatever_columns_says(
        store: Path) -> None:
    """Piped into grep or a file, ids must be whole: rich would lay it out for 80 columns."""
    expected = {row["trace_id"] for row in run_json(store, "--limit", "0")}
    listed = run(store, env={"COLUMNS": "40"})
    assert listed.exit_code == 0, listed.output
    assert expected <= set(re.findall(r"\b[0-9a-f]{32}\b", listed.stdout))
    logs = run(store, "--logs", env={"COLUMNS": "40"})
    assert logs.exit_code == 0, logs.output
    assert re.search(r"\b[0-9a-f]{32}\b", logs.stdout)


def test_json_rows_have_every_column_newest_first(store: Path) -> None:
    rows = run_json(store)
    assert len(rows) == 8
    starts = [row["start"] for row in rows]
    assert starts == sorted(starts, reverse=True)
    assert all(start.endswith("Z") for start in starts)
    pipeline = next(row for row in rows if row["name"] == "pipeline")
    assert (pipeline["model"], pipeline["version"], pipeline["service"]) == (
        "router", "0.1", "query-tests")
    assert pipeline["attributes"]["ml.model.name"] == "router"  # nested JSON, not a string
    failed = next(row for row in rows if row["error_type"] == "KeyError")
    assert failed["events"][0]["name"] == "exception"
    # Every time in --json is ISO-8601 UTC with its suffix, nested event times included.
    event_time = failed["events"][0]["time"]
    assert event_time.endswith("Z")
    assert datetime.fromisoformat(event_time.replace("Z", "+00:00")).utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--model", "router"], ["pipeline"]),
        (["--model", "fraud"], ["score"] * 4 + ["score_canary"] * 2 + ["slow_score"]),
        (["--version", "2.0-rc"], ["score_canary"] * 2),
        (["--ring", "canary"], ["score_canary"] * 2),
        (["--ring", "shadow"], ["slow_score"]),
        (["--segment", "silver"], ["score_canary"] * 2),
        (["--segment", "gold"], ["score"] * 4 + ["slow_score"]),
        (["--status", "error"], ["score", "score_canary"]),
        (["--status", "ERROR"], ["score", "score_canary"]),
        (["--status", "success"], ["pipeline", "score", "score", "score", "score_canary",
                                   "slow_score"]),
        (["--status", "unset"], ["pipeline", "score", "score", "score", "score_canary",
                                 "slow_score"]),
        (["--min-duration", str(SLOW_SECONDS * 1000 * 0.8)], ["slow_score"]),
        (["--ring", "canary", "--status", "error"], ["score_canary"]),
        (["--model", "fraud", "--version", "1.0", "--segment", "gold", "--status", "error"],
         ["score"]),
        (["--since", "1h"], ["pipeline"] + ["score"] * 4 + ["score_canary"] * 2
         + ["slow_score"]),
        (["--until", "1h"], []),
        (["--since", "2000-01-01T00:00:00Z", "--until", "2999-01-01"],
         ["pipeline"] + ["score"] * 4 + ["score_canary"] * 2 + ["slow_score"]),
        (["--since", "2999-01-01T00:00:00+02:00"], []),
        (["--model", "x' OR '1'='1"], []),  # a value is a bound parameter, never SQL
    ],
)
def test_filters(store: Path, options: list[str], expected: list[str]) -> None:
    assert names(run_json(store, *options)) == sorted(expected)


def test_status_ok_explains_that_successes_are_unset(store: Path) -> None:
    result = run(store, "--status", "ok")
    assert result.exit_code == 0
    assert "No spans match." in result.stdout
    assert "try --status success" in result.stdout


def test_limit_cuts_and_says_so(store: Path) -> None:
    result = run(store, "--limit", "3")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 3 + 1  # header, three rows, the count line
    assert lines[-1].startswith("Showing the newest 3 of 8 matching spans")


def test_limit_in_json_keeps_stdout_parseable(store: Path) -> None:
    result = run(store, "--limit", "2", "--json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 2
    assert "showing the newest 2 of 8 matching spans" in result.stderr


def test_limit_zero_means_all(store: Path) -> None:
    assert len(run_json(store, "--limit", "0")) == 8


# ---------------------------------------------------------------------------------- logs
def test_logs_follow_span_filters_through_the_trace(store: Path) -> None:
    rows = run_json(store, "--logs", "--model", "router")
    pipeline_trace = trace_of(store, "pipeline")
    assert {row["trace_id"] for row in rows} == {pipeline_trace}
    bodies = sorted(row["body"] if isinstance(row["body"], str) else row["body"]["event"]
                    for row in rows)
    # pipeline's and the nested score's inference records, and both user logs of the trace
    assert bodies == ["inference", "inference", "routing", "scoring"]


def test_logs_without_filters_include_uncorrelated_records(store: Path) -> None:
    rows = run_json(store, "--logs", "--limit", "0")
    deployment = [row for row in rows if row["event_name"] == "ml.deployment"]
    assert len(deployment) == 1
    assert deployment[0]["trace_id"] is None
    # deployment + one inference record per span + "scoring" for each of 4 score calls + routing
    assert len(rows) == 1 + 8 + 4 + 1


def test_logs_table(store: Path) -> None:
    result = run(store, "--logs", "--ring", "canary")
    assert result.exit_code == 0, result.output
    assert "2 matching log records." in result.stdout
    assert result.stdout.count("inference") >= 2
    assert "ERROR" in result.stdout  # the failed canary call's inference record


# --------------------------------------------------------------------------------- trace
def _depth(line: str) -> int:
    """Nesting depth of a rich tree line: each level indents by four characters."""
    return (line.index("── ") + 3) // 4 if "── " in line else 0


def _line(lines: list[str], text: str) -> int:
    [index] = [i for i, line in enumerate(lines) if text in line and "── " in line]
    return index


def test_trace_tree_nests_spans_and_their_logs(store: Path) -> None:
    trace_id = trace_of(store, "pipeline")
    result = run(store, "--trace", trace_id)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"trace {trace_id}")
    assert "2 span(s), 4 log record(s)" in lines[0]
    pipeline, score = _line(lines, "pipeline  "), _line(lines, "score  ")
    routing, scoring = _line(lines, "routing"), _line(lines, "scoring")
    assert (_depth(lines[pipeline]), _depth(lines[score])) == (1, 2)
    assert "router@0.1" in lines[pipeline]
    assert "fraud@1.0" in lines[score]
    # Each user log sits directly under the span that logged it, in time order.
    assert _depth(lines[routing]) == 2
    assert pipeline < routing < score
    assert "WARNING" in lines[routing]
    assert "target=score" in lines[routing + 1]
    assert _depth(lines[scoring]) == 3
    assert score < scoring
    assert "k=3" in lines[scoring + 1]


def test_trace_tree_shows_the_error(store: Path) -> None:
    trace_id = next(row["trace_id"] for row in run_json(store, "--status", "error")
                    if row["error_type"] == "ValueError")
    result = run(store, "--trace", trace_id[:12])  # a unique prefix is enough
    assert result.exit_code == 0, result.output
    assert "ValueError: negative" in result.stdout
    assert "[inference]" in result.stdout


def test_trace_json_has_spans_and_logs(store: Path) -> None:
    trace_id = trace_of(store, "pipeline")
    data = run_json(store, "--trace", trace_id.upper())
    assert data["trace_id"] == trace_id
    spans = {span["name"]: span for span in data["spans"]}
    assert set(spans) == {"pipeline", "score"}
    assert spans["score"]["parent_span_id"] == spans["pipeline"]["span_id"]
    owner = {row["body"]: row["span_id"] for row in data["logs"] if isinstance(row["body"], str)}
    assert owner == {"routing": spans["pipeline"]["span_id"], "scoring": spans["score"]["span_id"]}


def test_unknown_trace_exits_1(store: Path) -> None:
    result = run(store, "--trace", "0" * 32)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"infertel query: no trace {'0' * 32} in {store}"
    assert result.stdout == ""


def test_trace_id_must_be_hex(store: Path) -> None:
    result = run(store, "--trace", "not-a-trace")
    assert result.exit_code == 2
    assert "is not a trace id" in result.stderr


# --------------------------------------------------------------------------- store errors
def test_missing_store_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path / "nowhere")
    assert result.exit_code == 2
    assert result.stderr == f"infertel query: store not found: {tmp_path / 'nowhere'}\n"


def test_default_store_is_infertel_data_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INFERTEL_LOCAL_DIR", raising=False)
    result = run()
    assert result.exit_code == 2
    assert "store not found: infertel-data" in result.stderr


def test_default_store_comes_from_the_environment(store: Path) -> None:
    result = run("--json", env={"INFERTEL_LOCAL_DIR": str(store)})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 8


def test_empty_store_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.exit_code == 2
    assert "no telemetry files" in result.stderr


def test_store_that_is_a_file_exits_2(tmp_path: Path) -> None:
    file = tmp_path / "x.jsonl"
    file.write_text("{}\n", encoding="utf-8")
    result = run(file)
    assert result.exit_code == 2
    assert "not a directory" in result.stderr


def test_all_corrupt_store_exits_2_without_printing_content(tmp_path: Path) -> None:
    (tmp_path / "spans.jsonl").write_text('{"resourceSpans": [{"secret-payload"\n',
                                          encoding="utf-8")
    (tmp_path / "other.json").write_text("garbage\nmore garbage\n", encoding="utf-8")
    result = run(tmp_path)
    assert result.exit_code == 2
    assert "no valid telemetry records in 2 file(s)" in result.stderr
    assert "secret-payload" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_corrupt_line_among_good_ones_is_skipped_with_a_warning(store: Path,
                                                                 tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    [traces] = sorted((store / "traces").glob("*.jsonl"))
    (copy / "traces").mkdir(parents=True)
    damaged = copy / "traces" / traces.name
    damaged.write_text("{broken\n" + traces.read_text(encoding="utf-8"), encoding="utf-8")
    result = run(copy, "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 8
    assert f"warning: skipped 1 corrupt line(s) ({damaged}:1)" in result.stderr


# -------------------------------------------------------------------------- bad options
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--since", "yesterday"], "--since: cannot read 'yesterday' as a time"),
        (["--until", "15x"], "--until: cannot read '15x' as a time"),
        (["--since", "1h", "--until", "2h"], "--since is later than --until"),
        (["--status", "broken"], "--status must be one of ok, error, unset, success"),
        (["--limit", "-1"], "--limit must be 0 or more"),
        (["--min-duration", "-5"], "--min-duration must be 0 or more"),
    ],
)
def test_bad_option_values_exit_2_with_one_line(store: Path, options: list[str],
                                                message: str) -> None:
    result = run(store, *options)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


# ------------------------------------------------------------------------ Collector folder
def test_collector_folder_and_markup_in_values(tmp_path: Path) -> None:
    nested = tmp_path / "collector" / "a" / "b"
    nested.mkdir(parents=True)
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "[bold]raw[/bold]",
            "startTimeUnixNano": "1750000000000000000", "endTimeUnixNano": "1750000000500000000",
            "attributes": [{"key": "ml.deployment.ring", "value": {"stringValue": "canary"}}]}
    request = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [span]}]}]}
    (nested / "all.json").write_text(json.dumps(request) + "\n", encoding="utf-8")
    result = run(tmp_path / "collector", "--ring", "canary")
    assert result.exit_code == 0, result.output
    assert "[bold]raw[/bold]" in result.stdout  # data is shown literally, never as markup
    assert "2025-06-15 15:06:40.000" in result.stdout
    assert "500.000" in result.stdout
    assert "1 matching span." in result.stdout


# ------------------------------------------------------------------------------- times
NOW = datetime(2025, 7, 1, 12, 0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", NOW - timedelta(minutes=15)),
        ("2h", NOW - timedelta(hours=2)),
        ("1d", NOW - timedelta(days=1)),
        ("1w", NOW - timedelta(weeks=1)),
        ("30s", NOW - timedelta(seconds=30)),
        ("1.5H", NOW - timedelta(minutes=90)),
        ("2025-07-01T10:00:00Z", datetime(2025, 7, 1, 10)),
        ("2025-07-01T12:30:00+02:00", datetime(2025, 7, 1, 10, 30)),
        ("2025-07-01 09:15", datetime(2025, 7, 1, 9, 15)),  # no offset: UTC
        ("2025-06-30", datetime(2025, 6, 30)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "15", "-3h", "2025-13-01"])
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_time(text, NOW)

"""``infertel query``: find spans or log records in a store, or show one trace as a tree.

The store is loaded into an in-memory DuckDB by :mod:`infertel.tools._store`; every filter is a
fixed SQL fragment with a bound parameter, so option values never become SQL text. Errors print one
line to stderr and exit with 2 (bad store or option value) or 1 (the trace is not in the store).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Final, NoReturn

import duckdb
import typer

from infertel.cli._output import console as make_console
from infertel.cli._query_render import Row, TraceTree, count_line, is_wide, log_table, span_table
from infertel.config import DEFAULT_LOCAL_DIR
from infertel.tools._store import (
    LOG_COLUMNS,
    SPAN_COLUMNS,
    LoadedStore,
    StoreError,
    describe_skipped,
    load_store,
)

EXIT_NOT_FOUND: Final = 1
EXIT_USAGE: Final = 2

STATUS_CHOICES: Final = ("ok", "error", "unset", "success")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_AGE_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TRACE_ID = re.compile(r"^[0-9a-f]{1,32}$")
_JSON_COLUMNS: Final = frozenset(
    name for columns in (SPAN_COLUMNS, LOG_COLUMNS) for name, kind in columns.items()
    if kind == "JSON"
)


@dataclass
class SpanFilters:
    """The span filters of one invocation, as SQL fragments and their bound parameters."""

    clauses: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)
    # --since/--until: on span start for spans, on the record's own time for logs.
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None

    def add(self, clause: str, value: object) -> None:
        self.clauses.append(clause)
        self.params.append(value)

    def span_where(self) -> tuple[str, list[object]]:
        clauses, params = list(self.clauses), list(self.params)
        for clause, value in (("start >= ?", self.since), ("start <= ?", self.until)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        return _conjunction(clauses), params

    def log_where(self) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if self.clauses:
            # Logs have no model or ring of their own: they match through their trace.
            clauses.append(f"trace_id IN (SELECT trace_id FROM spans WHERE "
                           f"{_conjunction(self.clauses)})")
            params.extend(self.params)
        for clause, value in (("time >= ?", self.since), ("time <= ?", self.until)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        return _conjunction(clauses), params


def _conjunction(clauses: Sequence[str]) -> str:
    return " AND ".join(f"({clause})" for clause in clauses) or "TRUE"


# ------------------------------------------------------------------------------- command
def query(
    store: Annotated[
        Path | None,
        typer.Argument(
            help="Store folder (default: $INFERTEL_LOCAL_DIR or ./infertel-data). Searched "
                 "recursively, so a Collector file-exporter folder works too.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name (ml.model.name).")] = None,
    version: Annotated[str | None, typer.Option(help="Model version (ml.model.version).")] = None,
    ring: Annotated[
        str | None, typer.Option(help="Deployment ring: stable, canary, shadow.")
    ] = None,
    segment: Annotated[str | None, typer.Option(help="Segment (ml.segment).")] = None,
    status: Annotated[
        str | None,
        typer.Option(
            metavar="[ok|error|unset|success]",
            help="Span status. infertel leaves successful spans unset; 'success' means any "
                 "status but error.",
        ),
    ] = None,
    min_duration: Annotated[
        float | None, typer.Option(metavar="MS", help="Only spans that took at least MS ms.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="From this time: ISO-8601 (UTC unless it has an offset) or an age "
                          "such as 30s, 15m, 2h, 1d, 1w."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to this time; same forms as --since.")
    ] = None,
    trace: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Show this trace (id or unique prefix) as a span tree "
                                        "with its log records; other filters are ignored."),
    ] = None,
    limit: Annotated[
        int, typer.Option(metavar="N", help="Rows to show, newest first; 0 = all.")
    ] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    logs: Annotated[
        bool,
        typer.Option("--logs", help="List log records of the matching spans' traces instead "
                                    "(--since/--until apply to the record's time)."),
    ] = False,
) -> None:
    """Find spans (or log records) in a telemetry store, or show one trace as a tree."""
    store_path = store if store is not None else _default_store()
    if limit < 0:
        _fail(f"--limit must be 0 or more, not {limit}")
    trace_prefix = _parse_trace_id(trace) if trace is not None else None
    filters = _build_filters(model, version, ring, segment, status, min_duration, since, until)
    loaded = _load(store_path)
    with closing(loaded.connection) as db:
        if trace_prefix is not None:
            _show_trace(db, trace_prefix, store_path, as_json)
        elif logs:
            _show_logs(db, filters, limit, as_json)
        else:
            _show_spans(db, filters, limit, as_json)


def _default_store() -> Path:
    return Path(os.environ.get("INFERTEL_LOCAL_DIR") or DEFAULT_LOCAL_DIR)


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"infertel query: {message}", err=True)
    raise typer.Exit(code)


def _load(path: Path) -> LoadedStore:
    try:
        loaded = load_store(path)
    except StoreError as error:
        _fail(str(error))
    except duckdb.Error as error:  # the reader wrote rows DuckDB would not load: a bug, say so
        _fail(f"could not load {path} into DuckDB ({type(error).__name__})")
    skipped = describe_skipped(loaded.stats)
    if skipped:
        typer.echo(f"infertel query: warning: {skipped}", err=True)
    return loaded


# ------------------------------------------------------------------------------- options
def _build_filters(model: str | None, version: str | None, ring: str | None,
                   segment: str | None, status: str | None, min_duration: float | None,
                   since: str | None, until: str | None) -> SpanFilters:
    filters = SpanFilters()
    for clause, value in (("model = ?", model), ("version = ?", version), ("ring = ?", ring),
                          ("segment = ?", segment)):
        if value is not None:
            filters.add(clause, value)
    if status is not None:
        filters.status = _parse_status(status)
        if filters.status == "success":
            filters.add("status IS DISTINCT FROM ?", "error")
        else:
            filters.add("status = ?", filters.status)
    if min_duration is not None:
        if min_duration < 0:
            _fail(f"--min-duration must be 0 or more, not {min_duration:g}")
        filters.add("duration_ms >= ?", min_duration)
    now = _utc_now()
    filters.since = _parse_time("--since", since, now) if since is not None else None
    filters.until = _parse_time("--until", until, now) if until is not None else None
    if filters.since and filters.until and filters.since > filters.until:
        _fail("--since is later than --until")
    return filters


def _parse_status(value: str) -> str:
    status = value.strip().lower()
    if status not in STATUS_CHOICES:
        _fail(f"--status must be one of {', '.join(STATUS_CHOICES)}, not {value!r}")
    return status


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def parse_time(text: str, now: datetime) -> datetime:
    """An ISO-8601 time or an age ("15m", "2h", "1d") as a naive UTC datetime.

    A time without an offset is taken as UTC, the store's clock. Raises ``ValueError``.
    """
    age = _AGE.match(text)
    if age:
        amount, unit = float(age.group(1)), age.group(2).lower()
        return now - timedelta(**{_AGE_UNITS[unit]: amount})
    iso = text.strip()
    if iso.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not know the Z suffix
        iso = iso[:-1] + "+00:00"
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _parse_time(option: str, text: str, now: datetime) -> datetime:
    try:
        return parse_time(text, now)
    except (ValueError, OverflowError):
        _fail(f"{option}: cannot read {text!r} as a time; use ISO-8601 "
              f"(2025-07-01T12:00:00Z) or an age (30s, 15m, 2h, 1d, 1w)")


def _parse_trace_id(text: str) -> str:
    trace_id = text.strip().lower()
    if not _TRACE_ID.match(trace_id):
        _fail(f"--trace: {text!r} is not a trace id (up to 32 hexadecimal digits)")
    return trace_id


# --------------------------------------------------------------------------------- spans
_SPAN_SELECT = "SELECT * FROM spans WHERE {where} " \
               "ORDER BY start DESC NULLS LAST, trace_id, span_id LIMIT ?"
_SPAN_COUNT = "SELECT count(*) FROM spans WHERE {where}"


def _show_spans(db: duckdb.DuckDBPyConnection, filters: SpanFilters, limit: int,
                as_json: bool) -> None:
    where, params = filters.span_where()
    total = _count(db, _SPAN_COUNT.format(where=where), params)
    rows = _dict_rows(db.execute(_SPAN_SELECT.format(where=where), [*params, limit or None]))
    if as_json:
        _print_json([_jsonable(row) for row in rows])
    else:
        console = make_console()
        if rows:
            console.print(span_table(rows, is_wide(console)))
        console.print(count_line(len(rows), total, "span"))
        if total == 0 and filters.status == "ok":
            console.print("infertel leaves successful spans unset; try --status success")
    _note_cut_in_json(as_json, len(rows), total, "span")


# ---------------------------------------------------------------------------------- logs
_LOG_SELECT = "SELECT * FROM logs WHERE {where} " \
              "ORDER BY time DESC NULLS LAST, trace_id, span_id LIMIT ?"
_LOG_COUNT = "SELECT count(*) FROM logs WHERE {where}"


def _show_logs(db: duckdb.DuckDBPyConnection, filters: SpanFilters, limit: int,
               as_json: bool) -> None:
    where, params = filters.log_where()
    total = _count(db, _LOG_COUNT.format(where=where), params)
    rows = _dict_rows(db.execute(_LOG_SELECT.format(where=where), [*params, limit or None]))
    if as_json:
        _print_json([_jsonable(row) for row in rows])
    else:
        console = make_console()
        if rows:
            console.print(log_table(rows, is_wide(console)))
        console.print(count_line(len(rows), total, "log record"))
    _note_cut_in_json(as_json, len(rows), total, "log record")


# --------------------------------------------------------------------------------- trace
def _show_trace(db: duckdb.DuckDBPyConnection, prefix: str, store: Path, as_json: bool) -> None:
    trace_id = _resolve_trace(db, prefix, store)
    spans = _dict_rows(db.execute(
        "SELECT * FROM spans WHERE trace_id = ? ORDER BY start NULLS LAST, span_id", [trace_id]))
    logs = _dict_rows(db.execute(
        "SELECT * FROM logs WHERE trace_id = ? ORDER BY time NULLS LAST", [trace_id]))
    if as_json:
        _print_json({"trace_id": trace_id, "spans": [_jsonable(s) for s in spans],
                     "logs": [_jsonable(r) for r in logs]})
        return
    make_console().print(TraceTree(spans, logs).render(trace_id))


def _resolve_trace(db: duckdb.DuckDBPyConnection, prefix: str, store: Path) -> str:
    """The full id of the one trace whose id starts with ``prefix`` (spans or logs alone)."""
    found = db.execute(
        "SELECT DISTINCT trace_id FROM (SELECT trace_id FROM spans UNION ALL "
        "SELECT trace_id FROM logs) WHERE starts_with(trace_id, ?) ORDER BY trace_id LIMIT 2",
        [prefix],
    ).fetchall()
    if not found:
        _fail(f"no trace {prefix} in {store}", EXIT_NOT_FOUND)
    if len(found) > 1:
        _fail(f"--trace {prefix} matches several traces; give more digits")
    return str(found[0][0])


# ------------------------------------------------------------------------------ rendering
def _dict_rows(result: duckdb.DuckDBPyConnection) -> list[Row]:
    names = [column[0] for column in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _count(db: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    row = db.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _jsonable(row: Row) -> Row:
    """A row for --json: times as ISO-8601 UTC, JSON columns as nested values."""
    out: Row = {}
    for name, value in row.items():
        if isinstance(value, datetime):
            out[name] = value.isoformat(timespec="microseconds") + "Z"
        elif name in _JSON_COLUMNS and isinstance(value, str):
            out[name] = json.loads(value)
        else:
            out[name] = value
    return out


def _print_json(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _note_cut_in_json(as_json: bool, shown: int, total: int, noun: str) -> None:
    # In --json mode stdout must stay parseable, so the cut is reported on stderr.
    if as_json and shown < total:
        typer.echo(f"infertel query: showing the newest {shown} of {total} matching {noun}s "
                   f"(--limit N to see more, --limit 0 for all)", err=True)

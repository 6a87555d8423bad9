"""Read a telemetry store: OTLP/JSON lines, as infertel's local exporter or a Collector writes them.

The reader trusts no layout. infertel writes ``<dir>/{traces,logs,metrics}/*.jsonl``; a Collector
file exporter may put every signal in one file, name it ``*.json`` and nest it anywhere. So the
folder is walked recursively and every line is dispatched on its top-level key
(``resourceSpans`` / ``resourceLogs`` / ``resourceMetrics``).

Three layers, each reusable on its own:

* :func:`iter_documents` yields every export request with where it came from;
* :func:`span_rows` / :func:`log_rows` flatten one request into plain rows;
* :func:`open_store` / :func:`load_store` load those rows into an in-memory DuckDB with the
  tables ``spans`` and ``logs`` (see :data:`SPAN_COLUMNS` and :data:`LOG_COLUMNS`).

Times in the tables are naive ``TIMESTAMP`` values in UTC.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final, Literal

import duckdb

from infertel import conventions as c

Signal = Literal["traces", "logs", "metrics"]

# The top-level key of each OTLP export request, and the signal it carries.
_SIGNAL_KEYS: Final[Mapping[str, Signal]] = {
    "resourceSpans": "traces",
    "resourceLogs": "logs",
    "resourceMetrics": "metrics",
}
TELEMETRY_SUFFIXES: Final = (".json", ".jsonl")

# Column name -> DuckDB type. The order is the table's column order.
SPAN_COLUMNS: Final[Mapping[str, str]] = {
    "trace_id": "VARCHAR",
    "span_id": "VARCHAR",
    "parent_span_id": "VARCHAR",
    "name": "VARCHAR",
    "service": "VARCHAR",
    "model": "VARCHAR",
    "version": "VARCHAR",
    "ring": "VARCHAR",
    "segment": "VARCHAR",
    "outcome": "VARCHAR",
    "error_type": "VARCHAR",
    "status": "VARCHAR",
    "status_message": "VARCHAR",
    "start": "TIMESTAMP",
    "duration_ms": "DOUBLE",
    "attributes": "JSON",
    "events": "JSON",
}
LOG_COLUMNS: Final[Mapping[str, str]] = {
    "time": "TIMESTAMP",
    "trace_id": "VARCHAR",
    "span_id": "VARCHAR",
    "severity": "VARCHAR",
    "severity_number": "INTEGER",
    "event_name": "VARCHAR",
    "body": "JSON",
    "attributes": "JSON",
    "service": "VARCHAR",
}

_STATUS_NAMES: Final[Mapping[int | str, str]] = {
    0: "unset",
    1: "ok",
    2: "error",
    # Enum names, for writers that do not use integers for enums.
    "STATUS_CODE_UNSET": "unset",
    "STATUS_CODE_OK": "ok",
    "STATUS_CODE_ERROR": "error",
}
_EPOCH: Final = datetime(1970, 1, 1)
# How many corrupt-line locations to keep for messages; the count is always exact.
_MAX_REPORTED_LOCATIONS: Final = 5


class StoreError(Exception):
    """The store cannot be read. ``str(error)`` is a message fit to show a user as is."""


@dataclass(frozen=True)
class StoreDocument:
    """One OTLP export request read from one line of one file."""

    signal: Signal
    path: Path
    line: int
    data: dict[str, Any]


@dataclass
class ReadStats:
    """What reading a store found, including what it had to skip."""

    files: int = 0
    documents: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(_SIGNAL_KEYS.values(), 0)
    )
    # Lines that are not JSON, or JSON that is not an OTLP export request.
    corrupt_lines: int = 0
    corrupt_locations: list[tuple[Path, int]] = field(default_factory=list)
    # Unparseable last lines without a newline: a writer crashed (or is still writing) mid-line.
    truncated_lines: int = 0
    # Files that could not be opened (permissions, dangling links).
    unreadable_files: list[Path] = field(default_factory=list)

    @property
    def total_documents(self) -> int:
        return sum(self.documents.values())

    def record_corrupt(self, path: Path, line: int) -> None:
        self.corrupt_lines += 1
        if len(self.corrupt_locations) < _MAX_REPORTED_LOCATIONS:
            self.corrupt_locations.append((path, line))


@dataclass
class LoadedStore:
    """An in-memory DuckDB holding a store's spans and logs, and how the read went."""

    connection: duckdb.DuckDBPyConnection
    stats: ReadStats
    spans: int
    logs: int


# ------------------------------------------------------------------------------------ files
def find_telemetry_files(path: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.json`` / ``*.jsonl`` file under ``path``, recursively, in a stable order.

    Raises :class:`StoreError` when ``path`` is missing or not a directory.
    """
    root = Path(path)
    if not root.exists():
        raise StoreError(f"store not found: {root}")
    if not root.is_dir():
        raise StoreError(f"not a directory: {root} (pass the store folder)")
    found: list[Path] = []
    # os.walk does not follow directory symlinks, so a link loop cannot hang the walk.
    for folder, _dirs, names in os.walk(root):
        found.extend(
            Path(folder, name) for name in names if name.lower().endswith(TELEMETRY_SUFFIXES)
        )
    return sorted(found)


def iter_documents(path: str | os.PathLike[str],
                   stats: ReadStats | None = None) -> Iterator[StoreDocument]:
    """Yield every OTLP export request under ``path``, whatever the folder layout.

    Corrupt lines and unreadable files are skipped and counted in ``stats`` (when given),
    never raised. Raises :class:`StoreError` when ``path`` is missing or not a directory.
    """
    stats = stats if stats is not None else ReadStats()
    for file in find_telemetry_files(path):
        stats.files += 1
        yield from _file_documents(file, stats)


def _file_documents(path: Path, stats: ReadStats) -> Iterator[StoreDocument]:
    try:
        handle = path.open("rb")  # bytes: an invalid UTF-8 sequence is one corrupt line
    except OSError:
        # A dangling link or a file of another user must not hide the rest of the store.
        stats.unreadable_files.append(path)
        return
    with handle:
        yield from _stream_documents(path, handle, stats)


def _stream_documents(path: Path, handle: IO[bytes], stats: ReadStats) -> Iterator[StoreDocument]:
    found = 0
    bad: list[int] = []
    last_unterminated = False
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        document = _parse_document(path, number, raw)
        if document is None:
            bad.append(number)
            last_unterminated = not raw.endswith(b"\n")
            continue
        found += 1
        stats.documents[document.signal] += 1
        yield document
    if found == 0 and len(bad) > 1:
        # No line parsed: perhaps one pretty-printed request (e.g. saved through `jq .`).
        whole = _whole_file_document(path, handle)
        if whole is not None:
            stats.documents[whole.signal] += 1
            yield whole
            return
    if bad and last_unterminated:
        stats.truncated_lines += 1
        bad.pop()
    for number in bad:
        stats.record_corrupt(path, number)


def _parse_document(path: Path, number: int, raw: bytes) -> StoreDocument | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    signal = _signal_of(data)
    if signal is None:
        return None
    return StoreDocument(signal, path, number, data)


def _signal_of(data: object) -> Signal | None:
    if not isinstance(data, dict):
        return None
    for key, signal in _SIGNAL_KEYS.items():
        if isinstance(data.get(key), list):
            return signal
    return None


def _whole_file_document(path: Path, handle: IO[bytes]) -> StoreDocument | None:
    handle.seek(0)
    return _parse_document(path, 1, handle.read())


# ------------------------------------------------------------------------------- values
def any_value(value: object) -> Any:
    """An OTLP/JSON ``AnyValue`` as plain JSON-compatible Python (kvlists become dicts).

    Non-finite doubles become the strings ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"`` (as
    protobuf's JSON mapping writes them), since JSON itself cannot hold them.
    """
    if not isinstance(value, dict):
        return None
    for kind, raw in value.items():  # one key names the kind: a dict lookup beats a chain of ifs
        convert = _ANY_VALUE_KINDS.get(kind)
        if convert is not None:
            return convert(raw)
    return None


def attributes_dict(attributes: object) -> dict[str, Any]:
    """An OTLP/JSON ``[{key, value}]`` list as a dict (a later duplicate key wins)."""
    result: dict[str, Any] = {}
    if not isinstance(attributes, list):
        return result
    for item in attributes:
        if isinstance(item, dict):
            key = item.get("key")
            if isinstance(key, str):
                result[key] = any_value(item.get("value"))
    return result


def _array_value(raw: object) -> list[Any]:
    return [any_value(item) for item in _list(_dict(raw).get("values"))]


def _kvlist_value(raw: object) -> dict[str, Any]:
    return attributes_dict(_dict(raw).get("values"))


def _same(raw: object) -> object:
    return raw


def _int_value(raw: object) -> int | None:
    # int64 is a string in protobuf's JSON mapping; some writers emit a bare number.
    if not isinstance(raw, (str, int, float)):
        return None
    try:
        return int(raw)
    except (ValueError, OverflowError):
        return None


def _double_value(raw: object) -> float | str | None:
    if not isinstance(raw, (str, int, float)):
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


_ANY_VALUE_KINDS: Final[Mapping[str, Callable[[object], Any]]] = {
    "stringValue": _same,
    "boolValue": bool,
    "intValue": _int_value,
    "doubleValue": _double_value,
    "arrayValue": _array_value,
    "kvlistValue": _kvlist_value,
    "bytesValue": _same,  # base64 text, as protobuf's JSON mapping writes bytes
}


def nanos_to_datetime(nanos: object) -> datetime | None:
    """A ``*UnixNano`` field (string or number) as a naive UTC datetime; None when unset."""
    value = _int_value(nanos)
    if not value or value < 0:
        return None
    try:
        return _EPOCH + timedelta(microseconds=value // 1000)
    except OverflowError:
        return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    """An attribute value for a text column: None stays None, anything else becomes text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _id(value: object) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


# ------------------------------------------------------------------------------- flatten
def span_rows(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Flatten an ExportTraceServiceRequest into one row per span (keys: SPAN_COLUMNS)."""
    for resource_spans in _list(document.get("resourceSpans")):
        resource = attributes_dict(_dict(_dict(resource_spans).get("resource")).get("attributes"))
        for scope_spans in _list(_dict(resource_spans).get("scopeSpans")):
            for span in _list(_dict(scope_spans).get("spans")):
                if isinstance(span, dict):
                    yield span_row(span, resource)


def span_row(span: Mapping[str, Any], resource: Mapping[str, Any]) -> dict[str, Any]:
    """One span as a row; span attributes win over resource attributes of the same name."""
    attributes = {**resource, **attributes_dict(span.get("attributes"))}
    status = _dict(span.get("status"))
    start_nanos = _int_value(span.get("startTimeUnixNano"))
    end_nanos = _int_value(span.get("endTimeUnixNano"))
    duration_ms = None
    if start_nanos and end_nanos:
        duration_ms = (end_nanos - start_nanos) / 1e6
    return {
        "trace_id": _id(span.get("traceId")),
        "span_id": _id(span.get("spanId")),
        "parent_span_id": _id(span.get("parentSpanId")),
        "name": _text(span.get("name")),
        "service": _text(attributes.get(c.SERVICE_NAME)),
        "model": _text(attributes.get(c.MODEL_NAME)),
        "version": _text(attributes.get(c.MODEL_VERSION)),
        "ring": _text(attributes.get(c.DEPLOYMENT_RING)),
        "segment": _text(attributes.get(c.SEGMENT)),
        "outcome": _text(attributes.get(c.INFERENCE_OUTCOME)),
        "error_type": _text(attributes.get(c.ERROR_TYPE)),
        "status": _status_name(status.get("code")),
        "status_message": _text(status.get("message")) or None,
        "start": _timestamp_text(nanos_to_datetime(start_nanos)),
        "duration_ms": duration_ms,
        "attributes": attributes,
        "events": [_event(event) for event in _list(span.get("events"))],
    }


def _status_name(code: object) -> str:
    if isinstance(code, (int, str)):
        return _STATUS_NAMES.get(code, "unset")
    return "unset"


def _event(event: object) -> dict[str, Any]:
    event = _dict(event)
    return {
        "name": _text(event.get("name")),
        "time": _timestamp_text(nanos_to_datetime(event.get("timeUnixNano"))),
        "attributes": attributes_dict(event.get("attributes")),
    }


def log_rows(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Flatten an ExportLogsServiceRequest into one row per log record (keys: LOG_COLUMNS)."""
    for resource_logs in _list(document.get("resourceLogs")):
        resource = attributes_dict(_dict(_dict(resource_logs).get("resource")).get("attributes"))
        for scope_logs in _list(_dict(resource_logs).get("scopeLogs")):
            for record in _list(_dict(scope_logs).get("logRecords")):
                if isinstance(record, dict):
                    yield log_row(record, resource)


def log_row(record: Mapping[str, Any], resource: Mapping[str, Any]) -> dict[str, Any]:
    """One log record as a row; ``body`` is the AnyValue as JSON (a string body stays a string)."""
    # OpenTelemetry: when the event time is unset, the observed time stands in for it.
    time = nanos_to_datetime(record.get("timeUnixNano")) or nanos_to_datetime(
        record.get("observedTimeUnixNano")
    )
    return {
        "time": _timestamp_text(time),
        "trace_id": _id(record.get("traceId")),
        "span_id": _id(record.get("spanId")),
        "severity": _text(record.get("severityText")) or None,
        "severity_number": _int_value(record.get("severityNumber")),
        "event_name": _text(record.get("eventName")) or None,
        "body": any_value(record.get("body")),
        "attributes": attributes_dict(record.get("attributes")),
        "service": _text(resource.get(c.SERVICE_NAME)),
    }


def _timestamp_text(moment: datetime | None) -> str | None:
    return moment.isoformat(sep=" ") if moment is not None else None


# ------------------------------------------------------------------------------- DuckDB
def open_store(path: str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the tables ``spans`` and ``logs`` loaded from the store at ``path``.

    Raises :class:`StoreError` (with a message for humans) when the path is missing or not a
    directory, holds no telemetry files, or its files hold no valid record at all.
    """
    return load_store(path).connection


def load_store(path: str | os.PathLike[str]) -> LoadedStore:
    """Like :func:`open_store`, and also say what was read and what was skipped."""
    stats = ReadStats()
    with tempfile.TemporaryDirectory(prefix="infertel-store-") as scratch:
        spans_file = Path(scratch, "spans.ndjson")
        logs_file = Path(scratch, "logs.ndjson")
        span_count, log_count = _write_rows(iter_documents(path, stats), spans_file, logs_file)
        _check_readable(Path(path), stats)
        connection = duckdb.connect(":memory:")
        try:
            _create_table(connection, "spans", SPAN_COLUMNS, spans_file, span_count)
            _create_table(connection, "logs", LOG_COLUMNS, logs_file, log_count)
        except BaseException:
            connection.close()
            raise
    return LoadedStore(connection, stats, span_count, log_count)


def _write_rows(documents: Iterable[StoreDocument], spans_file: Path,
                logs_file: Path) -> tuple[int, int]:
    """Stream flattened rows to NDJSON: DuckDB bulk-loads that far faster than row inserts."""
    span_count = log_count = 0
    with spans_file.open("wb") as spans_out, logs_file.open("wb") as logs_out:
        for document in documents:
            if document.signal == "traces":
                span_count += _write_ndjson(spans_out, span_rows(document.data))
            elif document.signal == "logs":
                log_count += _write_ndjson(logs_out, log_rows(document.data))
    return span_count, log_count


def _write_ndjson(out: IO[bytes], rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    for row in rows:
        # A lone surrogate (legal in a JSON escape, not in UTF-8) would make DuckDB reject the
        # whole file; "replace" turns it into "?" instead.
        text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        out.write(text.encode("utf-8", errors="replace"))
        out.write(b"\n")
        count += 1
    return count


def _check_readable(root: Path, stats: ReadStats) -> None:
    if stats.files == 0:
        raise StoreError(f"no telemetry files (*.json, *.jsonl) under {root}")
    if stats.total_documents == 0:
        raise StoreError(
            f"no valid telemetry records in {stats.files} file(s) under {root}"
            + describe_skipped(stats, prefix="; ")
        )


def describe_skipped(stats: ReadStats, prefix: str = "") -> str:
    """A short note on what was skipped ("" when nothing), naming where; never the content."""
    notes = []
    if stats.corrupt_lines:
        where = ", ".join(f"{path}:{line}" for path, line in stats.corrupt_locations)
        more = "" if stats.corrupt_lines <= len(stats.corrupt_locations) else ", ..."
        notes.append(f"skipped {stats.corrupt_lines} corrupt line(s) ({where}{more})")
    if stats.unreadable_files:
        shown = stats.unreadable_files[:_MAX_REPORTED_LOCATIONS]
        more = "" if len(stats.unreadable_files) <= len(shown) else ", ..."
        notes.append(f"could not read {len(stats.unreadable_files)} file(s) "
                     f"({', '.join(map(str, shown))}{more})")
    return prefix + "; ".join(notes) if notes else ""


def _create_table(connection: duckdb.DuckDBPyConnection, table: str,
                  columns: Mapping[str, str], source: Path, rows: int) -> None:
    # Table and column names come from the constants above, never from input.
    definition = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
    connection.execute(f"CREATE TABLE {table} ({definition})")
    if rows == 0:
        return  # read_json on an empty file has nothing to load
    types = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    connection.execute(
        f"INSERT INTO {table} SELECT * FROM read_json(?, format = 'newline_delimited', "
        f"columns = {{{types}}}, maximum_object_size = 1073741824)",
        [str(source)],
    )

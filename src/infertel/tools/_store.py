"""Read a telemetry store into DuckDB: OTLP/JSON lines, as infertel's local exporter or a
Collector writes them.

Three layers, each reusable on its own:

* :func:`iter_documents` (:mod:`._documents`) yields every export request with where it came
  from, whatever the folder layout, and counts what it had to skip;
* :func:`span_rows` / :func:`log_rows` (:mod:`._rows`) flatten one request into plain rows;
* :func:`open_store` / :func:`load_store` (here) load those rows into an in-memory DuckDB with
  the tables ``spans`` and ``logs`` (see :data:`SPAN_COLUMNS` and :data:`LOG_COLUMNS`).

This module is the reader's public face: the names above are importable from here. Times in the
tables are naive ``TIMESTAMP`` values in UTC.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb

from infertel.tools._documents import (
    ReadStats,
    Signal,
    StoreDocument,
    StoreError,
    Unreadable,
    describe_skipped,
    find_telemetry_files,
    iter_documents,
)
from infertel.tools._rows import (
    LOG_COLUMNS,
    SPAN_COLUMNS,
    any_value,
    attributes_dict,
    iso_utc,
    log_row,
    log_rows,
    nanos_to_datetime,
    span_row,
    span_rows,
)

__all__ = [
    "LOG_COLUMNS",
    "SPAN_COLUMNS",
    "LoadedStore",
    "ReadStats",
    "Signal",
    "StoreDocument",
    "StoreError",
    "Unreadable",
    "any_value",
    "attributes_dict",
    "describe_skipped",
    "find_telemetry_files",
    "iso_utc",
    "iter_documents",
    "load_store",
    "log_row",
    "log_rows",
    "nanos_to_datetime",
    "open_store",
    "span_row",
    "span_rows",
]


@dataclass
class LoadedStore:
    """An in-memory DuckDB holding a store's spans and logs, and how the read went."""

    connection: duckdb.DuckDBPyConnection
    stats: ReadStats
    spans: int
    logs: int


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

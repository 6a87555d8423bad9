"""How ``infertel query`` shows what it found: span and log tables, and one trace as a tree.

Every cell is a rich ``Text`` (data is never read as markup). A narrow terminal gets compact
tables with trace-id prefixes (which ``--trace`` accepts); output that is not a terminal is
always wide, so piped ids are whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

Row = dict[str, Any]  # one result row, column name -> value

# Long attribute values (stack traces) are cut in the tree view; --json has them whole.
_MAX_VALUE_CHARS: Final = 160
# Below this terminal width the tables get compact: trace-id prefixes, fewer columns.
_WIDE_TERMINAL: Final = 150
_SHORT_ID_CHARS: Final = 8
# Time wraps to "2026-01-31" over "12:00:00.000"; the others fit a header word or a value.
_MIN_WIDTHS: Final = {"time (UTC)": 12}
_STATUS_STYLE: Final = {"error": "bold red", "ok": "green", "unset": "dim"}


def is_wide(console: Console) -> bool:
    return console.width >= _WIDE_TERMINAL


def _table() -> Table:
    # No vertical rules: every column counts in an 80-column terminal.
    return Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold underline")


def _trace_cell(row: Row, wide: bool) -> Text:
    # A narrow terminal gets an id prefix, which --trace accepts; --json always has whole ids.
    return Text((row["trace_id"] or "")[: 32 if wide else _SHORT_ID_CHARS])


def span_table(rows: Sequence[Row], wide: bool) -> Table:
    """Spans as a table; a narrow terminal shows model@version and ring/segment as one column."""
    if wide:
        headers = ["time (UTC)", "trace id", "name", "model", "version", "ring", "segment",
                   "status", "duration ms", "error type"]
    else:
        headers = ["time (UTC)", "trace id", "name", "model@version", "ring/segment", "status",
                   "duration ms", "error type"]
    table = _table()
    for header in headers:
        # Ids never wrap (they are copied into --trace); other cells fold rather than hide.
        table.add_column(header, justify="right" if header == "duration ms" else "left",
                         no_wrap=header in ("trace id", "status"), overflow="fold",
                         min_width=_MIN_WIDTHS.get(header))
    for row in rows:
        if wide:
            where = [Text(row["model"] or ""), Text(row["version"] or ""),
                     Text(row["ring"] or ""), Text(row["segment"] or "")]
        else:
            where = [Text(_model_text(row)),
                     Text("/".join(part for part in (row["ring"], row["segment"]) if part))]
        table.add_row(
            Text(_clock(row["start"])),
            _trace_cell(row, wide),
            Text(row["name"] or ""),
            *where,
            _status_text(row["status"]),
            Text(_milliseconds(row["duration_ms"])),
            Text(_error_type(row["error_type"], wide), style="red"),
        )
    return table


def _error_type(error_type: str | None, wide: bool) -> str:
    # Narrow: the class name alone ("pkg.mod.Error" -> "Error"); the module path rarely fits.
    if not error_type:
        return ""
    return error_type if wide else error_type.rsplit(".", 1)[-1]


def log_table(rows: Sequence[Row], wide: bool) -> Table:
    table = _table()
    for header in ("time (UTC)", "trace id", "span id", "severity", "event", "body"):
        table.add_column(header, no_wrap=header in ("trace id", "span id"), overflow="fold",
                         min_width=_MIN_WIDTHS.get(header), ratio=1 if header == "body" else None)
    for row in rows:
        table.add_row(
            Text(_clock(row["time"])),
            _trace_cell(row, wide),
            Text(row["span_id"] or ""),
            _severity_text(row["severity"]),
            Text(row["event_name"] or ""),
            Text(_shorten(_body_text(row["body"]), _MAX_VALUE_CHARS if wide else 60)),
        )
    return table



class TraceTree:
    """Renders one trace: spans nested by parent, each with its own log records, in time order."""

    def __init__(self, spans: list[Row], logs: list[Row]) -> None:
        self._spans = spans
        self._logs = logs
        span_ids = {span["span_id"] for span in spans if span["span_id"] is not None}
        self._children: dict[str, list[Row]] = {}
        self._roots: list[Row] = []
        for span in spans:
            parent = span["parent_span_id"]
            # A span whose parent is not in the store (another service, or lost) is a root.
            if parent in span_ids and parent != span["span_id"]:
                self._children.setdefault(parent, []).append(span)
            else:
                self._roots.append(span)
        self._logs_by_span: dict[str, list[Row]] = {}
        self._orphan_logs: list[Row] = []
        for record in logs:
            if record["span_id"] in span_ids:
                self._logs_by_span.setdefault(record["span_id"], []).append(record)
            else:
                self._orphan_logs.append(record)
        self._shown: set[int] = set()

    def render(self, trace_id: str) -> Tree:
        tree = Tree(Text.assemble(
            ("trace ", "bold"), trace_id,
            (f"  {len(self._spans)} span(s), {len(self._logs)} log record(s)", "dim"),
        ))
        for root in self._roots:
            self._add_span(tree, root)
        # Spans whose parent links form a loop (corrupt data) are reachable from no root.
        for span in self._spans:
            if id(span) not in self._shown:
                self._add_span(tree, span)
        if self._orphan_logs:
            branch = tree.add(Text("log records without a span in this store", style="italic"))
            for record in self._orphan_logs:
                branch.add(_log_label(record))
        return tree

    def _add_span(self, node: Tree, span: Row) -> None:
        if id(span) in self._shown:
            return
        self._shown.add(id(span))
        branch = node.add(_span_label(span))
        span_id = span["span_id"]
        if span_id is None:
            return
        # Child spans and the span's own log records in time order, as they happened.
        entries = [(child["start"], child, True) for child in self._children.get(span_id, [])]
        entries += [(log["time"], log, False) for log in self._logs_by_span.get(span_id, [])]
        entries.sort(key=lambda entry: (entry[0] is None, entry[0] or datetime.min))
        for _time, entry, is_span in entries:
            if is_span:
                self._add_span(branch, entry)
            else:
                branch.add(_log_label(entry))


def _span_label(span: Row) -> Text:
    label = Text.assemble(
        (span["name"] or "(unnamed)", "bold"), "  ", _status_text(span["status"]),
        f"  {_milliseconds(span['duration_ms'])} ms",
    )
    where = [part for part in (_model_text(span), span["ring"], span["segment"]) if part]
    if where:
        label.append("  " + "  ".join(where))
    label.append(f"  span {span['span_id']}", style="dim")
    if span["status_message"]:
        label.append("\n" + _shorten(span["status_message"]), style="red")
    return label


def _model_text(span: Row) -> str:
    if span["model"] and span["version"]:
        return f"{span['model']}@{span['version']}"
    return str(span["model"] or "")


def _log_label(record: Row) -> Text:
    label = Text.assemble(
        (_clock(record["time"]), "dim"), " ", _severity_text(record["severity"]), " ",
    )
    if record["event_name"]:
        label.append(f"[{record['event_name']}] ", style="cyan")
    label.append(_shorten(_body_text(record["body"])))
    attributes = json.loads(record["attributes"] or "{}")
    if attributes:
        label.append("\n" + _attributes_text(attributes), style="dim")
    return label


def _attributes_text(attributes: Mapping[str, Any]) -> str:
    return "  ".join(f"{key}={_shorten(_value_text(value))}" for key, value in attributes.items())



def count_line(shown: int, total: int, noun: str) -> Text:
    if total == 0:
        return Text(f"No {noun}s match.")
    plural = noun if total == 1 else f"{noun}s"
    if shown < total:
        return Text(f"Showing the newest {shown} of {total} matching {plural} "
                    f"(--limit N to see more, --limit 0 for all).", style="yellow")
    return Text(f"{total} matching {plural}.")


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if moment else "-"


def _milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _status_text(status: str | None) -> Text:
    name = status or "unset"
    return Text(name, style=_STATUS_STYLE.get(name, ""))


def _severity_text(severity: str | None) -> Text:
    name = severity or "-"
    upper = name.upper()
    style = "red" if upper.startswith(("ERROR", "FATAL", "CRITICAL")) else (
        "yellow" if upper.startswith("WARN") else "")
    return Text(name, style=style)


def _body_text(body: str | None) -> str:
    """A body column value for humans: a string body as is, anything else as compact JSON."""
    if body is None:
        return ""
    return _value_text(json.loads(body))


def _value_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _shorten(text: str, limit: int = _MAX_VALUE_CHARS) -> str:
    flat = text.replace("\n", " ⏎ ")
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1] + "…"

"""Read a telemetry folder as OTLP export requests, one per line, whatever its layout.

The reader trusts no layout. infertel writes ``<dir>/{traces,logs,metrics}/*.jsonl``; a Collector
file exporter may put every signal in one file, name it ``*.json`` and nest it anywhere. So the
folder is walked recursively and every line is dispatched on its top-level key
(``resourceSpans`` / ``resourceLogs`` / ``resourceMetrics``).

What cannot be read is never raised and never echoed: it is counted in :class:`ReadStats` with
its file, line number and a fixed reason, so a report can say where without saying what.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

Signal = Literal["traces", "logs", "metrics"]

# The top-level key of each OTLP export request, and the signal it carries.
SIGNAL_KEYS: Final[Mapping[str, Signal]] = {
    "resourceSpans": "traces",
    "resourceLogs": "logs",
    "resourceMetrics": "metrics",
}
TELEMETRY_SUFFIXES: Final = (".json", ".jsonl")

# Fixed reasons: a report names why a line was skipped, never what it held.
NOT_JSON: Final = "not JSON"
NOT_OTLP: Final = "not an OTLP export request"
CUT_OFF: Final = "last line cut off (no newline)"
CANNOT_OPEN: Final = "cannot open the file"

# How many corrupt-line locations to keep for one-line messages; the count is always exact.
_MAX_REPORTED_LOCATIONS: Final = 5
# How many unreadable items to list in full (`infertel scan --json`); the count stays exact.
MAX_LISTED_UNREADABLE: Final = 1000


class StoreError(Exception):
    """The store cannot be read. ``str(error)`` is a message fit to show a user as is."""


@dataclass(frozen=True)
class StoreDocument:
    """One OTLP export request read from one line of one file."""

    signal: Signal
    path: Path
    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Unreadable:
    """Something the reader had to skip: a file (``line`` None) or one line of it."""

    path: Path
    line: int | None
    reason: str


@dataclass
class ReadStats:
    """What reading a store found, including what it had to skip."""

    files: int = 0
    documents: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(SIGNAL_KEYS.values(), 0)
    )
    # Lines that are not JSON, or JSON that is not an OTLP export request.
    corrupt_lines: int = 0
    corrupt_locations: list[tuple[Path, int]] = field(default_factory=list)
    # Unparseable last lines without a newline: a writer crashed (or is still writing) mid-line.
    truncated_lines: int = 0
    # Files that could not be opened (permissions, dangling links).
    unreadable_files: list[Path] = field(default_factory=list)
    # Every skipped item above with its reason, up to MAX_LISTED_UNREADABLE.
    unreadable: list[Unreadable] = field(default_factory=list)

    @property
    def total_documents(self) -> int:
        return sum(self.documents.values())

    @property
    def unreadable_count(self) -> int:
        """Everything skipped, cut-off last lines included (the exact count)."""
        return self.corrupt_lines + self.truncated_lines + len(self.unreadable_files)

    def record_corrupt(self, path: Path, line: int, reason: str) -> None:
        self.corrupt_lines += 1
        if len(self.corrupt_locations) < _MAX_REPORTED_LOCATIONS:
            self.corrupt_locations.append((path, line))
        self._list(Unreadable(path, line, reason))

    def record_truncated(self, path: Path, line: int) -> None:
        self.truncated_lines += 1
        self._list(Unreadable(path, line, CUT_OFF))

    def record_unopenable(self, path: Path) -> None:
        self.unreadable_files.append(path)
        self._list(Unreadable(path, None, CANNOT_OPEN))

    def _list(self, item: Unreadable) -> None:
        if len(self.unreadable) < MAX_LISTED_UNREADABLE:
            self.unreadable.append(item)


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
        stats.record_unopenable(path)
        return
    with handle:
        yield from _stream_documents(path, handle, stats)


def _stream_documents(path: Path, handle: IO[bytes], stats: ReadStats) -> Iterator[StoreDocument]:
    found = 0
    bad: list[tuple[int, str]] = []
    last_unterminated = False
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        document, reason = _parse_document(path, number, raw)
        if document is None:
            bad.append((number, reason))
            last_unterminated = not raw.endswith(b"\n")
            continue
        found += 1
        stats.documents[document.signal] += 1
        yield document
    if found == 0 and len(bad) > 1:
        # No line parsed: perhaps one pretty-printed request (e.g. saved through `jq .`).
        handle.seek(0)
        whole, _reason = _parse_document(path, 1, handle.read())
        if whole is not None:
            stats.documents[whole.signal] += 1
            yield whole
            return
    if bad and last_unterminated:
        stats.record_truncated(path, bad.pop()[0])
    for number, reason in bad:
        stats.record_corrupt(path, number, reason)


def _parse_document(path: Path, number: int, raw: bytes) -> tuple[StoreDocument | None, str]:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, NOT_JSON
    signal = _signal_of(data)
    if signal is None:
        return None, NOT_OTLP
    return StoreDocument(signal, path, number, data), ""


def _signal_of(data: object) -> Signal | None:
    if not isinstance(data, dict):
        return None
    for key, signal in SIGNAL_KEYS.items():
        if isinstance(data.get(key), list):
            return signal
    return None


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

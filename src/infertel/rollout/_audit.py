"""A tamper-evident, append-only audit log: JSON lines chained by SHA-256.

Each entry is ``{"seq", "time_ns", "kind", "data", "prev", "hash"}`` where ``prev`` is the
previous entry's ``hash`` (64 zeros for the first) and ``hash`` is the SHA-256 of the canonical
JSON of the entry without its ``hash``. Editing, removing, reordering or inserting an entry
breaks the chain at that entry, which :func:`verify_chain` names. (An attacker who rewrites
the whole tail can re-chain it: ship the file, or its last hash, somewhere append-only too.)

One file per guard (per process): two processes appending to one file would interleave two
chains. Entries hold decision evidence and plan fields only: numbers and labels, no payload.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infertel.rollout._plan import canonical_json, sha256_hex

GENESIS = "0" * 64
# Entries kept in memory for ``RolloutGuard.audit_entries()`` (the file keeps them all).
_MEMORY_LIMIT = 10_000


def entry_hash(entry: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({k: v for k, v in entry.items() if k != "hash"}))


class AuditLog:
    """Appends chained entries to ``path`` (if given) and keeps the recent ones in memory."""

    __slots__ = ("_entries", "_last_hash", "_lock", "_path", "_seq")

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._seq = 0
        self._last_hash = GENESIS
        if self._path is not None and self._path.exists():
            self._resume(self._path)

    @property
    def path(self) -> Path | None:
        return self._path

    def _resume(self, path: Path) -> None:
        """Continue an existing chain (a restarted process keeps one history per file)."""
        last: dict[str, Any] | None = None
        for entry in _read_entries(path):
            last = entry
        if last is not None:
            self._seq = int(last.get("seq", 0)) + 1
            self._last_hash = str(last.get("hash", GENESIS))

    def append(self, kind: str, data: dict[str, Any], time_ns: int | None = None
               ) -> dict[str, Any]:
        with self._lock:
            entry: dict[str, Any] = {
                "seq": self._seq,
                "time_ns": time.time_ns() if time_ns is None else time_ns,
                "kind": kind,
                "data": data,
                "prev": self._last_hash,
            }
            entry["hash"] = entry_hash(entry)
            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="ascii") as handle:
                    handle.write(canonical_json(entry) + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
            self._seq += 1
            self._last_hash = entry["hash"]
            self._entries.append(entry)
            if len(self._entries) > _MEMORY_LIMIT:
                del self._entries[: len(self._entries) - _MEMORY_LIMIT]
            return entry

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)


def _read_entries(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_bad: int | None = None  # 1-based line number of the first bad entry
    reason: str = ""


def verify_chain(lines: Iterable[str]) -> ChainReport:
    """Check every entry's hash and its link to the previous one."""
    previous = GENESIS
    count = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        count += 1
        try:
            entry = json.loads(line)
        except ValueError:
            return ChainReport(False, count, number, "not valid JSON")
        if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
            return ChainReport(False, count, number, "not an audit entry")
        if entry.get("prev") != previous:
            return ChainReport(False, count, number,
                               "previous-hash link broken (an entry before it was changed, "
                               "removed or inserted)")
        if entry_hash(entry) != entry["hash"]:
            return ChainReport(False, count, number, "content does not match its hash")
        previous = entry["hash"]
    return ChainReport(True, count)


def verify_file(path: str | os.PathLike[str]) -> ChainReport:
    with Path(path).open("r", encoding="utf-8", errors="replace") as handle:
        return verify_chain(handle)

"""The durable spool: encoded OTLP requests that could not be sent, kept on disk until they can.

Storage is one SQLite database in WAL mode (``<spool_dir>/spool.db``), one row per batch, rather
than append-only segment files, because the spool needs three things at once that segment files
would each have to build by hand:

* **crash safety at row granularity**: a batch is either fully in the spool or not at all
  (a SIGKILL mid-write leaves no torn record to detect and skip), and "sent, so delete" is one
  committed statement, so after a crash at most the batch being replayed is sent again;
* **eviction of exactly the oldest batches**: the size bound drops whole batches, oldest first,
  in the same transaction as the insert, and counts their records (``spool_evicted``) — with
  segment files the unit of eviction is a segment, not a batch;
* **several processes on one folder** (pre-forked servers, a restarted process finding its
  predecessor's data): SQLite's locking serialises writers, and a lease row lets one process at
  a time replay, in ``id`` order, so replays are neither doubled nor reordered.

What goes in is only ever the encoded output of infertel's exporters — requests built from
records that already crossed the privacy boundary — never a raw record. Durability: a commit
survives the process being killed (WAL, ``synchronous=NORMAL``); a power cut may lose the last
commits. The size bound counts payload bytes; the files add SQLite's page overhead and a WAL
capped by ``journal_size_limit``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

_log = logging.getLogger("infertel")

FILE_NAME: Final = "spool.db"
BUSY_TIMEOUT_MS: Final = 2000  # every wait on another process's lock is bounded
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    signal TEXT NOT NULL,
    records INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_destination ON batches (destination, id);
CREATE TABLE IF NOT EXISTS lease (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    holder TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL
);
"""

OnEvicted = Callable[[str, int], None]  # (signal, records)


@dataclass(frozen=True)
class SpooledBatch:
    id: int
    destination: str
    signal: str
    records: int
    payload: bytes
    attempts: int


class Spool:
    """A size-bounded FIFO of encoded batches in ``directory``; safe across threads, forks and
    processes. Methods never raise: a spool that cannot be written counts its loss instead."""

    def __init__(self, directory: Path, max_bytes: int, on_evicted: OnEvicted) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILE_NAME
        self.max_bytes = max_bytes
        self._on_evicted = on_evicted
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self.holder = f"{os.getpid()}-{os.urandom(6).hex()}"
        self.evicted_batches = 0
        self.evicted_records = 0
        self.appended_batches = 0
        self.replayed_batches = 0
        self.replayed_records = 0
        self.errors = 0
        self.closed = False
        with self._lock:
            self._connection()  # open (and create) now: a broken folder shows at configure()

    # ----------------------------------------------------------------- connection
    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        if self._pid and self._pid != os.getpid():
            # A forked child: the parent's connection must not be used or closed here.
            self._conn = None
            self.holder = f"{os.getpid()}-{os.urandom(6).hex()}"
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError:
            # A damaged file must not stop the service: keep it aside, start an empty spool.
            aside = self.path.with_name(f"{FILE_NAME}.damaged-{time.time_ns()}")
            _log.warning("infertel: the spool database was damaged; moved it to %s", aside.name)
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self._conn = self._open()
        self._pid = os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect on a new file only
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA journal_size_limit=4194304")
        conn.executescript(_SCHEMA)
        conn.execute("SELECT count(*) FROM batches").fetchone()  # raises if the file is damaged
        return conn

    def _run(self, what: str, default: Any, work: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            if self.closed:
                return default
            try:
                return work(self._connection())
            except Exception as error:  # disk full, locked too long, I/O error
                self.errors += 1
                if self.errors == 1 or self.errors % 1000 == 0:
                    _log.warning("infertel: spool %s failed (%s); %d spool error(s) so far",
                                 what, type(error).__name__, self.errors)
                return default

    # ----------------------------------------------------------------- writing
    def append(self, destination: str, signal: str, payload: bytes, records: int) -> str:
        """Keep one batch, evicting the oldest ones to stay within ``max_bytes``: ``"kept"``;
        ``"evicted"`` when the batch alone is bigger than the bound (counted as evicted);
        ``"failed"`` when the disk failed (not counted here: the caller counts its loss)."""
        size = len(payload)
        if size > self.max_bytes:
            self._evicted(signal, records, 1)
            return "evicted"

        def work(conn: sqlite3.Connection) -> str:
            evicted: list[tuple[str, int]] = []
            conn.execute("BEGIN IMMEDIATE")
            try:
                total = conn.execute("SELECT coalesce(sum(bytes), 0) FROM batches").fetchone()[0]
                while total + size > self.max_bytes:
                    row = conn.execute("SELECT id, signal, records, bytes FROM batches "
                                       "ORDER BY id LIMIT 1").fetchone()
                    if row is None:
                        break
                    conn.execute("DELETE FROM batches WHERE id = ?", (row[0],))
                    evicted.append((row[1], row[2]))
                    total -= row[3]
                conn.execute("INSERT INTO batches (destination, signal, records, bytes, "
                             "created_ns, payload) VALUES (?, ?, ?, ?, ?, ?)",
                             (destination, signal, records, size, time.time_ns(), payload))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self.appended_batches += 1
            for evicted_signal, evicted_records in evicted:
                self._evicted(evicted_signal, evicted_records, 1)
            return "kept"

        return str(self._run("append", "failed", work))

    def _evicted(self, signal: str, records: int, batches: int) -> None:
        self.evicted_batches += batches
        self.evicted_records += records
        with contextlib.suppress(Exception):
            self._on_evicted(signal, records)

    # ----------------------------------------------------------------- reading
    def has_pending(self, destination: str) -> bool:
        return bool(self._run("read", False, lambda conn: conn.execute(
            "SELECT 1 FROM batches WHERE destination = ? LIMIT 1", (destination,)).fetchone()))

    def oldest(self, destinations: Collection[str]) -> SpooledBatch | None:
        if not destinations:
            return None
        marks = ",".join("?" * len(destinations))

        def work(conn: sqlite3.Connection) -> SpooledBatch | None:
            row = conn.execute(
                "SELECT id, destination, signal, records, payload, attempts FROM batches "
                f"WHERE destination IN ({marks}) ORDER BY id LIMIT 1",
                tuple(destinations)).fetchone()
            return SpooledBatch(row[0], row[1], row[2], row[3], bytes(row[4]), row[5]) \
                if row is not None else None

        result: SpooledBatch | None = self._run("read", None, work)
        return result

    def delivered(self, batch: SpooledBatch) -> None:
        """The batch reached the collector (or was refused for good): forget it."""
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM batches WHERE id = ?", (batch.id,))
            self.replayed_batches += 1
            self.replayed_records += batch.records
            if conn.execute("SELECT 1 FROM batches LIMIT 1").fetchone() is None:
                # Empty: give the pages and the WAL back to the file system.
                conn.execute("PRAGMA incremental_vacuum")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        self._run("delete", None, work)

    def attempted(self, batch: SpooledBatch) -> None:
        self._run("update", None, lambda conn: conn.execute(
            "UPDATE batches SET attempts = attempts + 1 WHERE id = ?", (batch.id,)))

    # ----------------------------------------------------------------- the replay lease
    def take_lease(self, seconds: float) -> bool:
        """True when this process may replay for the next ``seconds``: the lease is free,
        expired, ours, or held by a process that no longer exists."""
        now = time.time_ns()
        expires = now + int(seconds * 1e9)

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT holder, pid, expires_ns FROM lease").fetchone()
                free = row is None or row[0] == self.holder or row[2] < now or \
                    not _alive(int(row[1]))
                if free:
                    conn.execute("INSERT OR REPLACE INTO lease (one, holder, pid, expires_ns) "
                                 "VALUES (1, ?, ?, ?)", (self.holder, os.getpid(), expires))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return bool(free)

        with self._lock:
            self._connection()  # a forked child gets its own holder id first
        return bool(self._run("lease", False, work))

    def release_lease(self) -> None:
        self._run("lease", None, lambda conn: conn.execute(
            "DELETE FROM lease WHERE holder = ?", (self.holder,)))

    # ----------------------------------------------------------------- health
    def stats(self) -> dict[str, Any]:
        """Size and state, for ``health()`` and ``infertel doctor``: what is held (batches,
        records and payload bytes, per signal), the oldest batch's age, the files' size on
        disk, and what was evicted, replayed and failed since this process started."""
        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            rows = conn.execute("SELECT signal, count(*), coalesce(sum(records), 0), "
                                "coalesce(sum(bytes), 0), min(created_ns) FROM batches "
                                "GROUP BY signal").fetchall()
            return {row[0]: {"batches": row[1], "records": row[2], "bytes": row[3],
                             "oldest_ns": row[4]} for row in rows}

        by_signal: dict[str, dict[str, Any]] = self._run("stats", {}, work)
        oldest = min((v["oldest_ns"] for v in by_signal.values()), default=None)
        return {
            "path": str(self.path),
            "max_bytes": self.max_bytes,
            "bytes": sum(v["bytes"] for v in by_signal.values()),
            "batches": sum(v["batches"] for v in by_signal.values()),
            "records": sum(v["records"] for v in by_signal.values()),
            "by_signal": {signal: {k: v for k, v in values.items() if k != "oldest_ns"}
                          for signal, values in by_signal.items()},
            "oldest_age_s": (time.time_ns() - oldest) / 1e9 if oldest is not None else None,
            "file_bytes": sum(_size(Path(f"{self.path}{suffix}"))
                              for suffix in ("", "-wal", "-shm")),
            "appended_batches": self.appended_batches,
            "replayed_batches": self.replayed_batches,
            "replayed_records": self.replayed_records,
            "evicted_batches": self.evicted_batches,
            "evicted_records": self.evicted_records,
            "errors": self.errors,
            "closed": self.closed,
        }

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.release_lease()
            self.closed = True
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

"""The durable spool on real SQLite files: order, the size bound (oldest dropped first, counted),
restart, a damaged file, the replay lease between processes, and what stats() reports."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from infertel.export._spool import FILE_NAME, Spool


def _spool(directory: Path, max_bytes: int = 1 << 20) -> tuple[Spool, list[tuple[str, int]]]:
    evicted: list[tuple[str, int]] = []
    return Spool(directory, max_bytes, lambda s, n: evicted.append((s, n))), evicted


def _drain(spool: Spool, keys: set[str]) -> list[bytes]:
    out = []
    while (batch := spool.oldest(keys)) is not None:
        out.append(batch.payload)
        spool.delivered(batch)
    return out


def test_batches_come_back_oldest_first_per_destination(tmp_path: Path) -> None:
    spool, _ = _spool(tmp_path)
    for i in range(10):
        spool.append("traces:a" if i % 2 else "logs:a", "traces" if i % 2 else "logs",
                     f"payload-{i}".encode(), records=i + 1)
    assert spool.has_pending("traces:a")
    assert _drain(spool, {"traces:a"}) == [f"payload-{i}".encode() for i in range(1, 10, 2)]
    assert not spool.has_pending("traces:a")
    assert spool.has_pending("logs:a")
    stats = spool.stats()
    assert stats["batches"] == 5
    assert stats["records"] == sum(i + 1 for i in range(0, 10, 2))
    assert stats["by_signal"]["logs"]["batches"] == 5
    assert stats["replayed_batches"] == 5
    assert stats["replayed_records"] == sum(i + 1 for i in range(1, 10, 2))
    assert stats["file_bytes"] > 0
    spool.close()


def test_size_bound_drops_the_oldest_first_and_counts_them(tmp_path: Path) -> None:
    spool, evicted = _spool(tmp_path, max_bytes=64 * 1024)
    chunk = 10 * 1024
    for i in range(20):
        assert spool.append("traces:a", "traces", bytes([i]) * chunk, records=100 + i) == "kept"
    kept = _drain(spool, {"traces:a"})
    # Six 10 KiB batches fit in 64 KiB: the fourteen oldest went, in order, each counted.
    assert [payload[0] for payload in kept] == list(range(14, 20))
    assert evicted == [("traces", 100 + i) for i in range(14)]
    stats = spool.stats()
    assert stats["evicted_batches"] == 14
    assert stats["evicted_records"] == sum(100 + i for i in range(14))
    # A batch bigger than the whole bound is dropped (and counted) without evicting others.
    spool.append("traces:a", "traces", b"x" * chunk, records=1)
    assert spool.append("traces:a", "traces", b"y" * (65 * 1024), records=7) == "evicted"
    assert evicted[-1] == ("traces", 7)
    assert spool.has_pending("traces:a")
    spool.close()


def test_the_spool_survives_a_restart(tmp_path: Path) -> None:
    first, _ = _spool(tmp_path)
    for i in range(3):
        first.append("logs:a", "logs", f"kept-{i}".encode(), records=1)
    first.close()
    second, _ = _spool(tmp_path)
    assert _drain(second, {"logs:a"}) == [b"kept-0", b"kept-1", b"kept-2"]
    second.close()


def test_a_killed_writer_leaves_whole_batches(tmp_path: Path) -> None:
    """A process SIGKILLed right after appending: every committed batch is there, whole."""
    script = (
        "import os, signal, sys\n"
        "from infertel.export._spool import Spool\n"
        f"spool = Spool({str(tmp_path)!r}, 1 << 24, lambda s, n: None)\n"
        "for i in range(50):\n"
        "    spool.append('traces:a', 'traces', bytes([i]) * 4096, 1)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert done.returncode == -9
    spool, _ = _spool(tmp_path)
    kept = _drain(spool, {"traces:a"})
    assert [(payload[0], len(payload)) for payload in kept] == [(i, 4096) for i in range(50)]
    spool.close()


def test_a_damaged_file_is_moved_aside_not_fatal(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    spool, _ = _spool(tmp_path)
    assert spool.append("traces:a", "traces", b"fresh", 1) == "kept"
    assert len(list(tmp_path.glob(f"{FILE_NAME}.damaged-*"))) == 1
    assert _drain(spool, {"traces:a"}) == [b"fresh"]
    spool.close()


def test_one_process_at_a_time_replays(tmp_path: Path) -> None:
    mine, _ = _spool(tmp_path)
    other, _ = _spool(tmp_path)
    assert mine.take_lease(30)
    assert mine.take_lease(30)  # renewing is fine
    assert not other.take_lease(30)  # held by a live process (this one)
    mine.close()  # releases it
    assert other.take_lease(30)
    other.close()


def test_the_lease_of_a_dead_process_is_taken_at_once(tmp_path: Path) -> None:
    spool, _ = _spool(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    with sqlite3.connect(tmp_path / FILE_NAME) as conn:
        conn.execute("INSERT OR REPLACE INTO lease VALUES (1, 'dead-holder', ?, ?)",
                     (gone.pid, 2**62))
    assert spool.take_lease(30)
    spool.close()


def test_a_forked_child_uses_its_own_connection(tmp_path: Path) -> None:
    spool, _ = _spool(tmp_path)
    spool.append("traces:a", "traces", b"parent", 1)
    pid = os.fork()
    if pid == 0:  # child: append through the inherited object, exit without cleanup
        code = 0 if spool.append("traces:a", "traces", b"child", 1) == "kept" else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _drain(spool, {"traces:a"}) == [b"parent", b"child"]
    spool.close()

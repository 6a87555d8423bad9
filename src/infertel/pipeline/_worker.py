"""The bounded hand-off between serving threads and the background worker.

The serving thread only appends to a deque (no lock, no wake-up call: the worker polls), so the
hand-off costs a length check and an append. When the queue is full the item is dropped and
counted; the serving thread never blocks and never raises.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

_log = logging.getLogger("infertel")

# The worker sleeps this long when it finds the queue empty. Latency to export is not critical;
# the serving thread must not pay for a wake-up signal per call, and fewer, larger batches cost
# less interpreter-lock time per record (one redaction round trip, one export per batch).
_POLL_INTERVAL_S = 0.05
_BATCH = 512


class Worker:
    """One daemon thread draining a bounded queue into ``handle(batch)``."""

    __slots__ = (
        "_drop_lock",
        "_dropped",
        "_handle",
        "_idle",
        "_name",
        "_queue",
        "_stop",
        "_thread",
        "maxsize",
    )

    def __init__(self, handle: Callable[[list[Any]], None], maxsize: int, name: str) -> None:
        self._handle = handle
        self.maxsize = maxsize
        self._name = name
        self._queue: collections.deque[Any] = collections.deque()
        self._dropped: dict[str, int] = collections.defaultdict(int)
        self._drop_lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def submit(self, item: Any) -> bool:
        """Hand ``item`` over; False (and a counted drop) when the queue is full."""
        queue = self._queue
        if len(queue) >= self.maxsize or self._stop.is_set():
            self.count_drop("queue_full" if not self._stop.is_set() else "shutdown")
            return False
        queue.append(item)
        return True

    def count_drop(self, reason: str, n: int = 1) -> None:
        with self._drop_lock:
            self._dropped[reason] += n

    def dropped(self) -> dict[str, int]:
        with self._drop_lock:
            return dict(self._dropped)

    def pending(self) -> int:
        return len(self._queue)

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far is handled; False on timeout."""
        deadline = time.monotonic() + timeout
        thread = self._thread
        while self._queue or not self._idle.is_set():
            if thread is None or not thread.is_alive():
                self._drain()  # no thread (forked child, stopped): drain here
                return not self._queue
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def stop(self, timeout: float) -> bool:
        """Drain what is queued, then stop the thread; False when the deadline passed first."""
        flushed = self.flush(timeout)
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(max(0.0, timeout))
        left = len(self._queue)
        if left:
            self._queue.clear()
            self.count_drop("shutdown", left)
        return flushed

    def reset_after_fork(self) -> None:
        """In a forked child: the parent's thread does not exist here; start a fresh one."""
        self._queue = collections.deque()
        self._drop_lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._drain():
                self._idle.set()
                self._stop.wait(_POLL_INTERVAL_S)

    def _drain(self) -> bool:
        queue = self._queue
        if not queue:
            return False
        self._idle.clear()
        batch: list[Any] = []
        popleft = queue.popleft
        try:
            while queue and len(batch) < _BATCH:
                batch.append(popleft())
        except IndexError:  # another drainer won the race (flush from a dead-thread path)
            pass
        try:
            self._handle(batch)
        except Exception:  # never let one bad batch kill the worker
            _log.exception("infertel worker failed to process a batch of %d items", len(batch))
            self.count_drop("internal_error", len(batch))
        return True

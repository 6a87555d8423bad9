"""The bounded hand-off between serving threads and the background worker.

The serving thread only appends to a deque (no lock, no wake-up call: the worker polls), so the
hand-off costs a length check and an append. ``flush()`` and ``stop()`` wake the worker at once
through an event and wait on its idle event (no polling on the flushing thread). When the
queue is full the item is dropped and counted; the serving thread never blocks and never raises.
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
# A batch is sized to take about this much of the worker's CPU time (from the measured cost
# per item), so a stop request (shutdown, interpreter exit) waits for at most about this long
# plus one item, even when each record costs milliseconds (in-process NER). CPU time, not wall
# time: a slow or hung export must not shrink the batches (it blocks for its own timeout
# whatever the batch size, and small batches would then drain a backlog far more slowly).
_BATCH_TARGET_S = 0.25
_MIN_BATCH = 8
# Before a fork, wait this long for the worker to finish its batch, so the child is not
# created while the worker is inside an exporter or the scrubber.
_FORK_WAIT_S = 0.5


class Worker:
    """One daemon thread draining a bounded queue into ``handle(batch)``."""

    __slots__ = (
        "_batch_lock",
        "_drop_lock",
        "_dropped",
        "_handle",
        "_housekeeping",
        "_idle",
        "_in_flight",
        "_item_cost_s",
        "_name",
        "_queue",
        "_stop",
        "_thread",
        "_wake",
        "maxsize",
    )

    def __init__(self, handle: Callable[[list[Any]], None], maxsize: int, name: str,
                 housekeeping: Callable[[], None] | None = None) -> None:
        self._handle = handle
        # Small chores done on this thread between batches rather than on serving threads.
        self._housekeeping = housekeeping
        self.maxsize = maxsize
        self._name = name
        self._queue: collections.deque[Any] = collections.deque()
        self._dropped: dict[str, int] = collections.defaultdict(int)
        # Re-entrant: a SIGTERM handler on the main thread may read the counts while the
        # interrupted code on that same thread is counting a drop.
        self._drop_lock = threading.RLock()
        # Held while a batch is handled; taken before a fork (see before_fork).
        self._batch_lock = threading.Lock()
        self._stop = threading.Event()
        # Set by the worker when it found the queue empty; waited on by flush().
        self._idle = threading.Event()
        # Set by flush()/stop() (never by submit) to end the worker's idle wait at once.
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._item_cost_s = 0.0

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
        """Items handed over and not yet handled: queued plus the batch in progress."""
        return len(self._queue) + self._in_flight

    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far is handled; False on timeout."""
        deadline = time.monotonic() + timeout
        # _drain clears _idle before it takes anything from the queue, so "queue empty and
        # idle" means every item submitted before this check has been handled.
        while self._queue or not self._idle.is_set():
            if not self.alive():
                # No thread (stopped, or never started): drain here, within the deadline.
                while self._queue and time.monotonic() < deadline:
                    self._drain()
                return not self._queue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Event-driven instead of polling: the idle flag is cleared before the wake-up, so
            # only a pass of the worker that starts after it can set it again. Waits are
            # sliced so a worker that died meanwhile is noticed.
            self._idle.clear()
            self._wake.set()
            self._idle.wait(min(remaining, 0.1))
        return True

    def stop(self, timeout: float) -> bool:
        """Drain what is queued, then stop the thread; False when the deadline passed first.

        Whatever is still queued at the deadline is dropped and counted (``shutdown``); the
        batch in progress is finished by the thread, which exits right after it.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        flushed = self.flush(max(0.0, timeout))
        self._stop.set()
        self._wake.set()
        left = len(self._queue)
        if left:
            self._queue.clear()
            self.count_drop("shutdown", left)
        self.join(max(0.0, deadline - time.monotonic()))
        return flushed and not left

    def join(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) for the thread to exit; True when it is gone."""
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(max(0.0, timeout))
        return not self.alive()

    # ----------------------------------------------------------------- fork
    def before_fork(self) -> bool:
        """Wait (bounded) until the worker is between batches and keep it there until the
        fork is done, so no lock inside an exporter or the scrubber is held at the fork."""
        if threading.current_thread() is self._thread:
            return False
        return self._batch_lock.acquire(timeout=_FORK_WAIT_S)

    def after_fork(self, acquired: bool) -> None:
        """Both sides of the fork: let the worker go on (in the child it is not running)."""
        if acquired:
            self._batch_lock.release()

    # ----------------------------------------------------------------- the thread
    def _run(self) -> None:
        housekeeping = self._housekeeping
        while not self._stop.is_set():
            # Cleared before looking at the queue: a wake-up that comes after this is not lost.
            self._wake.clear()
            if housekeeping is not None:
                try:
                    housekeeping()
                except Exception:  # a chore must not stop the worker
                    _log.debug("infertel worker housekeeping failed", exc_info=True)
            if not self._drain():
                self._idle.set()
                self._wake.wait(_POLL_INTERVAL_S)

    def _batch_size(self) -> int:
        cost = self._item_cost_s
        if cost <= 0.0:  # nothing measured yet: a small first batch (it may include warm-up)
            return _MIN_BATCH
        return max(_MIN_BATCH, min(_BATCH, int(_BATCH_TARGET_S / cost)))

    def _drain(self) -> bool:
        queue = self._queue
        if not queue:
            return False
        self._idle.clear()
        with self._batch_lock:
            batch: list[Any] = []
            popleft = queue.popleft
            limit = self._batch_size()
            try:
                while queue and len(batch) < limit:
                    batch.append(popleft())
            except IndexError:  # another drainer won the race (flush from a dead-thread path)
                pass
            self._in_flight = len(batch)
            started = time.thread_time()
            try:
                self._handle(batch)
            except Exception as error:  # never let one bad batch kill the worker
                # Type only: a traceback's message can quote the payload value that failed.
                _log.warning("infertel worker failed to process a batch of %d items (%s)",
                             len(batch), type(error).__name__)
                self.count_drop("internal_error", len(batch))
            finally:
                self._in_flight = 0
            if batch:
                cost = (time.thread_time() - started) / len(batch)
                # Smoothed, so one slow export does not shrink the batches for long.
                previous = self._item_cost_s
                self._item_cost_s = cost if previous <= 0.0 else 0.7 * previous + 0.3 * cost
        return True

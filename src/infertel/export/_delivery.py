"""Getting encoded OTLP requests to the collector: send, spool, replay, or count the loss.

Per signal, a :class:`Delivery` sends each batch once, within the export timeout. When the
collector fails:

* **spool off**: the batch is dropped and counted (``export_failed``), and for a backoff period
  (0.25 s doubling to 5 s) later batches are dropped at once instead of each costing the worker
  a timeout; the next batch after the period probes the collector again.
* **spool on**: the batch goes to the spool, and so does every later batch while the spool
  holds data for that destination (or the backoff runs), so nothing overtakes what is waiting;
  the :class:`Replayer` thread sends the spool's batches oldest first, one bounded attempt at
  a time with backoff (0.25 s doubling to 10 s), and removes each once the collector took it.

A refusal that retrying cannot fix (HTTP 400/401/404/405/413..., gRPC UNIMPLEMENTED...) is
dropped and counted as ``export_rejected`` either way.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Final
from urllib.parse import urlsplit

from infertel.export._spool import Spool
from infertel.export._status import EXPORT_FAILED, EXPORT_REJECTED, ExportStatus
from infertel.export._transport import Outcome, Sent, Transport

_log = logging.getLogger("infertel")

DIRECT_BACKOFF_MAX_S: Final = 5.0
REPLAY_BACKOFF_MAX_S: Final = 10.0
BACKOFF_START_S: Final = 0.25
IDLE_POLL_S: Final = 2.0  # an idle replayer looks for batches other processes left behind


class Backoff:
    __slots__ = ("_delay", "_maximum")

    def __init__(self, maximum: float) -> None:
        self._maximum = maximum
        self._delay = 0.0

    def next(self) -> float:
        self._delay = min(self._maximum, max(BACKOFF_START_S, self._delay * 2))
        return self._delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._delay = 0.0


def describe(transport: Transport) -> str:
    """The destination for a log line: scheme, host, port and path, never credentials."""
    parts = urlsplit(transport.destination.url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Delivery:
    """One signal's way out over OTLP (thread-safe: the worker and the span processor's thread
    both export through it)."""

    def __init__(self, transport: Transport, status: ExportStatus, timeout_s: float,
                 spool: Spool | None = None, replayer: Replayer | None = None) -> None:
        self.transport = transport
        self.signal = transport.destination.signal
        self.key = transport.destination.key
        self.status = status
        self.timeout_s = timeout_s
        self.spool = spool
        self.replayer = replayer
        self._lock = threading.Lock()
        self._backoff = Backoff(DIRECT_BACKOFF_MAX_S)
        self._retry_at = 0.0
        self._failing = False
        self._reported: set[str] = set()

    def deliver(self, payload: bytes, records: int) -> bool:
        """Send, keep or count ``records`` records encoded in ``payload``; True unless lost."""
        now = time.monotonic()
        if self.spool is not None:
            if now < self._retry_at or self.spool.has_pending(self.key):
                return self._keep(payload, records)
        elif now < self._retry_at:
            self.status.loss(self.signal, EXPORT_FAILED, records)
            return False
        return self.settle(self.transport.send(payload, self.timeout_s), payload, records)

    def settle(self, sent: Sent, payload: bytes | None, records: int) -> bool:
        """Account for one attempt. ``payload`` None: it came from the spool (the caller keeps
        or removes it)."""
        signal_status = self.status[self.signal]
        if sent.outcome is Outcome.OK:
            signal_status.exported(records - sent.rejected)
            self.status.loss(self.signal, EXPORT_REJECTED, sent.rejected)
            with self._lock:
                self._backoff.reset()
                self._retry_at = 0.0
                if self._failing:
                    self._failing = False
                    _log.warning("infertel: %s export to %s works again", self.signal,
                                 describe(self.transport))
            return True
        signal_status.failed(sent.error or sent.outcome.value)
        if sent.outcome is Outcome.REJECTED:
            self._report_once(sent.error or "rejected")
            self.status.loss(self.signal, EXPORT_REJECTED, records)
            return False
        with self._lock:
            self._retry_at = time.monotonic() + self._backoff.next()
            if not self._failing:
                self._failing = True
                what = "keeping batches in the spool" if self.spool is not None else \
                    "dropping batches (counted as export_failed) until it answers"
                _log.warning("infertel: %s export to %s failed (%s); %s", self.signal,
                             describe(self.transport), sent.error, what)
        if payload is None:
            return False
        if self.spool is not None:
            return self._keep(payload, records)
        self.status.loss(self.signal, EXPORT_FAILED, records)
        return False

    def _keep(self, payload: bytes, records: int) -> bool:
        assert self.spool is not None
        result = self.spool.append(self.key, self.signal, payload, records)
        if result == "failed":
            self.status.loss(self.signal, EXPORT_FAILED, records)
        if self.replayer is not None:
            self.replayer.wake()
        return result == "kept"

    def _report_once(self, error: str) -> None:
        if error not in self._reported:
            self._reported.add(error)
            _log.warning("infertel: the collector at %s refused %s (%s): dropped and counted "
                         "as export_rejected; if it does not accept %s, set %s=none",
                         describe(self.transport), self.signal, error, self.signal,
                         f"OTEL_{self.signal.upper()}_EXPORTER")

    def close(self) -> None:
        self.transport.close()


class Replayer:
    """The background thread that sends the spool's batches, oldest first."""

    def __init__(self, spool: Spool, timeout_s: float) -> None:
        self.spool = spool
        self.timeout_s = timeout_s
        self.deliveries: dict[str, Delivery] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._backoff = Backoff(REPLAY_BACKOFF_MAX_S)
        self._lease_s = max(10.0, 3 * timeout_s)
        self.attempts = 0
        self.failures = 0

    def add(self, delivery: Delivery) -> None:
        self.deliveries[delivery.key] = delivery

    def start(self) -> None:
        if self._stop.is_set():
            return
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        # First start, or a forked child (the parent's thread does not exist here).
        self._pid = os.getpid()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="infertel-spool-replayer",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self.start()
        self._wake.set()

    def drain(self, timeout: float, keys: set[str] | None = None) -> bool:
        """Wait until the spool holds nothing for ``keys`` (default: ours); False on timeout."""
        keys = set(self.deliveries) if keys is None else keys
        deadline = time.monotonic() + timeout
        self.wake()
        while any(self.spool.has_pending(key) for key in keys):
            if time.monotonic() >= deadline:
                return False
            self._wake.set()
            time.sleep(0.02)
        return True

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            thread.join(max(0.0, timeout))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self._step()
            except Exception as error:  # never let the thread die: the spool would stall
                _log.warning("infertel: spool replay step failed (%s)", type(error).__name__)
                delay = self._backoff.next()
            if delay > 0 and not self._stop.is_set():
                self._wake.wait(delay)
                self._wake.clear()

    def _step(self) -> float:
        """One replay attempt; returns how long to wait before the next."""
        if not self.spool.take_lease(self._lease_s):
            return IDLE_POLL_S  # another process replays this spool
        batch = self.spool.oldest(self.deliveries.keys())
        if batch is None:
            self._idle.set()
            return IDLE_POLL_S
        self._idle.clear()
        delivery = self.deliveries[batch.destination]
        self.attempts += 1
        sent = delivery.transport.send(batch.payload, self.timeout_s)
        delivery.settle(sent, None, batch.records)
        if sent.outcome is Outcome.RETRY:
            self.failures += 1
            self.spool.attempted(batch)
            return self._backoff.next()
        self._backoff.reset()
        self.spool.delivered(batch)
        return 0.0

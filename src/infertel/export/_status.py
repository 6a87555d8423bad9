"""What the export side knows about itself, per signal, for ``health()`` and accounting.

Every record handed to an exporter ends up in exactly one place: exported, in the spool (see
``_spool``), or dropped with a reason. Drops are also passed to the pipeline's ``on_loss``
callback (``infertel.queue.dropped{reason}``), which does not tell signals apart; the per-signal
figures here do, so ``exported + dropped == produced`` can be checked per signal.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, Final

OnLoss = Callable[[str, int], None]

ENCODE_FAILED: Final = "encode_failed"
EXPORT_FAILED: Final = "export_failed"
EXPORT_REJECTED: Final = "export_rejected"
SPOOL_EVICTED: Final = "spool_evicted"


class SignalStatus:
    """Counters of one signal; thread-safe (the worker, the span processor's thread and the
    spool's replayer all report here)."""

    __slots__ = ("_dropped", "_lock", "batches", "consecutive_failures", "exporter",
                 "last_error", "last_failure_ns", "last_success_ns", "records", "signal")

    def __init__(self, signal: str, exporter: str) -> None:
        self.signal = signal
        self.exporter = exporter
        self._lock = threading.Lock()
        self.records = 0
        self.batches = 0
        self.last_success_ns: int | None = None
        self.last_failure_ns: int | None = None
        self.last_error: str | None = None  # a short code ("http 503", "timeout"), never text
        self.consecutive_failures = 0
        self._dropped: dict[str, int] = {}

    def exported(self, records: int) -> None:
        with self._lock:
            self.records += records
            self.batches += 1
            self.last_success_ns = time.time_ns()
            self.consecutive_failures = 0

    def failed(self, error: str) -> None:
        with self._lock:
            self.last_failure_ns = time.time_ns()
            self.last_error = error
            self.consecutive_failures += 1

    def dropped(self, reason: str, records: int) -> None:
        if records <= 0:
            return
        with self._lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + records

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "exporter": self.exporter,
                "exported_records": self.records,
                "exported_batches": self.batches,
                "last_success_unix_nano": self.last_success_ns,
                "last_failure_unix_nano": self.last_failure_ns,
                "last_error": self.last_error,
                "consecutive_failures": self.consecutive_failures,
                "dropped": dict(self._dropped),
            }


class ExportStatus:
    """The three signals' status, and the loss callback that keeps both views in step."""

    def __init__(self, exporters: dict[str, str], on_loss: OnLoss | None = None) -> None:
        self.signals = {signal: SignalStatus(signal, name) for signal, name in exporters.items()}
        self._on_loss = on_loss

    def __getitem__(self, signal: str) -> SignalStatus:
        return self.signals[signal]

    def loss(self, signal: str, reason: str, records: int) -> None:
        """Count ``records`` of ``signal`` lost for ``reason``, here and in the pipeline."""
        if records <= 0:
            return
        self.signals[signal].dropped(reason, records)
        if self._on_loss is not None:
            with contextlib.suppress(Exception):  # a broken callback must not break export
                self._on_loss(reason, records)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {signal: status.snapshot() for signal, status in self.signals.items()}

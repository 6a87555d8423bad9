"""Deadlines for shutdown and flush: steps on daemon threads, waits that always end, and the
one summary line of what was not delivered."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

_log = logging.getLogger("infertel")


class Step:
    """One step (a provider's flush, an exporter's shutdown) running on a daemon thread.

    The thread cannot keep the process alive, and whatever the step raises (OpenTelemetry's
    ``force_flush`` raises on a short deadline) stays here: ``ok`` is False for it.
    """

    __slots__ = ("_done", "error", "name", "result")

    def __init__(self, name: str, step: Callable[[], object]) -> None:
        self.name = name
        self.result: object = None
        self.error: BaseException | None = None
        self._done = threading.Event()

        def run() -> None:
            try:
                self.result = step()
            except Exception as error:
                self.error = error
                _log.debug("infertel %s step failed: %s", name, type(error).__name__)
            finally:
                self._done.set()

        try:
            threading.Thread(target=run, name=f"infertel-{name}", daemon=True).start()
        except RuntimeError:
            # No new threads this late in interpreter shutdown (newer Pythons): run it here;
            # each step bounds itself (export timeouts), only not by this deadline.
            run()

    def wait(self, timeout: float) -> bool:
        """True when the step has returned (or raised) within ``timeout`` seconds."""
        return self._done.wait(max(0.0, timeout))

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def ok(self) -> bool:
        """Returned in time, without raising, and not with an explicit False."""
        return self._done.is_set() and self.error is None and self.result is not False


def start_daemon(step: Callable[[], object]) -> threading.Event:
    """Run ``step`` on a daemon thread; the event is set when it has returned."""
    return Step("shutdown", step)._done


def run_with_deadline(step: Callable[[], object], timeout: float) -> bool:
    return start_daemon(step).wait(timeout)


def ms_left(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def seconds_left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


class DeliveryLedger:
    """What flush()/shutdown() have already reported, so each report counts only new losses."""

    __slots__ = ("_reported",)

    def __init__(self) -> None:
        self._reported: dict[str, int] = {}

    def report(self, action: str, timeout: float, dropped: dict[str, int], drained: bool,
               pending: Callable[[], int], steps: Sequence[Step]) -> bool:
        """True if nothing was dropped since the last report, the queue was drained and every
        step finished; otherwise False and ONE warning line with counts by reason (reason
        words and counts only: nothing from a record)."""
        before = self._reported
        lost = {reason: n - before.get(reason, 0) for reason, n in sorted(dropped.items())
                if n > before.get(reason, 0)}
        self._reported = dict(dropped)
        queued = 0 if drained else pending()
        unfinished = [step.name for step in steps if not step.ok]
        if drained and not lost and not unfinished:
            return True
        parts = []
        if lost:
            counts = ", ".join(f"{reason}={n}" for reason, n in lost.items())
            parts.append(f"{sum(lost.values())} records dropped ({counts})")
        if queued:
            parts.append(f"{queued} queued or in progress at the deadline")
        if unfinished:
            parts.append(f"not finished: {', '.join(unfinished)}")
        _log.warning("infertel: %s did not deliver everything within %.2f s: %s", action,
                     timeout, "; ".join(parts) or "deadline passed")
        return False

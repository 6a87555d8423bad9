"""Deadlines for shutdown and flush: steps on daemon threads, waits that always end."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

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

        threading.Thread(target=run, name=f"infertel-{name}", daemon=True).start()

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

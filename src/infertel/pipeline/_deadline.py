"""Deadlines for shutdown and flush: steps on daemon threads, waits that always end."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

_log = logging.getLogger("infertel")


def start_daemon(step: Callable[[], object]) -> threading.Event:
    """Run ``step`` on a daemon thread (it cannot keep the process alive); the event is set
    when it has returned. A step that fails past its deadline is expected during shutdown."""
    finished = threading.Event()

    def run() -> None:
        try:
            step()
        except Exception as error:
            _log.debug("infertel shutdown step failed: %s", type(error).__name__)
        finally:
            finished.set()

    threading.Thread(target=run, name="infertel-shutdown", daemon=True).start()
    return finished


def run_with_deadline(step: Callable[[], object], timeout: float) -> bool:
    return start_daemon(step).wait(timeout)


def ms_left(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))

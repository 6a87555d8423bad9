"""Runs ``on_rollback`` / ``on_promote`` once, on their own thread, never on a request path.

A callback may be slow (it calls a deployment API) or raise: it runs on a daemon thread so the
worker that decided keeps going, and an exception is caught and recorded by type name only (its
message could quote anything).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from infertel.rollout._audit import AuditLog
from infertel.rollout._decision import Decision

_log = logging.getLogger("infertel")


def _type_name(error: BaseException) -> str:
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


class CallbackRunner:
    """One thread per fired callback; the guard makes sure each fires at most once."""

    __slots__ = ("_audit", "_threads", "results")

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        self._threads: list[threading.Thread] = []
        self.results: list[dict[str, Any]] = []

    def fire(self, callback: Callable[[Decision], object] | None, decision: Decision) -> None:
        if callback is None:
            self._record(decision, "none", None, 0.0)
            return
        thread = threading.Thread(target=self._run, args=(callback, decision),
                                  name=f"infertel-rollout-{decision.action}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, callback: Callable[[Decision], object], decision: Decision) -> None:
        started = time.monotonic()
        try:
            callback(decision)
        except Exception as error:  # the application's bug: recorded, never re-raised
            _log.warning("infertel: the on_%s callback raised %s", decision.action,
                         _type_name(error))
            self._record(decision, "raised", _type_name(error), time.monotonic() - started)
        else:
            self._record(decision, "ok", None, time.monotonic() - started)

    def _record(self, decision: Decision, status: str, error_type: str | None,
                seconds: float) -> None:
        data = {"action": decision.action, "status": status, "error_type": error_type,
                "seconds": round(seconds, 6), "plan_hash": decision.plan_hash,
                "look": decision.look}
        self.results.append(data)
        try:
            self._audit.append("callback", data)
        except OSError as error:  # an unwritable audit file must not kill the thread
            _log.warning("infertel: could not append to the rollout audit log: %s",
                         _type_name(error))

    def join(self, timeout: float) -> bool:
        """Wait for fired callbacks; False if one is still running at the deadline."""
        deadline = time.monotonic() + max(0.0, timeout)
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

"""The process default Telemetry, kept in a module with no heavy imports.

The decorator reads it on every call and ``get_logger()`` hands events to it, so importing
infertel and decorating functions never loads the OpenTelemetry SDK: that happens at
``configure()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infertel._record import LogEvent
    from infertel._runtime import Telemetry

current: Telemetry | None = None


class InternalError(RuntimeError):
    """An SDK-internal failure, raised only when ``raise_internal_errors`` is on (tests)."""


def submit_log(event: LogEvent) -> object:
    """Hand a structured log event to the process default (dropped while there is none)."""
    telemetry = current
    if telemetry is not None and telemetry.enabled:
        return telemetry.worker.submit(event)
    return False

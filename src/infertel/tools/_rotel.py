"""Processors for the rotel collector: infertel's scrubber as a second layer, and a file sink.

This module runs *inside* rotel's embedded Python (``--otlp-with-*-processor FILE``); the
processor files rotel loads (``collector-config/rotel/*.py``, or the copies ``infertel collector
start`` writes) are three-line shims over :func:`scrub_processor` and :func:`file_sink_processor`.
rotel hands each processor one ``ResourceSpans`` / ``ResourceLogs`` / ``ResourceMetrics`` at a
time, as mutable objects of its ``rotel_sdk`` module, and exports whatever they hold afterwards.

Facts about rotel 0.0.1a15 this module is written around:

* an exception escaping a processor makes rotel panic and exit, so no function given to rotel
  may raise: each catches everything, fails closed and counts the failure;
* a processor that fails to import stops rotel (exit status 0), so readiness is signalled by
  the shims themselves (:func:`mark_loaded`), and ``infertel collector start`` waits for it;
* what a processor logs goes to rotel's log file: failures are logged by exception type only,
  never with a message or traceback, which could quote the value that failed.

The parts: :mod:`._rotel_values` (rotel objects <-> Python), :mod:`._rotel_scrub` (the
scrubber), :mod:`._rotel_json` (OTLP/JSON encoding). Nothing imports ``rotel_sdk`` at module
level: outside rotel it does not exist, and the conversions are tested with look-alike objects.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from infertel.tools._rotel_json import (
    resource_logs_to_json,
    resource_metrics_to_json,
    resource_spans_to_json,
)
from infertel.tools._rotel_scrub import RotelScrubber

_log = logging.getLogger("infertel.collector")

# Environment rotel is started with (see infertel.tools._collector).
ENV_OUT: Final = "INFERTEL_COLLECTOR_OUT"
ENV_STATE: Final = "INFERTEL_COLLECTOR_STATE"
LOADED_FILE: Final = "loaded"
DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024

Processor = Callable[[Any], None]

_failures_lock = threading.Lock()
_failures: dict[str, int] = {}


def failures() -> dict[str, int]:
    """Processor failures so far, by processor and signal (for tests and debugging)."""
    with _failures_lock:
        return dict(_failures)


def _count_failure(name: str) -> None:
    with _failures_lock:
        _failures[name] = _failures.get(name, 0) + 1


def mark_loaded(processor: str) -> None:
    """Tell ``infertel collector start`` a processor file was imported (rotel imports each file
    once per pipeline it is named in)."""
    state = os.environ.get(ENV_STATE)
    if not state:
        return
    try:
        with Path(state, LOADED_FILE).open("a", encoding="utf-8") as handle:
            handle.write(f"{processor} {os.getpid()}\n")
    except OSError:
        _log.warning("infertel collector: cannot write the readiness marker in %s", state)


def _never_raise(name: str, step: Processor, on_error: Processor | None = None) -> Processor:
    """Wrap ``step`` so nothing escapes into rotel (an escaping exception kills the agent)."""

    def run(batch: Any) -> None:
        try:
            step(batch)
        except Exception as error:
            _count_failure(name)
            _log.error("infertel collector: processor %s failed (%s)", name, type(error).__name__)
            if on_error is not None:
                try:
                    on_error(batch)
                except Exception as fallback_error:
                    _count_failure(name + ".fallback")
                    _log.error("infertel collector: fallback of %s failed (%s)", name,
                               type(fallback_error).__name__)

    return run


# ------------------------------------------------------------------------------ file sink
class FileSink:
    """Writes what arrives as OTLP/JSON lines under ``OUT/{traces,logs,metrics}/``, the local
    store's layout, so ``infertel query OUT`` and ``infertel scan OUT`` read it unchanged."""

    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        from infertel.export._local import RotatingJsonLines

        self.directory = directory
        self._out = {signal: RotatingJsonLines(directory, signal, max_bytes)
                     for signal in ("traces", "logs", "metrics")}

    def write(self, signal: str, document: dict[str, Any]) -> None:
        import json

        self._out[signal].write(json.dumps(document, separators=(",", ":"), ensure_ascii=False))


# ------------------------------------------------------------------ what the shims call
_singletons_lock = threading.Lock()
_scrubber: RotelScrubber | None = None
_sink: FileSink | None = None


def _shared_scrubber() -> RotelScrubber:
    global _scrubber
    with _singletons_lock:
        if _scrubber is None:
            _scrubber = RotelScrubber()
        return _scrubber


def _shared_sink() -> FileSink:
    global _sink
    with _singletons_lock:
        if _sink is None:
            out = os.environ.get(ENV_OUT)
            if not out:
                raise RuntimeError(f"{ENV_OUT} is not set: the file sink has nowhere to write")
            _sink = FileSink(Path(out))
        return _sink


def scrub_processor() -> tuple[Processor, Processor, Processor]:
    """``(process_spans, process_logs, process_metrics)`` applying infertel's scrubber."""
    scrubber = _shared_scrubber()
    scrubber.scrubber.detector.analyze("warm up alice@example.com")  # load detectors now
    mark_loaded("scrub")
    return (
        _never_raise("scrub.spans", scrubber.spans, scrubber.drop_spans),
        _never_raise("scrub.logs", scrubber.logs, scrubber.drop_logs),
        _never_raise("scrub.metrics", scrubber.metrics, scrubber.drop_metrics),
    )


def file_sink_processor() -> tuple[Processor, Processor, Processor]:
    """``(process_spans, process_logs, process_metrics)`` writing OTLP/JSON lines."""
    sink = _shared_sink()
    mark_loaded("file_sink")
    return (
        _never_raise("file_sink.spans",
                     lambda batch: sink.write("traces", resource_spans_to_json(batch))),
        _never_raise("file_sink.logs",
                     lambda batch: sink.write("logs", resource_logs_to_json(batch))),
        _never_raise("file_sink.metrics",
                     lambda batch: sink.write("metrics", resource_metrics_to_json(batch))),
    )

"""The process default Telemetry and its lifecycle: install, the global tracer provider that
forwards to it, shutdown, ``atexit`` and fork."""

from __future__ import annotations

import atexit
import os
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from infertel import _state
from infertel.pipeline._telemetry import Telemetry


def current() -> Telemetry | None:
    """The process default Telemetry, or None before ``configure()``."""
    telemetry = _state.current
    return telemetry if isinstance(telemetry, Telemetry) else None


def install(telemetry: Telemetry) -> None:
    """Make ``telemetry`` the process default, replacing (and shutting down) the previous one."""
    previous = current()
    _state.current = telemetry
    if previous is not None and previous is not telemetry:
        previous.shutdown(timeout=2.0)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        # Nested OpenTelemetry instrumentation inside predict() exports through us too. The
        # global provider can be set only once per process, so it forwards to whichever
        # Telemetry is current: a second configure() keeps nested spans flowing.
        trace.set_tracer_provider(_ForwardingTracerProvider())


def _current_provider() -> TracerProvider | None:
    telemetry = current()
    return telemetry.tracer_provider if telemetry is not None else None


class _ForwardingTracer(trace.Tracer):
    """A tracer that starts spans on the current Telemetry's provider (no-op when none)."""

    def __init__(self, name: str, version: str | None, schema_url: str | None,
                 attributes: Any) -> None:
        self._key = (name, version, schema_url, attributes)
        self._cached: tuple[TracerProvider | None, trace.Tracer] | None = None

    def _target(self) -> trace.Tracer:
        provider = _current_provider()
        cached = self._cached
        if cached is not None and cached[0] is provider:
            return cached[1]
        name, version, schema_url, attributes = self._key
        if provider is None:
            tracer: trace.Tracer = trace.NoOpTracer()
        else:
            tracer = provider.get_tracer(name, version, schema_url, attributes)
        self._cached = (provider, tracer)
        return tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._target().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._target().start_as_current_span(*args, **kwargs)


class _ForwardingTracerProvider(trace.TracerProvider):
    """The global provider: tracers and SDK calls go to the current Telemetry's provider."""

    def add_span_processor(self, processor: Any) -> None:
        # Tools that add their own processor to the global provider (Traceloop, Logfire)
        # get it added to the provider that actually exports (behind the privacy guard).
        provider = _current_provider()
        if provider is not None:
            provider.add_span_processor(processor)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        provider = _current_provider()
        return provider.force_flush(timeout_millis) if provider is not None else True

    def get_tracer(self, instrumenting_module_name: str,
                   instrumenting_library_version: str | None = None,
                   schema_url: str | None = None, attributes: Any = None) -> trace.Tracer:
        return _ForwardingTracer(instrumenting_module_name, instrumenting_library_version,
                                 schema_url, attributes)


def shutdown(timeout: float = 5.0) -> bool:
    """Shut the process default down within ``timeout`` seconds (True if it finished in time)."""
    telemetry = current()
    return telemetry.shutdown(timeout) if telemetry is not None else True


def _shutdown_at_exit() -> None:
    telemetry = current()
    if telemetry is not None:
        telemetry.shutdown(timeout=telemetry.settings.export_timeout_s)


def _reset_in_child() -> None:
    telemetry = current()
    if telemetry is not None:
        telemetry.after_fork_in_child()


atexit.register(_shutdown_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)

"""The process default Telemetry and its lifecycle: install, the global tracer provider that
forwards to it, shutdown, interpreter exit, SIGTERM and fork."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from infertel import _state
from infertel.pipeline._health import Health, collect_health
from infertel.pipeline._telemetry import Telemetry

_log = logging.getLogger("infertel")

# At exit, after shutdown's deadline, how long to wait for the worker to finish the batch it
# is in (batches are sized to ~0.25 s): the interpreter must not tear native libraries (spaCy,
# BLAS) down under a thread that is still inside them.
EXIT_GRACE_S = 2.0

# The most recently installed Telemetry, kept after its shutdown so health() can say so.
_installed: Telemetry | None = None


def current() -> Telemetry | None:
    """The process default Telemetry, or None before ``configure()``."""
    telemetry = _state.current
    return telemetry if isinstance(telemetry, Telemetry) else None


def install(telemetry: Telemetry) -> None:
    """Make ``telemetry`` the process default, replacing (and shutting down) the previous one."""
    global _installed
    previous = current()
    _state.current = telemetry
    _installed = telemetry
    if previous is not None and previous is not telemetry:
        previous.shutdown(timeout=2.0)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        # Nested OpenTelemetry instrumentation inside predict() exports through us too. The
        # global provider can be set only once per process, so it forwards to whichever
        # Telemetry is current: a second configure() keeps nested spans flowing.
        trace.set_tracer_provider(_ForwardingTracerProvider())
    _hooks.install()


def health() -> Health:
    """The telemetry path's state, for readiness/liveness probes. Cheap; never raises."""
    return collect_health(current() or _installed)


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
    """Shut the process default down within ``timeout`` seconds; False if anything was not
    delivered (see :meth:`Telemetry.shutdown`). Called again, it repeats the answer."""
    telemetry = current() or _installed
    return telemetry.shutdown(timeout) if telemetry is not None else True


# --------------------------------------------------------------------- exit, SIGTERM, fork
def _shutdown_at_exit() -> None:
    """Flush within the export deadline, then give the worker a bounded grace to leave the
    batch it is in. Never raises: an exit hook has no one to report to."""
    telemetry = current()
    if telemetry is None:
        return
    try:
        telemetry.shutdown(timeout=telemetry.settings.export_timeout_s)
        telemetry.worker.join(EXIT_GRACE_S)
    except Exception:
        pass


def _run_first_at_exit() -> None:
    """Called by ``threading`` when the main thread finishes, after which the interpreter
    joins non-daemon threads and then runs ``atexit`` hooks last-in, first-out.

    Registering the shutdown hook again here makes it the last registered, so it runs first
    among the ``atexit`` hooks: after the application's own threads have finished their calls,
    and before the hooks of libraries imported after ``configure()`` (spaCy registers some
    when the worker first loads it) tear down what the worker may still be using.
    """
    atexit.unregister(_shutdown_at_exit)
    atexit.register(_shutdown_at_exit)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM with no application handler: flush within the deadline, then die of SIGTERM
    exactly as the default action would have (exit status -15, no Python cleanup)."""
    _shutdown_at_exit()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _before_fork() -> None:
    _hooks.fork_token = None
    telemetry = current()
    if telemetry is not None:
        # A fork must never fail because of telemetry.
        with contextlib.suppress(Exception):
            _hooks.fork_token = (telemetry, telemetry.worker.before_fork())


def _after_fork_in_parent() -> None:
    token, _hooks.fork_token = _hooks.fork_token, None
    if token is not None:
        token[0].worker.after_fork(token[1])


def _after_fork_in_child() -> None:
    token, _hooks.fork_token = _hooks.fork_token, None
    if token is not None:
        token[0].worker.after_fork(token[1])
    telemetry = current()
    if telemetry is not None:
        try:
            telemetry.after_fork_in_child()
        except Exception as error:
            # The child keeps running without telemetry rather than failing the fork.
            telemetry.enabled = False
            _log.warning("infertel: telemetry could not restart in the forked process "
                         "(%s); it is off in this process", type(error).__name__)


class _Hooks:
    """Process hooks, installed once, at the first ``configure()`` (not at import: hooks
    registered late run after those of libraries imported earlier, see _after_fork_in_child).
    """

    __slots__ = ("fork_token", "installed", "sigterm_checked")

    def __init__(self) -> None:
        self.installed = False
        self.sigterm_checked = False
        self.fork_token: tuple[Telemetry, bool] | None = None

    def install(self) -> None:
        if not self.installed:
            self.installed = True
            atexit.register(_shutdown_at_exit)
            register = getattr(threading, "_register_atexit", None)
            if register is not None:
                # RuntimeError: the interpreter is already shutting down.
                with contextlib.suppress(RuntimeError):
                    register(_run_first_at_exit)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                                    after_in_child=_after_fork_in_child)
        if not self.sigterm_checked:
            self.sigterm_checked = True
            _install_sigterm_handler()


_hooks = _Hooks()


def _install_sigterm_handler() -> None:
    """Flush on SIGTERM when nothing else handles it.

    Only the default action is replaced (and chained to after the flush). An application
    handler (gunicorn, uvicorn, a hand-written one) or SIG_IGN is left alone: the application
    decides when to exit, and the exit hook flushes then.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    try:
        previous = signal.getsignal(signal.SIGTERM)
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
        elif previous is not _on_sigterm:
            _log.info("infertel: SIGTERM has a handler already; infertel does not install "
                      "one (telemetry is flushed at interpreter exit, or call "
                      "infertel.shutdown() from that handler)")
    except (ValueError, OSError):  # no signals here (embedded interpreter)
        pass

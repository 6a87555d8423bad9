"""``infertel doctor``'s end-to-end check: one health span and log record through the real
export path, sent only where the user says (``--send-to``), then ``infertel.health()``.

By default nothing is sent: a diagnostic must not write into a service's store or backend
unasked. ``--send-to otlp`` sends to the endpoint the configuration resolves to (the one the
other checks looked at), ``--send-to URL`` to another OTLP endpoint, ``--send-to DIR`` into a
local store folder. ``--collector-out`` (confirm arrival at a collector) implies ``otlp``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from infertel.tools._doctor_net import otlp_endpoint
from infertel.tools._urls import endpoint_problem

if TYPE_CHECKING:
    from infertel.config import Settings
    from infertel.tools._doctor_report import DoctorOptions, Report

HEALTH_SPAN: Final = "infertel.doctor.health"
SENT: Final = "health span exported"
# Variables that choose where telemetry goes; set aside while the health span goes where the
# user said (they stay untouched for the `otlp` destination, which is theirs).
_DESTINATION_VARIABLES: Final = (
    "INFERTEL_EXPORTER", "INFERTEL_LOCAL_DIR", "INFERTEL_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_TRACES_EXPORTER", "OTEL_LOGS_EXPORTER", "OTEL_METRICS_EXPORTER")
_SELECTORS: Final = ("INFERTEL_EXPORTER", "INFERTEL_LOCAL_DIR", "OTEL_TRACES_EXPORTER",
                     "OTEL_LOGS_EXPORTER", "OTEL_METRICS_EXPORTER")
NOT_SENT: Final = ("not sent: doctor writes nothing into your store or collector unless asked "
                   "(--send-to otlp for the endpoint checked above, --send-to URL, or "
                   "--send-to DIR for a store folder)")


@dataclass(frozen=True)
class Destination:
    kind: Literal["otlp", "local"]
    where: str  # endpoint URL or folder (for messages; masked when printed)
    endpoint: str | None = None  # None: the configured one
    folder: Path | None = None


def destination(settings: Settings | None, options: DoctorOptions,
                report: Report) -> Destination | None:
    """Where the health span goes, or None (a skip or a failed check explains why)."""
    choice = options.send_to
    if choice is None and options.collector_out is not None:
        choice = "otlp"  # confirming arrival at a collector needs something sent to it
    if choice is None:
        report.add(SENT, "skip", NOT_SENT)
        return None
    if settings is None:
        report.add(SENT, "skip", "not sent: the configuration is invalid")
        return None
    if not settings.enabled:
        report.add(SENT, "skip", "not sent: telemetry is disabled")
        return None
    if choice == "otlp":
        if settings.exporter_name != "otlp":
            report.add(SENT, "fail", "--send-to otlp: no OTLP endpoint is configured "
                                     "(set OTEL_EXPORTER_OTLP_ENDPOINT or --endpoint)")
            return None
        return Destination("otlp", otlp_endpoint(settings), endpoint=options.endpoint)
    if "://" in choice:
        problem = endpoint_problem(choice, settings.otlp_protocol)
        if problem is not None:
            report.add(SENT, "fail", f"--send-to is not an OTLP endpoint URL: {problem}")
            return None
        return Destination("otlp", choice, endpoint=choice)
    folder = Path(choice).expanduser()
    if folder.exists() and not folder.is_dir():
        report.add(SENT, "fail", f"--send-to {folder} is not a folder")
        return None
    return Destination("local", str(folder), folder=folder)


@contextlib.contextmanager
def _environment(target: Destination) -> Iterator[None]:
    """Set aside the variables that would send the span elsewhere (this process only)."""
    names = _SELECTORS if target.kind == "otlp" and target.endpoint is None \
        else _DESTINATION_VARIABLES
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def send(options: DoctorOptions, target: Destination, report: Report) -> Any:
    """Send the health span and a log record to ``target``; returns ``infertel.health()``'s
    answer taken after the export (None when there is no such function)."""
    from opentelemetry import trace

    import infertel

    started = time.monotonic()
    health: Any = None
    try:
        with _environment(target):
            if target.kind == "local":
                telemetry = infertel.configure(
                    exporter="local", local_dir=target.folder,
                    export_timeout_s=options.timeout_s, metric_interval_s=3600.0)
            else:
                telemetry = infertel.configure(
                    exporter="otlp", otlp_endpoint=target.endpoint,
                    otlp_protocol=options.protocol, export_timeout_s=options.timeout_s,
                    metric_interval_s=3600.0)
        log = telemetry.get_logger("infertel.doctor")

        @infertel.traced_inference(name=HEALTH_SPAN)
        def health_check() -> str:
            log.info("infertel doctor health check")
            return format(trace.get_current_span().get_span_context().trace_id, "032x")

        trace_id = health_check()
        flush = getattr(telemetry, "flush", None)
        if callable(flush):
            flush(options.timeout_s + 1.0)
        probe = getattr(infertel, "health", None)
        if callable(probe):
            health = probe()
        finished = telemetry.shutdown(timeout=options.timeout_s + 1.0)
    except Exception as error:
        report.add(SENT, "fail", f"{type(error).__name__}: {error}")
        return health
    elapsed = time.monotonic() - started
    lost = telemetry.dropped()
    if lost:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(lost.items()))
        report.add(SENT, "fail", f"export to {target.where} failed ({reasons})")
    elif not finished:
        report.add(SENT, "fail", f"export to {target.where} did not finish within "
                                 f"{options.timeout_s + 1.0:g}s")
    else:
        report.trace_id = trace_id
        report.add(SENT, "ok", f"span {HEALTH_SPAN} and a log record, trace {trace_id}, "
                               f"sent to {target.where} in {elapsed:.2f}s")
    return health


# ------------------------------------------------------------------------------ health()
def health_facts(health: Any) -> dict[str, Any] | None:
    """``infertel.health()``'s answer as plain data (it may be a dataclass or a mapping)."""
    if health is None:
        return None
    as_dict = getattr(health, "as_dict", None)
    if callable(as_dict):
        data = as_dict()
    elif isinstance(health, Mapping):
        data = dict(health)
    else:
        import dataclasses

        is_instance = dataclasses.is_dataclass(health) and not isinstance(health, type)
        data = dataclasses.asdict(health) if is_instance else {}
    return data if isinstance(data, dict) else None


def report_health(facts: Mapping[str, Any] | None, sent: bool, report: Report) -> None:
    import infertel

    name = "telemetry health"
    if getattr(infertel, "health", None) is None:
        report.add(name, "skip", "this infertel has no infertel.health()")
        return
    if not sent or facts is None:
        report.add(name, "skip", "infertel.health() describes this process's telemetry; "
                                 "doctor has some only when it sends a health span")
        return
    parts = [f"queue {facts.get('queue_depth', '?')}/{facts.get('queue_capacity', '?')}"]
    dropped = facts.get("dropped") or {}
    if isinstance(dropped, Mapping) and any(dropped.values()):
        parts.append("dropped " + ", ".join(f"{k}={v}" for k, v in sorted(dropped.items())
                                            if v))
    exports = facts.get("exports") or {}
    if isinstance(exports, Mapping):
        for signal, state in sorted(exports.items()):
            if isinstance(state, Mapping):
                parts.append(f"{signal}: {state.get('exported_records', '?')} exported, "
                             f"{state.get('consecutive_failures', 0)} failure(s) in a row")
    child = facts.get("redaction_child")
    if isinstance(child, Mapping):
        parts.append("redaction child " + ("alive" if child.get("alive") else "not running"))
    reasons = facts.get("reasons") or []
    ok = bool(facts.get("ok"))
    # The probe runs before shutdown, so "ok" is the path's state with the span delivered.
    detail = "; ".join(parts) if ok else "; ".join([*map(str, reasons), *parts])
    report.add(name, "ok" if ok else "warn", detail)


def arrived(out: Path, trace_id: str | None, wait: float, report: Report) -> None:
    name = "arrived at collector"
    if trace_id is None:
        report.add(name, "fail", "no health span was exported to look for")
        return
    deadline = time.monotonic() + wait
    found: set[str] = set()
    while True:
        found |= _signals_with_trace(out, trace_id)
        if {"traces", "logs"} <= found:
            report.add(name, "ok", f"span and log record of trace {trace_id} are in {out}")
            return
        if time.monotonic() > deadline:
            missing = sorted({"traces", "logs"} - found)
            report.add(name, "fail", f"no {' or '.join(missing)} of trace {trace_id} in {out} "
                                     f"after {wait:g}s")
            return
        time.sleep(0.2)


def _signals_with_trace(out: Path, trace_id: str) -> set[str]:
    from infertel.tools._documents import StoreError, iter_documents

    found: set[str] = set()
    try:
        for document in iter_documents(out):
            if document.signal != "metrics" and _mentions(document.data, trace_id):
                found.add(document.signal)
    except StoreError:
        pass  # not created yet
    return found


def _mentions(node: Any, trace_id: str) -> bool:
    if isinstance(node, dict):
        if str(node.get("traceId", "")).lower() == trace_id:
            return True
        return any(_mentions(value, trace_id) for value in node.values())
    if isinstance(node, list):
        return any(_mentions(value, trace_id) for value in node)
    return False

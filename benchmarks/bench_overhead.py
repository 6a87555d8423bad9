"""Overhead benchmark: ``@traced_inference`` against hand-written OpenTelemetry and its peers.

Usage (from the repository root; ``make bench`` sets up ``.venv-bench`` with the peers)::

    .venv-bench/bin/python benchmarks/bench_overhead.py [--quick] [--strict]
        [--out benchmarks/results/overhead.json] [--sections latency,sustained,...]

Sections, each written to the JSON and summarised on stdout:

latency    In one process, interleaved rounds (contender order shuffled every round), after a
           warm-up: per-call latency with ``time.perf_counter_ns()`` around each call (median of
           round medians, pooled p99) and, per round, wall and CPU time per call including the
           drain of each contender's background export (the worker competes for the GIL), all
           as ratios to a hand-written OpenTelemetry span with 8 attributes and a batch
           processor, measured in the same rounds. Contenders: a bare call; the hand-written
           span (success, and with an exception recorded); span + counter + histogram; the same
           plus a structlog record; ``@traced_inference`` with span, metrics, log record and
           payload capture (success and error path); ``@logfire.instrument``; Traceloop
           ``@task``; MLflow ``@mlflow.trace``. Peers are optional: one that is not installed
           or does not record anything is reported as "not measured: <reason>".
sustained  A ~1 ms CPU-bound model with a 1 KB free-text field redacted on every call: calls/s
           with telemetry on (default policy, null exporters) over off, drops (1 and 2 serving
           threads), in a child process.
memory     1,000,000 calls with an unreachable OTLP endpoint (gRPC and HTTP): RSS growth, drops.
import     ``import infertel`` in a fresh interpreter (``-X importtime`` and wall).
disabled   Decorator cost per call with no ``configure()`` and with ``configure(enabled=False)``.
redaction  ``benchmarks/bench_redaction.py`` (PiiDetector against Presidio), run as is.
profile    cProfile of the hot path (serving thread) and of the background worker.

Thresholds (issue 5) are checked here, not in unit tests: PASS/MISS per target is printed;
``--strict`` exits 1 on a MISS. ``--quick`` is a smoke run with small counts (targets are
printed but not judged).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("TRACELOOP_TELEMETRY", "false")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

RESULTS = ROOT / "benchmarks" / "results"
BASELINE = "otel_span"
SECTIONS = ("latency", "sustained", "memory", "import", "disabled", "redaction", "profile")
CONTENDERS = (
    "bare",
    "otel_span",
    "otel_span_error",
    "otel_span_metrics",
    "otel_span_metrics_log",
    "infertel",
    "infertel_error",
    "logfire",
    "traceloop",
    "mlflow",
)
LABELS = {
    "bare": "bare call",
    "otel_span": "OTel span, 8 attributes, batch processor (baseline)",
    "otel_span_error": "same span, exception recorded",
    "otel_span_metrics": "span + counter + histogram",
    "otel_span_metrics_log": "span + counter + histogram + structlog record",
    "infertel": "@traced_inference: span+metrics+log+payload capture",
    "infertel_error": "@traced_inference, call raises (error path)",
    "logfire": "@logfire.instrument",
    "traceloop": "Traceloop @task",
    "mlflow": "MLflow @mlflow.trace",
}
MODEL_NAME = "fraud-detector"
MODEL_VERSION = "2.3.1"
RING = "canary"
TIERS = ("free", "pro", "enterprise")
OTLP_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Plan:
    rounds: int = 40
    calls: int = 2000
    warmup: int = 300
    mlflow_scale: float = 0.1  # MLflow's export costs ~10 ms a call: fewer calls per round
    sustained_rounds: int = 5
    sustained_calls: int = 1500
    sustained_model_ms: float = 1.0
    memory_calls: int = 1_000_000
    import_reps: int = 10
    disabled_rounds: int = 15
    disabled_calls: int = 200_000
    profile_calls: int = 200_000
    redaction: str = "full"  # full | quick | skip


FULL = Plan()
QUICK = Plan(rounds=3, calls=200, warmup=50, mlflow_scale=0.5, sustained_rounds=1,
             sustained_calls=150, memory_calls=20_000, import_reps=3, disabled_rounds=3,
             disabled_calls=20_000, profile_calls=5_000, redaction="quick")


class NotMeasured(Exception):
    """A contender or section that cannot run here; the message says why."""


# ----------------------------------------------------------------------------- workload
def short_text(tag: str, i: int) -> str:
    """~100 characters of free text with PII, unique per call (no cache can help)."""
    return (f"Customer alice.{tag}.{i}@example.com called from +1 415 555 {i % 10000:04d} "
            f"about order {tag}-{i}: refund")


_FILLER = ("The customer says the transfer was flagged after the update and asks for a review "
           "of the account history, the limits and the recent card activity before Friday. ")


def long_text(tag: str, i: int) -> str:
    """1 KB of free text with an email, a phone number and a card number, unique per call."""
    head = (f"Ticket {tag}-{i}: Bob Stone (bob.{tag}.{i}@example.org, +44 20 7946 "
            f"{i % 10000:04d}) paid with card 4111 1111 1111 1111. ")
    body = head + _FILLER * 8
    return body[:1024]


def make_requests(tag: str, n: int, text: Callable[[str, int], str] = short_text
                  ) -> list[dict[str, Any]]:
    return [{"text": text(tag, i), "amount": 10.0 + (i % 97), "tier": TIERS[i % 3]}
            for i in range(n)]


def tier_of(req: dict[str, Any]) -> str:
    return str(req["tier"])


def model(req: dict[str, Any]) -> dict[str, Any]:
    """The model every contender wraps: trivially cheap, so the telemetry is what is timed."""
    return {"score": 0.5 + req["amount"] * 1e-4, "label": "ok"}


def failing_model(req: dict[str, Any]) -> dict[str, Any]:
    raise ValueError(f"payment declined for {req['text'][:40]}")


# ----------------------------------------------------------------------------- exporters
def _counting_exporters() -> tuple[Any, Any]:
    """A span exporter and a log exporter that count and keep the last item, nothing more."""
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class CountingSpanExporter(SpanExporter):
        def __init__(self) -> None:
            self.count = 0
            self.last: Any = None
            self.last_error: Any = None

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.count += len(spans)
            if spans:
                self.last = spans[-1]
                for span in reversed(spans):
                    if span.events:
                        self.last_error = span
                        break
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    class CountingLogExporter(LogRecordExporter):
        def __init__(self) -> None:
            self.count = 0
            self.last: Any = None

        def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
            self.count += len(batch)
            if batch:
                self.last = batch[-1]
            return LogRecordExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    return CountingSpanExporter(), CountingLogExporter()


def _null_span_exporter() -> Any:
    return _counting_exporters()[0]


# ----------------------------------------------------------------------------- contenders
@dataclass
class Contender:
    name: str
    fn: Callable[[Any], Any]
    drain: Callable[[], object] = lambda: None
    exported: Callable[[], int | None] = lambda: None
    scale: float = 1.0
    setup: str = ""
    verified: str = ""
    medians: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    calls_made: int = 0


def _must(condition: bool, what: str) -> None:
    if not condition:
        raise NotMeasured(f"records nothing: {what}")


def setup_bare() -> list[Contender]:
    return [Contender("bare", model, setup="plain function call", verified="n/a")]


def setup_otel() -> list[Contender]:
    """The hand-written baseline on private providers (no global state, so peers that replace
    the global tracer provider cannot touch it)."""
    import structlog
    from opentelemetry import trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": "bench-handwritten"})
    exporter = _null_span_exporter()
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=65536))
    tracer = provider.get_tracer("bench.handwritten")
    reader = InMemoryMetricReader()
    meter = MeterProvider(resource=resource, metric_readers=[reader]).get_meter("bench")
    counter = meter.create_counter("ml.inference.requests")
    histogram = meter.create_histogram("ml.inference.duration", unit="s")

    class NullFile:
        lines = 0

        def write(self, text: str) -> None:
            NullFile.lines += text.count("\n")

        def flush(self) -> None:
            pass

    def add_ids(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            event["trace_id"] = format(ctx.trace_id, "032x")
            event["span_id"] = format(ctx.span_id, "016x")
        return event

    log = structlog.wrap_logger(
        structlog.PrintLogger(NullFile()),  # type: ignore[arg-type]
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            add_ids,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(20),
        cache_logger_on_first_use=True,
    )
    qualname = f"{__name__}.model"

    def start_attributes(req: dict[str, Any]) -> dict[str, Any]:
        return {
            "ml.model.name": MODEL_NAME,
            "ml.model.version": MODEL_VERSION,
            "ml.deployment.ring": RING,
            "ml.segment": tier_of(req),
            "ml.inference.kind": "sync",
            "code.function.name": qualname,
            "ml.input.req.amount": req["amount"],
        }

    def otel_span(req: dict[str, Any]) -> dict[str, Any]:
        with tracer.start_as_current_span("predict", attributes=start_attributes(req)) as span:
            result = model(req)
            span.set_attribute("ml.output.score", result["score"])  # the 8th attribute
            return result

    def otel_span_error(req: dict[str, Any]) -> dict[str, Any]:
        with tracer.start_as_current_span("predict", attributes=start_attributes(req)) as span:
            result = failing_model(req)  # the context manager records the exception
            span.set_attribute("ml.output.score", result["score"])
            return result

    def otel_span_metrics(req: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        with tracer.start_as_current_span("predict", attributes=start_attributes(req)) as span:
            result = model(req)
            span.set_attribute("ml.output.score", result["score"])
        attrs = {"ml.model.name": MODEL_NAME, "ml.model.version": MODEL_VERSION,
                 "ml.deployment.ring": RING, "ml.segment": tier_of(req),
                 "ml.inference.outcome": "success"}
        counter.add(1, attrs)
        histogram.record(time.perf_counter() - start, attrs)
        return result

    def otel_span_metrics_log(req: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        with tracer.start_as_current_span("predict", attributes=start_attributes(req)) as span:
            result = model(req)
            span.set_attribute("ml.output.score", result["score"])
            duration = time.perf_counter() - start
            log.info("inference", model=MODEL_NAME, version=MODEL_VERSION, ring=RING,
                     segment=tier_of(req), outcome="success", duration_s=duration,
                     amount=req["amount"], score=result["score"])
        attrs = {"ml.model.name": MODEL_NAME, "ml.model.version": MODEL_VERSION,
                 "ml.deployment.ring": RING, "ml.segment": tier_of(req),
                 "ml.inference.outcome": "success"}
        counter.add(1, attrs)
        histogram.record(duration, attrs)
        return result

    def drain() -> None:
        provider.force_flush(60_000)

    def exported() -> int:
        return int(exporter.count)

    # Verify before timing: every variant exports its span, the error span carries the event,
    # metrics are aggregated and the structlog line is rendered.
    reqs = make_requests("verify", 3)
    for req in reqs:
        otel_span(req)
        with contextlib.suppress(ValueError):
            otel_span_error(req)
        otel_span_metrics(req)
        otel_span_metrics_log(req)
    drain()
    _must(exporter.count == 12, f"hand-written spans exported {exporter.count}/12")
    _must(len(exporter.last.attributes) == 8, "the hand-written span has 8 attributes")
    _must(exporter.last_error is not None and exporter.last_error.events[0].name == "exception",
          "exception event on the error span")
    _must(reader.get_metrics_data() is not None, "metric points")
    _must(NullFile.lines == 3, "structlog lines")
    verified = (f"{exporter.count} spans (8 attributes; exception event on the error span), "
                f"metric points collected, {NullFile.lines} structlog JSON lines")
    common = {"drain": drain, "exported": exported, "verified": verified}
    setup = "private TracerProvider + BatchSpanProcessor -> counting null exporter"
    return [
        Contender("otel_span", otel_span, setup=setup, **common),
        Contender("otel_span_error", otel_span_error, setup=setup, **common),
        Contender("otel_span_metrics", otel_span_metrics,
                  setup=setup + "; MeterProvider + InMemoryMetricReader", **common),
        Contender("otel_span_metrics_log", otel_span_metrics_log,
                  setup=setup + "; metrics; structlog JSONRenderer to a null file", **common),
    ]


class NullTransport:
    """An OTLP transport that keeps nothing: every request is accepted at once. infertel's
    own exporters run around it (direct encoding, delivery accounting), as in production;
    only the network is left out. Keeps the last request per signal for the checks."""

    def __init__(self, signal: str) -> None:
        from infertel.export._transport import Destination

        self.destination = Destination(signal, "http/protobuf", f"http://null/v1/{signal}")
        self.requests = 0
        self.last: bytes = b""

    def send(self, payload: bytes, timeout: float) -> Any:
        from infertel.export._transport import Outcome, Sent

        self.requests += 1
        self.last = payload
        return Sent(Outcome.OK)

    def close(self) -> None:
        pass


def null_otlp_exporters() -> tuple[Any, dict[str, NullTransport]]:
    """infertel's OTLP exporters for the three signals, each over a :class:`NullTransport`."""
    from infertel.export._delivery import Delivery
    from infertel.export._exporters import (
        EncodingLogExporter,
        EncodingMetricExporter,
        EncodingSpanExporter,
        OtlpSink,
        temporality,
    )
    from infertel.export._setup import Exporters
    from infertel.export._status import ExportStatus

    status = ExportStatus(dict.fromkeys(("traces", "logs", "metrics"), "otlp"))
    transports = {signal: NullTransport(signal) for signal in ("traces", "logs", "metrics")}
    sinks = {signal: OtlpSink(Delivery(transport, status, 10.0), None)  # type: ignore[arg-type]
             for signal, transport in transports.items()}
    exporters = Exporters(EncodingSpanExporter(sinks["traces"], status),
                          EncodingLogExporter(sinks["logs"], status),
                          EncodingMetricExporter(sinks["metrics"], status, temporality()),
                          status=status, count_own_losses=True)
    return exporters, transports


def _last_error_span(transport: NullTransport) -> dict[str, Any]:
    """Attributes and exception-event attributes of the last failing span sent."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(transport.last)
    spans = [span for block in request.resource_spans for scoped in block.scope_spans
             for span in scoped.spans if span.events]
    if not spans:
        return {}
    span = spans[-1]
    return {"attributes": {a.key: a.value.string_value for a in span.attributes},
            "event": span.events[0].name,
            "event_attributes": {a.key: a.value.string_value for a in span.events[0].attributes}}


def setup_infertel(queue_size: int) -> tuple[list[Contender], Any]:
    """Full signals through the production pipeline (worker, policy, direct encoding into one
    OTLP request per batch and signal, delivery accounting); only the network is left out
    (:class:`NullTransport`). Metrics are collected by the periodic reader (not per round)."""
    import infertel
    from infertel.config import resolve_settings
    from infertel.pipeline import _lifecycle as _runtime

    exporters, transports = null_otlp_exporters()
    settings = resolve_settings(service_name="bench-infertel", exporter="none",
                                queue_size=queue_size)
    telemetry = infertel.Telemetry(
        settings, infertel.ModelInfo(name=MODEL_NAME, version=MODEL_VERSION),
        exporters=exporters)
    _runtime.install(telemetry)
    _must(telemetry._processor.direct is not None, "direct encoding on")
    decorate = infertel.traced_inference(
        ring=RING, segment=tier_of,
        inputs={"req.text": "redact", "req.amount": "keep"}, outputs={"score": "keep"})

    def predict(req: dict[str, Any]) -> dict[str, Any]:
        return model(req)

    def predict_fails(req: dict[str, Any]) -> dict[str, Any]:
        return failing_model(req)

    ok, fails = decorate(predict), decorate(predict_fails)

    def drain() -> None:
        telemetry.flush(timeout=300.0, metrics=False)

    def exported() -> int:
        return int(telemetry.export_status.snapshot()["traces"]["exported_records"])

    reqs = make_requests("verify", 3)
    for req in reqs:
        ok(req)
        with contextlib.suppress(ValueError):
            fails(req)
    drain()
    status = telemetry.export_status.snapshot()
    spans, logs = status["traces"]["exported_records"], status["logs"]["exported_records"]
    _must(spans == 6 and logs >= 6, f"spans {spans}/6, logs {logs}")
    last = _last_error_span(transports["traces"])
    text_attr = [v for k, v in last.get("attributes", {}).items()
                 if k.startswith("ml.input.req.text")]
    _must(bool(text_attr) and "@example.com" not in str(text_attr), "req.text redacted")
    _must(last.get("event") == "exception", "exception event")
    message = str(last.get("event_attributes", {}).get("exception.message"))
    _must("@example.com" not in message, "exception message scrubbed")
    telemetry.meter_provider.force_flush()
    _must(transports["metrics"].requests > 0, "metric points exported")
    _must(not telemetry.dropped(), f"drops during verification: {telemetry.dropped()}")
    verified = (f"{spans} spans, {logs} log records in OTLP requests decoded back (req.text "
                "redacted, exception event with scrubbed message), metrics exported, no drops")
    setup = (f"Telemetry(queue_size={queue_size}) with infertel's OTLP exporters over a null "
             "transport (direct encoding, one request per batch and signal; no network); "
             "inputs req.text=redact, req.amount=keep; outputs score=keep; segment callable; "
             "ring canary")
    common = {"drain": drain, "exported": exported, "setup": setup, "verified": verified}
    return [Contender("infertel", ok, **common),
            Contender("infertel_error", fails, **common)], telemetry


def setup_logfire() -> list[Contender]:
    try:
        import logfire
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        raise NotMeasured(f"not installed ({error.name})") from error
    exporter = _null_span_exporter()
    lf = logfire.configure(local=True, send_to_logfire=False, console=False, metrics=False,
                           service_name="bench-logfire",
                           additional_span_processors=[BatchSpanProcessor(exporter)])
    fn = lf.instrument()(model)
    for req in make_requests("verify", 3):
        fn(req)
    lf.force_flush()
    _must(exporter.count == 3, f"logfire spans exported {exporter.count}/3")
    args_recorded = "req" in dict(exporter.last.attributes)
    return [Contender(
        "logfire", fn, drain=lf.force_flush, exported=lambda: int(exporter.count),
        setup=(f"logfire {logfire.__version__} configure(local=True, send_to_logfire=False, "
               "console=False, metrics=False, additional_span_processors=[BatchSpanProcessor("
               "counting null exporter)]); default @instrument() (arguments extracted)"),
        verified=f"{exporter.count} spans exported; arguments recorded: {args_recorded}")]


def setup_mlflow(workdir: Path) -> list[Contender]:
    try:
        import mlflow
        import numpy  # noqa: F401  (mlflow retries these imports on every call without them)
        import pandas  # noqa: F401
    except ImportError as error:
        raise NotMeasured(f"not installed ({error.name})") from error
    store = workdir / "mlflow"
    mlflow.set_tracking_uri(store.as_uri())
    mlflow.set_experiment("infertel-bench")
    fn = mlflow.trace(name="predict")(model)
    for req in make_requests("verify", 3):
        fn(req)
    mlflow.flush_trace_async_logging()
    traces = mlflow.search_traces(return_type="list", max_results=10)
    _must(len(traces) == 3, f"mlflow traces in the store {len(traces)}/3")

    def drain() -> None:
        mlflow.flush_trace_async_logging()

    return [Contender(
        "mlflow", fn, drain=drain, setup=(
            f"mlflow-skinny {mlflow.__version__}, file store (MLFLOW_ALLOW_FILE_STORE=true) in "
            "a temp dir, its own async trace export (MLflow's processor takes each trace out "
            "of its in-memory manager in its exporter, so no null exporter can replace it)"),
        verified=f"{len(traces)} traces found with mlflow.search_traces()")]


def setup_traceloop() -> list[Contender]:
    try:
        import httpx  # noqa: F401  (traceloop-sdk fails to import without it)
        from opentelemetry import trace
        from traceloop.sdk import Traceloop
        from traceloop.sdk.decorators import task
        from traceloop.sdk.instruments import Instruments
    except ImportError as error:
        raise NotMeasured(f"not installed ({error.name})") from error
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        raise NotMeasured("the global tracer provider is already set: Traceloop would not "
                          "record (initialise it before anything sets the global provider)")
    exporter = _null_span_exporter()
    with contextlib.redirect_stdout(io.StringIO()):
        Traceloop.init(app_name="bench-traceloop", exporter=exporter, telemetry_enabled=False,
                       disable_batch=False, block_instruments=set(Instruments))
    fn = task(name="predict")(model)
    provider = trace.get_tracer_provider()

    def drain() -> None:
        provider.force_flush()  # type: ignore[attr-defined]

    for req in make_requests("verify", 3):
        fn(req)
    drain()
    _must(exporter.count == 3, f"traceloop spans exported {exporter.count}/3")
    attrs = dict(exporter.last.attributes)
    return [Contender(
        "traceloop", fn, drain=drain, exported=lambda: int(exporter.count),
        setup=("traceloop-sdk Traceloop.init(exporter=counting null exporter, "
               "disable_batch=False, telemetry_enabled=False, block_instruments=all); @task; "
               "it owns the global tracer provider"),
        verified=(f"{exporter.count} spans exported; input/output recorded: "
                  f"{'traceloop.entity.input' in attrs}/{'traceloop.entity.output' in attrs}"))]


# ----------------------------------------------------------------------------- helpers
def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def percentile(sorted_values: Sequence[int], q: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return float(sorted_values[index])


def children_cpu_s() -> float:
    """CPU seconds of live child processes (the redaction child), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    pids: set[str] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):
                pids.update(Path(f"/proc/self/task/{task}/children").read_text().split())
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    from importlib import metadata

    for dist in ("infertel", "opentelemetry-sdk", "structlog", "logfire", "traceloop-sdk",
                 "mlflow-skinny", "presidio-analyzer"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True, timeout=10)
        commit = out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions,
        "git": commit,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def run_child(section: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one section in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", section,
           "--params", json.dumps(params)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        raise RuntimeError(f"child {section} failed ({proc.returncode}): " + " | ".join(tail))
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# ----------------------------------------------------------------------------- latency
def time_round(contender: Contender, reqs: Sequence[dict[str, Any]]) -> None:
    fn = contender.fn
    n = len(reqs)
    lat = [0] * n
    clock = time.perf_counter_ns
    gc.collect()
    child0 = children_cpu_s()
    cpu0 = time.process_time_ns()
    start = clock()
    for i in range(n):
        req = reqs[i]
        t0 = clock()
        try:  # noqa: SIM105  (contextlib.suppress would add a context manager to every call)
            fn(req)
        except ValueError:
            pass
        lat[i] = clock() - t0
    contender.drain()
    end = clock()
    cpu = time.process_time_ns() - cpu0
    cpu += max(0.0, children_cpu_s() - child0) * 1e9
    lat.sort()
    contender.medians.append(median(lat) / 1e3)
    contender.p99s.append(percentile(lat, 0.99) / 1e3)
    contender.samples.extend(lat)
    contender.walls.append((end - start) / n / 1e3)
    contender.cpus.append(cpu / n / 1e3)
    contender.calls_made += n


def latency_section(plan: Plan, seed: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="infertel-bench-"))
    try:
        return _latency(plan, seed, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _latency(plan: Plan, seed: int, workdir: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    contenders: list[Contender] = []
    not_measured: dict[str, str] = {}
    telemetry = None
    # Order matters: Traceloop adds its processor to the global tracer provider only when none
    # is set yet, and installing infertel sets one (a forwarder for nested instrumentation).
    # The hand-written baseline uses private providers, so Traceloop cannot replace it.
    steps: list[tuple[tuple[str, ...], Callable[[], list[Contender]]]] = [
        (("bare",), setup_bare),
        (("otel_span", "otel_span_error", "otel_span_metrics", "otel_span_metrics_log"),
         setup_otel),
        (("logfire",), setup_logfire),
        (("mlflow",), lambda: setup_mlflow(workdir)),
        (("traceloop",), setup_traceloop),
    ]
    for names, setup in steps:
        try:
            contenders.extend(setup())
        except NotMeasured as error:
            not_measured.update(dict.fromkeys(names, str(error)))
        except Exception as error:  # a peer failing to set up is reported, not fatal
            not_measured.update(dict.fromkeys(names, f"set-up failed: {error!r}"[:300]))
    queue_size = max(10_000, plan.calls * 2 + 1000)
    try:
        infertel_contenders, telemetry = setup_infertel(queue_size)
        contenders.extend(infertel_contenders)
    except NotMeasured as error:
        not_measured.update({"infertel": str(error), "infertel_error": str(error)})
    for c in contenders:
        if c.name == "mlflow":
            c.scale = plan.mlflow_scale
    counts = {c.name: max(1, int(plan.calls * c.scale)) for c in contenders}

    # Warm-up: every contender, then a drain; nothing recorded.
    warm = make_requests("warmup", plan.warmup)
    for c in contenders:
        for req in warm[: max(1, int(plan.warmup * c.scale))]:
            with contextlib.suppress(ValueError):
                c.fn(req)
        c.drain()
    exported_before = {c.name: c.exported() for c in contenders}
    progress = max(1, plan.rounds // 8)
    for r in range(plan.rounds):
        reqs = make_requests(f"r{r}", plan.calls)
        order = contenders[:]
        rng.shuffle(order)
        for c in order:
            time_round(c, reqs[: counts[c.name]])
        if (r + 1) % progress == 0 or r + 1 == plan.rounds:
            print(f"  latency round {r + 1}/{plan.rounds}", file=sys.stderr, flush=True)

    # Shared exporters count once per sharing group (e.g. the four hand-written variants).
    groups: dict[int, list[Contender]] = {}
    for c in contenders:
        groups.setdefault(id(c.exported), []).append(c)
    completeness: dict[str, Any] = {}
    for members in groups.values():
        first = members[0]
        now, before = first.exported(), exported_before[first.name]
        if now is None or before is None:
            continue
        made = sum(m.calls_made for m in members)
        completeness["+".join(m.name for m in members)] = {"calls": made,
                                                           "exported": now - before}
    drops = telemetry.dropped() if telemetry is not None else None
    internal_errors = telemetry.internal_errors if telemetry is not None else None
    base = next((c for c in contenders if c.name == BASELINE), None)
    if base is None:
        raise RuntimeError("the hand-written OpenTelemetry baseline could not be set up")
    base_p99 = percentile(sorted(base.samples), 0.99)
    rows: dict[str, Any] = {}
    for name in CONTENDERS:
        c = next((c for c in contenders if c.name == name), None)
        if c is None:
            rows[name] = {"label": LABELS[name],
                          "not_measured": not_measured.get(name, "not set up")}
            continue
        samples = sorted(c.samples)
        p99 = percentile(samples, 0.99)
        rows[name] = {
            "label": LABELS[name],
            "calls_per_round": counts[name],
            "median_us": median(c.medians),
            "p99_us": p99 / 1e3,
            "p999_us": percentile(samples, 0.999) / 1e3,
            "median_x": median([m / b for m, b in zip(c.medians, base.medians, strict=True)]),
            "p99_x": p99 / base_p99,
            "p99_round_median_x": median([m / b for m, b in zip(c.p99s, base.p99s,
                                                                   strict=True)]),
            "wall_drained_us": median(c.walls),
            "wall_drained_x": median([m / b for m, b in zip(c.walls, base.walls, strict=True)]),
            "cpu_us": median(c.cpus),
            "cpu_x": median([m / b for m, b in zip(c.cpus, base.cpus, strict=True)]),
            "setup": c.setup,
            "verified": c.verified,
        }
    if telemetry is not None:
        telemetry.shutdown(timeout=10.0)
    return {
        "rounds": plan.rounds,
        "calls_per_round": plan.calls,
        "warmup_calls": plan.warmup,
        "baseline": BASELINE,
        "method": ("one process; per round every contender runs its calls in a shuffled order "
                   "with perf_counter_ns around each call; median = median of round medians, "
                   "p99 = pooled over all rounds; *_x = median over rounds of the ratio to the "
                   "baseline in the same round (p99_x: pooled p99 ratio); wall_drained = wall "
                   "time per call of the round including the drain of the contender's "
                   "background export; cpu = process CPU (all threads, plus child processes) "
                   "per call over the same span; gc enabled, gc.collect() between contenders"),
        "infertel_queue_size": queue_size,
        "infertel_drops": drops,
        "infertel_internal_errors": internal_errors,
        "exported_vs_calls": completeness,
        "contenders": rows,
    }


# ----------------------------------------------------------------------------- sustained
def calibrate_model(target_ms: float) -> tuple[Callable[[dict[str, Any]], dict[str, Any]], int]:
    def make(loops: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def cpu_model(req: dict[str, Any]) -> dict[str, Any]:
            acc = 0
            for i in range(loops):
                acc += i * i
            return {"score": (acc % 1000) / 1000 + req["amount"] * 1e-6, "label": "ok"}

        return cpu_model

    loops = 20_000
    for _ in range(3):
        fn = make(loops)
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            fn({"amount": 1.0})
            times.append(time.perf_counter() - t0)
        loops = max(1000, int(loops * target_ms / 1000 / median(times)))
    return make(loops), loops


def child_sustained(params: dict[str, Any]) -> dict[str, Any]:
    import infertel
    from infertel.config import resolve_settings
    from infertel.pipeline import _lifecycle as _runtime

    rounds, calls = int(params["rounds"]), int(params["calls"])
    cpu_model, loops = calibrate_model(float(params["model_ms"]))
    exporters, transports = null_otlp_exporters()
    telemetry = infertel.Telemetry(
        resolve_settings(service_name="bench-sustained", exporter="none"),
        infertel.ModelInfo(name=MODEL_NAME, version=MODEL_VERSION), exporters=exporters)
    _runtime.install(telemetry)
    traced = infertel.traced_inference(
        ring=RING, segment=tier_of,
        inputs={"req.text": "redact", "req.amount": "keep"}, outputs={"score": "keep"},
    )(cpu_model)
    for req in make_requests("warm", 50, long_text):  # warm-up; starts the redaction child
        traced(req)
        cpu_model(req)
    telemetry.flush(timeout=60.0, metrics=False)
    exported0 = telemetry.export_status.snapshot()["traces"]["exported_records"]
    rng = random.Random(11)
    results: dict[str, Any] = {}
    total_on_calls = 0
    for threads in (1, 2):
        per_mode: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
        for r in range(rounds):
            modes = ["off", "on"]
            rng.shuffle(modes)
            for mode in modes:
                reqs = make_requests(f"s{threads}-{r}-{mode}", calls, long_text)
                fn = traced if mode == "on" else cpu_model
                chunks = [reqs[k::threads] for k in range(threads)]
                gc.collect()
                child0 = children_cpu_s()
                cpu0 = time.process_time()
                barrier = threading.Barrier(threads + 1)

                def serve(chunk: list[dict[str, Any]], fn: Callable[..., Any] = fn,
                          barrier: threading.Barrier = barrier) -> None:
                    barrier.wait()
                    for req in chunk:
                        fn(req)

                workers = [threading.Thread(target=serve, args=(chunk,)) for chunk in chunks]
                for w in workers:
                    w.start()
                barrier.wait()
                t0 = time.perf_counter()
                for w in workers:
                    w.join()
                served = time.perf_counter()
                backlog = telemetry.worker.pending() if mode == "on" else 0
                if mode == "on":
                    telemetry.flush(timeout=120.0, metrics=False)
                    total_on_calls += calls
                drained = time.perf_counter()
                per_mode[mode].append({
                    "serving_calls_per_s": calls / (served - t0),
                    "drained_calls_per_s": calls / (drained - t0),
                    "backlog_at_end": backlog,
                    "drain_s": drained - served,
                    "cpu_s_per_call": (time.process_time() - cpu0) / calls,
                    "child_cpu_s_per_call": max(0.0, children_cpu_s() - child0) / calls,
                })
        off, on = per_mode["off"], per_mode["on"]
        ratios = [b["drained_calls_per_s"] / a["drained_calls_per_s"]
                  for a, b in zip(off, on, strict=True)]
        serving_ratios = [b["serving_calls_per_s"] / a["serving_calls_per_s"]
                          for a, b in zip(off, on, strict=True)]
        results[f"{threads}_thread" + ("s" if threads > 1 else "")] = {
            "off_calls_per_s": median([x["drained_calls_per_s"] for x in off]),
            "on_calls_per_s": median([x["drained_calls_per_s"] for x in on]),
            "ratio": median(ratios),
            "ratio_serving_only": median(serving_ratios),
            "on_backlog_at_end_max": max(x["backlog_at_end"] for x in on),
            "on_drain_s_median": median([x["drain_s"] for x in on]),
            "off_cpu_us_per_call": median([x["cpu_s_per_call"] for x in off]) * 1e6,
            "on_cpu_us_per_call": median([x["cpu_s_per_call"] for x in on]) * 1e6,
            "in_process_cpu_added_us_per_call": median(
                [(b["cpu_s_per_call"] - a["cpu_s_per_call"]) * 1e6
                 for a, b in zip(off, on, strict=True)]),
            "on_child_cpu_us_per_call": median([x["child_cpu_s_per_call"] for x in on]) * 1e6,
            "rounds": per_mode,
        }
    drops = telemetry.dropped()
    exported = telemetry.export_status.snapshot()["traces"]["exported_records"] - exported0
    text_attr = _last_text_attributes(transports["traces"])
    redacted = bool(text_attr) and "@example.org" not in str(text_attr) and "4111" not in str(
        text_attr)
    telemetry.shutdown(timeout=10.0)
    return {
        "model_loops": loops,
        "model_ms": float(params["model_ms"]),
        "calls_per_round": calls,
        "rounds": rounds,
        "text_chars": len(long_text("x", 1)),
        "queue_size": telemetry.settings.queue_size,
        "variants": results,
        "drops": drops,
        "drops_total": sum(drops.values()),
        "exported_spans": exported,
        "calls_with_telemetry": total_on_calls,
        "free_text_redacted": redacted,
        "redacted_sample": str(next(iter(text_attr.values()), ""))[:160],
        "internal_errors": telemetry.internal_errors,
    }


def _last_text_attributes(transport: NullTransport) -> dict[str, str]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(transport.last)
    spans = [span for block in request.resource_spans for scoped in block.scope_spans
             for span in scoped.spans]
    if not spans:
        return {}
    return {a.key: a.value.string_value for a in spans[-1].attributes
            if a.key.startswith("ml.input.req.text")}


# ----------------------------------------------------------------------------- memory
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((OTLP_HOST, 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more: connections are refused


def child_memory(params: dict[str, Any]) -> dict[str, Any]:
    import logging

    import infertel

    logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)  # retry warnings, 1M times
    calls, protocol = int(params["calls"]), str(params["protocol"])
    timeout_s = float(params["export_timeout_s"])
    port = closed_port()
    before_configure = rss_mb()
    telemetry = infertel.configure(
        service_name="bench-memory", model=infertel.ModelInfo(name=MODEL_NAME,
                                                              version=MODEL_VERSION),
        exporter="otlp", otlp_endpoint=f"http://{OTLP_HOST}:{port}", otlp_protocol=protocol,
        export_timeout_s=timeout_s)

    @infertel.traced_inference(ring=RING, segment=tier_of,
                               inputs={"req.text": "redact", "req.amount": "keep"},
                               outputs={"score": "keep"})
    def predict(req: dict[str, Any]) -> dict[str, Any]:
        return model(req)

    filler = _FILLER * 8
    # A short warm-up (lazy imports, first export attempt) that stays far below the queue
    # bound: filling the queue is part of the growth being measured.
    warm = min(500, max(10, calls // 100))
    for i in range(warm):
        predict({"text": f"warm {i} carol{i}@example.net {filler}"[:1024], "amount": 1.0,
                 "tier": TIERS[i % 3]})
    gc.collect()
    baseline = rss_mb()
    peak = baseline
    samples = []
    step = max(1, calls // 20)
    t0 = time.perf_counter()
    for i in range(calls):
        predict({"text": f"call {i} dave{i}@example.net +1 415 555 {i % 10000:04d} {filler}"
                         [:1024], "amount": float(i % 100), "tier": TIERS[i % 3]})
        if i % step == 0:
            current = rss_mb()
            peak = max(peak, current)
            samples.append(round(current, 1))
    elapsed = time.perf_counter() - t0
    end = rss_mb()
    peak = max(peak, end)
    drops = telemetry.dropped()
    t1 = time.perf_counter()
    finished = infertel.shutdown(timeout=5.0)
    shutdown_s = time.perf_counter() - t1
    return {
        "protocol": protocol,
        "endpoint": f"http://{OTLP_HOST}:<closed port>",
        "calls": calls,
        "text_chars": 1024,
        "export_timeout_s": timeout_s,
        "queue_size": telemetry.settings.queue_size,
        "warmup_calls": warm,
        "rss_before_configure_mb": before_configure,
        "rss_baseline_mb": baseline,
        "rss_end_mb": end,
        "rss_peak_mb": peak,
        "growth_mb": peak - baseline,
        "rss_samples_mb": samples,
        "serving_s": elapsed,
        "us_per_call": elapsed / calls * 1e6,
        "drops": drops,
        "shutdown_s": shutdown_s,
        "shutdown_finished_in_time": finished,
    }


# ----------------------------------------------------------------------------- import
def import_section(reps: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFERTEL_", "OTEL_"))}

    def wall(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT,
                       capture_output=True)
        return time.perf_counter() - t0

    cumulative_us: list[float] = []
    for _ in range(reps):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import infertel"],
                              check=True, env=env, cwd=ROOT, capture_output=True, text=True)
        for line in proc.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[2].strip() == "infertel":
                cumulative_us.append(float(parts[1]))
    bare, imported, configured = [], [], []
    configure = "import infertel; infertel.configure(exporter='none'); infertel.shutdown()"
    for _ in range(reps):
        codes = [("pass", bare), ("import infertel", imported), (configure, configured)]
        random.shuffle(codes)
        for code, sink in codes:
            sink.append(wall(code))
    return {
        "reps": reps,
        "importtime_cumulative_s": median(cumulative_us) / 1e6,
        "wall_import_minus_bare_s": median([a - b for a, b in zip(imported, bare, strict=True)]),
        "wall_import_configure_minus_bare_s": median(
            [a - b for a, b in zip(configured, bare, strict=True)]),
        "interpreter_start_s": median(bare),
    }


# ----------------------------------------------------------------------------- disabled
def child_disabled(params: dict[str, Any]) -> dict[str, Any]:
    import infertel

    rounds, calls = int(params["rounds"]), int(params["calls"])

    def plain(req: dict[str, Any]) -> dict[str, Any]:
        return req

    decorated = infertel.traced_inference(
        ring=RING, segment=tier_of,
        inputs={"req.text": "redact", "req.amount": "keep"}, outputs={"score": "keep"},
    )(plain)
    req = make_requests("d", 1)[0]
    state = {"configured": False}

    def set_state(configured: bool) -> None:
        if configured and not state["configured"]:
            infertel.configure(exporter="none", enabled=False)
        elif not configured and state["configured"]:
            infertel.shutdown(timeout=5.0)
        state["configured"] = configured

    def loop(fn: Callable[[Any], Any]) -> float:
        clock = time.perf_counter_ns
        t0 = clock()
        for _ in range(calls):
            fn(req)
        return (clock() - t0) / calls

    per: dict[str, list[float]] = {"bare": [], "not_configured": [], "enabled_false": []}
    for fn in (plain, decorated):
        loop(fn)  # warm-up
    for _ in range(rounds):
        order = list(per)
        random.shuffle(order)
        for name in order:
            if name == "bare":
                per[name].append(loop(plain))
            else:
                set_state(name == "enabled_false")
                per[name].append(loop(decorated))
    set_state(False)
    return {
        "rounds": rounds,
        "calls_per_round": calls,
        "bare_ns": median(per["bare"]),
        "not_configured_ns": median(per["not_configured"]),
        "enabled_false_ns": median(per["enabled_false"]),
        "not_configured_overhead_ns": median(
            [a - b for a, b in zip(per["not_configured"], per["bare"], strict=True)]),
        "enabled_false_overhead_ns": median(
            [a - b for a, b in zip(per["enabled_false"], per["bare"], strict=True)]),
    }


# ----------------------------------------------------------------------------- profile
def _top(stats: pstats.Stats, calls: int, limit: int, key: str = "tottime_us_per_inference"
         ) -> list[dict[str, Any]]:
    rows = []
    entries = stats.stats  # type: ignore[attr-defined]
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in entries.items():
        rows.append({
            "function": f"{Path(filename).name}:{line}({func})" if line else func,
            "ncalls": nc,
            "tottime_us_per_inference": tt / calls * 1e6,
            "cumtime_us_per_inference": ct / calls * 1e6,
        })
    rows.sort(key=lambda r: r[key], reverse=True)
    return rows[:limit]


def child_profile(params: dict[str, Any]) -> dict[str, Any]:
    calls = int(params["calls"])
    contenders, telemetry = setup_infertel(queue_size=30_000)
    ok = contenders[0].fn
    serving = cProfile.Profile()
    background = cProfile.Profile()
    worker = telemetry.worker
    wrapped = False
    with contextlib.suppress(AttributeError, TypeError):
        handle = worker._handle

        def profiled(batch: list[Any]) -> None:
            background.enable()
            try:
                handle(batch)
            finally:
                background.disable()

        worker._handle = profiled
        wrapped = True
    for req in make_requests("pw", 2000):
        ok(req)
    telemetry.flush(timeout=120.0, metrics=False)
    chunk = 5000
    done = 0
    while done < calls:
        n = min(chunk, calls - done)
        reqs = make_requests(f"p{done}", n)
        serving.enable()
        for req in reqs:
            ok(req)
        serving.disable()
        telemetry.flush(timeout=300.0, metrics=False)
        done += n
    result = {
        "calls": calls,
        "tool": "cProfile (deterministic: inflates many small calls; read the ranking, not "
                "the absolute times)",
        "serving_thread_top": _top(pstats.Stats(serving), calls, 20),
        "serving_thread_top_cumulative": _top(pstats.Stats(serving), calls, 20,
                                              "cumtime_us_per_inference"),
        "worker_top": _top(pstats.Stats(background), calls, 25) if wrapped else [],
        "worker_top_cumulative": _top(pstats.Stats(background), calls, 25,
                                      "cumtime_us_per_inference") if wrapped else [],
        "worker_profiled": wrapped,
    }
    telemetry.shutdown(timeout=10.0)
    return result


# ----------------------------------------------------------------------------- redaction
def redaction_section(mode: str) -> dict[str, Any]:
    script = ROOT / "benchmarks" / "bench_redaction.py"
    if mode == "skip":
        return {"not_measured": "skipped (--redaction skip)"}
    if not script.exists():
        return {"not_measured": "benchmarks/bench_redaction.py not found"}
    try:
        import presidio_analyzer  # noqa: F401
    except ImportError:
        return {"not_measured": "the presidio extra is not installed"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "redaction.json"
        cmd = [sys.executable, str(script), "--no-ner", "--out", str(out)]
        if mode == "quick":
            cmd.append("--quick")
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
        if proc.returncode != 0 or not out.exists():
            tail = " | ".join(proc.stderr.strip().splitlines()[-5:])
            return {"not_measured": f"bench_redaction.py failed ({proc.returncode}): {tail}"}
        data = json.loads(out.read_text(encoding="utf-8"))
    throughput = {
        name: {
            "chars": round(s.get("mean_chars", 0)),
            "infertel_texts_per_s": s["ours"]["texts_per_s"],
            "presidio_texts_per_s": s["presidio"]["texts_per_s"],
            "ratio": s["ratio"],
        }
        for name, s in data.get("throughput", {}).items()
    }
    return {"command": "benchmarks/bench_redaction.py --no-ner" + (
        " --quick" if mode == "quick" else ""), "throughput": throughput,
        "full_result": data}


# ----------------------------------------------------------------------------- targets
def judge(result: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []

    def add(name: str, measured: float | None, limit: float, higher_is_better: bool,
            unit: str, extra_ok: bool = True, note: str = "") -> None:
        if measured is None or (isinstance(measured, float) and math.isnan(measured)):
            status = "NOT MEASURED"
        elif quick:
            status = "n/a (quick)"
        else:
            ok = measured >= limit if higher_is_better else measured <= limit
            status = "PASS" if ok and extra_ok else "MISS"
        targets.append({"target": name, "measured": measured, "limit": limit, "unit": unit,
                        "comparison": ">=" if higher_is_better else "<=", "status": status,
                        "note": note})

    rows = result.get("latency", {}).get("contenders", {})
    inf = rows.get("infertel", {})
    err = rows.get("infertel_error", {})
    add("hot path median / hand-written span", inf.get("median_x"), 0.25, False, "x")
    add("hot path p99 / hand-written span p99", inf.get("p99_x"), 0.5, False, "x")
    add("error path median / hand-written span (success)", err.get("median_x"), 1.5, False,
        "x")
    sustained = result.get("sustained", {})
    one = sustained.get("variants", {}).get("1_thread", {})
    drops = sustained.get("drops_total")
    add("sustained throughput on/off (1 KB redacted, ~1 ms model), zero drops",
        one.get("ratio"), 0.85, True, "x", extra_ok=drops == 0, note=f"drops: {drops}")
    for proto, mem in result.get("memory", {}).items():
        if isinstance(mem, dict) and "growth_mb" in mem:
            add(f"RSS growth, {mem['calls']:,} calls, unreachable OTLP {proto}",
                mem["growth_mb"], 50.0, False, "MB",
                note="" if mem["calls"] >= 1_000_000 else "fewer calls than the target")
    imp = result.get("import", {})
    add("import infertel", imp.get("importtime_cumulative_s"), 0.3, False, "s")
    dis = result.get("disabled", {})
    add("decorator cost, not configured", _us(dis.get("not_configured_overhead_ns")), 1.0,
        False, "us")
    add("decorator cost, configure(enabled=False)", _us(dis.get("enabled_false_overhead_ns")),
        1.0, False, "us")
    return targets


def _us(ns: float | None) -> float | None:
    return None if ns is None else ns / 1e3


# ----------------------------------------------------------------------------- report
def _f(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def latency_table(latency: dict[str, Any]) -> list[str]:
    lines = [
        "| contender | median us | p99 us | median x | p99 x | wall+drain us/call | x "
        "| CPU us/call | x |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in latency["contenders"].values():
        if "not_measured" in row:
            lines.append(f"| {row['label']} | not measured: {row['not_measured']} "
                         "| | | | | | | |")
            continue
        lines.append(
            f"| {row['label']} | {_f(row['median_us'])} | {_f(row['p99_us'])} | "
            f"{_f(row['median_x'])} | {_f(row['p99_x'])} | {_f(row['wall_drained_us'])} | "
            f"{_f(row['wall_drained_x'])} | {_f(row['cpu_us'])} | {_f(row['cpu_x'])} |")
    return lines


def report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"\nmachine: {m['cpu']} x{m['nproc']}, Python {m['python']}, git {m['git']}")
    latency = result.get("latency")
    if isinstance(latency, dict) and "contenders" in latency:
        print(f"\nlatency ({latency['rounds']} rounds x {latency['calls_per_round']} calls, "
              f"ratios to {BASELINE} in the same rounds)")
        print("\n".join(latency_table(latency)))
        print(f"infertel drops: {latency['infertel_drops']}; exported vs calls: "
              f"{latency['exported_vs_calls']}")
    elif latency:
        print(f"\nlatency: {latency}")
    sustained = result.get("sustained", {})
    if "variants" in sustained:
        print("\nsustained load (~1 ms CPU model, 1 KB free text redacted per call)")
        for name, v in sustained["variants"].items():
            print(f"  {name}: off {v['off_calls_per_s']:.0f}/s, on {v['on_calls_per_s']:.0f}/s,"
                  f" ratio {v['ratio']:.3f} (serving only {v['ratio_serving_only']:.3f}), "
                  f"backlog max {v['on_backlog_at_end_max']}, in-process CPU added "
                  f"{v['in_process_cpu_added_us_per_call']:.0f} us/call, redaction child CPU "
                  f"{v['on_child_cpu_us_per_call']:.0f} us/call")
        print(f"  drops {sustained['drops']}, exported {sustained['exported_spans']}/"
              f"{sustained['calls_with_telemetry']}, redacted {sustained['free_text_redacted']}")
    elif sustained:
        print(f"\nsustained: {sustained}")
    for proto, mem in result.get("memory", {}).items():
        if isinstance(mem, dict) and "growth_mb" in mem:
            print(f"\nmemory {proto}: {mem['calls']:,} calls, RSS {mem['rss_baseline_mb']:.1f} ->"
                  f" peak {mem['rss_peak_mb']:.1f} MB (growth {mem['growth_mb']:.1f} MB), "
                  f"{mem['us_per_call']:.1f} us/call, drops {mem['drops']}, shutdown "
                  f"{mem['shutdown_s']:.2f} s")
        else:
            print(f"\nmemory {proto}: {mem}")
    imp = result.get("import", {})
    if "importtime_cumulative_s" in imp:
        print(f"\nimport infertel: {imp['importtime_cumulative_s'] * 1e3:.1f} ms (-X importtime),"
              f" wall {imp['wall_import_minus_bare_s'] * 1e3:.1f} ms over a bare interpreter; "
              f"import + configure {imp['wall_import_configure_minus_bare_s'] * 1e3:.1f} ms")
    dis = result.get("disabled", {})
    if "bare_ns" in dis:
        print(f"disabled decorator: bare {dis['bare_ns']:.0f} ns; not configured +"
              f"{dis['not_configured_overhead_ns']:.0f} ns; enabled=False "
              f"+{dis['enabled_false_overhead_ns']:.0f} ns per call")
    red = result.get("redaction", {})
    if "throughput" in red:
        print("\nredaction throughput (bench_redaction.py): " + "; ".join(
            f"{k} {v['infertel_texts_per_s']:.0f}/s vs presidio {v['presidio_texts_per_s']:.0f}"
            f"/s ({v['ratio']:.0f}x)" for k, v in red["throughput"].items()))
    elif red:
        print(f"\nredaction: {red}")
    prof = result.get("profile", {})
    if "serving_thread_top" in prof:
        print(f"\nhot-path profile (serving thread, {prof['calls']:,} calls, us per inference):")
        for row in prof["serving_thread_top"][:10]:
            print(f"  {row['tottime_us_per_inference']:7.2f} tot "
                  f"{row['cumtime_us_per_inference']:7.2f} cum  {row['function']}")
        if prof.get("worker_top"):
            print("background worker (us per inference):")
            for row in prof["worker_top"][:10]:
                print(f"  {row['tottime_us_per_inference']:7.2f} tot "
                      f"{row['cumtime_us_per_inference']:7.2f} cum  {row['function']}")
    print("\ntargets (issue 5):")
    for t in result["targets"]:
        measured = t["measured"]
        shown = "-" if measured is None else f"{measured:.3f}"
        note = f" ({t['note']})" if t["note"] else ""
        print(f"  {t['status']:12} {t['target']}: {shown} {t['unit']} "
              f"(target {t['comparison']} {t['limit']}){note}")


# ----------------------------------------------------------------------------- main
def run_section(name: str, plan: Plan, seed: int) -> dict[str, Any]:
    if name == "latency":
        return latency_section(plan, seed)
    if name == "sustained":
        return run_child("sustained", {"rounds": plan.sustained_rounds,
                                       "calls": plan.sustained_calls,
                                       "model_ms": plan.sustained_model_ms}, timeout=1800)
    if name == "memory":
        out: dict[str, Any] = {}
        for protocol in ("grpc", "http/protobuf"):
            try:
                out[protocol] = run_child("memory", {"calls": plan.memory_calls,
                                                     "protocol": protocol,
                                                     "export_timeout_s": 1.0}, timeout=900)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                out[protocol] = {"not_measured": str(error)[:400]}
        return out
    if name == "import":
        return import_section(plan.import_reps)
    if name == "disabled":
        return run_child("disabled", {"rounds": plan.disabled_rounds,
                                      "calls": plan.disabled_calls}, timeout=900)
    if name == "redaction":
        return redaction_section(plan.redaction)
    if name == "profile":
        return run_child("profile", {"calls": plan.profile_calls}, timeout=1800)
    raise ValueError(name)


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "sustained": child_sustained,
    "memory": child_memory,
    "disabled": child_disabled,
    "profile": child_profile,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small counts")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON output (default benchmarks/results/overhead.json; with "
                             "--quick a file in the temp dir)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--seed", type=int, default=5)
    for name in ("rounds", "calls", "warmup", "sustained_rounds", "sustained_calls",
                 "memory_calls", "import_reps", "disabled_rounds", "disabled_calls",
                 "profile_calls"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None)
    parser.add_argument("--redaction", choices=("full", "quick", "skip"), default=None)
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(CHILDREN[args.child](json.loads(args.params))), flush=True)
        return 0

    plan = QUICK if args.quick else FULL
    overrides = {k: v for k, v in vars(args).items()
                 if k in Plan.__dataclass_fields__ and v is not None}
    plan = replace(plan, **overrides)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {sorted(unknown)}")
    out = args.out or (Path(tempfile.gettempdir()) / "infertel-bench-quick.json" if args.quick
                       else RESULTS / "overhead.json")
    command = "benchmarks/bench_overhead.py" + (
        " " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    result: dict[str, Any] = {"command": command, "quick": args.quick,
                              "plan": asdict(plan), "machine": machine()}
    started = time.perf_counter()
    for name in sections:
        print(f"[{time.perf_counter() - started:6.1f}s] {name} ...", file=sys.stderr,
              flush=True)
        try:
            result[name] = run_section(name, plan, args.seed)
        except Exception as error:  # one failed section must not lose the others
            result[name] = {"not_measured": f"{type(error).__name__}: {error}"[:600]}
    result["duration_s"] = time.perf_counter() - started
    result["targets"] = judge(result, args.quick)
    report(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    missed = [t for t in result["targets"] if t["status"] == "MISS"]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""End-to-end benchmark (issue 12): what the serving *process* pays, export included.

Usage (from the repository root; ``make bench`` runs it in ``.venv-bench`` with the peers)::

    .venv-bench/bin/python benchmarks/bench_e2e.py [--quick] [--strict]
        [--out benchmarks/results/e2e.json] [--sections cpu,sustained] [--rounds N]

One local collector (rotel with infertel's processors, ``infertel.tools._collector``) listens
on 127.0.0.1; every contender exports to it over OTLP/HTTP. Each contender runs in its own
process (peers replace global OpenTelemetry state), set up and checked once, then driven
round by round by this process: in each round every contender, in a shuffled order, serves
the same number of fresh requests one after the other and then drains its export
(flush / force_flush, metrics included), while the others sit idle.

cpu        Per round and contender: process CPU time per call, all threads
           (``time.process_time``), plus the CPU of its child processes (the redaction child;
           reported, and included in the "+children" ratio), wall time per call including the
           drain, and the serving thread's latency per call (median, p99). Ratios are taken
           per round against the hand-written span of that round, then their median is
           reported (the machine is shared: absolute figures move, ratios much less).
           Contenders: the hand-written 8-attribute span with a BatchSpanProcessor and
           OpenTelemetry's OTLP/HTTP exporter (baseline), the same recording an exception,
           the same span + counter + histogram + log record through OpenTelemetry's SDK
           (all three over OTLP/HTTP); ``@traced_inference`` (span, metrics, log record,
           declared capture, redaction of a ~100-character text) and its error path, with
           the direct encoding (default) and with ``INFERTEL_DIRECT_ENCODING=0`` (the SDK
           objects path it replaced), all exporting every signal over OTLP/HTTP;
           ``@logfire.instrument``, Traceloop ``@task`` and MLflow ``@mlflow.trace`` with
           their spans exported over OTLP/HTTP (peers not installed: "not measured").
sustained  A ~1 ms CPU-bound model with a 1 KB free-text field redacted on every call, one
           serving thread: calls/s (served and drained) with infertel exporting over OTLP/HTTP
           against the bare model, alternating rounds in two processes; drops.

Targets (issue 12) are judged here, never in unit tests: PASS/MISS per target is printed;
``--strict`` exits 1 on a MISS. ``--quick`` is a smoke run (targets printed, not judged).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_overhead as common  # noqa: E402  (the workload and helpers, shared)

ROOT = common.ROOT
RESULTS = ROOT / "benchmarks" / "results"
BASELINE = "otel_span"
CONTENDERS = ("otel_span", "otel_span_error", "otel_full", "infertel", "infertel_error",
              "infertel_sdk_path", "infertel_sdk_path_error", "logfire", "traceloop", "mlflow")
LABELS = {
    "otel_span": "OTel span, 8 attributes, BatchSpanProcessor, OTLP/HTTP (baseline)",
    "otel_span_error": "same span, exception recorded",
    "otel_full": "OTel span + counter + histogram + log record, all over OTLP/HTTP",
    "infertel": "@traced_inference: span+metrics+log+capture+redaction, OTLP/HTTP",
    "infertel_error": "@traced_inference, call raises (error path)",
    "infertel_sdk_path": "@traced_inference, INFERTEL_DIRECT_ENCODING=0 (SDK objects path)",
    "infertel_sdk_path_error": "same, call raises",
    "logfire": "@logfire.instrument, spans over OTLP/HTTP",
    "traceloop": "Traceloop @task, spans over OTLP/HTTP",
    "mlflow": "MLflow @mlflow.trace, spans over OTLP/HTTP",
}
ERROR_CONTENDERS = frozenset({"otel_span_error", "infertel_error", "infertel_sdk_path_error"})
MLFLOW_SCALE = 0.1  # MLflow costs ~10x the others per call: fewer calls per round


@dataclass(frozen=True)
class Plan:
    rounds: int = 24
    calls: int = 1000
    warmup: int = 300
    sustained_rounds: int = 6
    sustained_calls: int = 1000
    sustained_model_ms: float = 1.0


FULL = Plan()
QUICK = Plan(rounds=2, calls=100, warmup=30, sustained_rounds=1, sustained_calls=60)


# ----------------------------------------------------------------------------- contenders
def _otlp_span_exporter(endpoint: str) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")


def _handwritten(endpoint: str, name: str) -> tuple[Callable[[Any], Any], Callable[[], Any]]:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": f"bench-{name}"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_otlp_span_exporter(endpoint),
                                                   max_queue_size=65536))
    tracer = provider.get_tracer("bench.handwritten")
    qualname = f"{common.__name__}.model"
    target = common.failing_model if name == "otel_span_error" else common.model
    drains: list[Callable[[], Any]] = [provider.force_flush]
    extra: Callable[[dict[str, Any], float, Any], None] | None = None
    if name == "otel_full":
        extra, more = _handwritten_metrics_and_logs(endpoint, resource)
        drains += more

    def call(req: dict[str, Any]) -> Any:
        start = time.perf_counter()
        attributes = {
            "ml.model.name": common.MODEL_NAME, "ml.model.version": common.MODEL_VERSION,
            "ml.deployment.ring": common.RING, "ml.segment": common.tier_of(req),
            "ml.inference.kind": "sync", "code.function.name": qualname,
            "ml.input.req.amount": req["amount"],
        }
        with tracer.start_as_current_span("predict", attributes=attributes) as span:
            result = target(req)
            span.set_attribute("ml.output.score", result["score"])  # the 8th attribute
        if extra is not None:
            extra(req, time.perf_counter() - start, span)
        return result

    def drain() -> None:
        for step in drains:
            step()

    return call, drain


def _handwritten_metrics_and_logs(endpoint: str, resource: Any) -> tuple[Any, list[Any]]:
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"),
        export_interval_millis=3_600_000)
    meter = MeterProvider(resource=resource, metric_readers=[reader]).get_meter("bench")
    counter = meter.create_counter("ml.inference.requests")
    histogram = meter.create_histogram("ml.inference.duration", unit="s")
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(
        OTLPLogExporter(endpoint=f"{endpoint}/v1/logs"), max_queue_size=65536))
    logger = logs.get_logger("bench")

    def record(req: dict[str, Any], seconds: float, span: Any) -> None:
        attrs = {"ml.model.name": common.MODEL_NAME, "ml.model.version": common.MODEL_VERSION,
                 "ml.deployment.ring": common.RING, "ml.segment": common.tier_of(req),
                 "ml.inference.outcome": "success"}
        counter.add(1, attrs)
        histogram.record(seconds, attrs)
        logger.emit(severity_number=SeverityNumber.INFO, body={"event": "inference"},
                    attributes={**attrs, "ml.inference.duration": seconds})

    return record, [logs.force_flush, reader.force_flush]


def _infertel(endpoint: str, name: str) -> tuple[Callable[[Any], Any], Callable[[], Any]]:
    if name.startswith("infertel_sdk_path"):
        os.environ["INFERTEL_DIRECT_ENCODING"] = "0"
    import infertel

    telemetry = infertel.configure(
        service_name=f"bench-{name}", exporter="otlp", otlp_endpoint=endpoint,
        otlp_protocol="http/protobuf",
        model=infertel.ModelInfo(name=common.MODEL_NAME, version=common.MODEL_VERSION))
    direct = telemetry._processor.direct is not None
    if direct == name.startswith("infertel_sdk_path"):
        raise RuntimeError(f"{name}: direct encoding is {'on' if direct else 'off'}")
    decorate = infertel.traced_inference(
        ring=common.RING, segment=common.tier_of,
        inputs={"req.text": "redact", "req.amount": "keep"}, outputs={"score": "keep"})
    fn = decorate(common.failing_model if name.endswith("_error") else common.model)

    def drain() -> None:
        telemetry.flush(timeout=120.0)  # spans, logs and metrics exported

    _CHECKS[name] = lambda: {"dropped": telemetry.dropped(),
                             "internal_errors": telemetry.internal_errors,
                             "exported": {s: v["exported_records"] for s, v in
                                          telemetry.export_status.snapshot().items()}}
    return fn, drain


def _logfire(endpoint: str, name: str) -> tuple[Callable[[Any], Any], Callable[[], Any]]:
    import logfire
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    lf = logfire.configure(local=True, send_to_logfire=False, console=False, metrics=False,
                           service_name="bench-logfire",
                           additional_span_processors=[
                               BatchSpanProcessor(_otlp_span_exporter(endpoint),
                                                  max_queue_size=65536)])
    return lf.instrument()(common.model), lf.force_flush


def _traceloop(endpoint: str, name: str) -> tuple[Callable[[Any], Any], Callable[[], Any]]:
    import httpx  # noqa: F401  (traceloop-sdk fails to import without it)
    from opentelemetry import trace
    from traceloop.sdk import Traceloop
    from traceloop.sdk.decorators import task
    from traceloop.sdk.instruments import Instruments

    with contextlib.redirect_stdout(io.StringIO()):
        Traceloop.init(app_name="bench-traceloop", exporter=_otlp_span_exporter(endpoint),
                       telemetry_enabled=False, disable_batch=False,
                       block_instruments=set(Instruments))
    provider = trace.get_tracer_provider()
    return task(name="predict")(common.model), provider.force_flush  # type: ignore[attr-defined]


def _mlflow(endpoint: str, name: str) -> tuple[Callable[[Any], Any], Callable[[], Any]]:
    os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"{endpoint}/v1/traces"
    os.environ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf"
    os.environ.setdefault("MLFLOW_TRACKING_URI", (Path(tempfile.mkdtemp()) / "ml").as_uri())
    import mlflow
    from mlflow.tracing.provider import provider

    fn = mlflow.trace(name="predict")(common.model)
    return fn, lambda: provider.get().force_flush()


SETUPS: dict[str, Callable[[str, str], tuple[Callable[[Any], Any], Callable[[], Any]]]] = {
    "otel_span": _handwritten, "otel_span_error": _handwritten, "otel_full": _handwritten,
    "infertel": _infertel, "infertel_error": _infertel, "infertel_sdk_path": _infertel,
    "infertel_sdk_path_error": _infertel, "logfire": _logfire, "traceloop": _traceloop,
    "mlflow": _mlflow,
}
_CHECKS: dict[str, Callable[[], dict[str, Any]]] = {}


# ----------------------------------------------------------------------------- child side
def _serve(fn: Callable[[Any], Any], reqs: Sequence[dict[str, Any]]) -> list[int]:
    latencies = []
    clock = time.perf_counter_ns
    for req in reqs:
        start = clock()
        try:  # noqa: SIM105 - contextlib.suppress would add to every timed call
            fn(req)
        except ValueError:
            pass
        latencies.append(clock() - start)
    return latencies


def child_main(name: str, endpoint: str) -> int:
    """A contender's process: set up, then answer one JSON command per stdin line."""
    out = sys.stdout
    sys.stdout = sys.stderr  # peers print banners; only our JSON goes to the pipe
    try:
        fn, drain = SETUPS[name](endpoint, name)
    except ImportError as error:
        print(json.dumps({"not_measured": f"not installed ({error.name})"}), file=out,
              flush=True)
        return 0
    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "quit":
            check = _CHECKS.get(name)
            print(json.dumps({"check": check() if check else {}}), file=out, flush=True)
            return 0
        if command["do"] == "sustained":
            print(json.dumps(_sustained_round(name, fn, drain, command)), file=out, flush=True)
            continue
        reqs = common.make_requests(command["tag"], command["calls"])
        if command["do"] == "warmup":
            _serve(fn, reqs)
            drain()
            print(json.dumps({"ready": True}), file=out, flush=True)
            continue
        gc.collect()
        child0 = common.children_cpu_s()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        latencies = _serve(fn, reqs)
        served = time.perf_counter()
        drain()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        latencies.sort()
        n = len(reqs)
        print(json.dumps({
            "cpu_us": cpu / n * 1e6,
            "children_cpu_us": max(0.0, common.children_cpu_s() - child0) / n * 1e6,
            "wall_us": wall / n * 1e6, "serve_us": (served - wall0) / n * 1e6,
            "median_ns": common.percentile(latencies, 0.5),
            "p99_ns": common.percentile(latencies, 0.99), "calls": n,
        }), file=out, flush=True)
    return 0


def _cpu_model(loops: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def cpu_model(req: dict[str, Any]) -> dict[str, Any]:
        acc = 0
        for i in range(loops):
            acc += i * i
        return {"score": (acc % 1000) / 1000 + req["amount"] * 1e-6, "label": "ok"}

    return cpu_model


def _sustained_round(name: str, fn: Callable[[Any], Any], drain: Callable[[], Any],
                     command: dict[str, Any]) -> dict[str, Any]:
    """The sustained contenders: ``fn`` is replaced by the calibrated model, traced or not."""
    model = _cpu_model(int(command["loops"]))
    serve = _SUSTAINED.setdefault(name, _sustained_fn(name, model))
    reqs = common.make_requests(command["tag"], command["calls"], common.long_text)
    gc.collect()
    child0 = common.children_cpu_s()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for req in reqs:
        serve(req)
    served = time.perf_counter()
    if name == "sustained_on":
        drain()
    drained = time.perf_counter()
    n = len(reqs)
    return {"served_calls_per_s": n / (served - t0), "calls_per_s": n / (drained - t0),
            "drain_s": drained - served, "cpu_us": (time.process_time() - cpu0) / n * 1e6,
            "children_cpu_us": max(0.0, common.children_cpu_s() - child0) / n * 1e6}


_SUSTAINED: dict[str, Callable[[Any], Any]] = {}


def _sustained_fn(name: str, model: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if name == "sustained_off":
        return model
    import infertel

    return infertel.traced_inference(
        ring=common.RING, segment=common.tier_of,
        inputs={"req.text": "redact", "req.amount": "keep"}, outputs={"score": "keep"})(model)


def _sustained_setup(endpoint: str, name: str) -> tuple[Callable[[Any], Any], Callable[[], Any]]:
    if name == "sustained_off":
        return common.model, lambda: None
    fn, drain = _infertel(endpoint, "infertel")
    _CHECKS[name] = _CHECKS["infertel"]
    return fn, drain


SETUPS["sustained_on"] = SETUPS["sustained_off"] = _sustained_setup


# ----------------------------------------------------------------------------- parent side
class Child:
    """One contender's process, spoken to one JSON line at a time."""

    def __init__(self, name: str, endpoint: str) -> None:
        self.name = name
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OTEL_", "INFERTEL_"))}
        env.update({"TRACELOOP_TELEMETRY": "false", "MLFLOW_ALLOW_FILE_STORE": "true",
                    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "PYTHONHASHSEED": "0"})
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", name,
             "--endpoint", endpoint],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, cwd=ROOT, env=env)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put("")  # the process ended

    def ask(self, command: dict[str, Any], timeout: float = 900.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise RuntimeError(f"{self.name}: no answer within {timeout:g} s") from None
        if not line:
            raise RuntimeError(f"{self.name}: the process ended ({self.proc.wait(5)})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> dict[str, Any]:
        try:
            return self.ask({"do": "quit"})
        finally:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
            if self.proc.poll() is None:
                self.proc.kill()


def _start(names: Sequence[str], endpoint: str, warmup: int
           ) -> tuple[dict[str, Child], dict[str, str]]:
    children, skipped = {}, {}
    for name in names:
        child = Child(name, endpoint)
        try:
            first = child.ask({"do": "warmup", "tag": f"warm-{name}", "calls": warmup})
        except (RuntimeError, ValueError) as error:
            skipped[name] = f"failed to start: {error}"
            continue
        if "not_measured" in first:
            skipped[name] = first["not_measured"]
            child.proc.wait(10)
            continue
        children[name] = child
    return children, skipped


median = common.median


def cpu_section(plan: Plan, endpoint: str, seed: int) -> dict[str, Any]:
    children, skipped = _start(CONTENDERS, endpoint, plan.warmup)
    if BASELINE not in children:
        raise RuntimeError(f"the baseline did not start: {skipped.get(BASELINE)}")
    rng = random.Random(seed)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in children}
    try:
        for r in range(plan.rounds):
            order = list(children)
            rng.shuffle(order)
            for name in order:
                calls = max(10, int(plan.calls * (MLFLOW_SCALE if name == "mlflow" else 1)))
                collector0 = collector_cpu_s()
                answer = children[name].ask({"do": "round", "tag": f"r{r}-{name}",
                                             "calls": calls})
                # What the collector spent on this round (it keeps working a little after).
                answer["collector_cpu_us"] = (collector_cpu_s() - collector0) / calls * 1e6
                rounds[name].append(answer)
            print(f"  round {r + 1}/{plan.rounds}", file=sys.stderr, flush=True)
    finally:
        checks = {}
        for name, child in children.items():
            try:
                checks[name] = child.close().get("check", {})
            except (RuntimeError, ValueError, OSError) as error:
                checks[name] = {"error": str(error)}
    base = rounds[BASELINE]
    summary: dict[str, Any] = {}
    for name, data in rounds.items():
        def ratio(key: str, data: list[dict[str, Any]] = data) -> float:
            return median([d[key] / b[key] for d, b in zip(data, base, strict=True)])

        summary[name] = {
            "label": LABELS[name],
            "cpu_us": median([d["cpu_us"] for d in data]),
            "children_cpu_us": median([d["children_cpu_us"] for d in data]),
            "wall_us": median([d["wall_us"] for d in data]),
            "collector_cpu_us": median([d["collector_cpu_us"] for d in data]),
            "median_us": median([d["median_ns"] for d in data]) / 1000,
            "p99_us": median([d["p99_ns"] for d in data]) / 1000,
            "cpu_x": ratio("cpu_us"),
            "cpu_with_children_x": median([
                (d["cpu_us"] + d["children_cpu_us"]) / (b["cpu_us"] + b["children_cpu_us"])
                for d, b in zip(data, base, strict=True)]),
            "wall_x": ratio("wall_us"),
            "median_x": ratio("median_ns"),
            "p99_x": ratio("p99_ns"),
            "check": checks.get(name, {}),
            "rounds": data,
        }
    return {"contenders": summary, "not_measured": skipped, "rounds": plan.rounds,
            "calls_per_round": plan.calls, "warmup_calls": plan.warmup,
            "order": f"shuffled every round (seed {seed})"}


def sustained_section(plan: Plan, endpoint: str, seed: int) -> dict[str, Any]:
    _, loops = common.calibrate_model(plan.sustained_model_ms)
    children, skipped = _start(("sustained_off", "sustained_on"), endpoint, 30)
    if skipped:
        raise RuntimeError(f"sustained contenders did not start: {skipped}")
    rng = random.Random(seed + 1)
    data: dict[str, list[dict[str, Any]]] = {"sustained_off": [], "sustained_on": []}
    try:
        for name, child in children.items():  # warm-up: starts the redaction child
            child.ask({"do": "sustained", "tag": f"warm-{name}", "calls": 50, "loops": loops})
        for r in range(plan.sustained_rounds):
            order = list(children)
            rng.shuffle(order)
            for name in order:
                collector0 = collector_cpu_s()
                answer = children[name].ask(
                    {"do": "sustained", "tag": f"s{r}-{name}", "calls": plan.sustained_calls,
                     "loops": loops})
                answer["collector_cpu_us"] = (collector_cpu_s() - collector0) \
                    / plan.sustained_calls * 1e6
                data[name].append(answer)
    finally:
        check = children["sustained_on"].close().get("check", {})
        children["sustained_off"].close()
    off, on = data["sustained_off"], data["sustained_on"]
    return {
        "model_ms": plan.sustained_model_ms, "model_loops": loops,
        "calls_per_round": plan.sustained_calls, "rounds": plan.sustained_rounds,
        "text_chars": len(common.long_text("x", 1)),
        "off_calls_per_s": median([d["calls_per_s"] for d in off]),
        "on_calls_per_s": median([d["calls_per_s"] for d in on]),
        "ratio": median([b["calls_per_s"] / a["calls_per_s"]
                         for a, b in zip(off, on, strict=True)]),
        "ratio_serving_only": median([b["served_calls_per_s"] / a["served_calls_per_s"]
                                      for a, b in zip(off, on, strict=True)]),
        "on_cpu_added_us_per_call": median([b["cpu_us"] - a["cpu_us"]
                                            for a, b in zip(off, on, strict=True)]),
        "on_children_cpu_us_per_call": median([d["children_cpu_us"] for d in on]),
        "on_drain_s_median": median([d["drain_s"] for d in on]),
        # The collector runs on the same two vCPUs and re-scrubs every record it receives.
        "on_collector_cpu_us_per_call": median([d["collector_cpu_us"] for d in on]),
        "check": check,
        "drops_total": sum(check.get("dropped", {}).values()),
        "rounds_data": data,
    }


# ----------------------------------------------------------------------------- verdicts
def judge(result: dict[str, Any]) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []
    cpu = result.get("cpu", {}).get("contenders", {})

    def add(what: str, value: float | None, limit: float, higher_is_better: bool = False
            ) -> None:
        ok = value is not None and not math.isnan(value) and (
            value >= limit if higher_is_better else value <= limit)
        targets.append({"target": what, "value": value, "limit": limit,
                        "verdict": "PASS" if ok else "MISS"})

    if "infertel" in cpu:
        add("end-to-end CPU per call vs hand-written span (<= 1.0x)", cpu["infertel"]["cpu_x"],
            1.0)
        add("hot path median vs hand-written span (<= 0.25x)", cpu["infertel"]["median_x"],
            0.25)
        add("hot path p99 vs hand-written span (<= 0.5x)", cpu["infertel"]["p99_x"], 0.5)
    if "infertel_error" in cpu:
        add("error path CPU per call vs hand-written span (<= 2x)",
            cpu["infertel_error"]["cpu_x"], 2.0)
    sustained = result.get("sustained")
    if sustained:
        add("sustained throughput vs telemetry off, 1 serving thread (>= 0.95x)",
            sustained["ratio"], 0.95, higher_is_better=True)
        add("sustained drops (== 0)", float(sustained["drops_total"]), 0.0)
    return targets


def report(result: dict[str, Any]) -> None:
    cpu = result.get("cpu")
    if cpu:
        print("\nEnd to end, OTLP/HTTP to a local rotel collector "
              f"({cpu['rounds']} rounds x {cpu['calls_per_round']} calls; medians of per-round "
              "ratios to the baseline)")
        print("| contender | CPU us/call | x | +children x | wall+drain us | x | "
              "median us | x | p99 us | x | collector CPU us/call |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in cpu["contenders"].values():
            print(f"| {row['label']} | {row['cpu_us']:.1f} | {row['cpu_x']:.2f} | "
                  f"{row['cpu_with_children_x']:.2f} | {row['wall_us']:.1f} | "
                  f"{row['wall_x']:.2f} | {row['median_us']:.2f} | {row['median_x']:.2f} | "
                  f"{row['p99_us']:.2f} | {row['p99_x']:.2f} | {row['collector_cpu_us']:.0f} |")
        for name, why in cpu["not_measured"].items():
            print(f"| {LABELS[name]} | not measured: {why} |")
    sustained = result.get("sustained")
    if sustained:
        print(f"\nSustained, {sustained['model_ms']} ms model, {sustained['text_chars']}-char "
              f"text redacted, 1 serving thread: off {sustained['off_calls_per_s']:.0f}/s, on "
              f"{sustained['on_calls_per_s']:.0f}/s, ratio {sustained['ratio']:.3f} "
              f"(serving only {sustained['ratio_serving_only']:.3f}); drops "
              f"{sustained['drops_total']}; CPU per call with telemetry on: "
              f"+{sustained['on_cpu_added_us_per_call']:.0f} us in process, "
              f"{sustained['on_children_cpu_us_per_call']:.0f} us redaction child, "
              f"{sustained['on_collector_cpu_us_per_call']:.0f} us collector")
    for target in result.get("targets", []):
        value = target["value"]
        shown = "n/a" if value is None else f"{value:.3f}"
        print(f"{target['verdict']}  {target['target']}: {shown}")


_COLLECTOR_PID: list[int] = []


def collector_cpu_s() -> float:
    """CPU seconds the collector (rotel and its Python processors) has used so far."""
    if not _COLLECTOR_PID:
        return 0.0
    try:
        fields = Path(f"/proc/{_COLLECTOR_PID[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _collector(workdir: Path) -> tuple[Any, str]:
    from infertel.tools import _collector

    grpc, http = common.closed_port(), common.closed_port()
    out = workdir / "collector"
    state = _collector.start(out, grpc_port=grpc, http_port=http, timeout=60.0)
    _COLLECTOR_PID[:] = [state.pid]
    return (lambda: _collector.stop(out, timeout=10.0)), state.http_endpoint


def _received(workdir: Path) -> dict[str, int]:
    """Spans per service that reached the collector's output (a streaming count)."""
    counts: dict[str, int] = {}
    for path in (workdir / "collector" / "traces").glob("*.jsonl"):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                with contextlib.suppress(ValueError):
                    for block in json.loads(line).get("resourceSpans", []):
                        service = next((a["value"].get("stringValue") for a in
                                        block.get("resource", {}).get("attributes", [])
                                        if a["key"] == "service.name"), "?")
                        counts[service] = counts.get(service, 0) + sum(
                            len(s.get("spans", [])) for s in block.get("scopeSpans", []))
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child")
    parser.add_argument("--endpoint")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--sections", default="cpu,sustained")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--calls", type=int)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path, default=RESULTS / "e2e.json")
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child, args.endpoint)
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(**{**asdict(plan), "rounds": args.rounds})
    if args.calls:
        plan = Plan(**{**asdict(plan), "calls": args.calls})
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    result: dict[str, Any] = {"machine": common.machine(), "plan": asdict(plan),
                              "quick": args.quick,
                              "command": " ".join([Path(sys.executable).name, *sys.argv])}
    with tempfile.TemporaryDirectory(prefix="infertel-e2e-") as tmp:
        stop, endpoint = _collector(Path(tmp))
        try:
            if "cpu" in sections:
                result["cpu"] = cpu_section(plan, endpoint, args.seed)
            if "sustained" in sections:
                result["sustained"] = sustained_section(plan, endpoint, args.seed)
            time.sleep(2.0)  # the collector writes what it received
            result["collector_received_spans"] = _received(Path(tmp))
        finally:
            stop()
    result["targets"] = [] if args.quick else judge(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    report(result)
    print(f"\nwritten: {args.out}")
    missed = [t for t in result["targets"] if t["verdict"] == "MISS"]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())

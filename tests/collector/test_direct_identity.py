"""The direct path (issue 12) against the SDK path it replaces, on the same calls, as decoded
from what reaches a real collector (rotel, OTLP over HTTP and gRPC) and from the local store.

One pipeline runs the workload. Its worker hands every batch first to a twin processor that
builds SDK objects and metric instruments as before (``ReadableSpan`` / ``LogRecord`` through
infertel's encoding exporters, ``InferenceMetrics`` on a meter provider of its own, same
resource, scope, boundary and exit guard) and exports to collector A, then to the pipeline's
own processor (direct encoding, pre-aggregated metrics) exporting to collector B. Spans, log
records and the inference metrics that arrive must be the same, field for field: ids,
parent/child links, sampling flags, trace state, attributes, events, status, resource, scope,
exemplars and temporality. Only the metric points' collection times and the exemplars' times
differ (the SDK stamps when the worker recorded a value; the aggregates stamp the call's end).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from collector_helpers import Collector, free_port, wait_for
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

import infertel
from infertel import conventions as c
from infertel._version import VERSION
from infertel.config import resolve_settings
from infertel.export._setup import build_exporters
from infertel.export._wrappers import (
    GuardedLogExporter,
    GuardedMetricExporter,
    GuardedSpanExporter,
)
from infertel.pipeline._identity import schema_url
from infertel.pipeline._process import CallProcessor
from infertel.pipeline._telemetry import Telemetry
from infertel.privacy._guard import ScrubbingMetricExporter
from infertel.signals._aggregate import InferenceAggregates
from infertel.signals.logs import LogBuilder
from infertel.signals.metrics import InferenceMetrics
from infertel.signals.traces import SpanBuilder
from infertel.tools._store import iter_documents

pytestmark = pytest.mark.integration

INFERENCE_METRICS = (c.METRIC_REQUESTS, c.METRIC_ERRORS, c.METRIC_DURATION,
                     c.METRIC_PREDICTION_VALUE)


class SdkTwin:
    """The pre-issue-12 processing of the same batches, exporting where ``settings`` say."""

    def __init__(self, telemetry: Telemetry, **settings: Any) -> None:
        resolved = resolve_settings(service_name="identity", **settings)
        losses: list[tuple[str, int]] = []

        def on_loss(reason: str, records: int) -> None:
            losses.append((reason, records))

        self.exporters = build_exporters(resolved, on_loss)
        self.losses = losses
        guarded: dict[str, Any] = {"counts_own_losses": True, "status": self.exporters.status}
        scope = telemetry._processor.spans._scope
        assert self.exporters.metrics is not None
        self.reader = PeriodicExportingMetricReader(
            GuardedMetricExporter(ScrubbingMetricExporter(self.exporters.metrics,
                                                          telemetry.guard),
                                  on_loss, **guarded),
            export_interval_millis=3_600_000)
        self.provider = MeterProvider(resource=telemetry.resource, metric_readers=[self.reader],
                                      shutdown_on_exit=False)
        meter = self.provider.get_meter(c.INSTRUMENTATION_SCOPE, VERSION,
                                        schema_url=schema_url())
        assert self.exporters.spans is not None
        assert self.exporters.logs is not None
        self.spans = GuardedSpanExporter(self.exporters.spans, on_loss, **guarded)
        self.logs = GuardedLogExporter(self.exporters.logs, on_loss, **guarded)
        self.processor = CallProcessor(
            telemetry.boundary, telemetry.scrubber, SpanBuilder(telemetry.resource, scope),
            LogBuilder(telemetry.resource, scope), InferenceMetrics(meter), self.spans,
            self.logs, telemetry.internal_error)
        assert self.processor.direct is None
        own = telemetry.worker._handle

        def both(batch: list[Any]) -> None:
            self.processor.handle(batch)
            own(batch)

        telemetry.worker._handle = both  # type: ignore[assignment]

    def close(self) -> None:
        assert self.provider.force_flush(10_000)
        self.provider.shutdown()
        self.spans.shutdown()
        self.logs.shutdown()
        assert not self.losses


@contextlib.contextmanager
def _twin_pipelines(direct: dict[str, Any], sdk: dict[str, Any]) -> Iterator[Telemetry]:
    telemetry = infertel.configure(
        service_name="identity", model=infertel.ModelInfo(name="fraud-detector",
                                                          version="2.3.1"),
        metric_interval_s=3600, raise_internal_errors=True, **direct)
    assert telemetry._processor.direct is not None, "the direct path is on"
    assert isinstance(telemetry._processor.metrics, InferenceAggregates)
    # What configure() queued (the deployment event) went through the direct path alone;
    # queue it again once both paths see every batch (the direct side then holds it twice).
    assert telemetry.worker.flush(10.0)
    twin = SdkTwin(telemetry, **sdk)
    model = telemetry.model
    assert model is not None
    provenance = telemetry.boundary.scrub_attributes(model.resource_attributes())
    telemetry.worker.submit(lambda: telemetry._logs.deployment(provenance, 1_700_000_000))
    yield telemetry
    assert telemetry.flush(timeout=20.0)
    twin.close()
    assert infertel.shutdown(timeout=10.0)
    assert telemetry.dropped() == {}
    assert telemetry.internal_errors == 0


def _workload(telemetry: Telemetry) -> None:
    """Every shape: success, errors (plain, chained), nested captures, an integer OTLP cannot
    carry (the sanitising fallback), a parent span, an unsampled parent with trace state,
    batch and streaming calls, user log events, the deployment event."""
    log = infertel.get_logger("identity")

    @infertel.traced_inference(ring="canary", segment=lambda r: r["tier"],
                               inputs={"req.text": "redact", "req.amount": "keep",
                                       "req.extra": "keep"},
                               outputs={"score": "keep"})
    def predict(req: dict[str, Any]) -> dict[str, Any]:
        log.info("scoring", note=req["text"], amount=req["amount"])
        if req["i"] % 5 == 1:
            raise ValueError(f"declined for {req['text']}")
        if req["i"] % 5 == 2:
            try:
                raise KeyError(req["text"])
            except KeyError as error:
                raise RuntimeError("lookup failed") from error
        return {"score": 0.1 * (req["i"] % 11)}

    @infertel.traced_inference(batch="rows", outputs={"return": "keep"})
    def batch_predict(rows: list[int]) -> list[float]:
        return [r / 7 for r in rows]

    @infertel.traced_inference
    def stream(n: int) -> Iterator[int]:
        yield from range(n)

    extras: list[Any] = [None, {"a": [1, 2.5, None, {"b": True}]}, "é ü", 2**70, [], 3]
    for i in range(60):
        with contextlib.suppress(ValueError, RuntimeError):
            predict({"i": i, "tier": ("free", "pro", "gold")[i % 3],
                     "text": f"call alice.{i}@example.com or +1 415 555 {i:04d}",
                     "amount": float(i), "extra": extras[i % len(extras)]})
    tracer = telemetry.tracer_provider.get_tracer("identity-test")
    with tracer.start_as_current_span("http request"):
        predict({"i": 100, "tier": "gold", "text": "parented", "amount": 1.0, "extra": 1})
    for flags, i in ((TraceFlags(1), 103), (TraceFlags(0), 108)):  # remote parents
        parent = SpanContext(0xABCDEF + i, 0x1234, is_remote=True, trace_flags=flags,
                             trace_state=TraceState([("vendor", "v1")]))
        with trace.use_span(NonRecordingSpan(parent)):
            predict({"i": i, "tier": "gold", "text": "remote", "amount": 2.0, "extra": 2})
    batch_predict([1, 2, 3])
    list(stream(4))
    with contextlib.suppress(ZeroDivisionError):
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            log.exception("failed for bob@example.com", order=7)


def _records(documents: list[dict[str, Any]], signal: str) -> list[str]:
    """Each span or log record of infertel's scope with its resource, scope and schema URLs,
    as sorted JSON strings (the request a record arrived in, and its position there, may
    differ). User spans (the test's "http request") go only to the pipeline's own exporter."""
    noun, leaf = ("Spans", "spans") if signal == "traces" else ("Logs", "logRecords")
    out = []
    for document in documents:
        for block in document[f"resource{noun}"]:
            for scoped in block.get(f"scope{noun}", []):
                if scoped.get("scope", {}).get("name") != c.INSTRUMENTATION_SCOPE:
                    continue
                for record in scoped.get(leaf, []):
                    out.append(json.dumps({
                        "resource": block.get("resource"), "schema": block.get("schemaUrl"),
                        "scope": scoped.get("scope"), "scope_schema": scoped.get("schemaUrl"),
                        "record": record}, sort_keys=True))
    return sorted(out)


def _inference_points(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The last point of each inference metric per attribute set, times and exemplar times
    left out (see the module docstring)."""
    out: dict[str, Any] = {}
    for document in documents:
        for block in document["resourceMetrics"]:
            for scoped in block.get("scopeMetrics", []):
                for metric in scoped.get("metrics", []):
                    if metric["name"] not in INFERENCE_METRICS:
                        continue
                    kind = "sum" if "sum" in metric else "histogram"
                    data = metric[kind]
                    for point in data["dataPoints"]:
                        point = dict(point)
                        point.pop("startTimeUnixNano")
                        point.pop("timeUnixNano")
                        point["exemplars"] = [{k: v for k, v in e.items()
                                               if k != "timeUnixNano"}
                                              for e in point.get("exemplars", [])]
                        key = (metric["name"], json.dumps(point["attributes"], sort_keys=True))
                        out[json.dumps(key)] = {
                            "resource": block["resource"], "scope": scoped["scope"],
                            "unit": metric.get("unit"), "description": metric.get("description"),
                            "temporality": data.get("aggregationTemporality"),
                            "monotonic": data.get("isMonotonic"), "point": point}
    return out


def _same_metrics(sdk: dict[str, Any], direct: dict[str, Any]) -> None:
    assert sdk.keys() == direct.keys()
    for key, want in sdk.items():
        got = direct[key]
        if "sum" in want["point"] and isinstance(want["point"]["sum"], float):
            assert math.isclose(got["point"].pop("sum"), want["point"].pop("sum"),
                                rel_tol=1e-12)
        assert got == want, key


def _compare(sdk: Callable[[str], list[dict[str, Any]]],
             direct: Callable[[str], list[dict[str, Any]]]) -> None:
    for signal in ("traces", "logs"):
        want, got = _records(sdk(signal), signal), _records(direct(signal), signal)
        assert len(want) > 60
        if signal == "logs":  # configure()'s own deployment event: direct side only
            [first] = [r for r in got if json.loads(r)["record"].get("eventName")
                       == c.EVENT_DEPLOYMENT and r not in want]
            got.remove(first)
        assert got == want, signal
    want_points = _inference_points(sdk("metrics"))
    assert {json.loads(k)[0] for k in want_points} == set(INFERENCE_METRICS)
    _same_metrics(want_points, _inference_points(direct("metrics")))
    spans = [json.loads(r)["record"] for r in _records(direct("traces"), "traces")]
    assert sum("parentSpanId" in s for s in spans) == 2
    assert [s.get("parentSpanId") for s in spans if s.get("traceState") == "vendor=v1"] == [
        "0000000000001234"]  # the sampled remote parent; the unsampled one has no span
    assert any(e["name"] == "exception" for s in spans for e in s.get("events", []))
    logs = [json.loads(r)["record"] for r in _records(direct("logs"), "logs")]
    assert any(log.get("flags") is None and log.get("eventName") == "inference"
               for log in logs)  # the unsampled call's record: flags 0
    assert any(log.get("eventName") == c.EVENT_DEPLOYMENT for log in logs)
    # 2**70 does not fit OTLP's int64: that record took the sanitising fallback, in place.
    assert {"key": "ml.input.req.extra", "value": {"stringValue": str(2**70)}} in [
        a for s in spans for a in s.get("attributes", [])]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_what_reaches_the_collector_is_the_same(collector: Collector, tmp_path: Path,
                                                protocol: str) -> None:
    grpc_port = free_port(exclude=(collector.grpc_port, collector.http_port))
    sdk_side = Collector(tmp_path / "sdk-collector", grpc_port,
                         free_port(exclude=(grpc_port, collector.grpc_port, collector.http_port)))
    sdk_side.start()
    try:
        with _twin_pipelines(
                {"exporter": "otlp", "otlp_endpoint": collector.endpoint(protocol),
                 "otlp_protocol": protocol},
                {"exporter": "otlp", "otlp_endpoint": sdk_side.endpoint(protocol),
                 "otlp_protocol": protocol}) as telemetry:
            _workload(telemetry)
        for side in (collector, sdk_side):
            wait_for(lambda side=side: bool(side.documents("metrics"))
                     and len(_records(side.documents("traces"), "traces")) >= 61,
                     what="the workload's spans and metrics")
        _compare(sdk_side.documents, collector.documents)
    finally:
        sdk_side.stop()


def test_what_the_local_store_holds_is_the_same(tmp_path: Path) -> None:
    direct_dir, sdk_dir = tmp_path / "direct", tmp_path / "sdk"
    with _twin_pipelines({"exporter": "local", "local_dir": direct_dir},
                         {"exporter": "local", "local_dir": sdk_dir}) as telemetry:
        _workload(telemetry)

    def documents(folder: Path) -> Callable[[str], list[dict[str, Any]]]:
        return lambda signal: [d.data for d in iter_documents(folder) if d.signal == signal]

    _compare(documents(sdk_dir), documents(direct_dir))

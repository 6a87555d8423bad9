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
* span attributes accept a Python list, event and link attributes only in-place edits, so
  attributes are always replaced in place;
* ``AnyValue(None).value`` reads back as ``""`` and a bytes value reads back as a list of ints.

Nothing here imports ``rotel_sdk`` at module level: outside rotel it does not exist, and the
JSON conversion is useful (and tested) with any objects of the same shape.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from infertel import conventions as c

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
        except Exception:
            _count_failure(name)
            _log.exception("infertel collector: processor %s failed", name)
            if on_error is not None:
                try:
                    on_error(batch)
                except Exception:
                    _count_failure(name + ".fallback")
                    _log.exception("infertel collector: fallback of %s failed", name)

    return run


# ------------------------------------------------------------------------- AnyValue <-> Python
def any_to_python(value: Any) -> Any:
    """A rotel ``AnyValue`` (or its ``.value``) as plain Python: str, int, float, bool, bytes,
    list or dict."""
    raw = getattr(value, "value", value) if _is_any_value(value) else value
    if raw is None or isinstance(raw, (str, bool, int, float, bytes)):
        return raw
    kind = type(raw).__name__
    if kind == "KeyValueList":
        return {kv.key: any_to_python(kv.value) for kv in raw}
    if kind == "ArrayValue":
        return [any_to_python(item) for item in raw]
    if isinstance(raw, list):  # rotel reads bytes values back as a list of ints
        return bytes(raw)
    return str(raw)


def _is_any_value(value: Any) -> bool:
    return type(value).__name__ == "AnyValue"


def python_to_any(value: Any) -> Any:
    """A rotel ``AnyValue`` holding ``value`` (only inside rotel: needs ``rotel_sdk``)."""
    from rotel_sdk.open_telemetry.common.v1 import (  # type: ignore[import-not-found]
        AnyValue,
        ArrayValue,
        KeyValue,
        KeyValueList,
    )

    def convert(item: Any) -> Any:
        if item is None or isinstance(item, (str, bool, float, bytes)):
            return AnyValue(item)
        if isinstance(item, int):
            return AnyValue(item if -(2**63) <= item < 2**63 else str(item))
        if isinstance(item, Mapping):
            kvlist = KeyValueList()
            for key, inner in item.items():
                kvlist.append(KeyValue(str(key), convert(inner)))
            return AnyValue(kvlist)
        if isinstance(item, (list, tuple)):
            array = ArrayValue()
            for inner in item:
                array.append(convert(inner))
            return AnyValue(array)
        return AnyValue(str(item))

    return convert(value)


def attributes_to_dict(attributes: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: any_to_python(kv.value) for kv in attributes}


def replace_attributes(attributes: Any, values: Mapping[str, Any]) -> None:
    """Make rotel's ``AttributesList`` hold exactly ``values``, editing it in place."""
    from rotel_sdk.open_telemetry.common.v1 import KeyValue

    while len(attributes):
        del attributes[len(attributes) - 1]
    for key, value in values.items():
        attributes.append(KeyValue(key, python_to_any(value)))


def _clear(sequence: Any) -> None:
    while len(sequence):
        del sequence[len(sequence) - 1]


# ------------------------------------------------------------------------------ scrubbing
class RotelScrubber:
    """Applies infertel's :class:`~infertel.privacy._scrubber.Scrubber` to rotel's objects.

    Spans: name, attributes, event names and attributes (exception messages and stack text),
    link attributes, status message. Logs: body, attributes, event name. Metrics: data-point
    attributes are cut to the metric allowlist and their values scrubbed; exemplar attributes
    are dropped. Resources: attributes. Fail closed per record, as the SDK's exporters do.
    """

    def __init__(self) -> None:
        from infertel.privacy._policy import PrivacyPolicy
        from infertel.privacy._scrubber import Scrubber

        # No redaction child here: this runs inside rotel's embedded interpreter, whose
        # sys.executable is not a Python to start one with.
        self.scrubber = Scrubber(PrivacyPolicy(redaction_process="off"))
        self.budget_s = self.scrubber.policy.redaction_timeout_s

    def _context(self) -> Any:
        from infertel.privacy._scrubber import ScrubContext

        return ScrubContext(self.budget_s)

    def _attributes(self, attributes: Any, context: Any) -> None:
        current = attributes_to_dict(attributes)
        if current:
            replace_attributes(attributes, self.scrubber.attributes(current, context))

    def _failed_attributes(self, attributes: Any) -> None:
        safe = self.scrubber.policy.safe_keys
        kept = {k: v for k, v in attributes_to_dict(attributes).items() if k in safe}
        kept[c.REDACTION_FAILED] = True
        replace_attributes(attributes, kept)

    def _resource(self, block: Any) -> None:
        resource = block.resource
        if resource is None:
            return
        try:
            self._attributes(resource.attributes, self._context())
        except Exception:
            self.scrubber.count_failure()
            self._failed_attributes(resource.attributes)

    # ------------------------------------------------------------------- spans
    def spans(self, resource_spans: Any) -> None:
        self._resource(resource_spans)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                try:
                    self._span(span)
                except Exception:
                    self.scrubber.count_failure()
                    self._failed_span(span)

    def _span(self, span: Any) -> None:
        context = self._context()
        text = self.scrubber.text
        span.name = text(span.name, context)
        self._attributes(span.attributes, context)
        for event in span.events:
            event.name = text(event.name, context)
            self._attributes(event.attributes, context)
        for link in span.links:
            self._attributes(link.attributes, context)
        status = span.status
        if status is not None and status.message:
            status.message = text(status.message, context)

    def _failed_span(self, span: Any) -> None:
        from infertel.privacy._scrubber import REDACTION_FAILED

        span.name = REDACTION_FAILED
        self._failed_attributes(span.attributes)
        _clear(span.events)
        for link in span.links:
            _clear(link.attributes)
        if span.status is not None and span.status.message:
            span.status.message = REDACTION_FAILED

    def drop_spans(self, resource_spans: Any) -> None:
        """Last resort when even fail-closed scrubbing raised: nothing of the batch leaves."""
        for scope_spans in resource_spans.scope_spans:
            _clear(scope_spans.spans)

    # ------------------------------------------------------------------- logs
    def logs(self, resource_logs: Any) -> None:
        self._resource(resource_logs)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                try:
                    self._log(record)
                except Exception:
                    self.scrubber.count_failure()
                    self._failed_log(record)

    def _log(self, record: Any) -> None:
        context = self._context()
        if record.body is not None:
            body = any_to_python(record.body)
            if body not in (None, ""):
                record.body = python_to_any(self.scrubber.value(body, context))
        self._attributes(record.attributes, context)
        if record.event_name:
            record.event_name = self.scrubber.text(record.event_name, context)

    def _failed_log(self, record: Any) -> None:
        from infertel.privacy._scrubber import REDACTION_FAILED

        record.body = python_to_any(REDACTION_FAILED)
        self._failed_attributes(record.attributes)

    def drop_logs(self, resource_logs: Any) -> None:
        for scope_logs in resource_logs.scope_logs:
            _clear(scope_logs.log_records)

    # ------------------------------------------------------------------- metrics
    def metrics(self, resource_metrics: Any) -> None:
        self._resource(resource_metrics)
        allowed = c.METRIC_ATTRIBUTE_ALLOWLIST
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in _data_points(metric):
                    current = attributes_to_dict(point.attributes)
                    kept = {k: v for k, v in current.items() if k in allowed}
                    try:
                        kept = self.scrubber.attributes(kept, self._context())
                    except Exception:
                        self.scrubber.count_failure()
                        kept = {k: v for k, v in kept.items() if not isinstance(v, str)}
                    if kept != current:
                        replace_attributes(point.attributes, kept)
                    for exemplar in getattr(point, "exemplars", ()):
                        _clear(exemplar.filtered_attributes)

    def drop_metrics(self, resource_metrics: Any) -> None:
        for scope_metrics in resource_metrics.scope_metrics:
            _clear(scope_metrics.metrics)


def _metric_data(metric: Any) -> tuple[str, Any]:
    """(``sum`` | ``gauge`` | ``histogram`` | ``exponentialHistogram`` | ``summary``, data)."""
    data = metric.data
    if data is None:
        return "", None
    kind = type(data).__name__.split("_", 1)[-1]  # MetricData_Sum -> Sum
    key = {"Sum": "sum", "Gauge": "gauge", "Histogram": "histogram",
           "ExponentialHistogram": "exponentialHistogram", "Summary": "summary"}.get(kind, "")
    return key, data[0]


def _data_points(metric: Any) -> Iterable[Any]:
    _kind, data = _metric_data(metric)
    return data.data_points if data is not None else ()


# ------------------------------------------------------------------------- OTLP/JSON encoding
def _nanos(value: Any) -> str:
    return str(int(value or 0))


def _hex(value: Any) -> str:
    return bytes(value or b"").hex()


def any_to_json(value: Any) -> dict[str, Any]:
    """A rotel ``AnyValue`` (or plain Python value) in OTLP/JSON's ``AnyValue`` shape."""
    raw = any_to_python(value)
    return _python_json(raw)


def _python_json(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"stringValue": raw}
    if isinstance(raw, bool):
        return {"boolValue": raw}
    if isinstance(raw, int):
        return {"intValue": str(raw)}
    if isinstance(raw, float):
        return {"doubleValue": _double(raw)}
    if isinstance(raw, bytes):
        return {"bytesValue": base64.b64encode(raw).decode("ascii")}
    if isinstance(raw, dict):
        return {"kvlistValue": {"values": [{"key": str(k), "value": _python_json(v)}
                                           for k, v in raw.items()]}}
    if isinstance(raw, list):
        return {"arrayValue": {"values": [_python_json(v) for v in raw]}}
    return {"stringValue": str(raw)}


def _double(value: Any) -> float | str:
    number = float(value)
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def attributes_to_json(attributes: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"key": kv.key, "value": any_to_json(kv.value)} for kv in attributes]


def _drop_empty(node: dict[str, Any]) -> dict[str, Any]:
    """OTLP/JSON omits default values; so do we (keeps lines short)."""
    return {k: v for k, v in node.items() if v not in (None, "", [], {}, 0, "0")}


def _resource_json(block: Any) -> dict[str, Any]:
    resource = block.resource
    if resource is None:
        return {}
    return _drop_empty({"attributes": attributes_to_json(resource.attributes),
                        "droppedAttributesCount": resource.dropped_attributes_count})


def _scope_json(scope: Any) -> dict[str, Any]:
    if scope is None:
        return {}
    return _drop_empty({"name": scope.name, "version": scope.version,
                        "attributes": attributes_to_json(scope.attributes)})


def resource_spans_to_json(resource_spans: Any) -> dict[str, Any]:
    """One ``ResourceSpans`` as an OTLP/JSON ``ExportTraceServiceRequest``."""
    scopes = []
    for scope_spans in resource_spans.scope_spans:
        spans = [_span_json(span) for span in scope_spans.spans]
        scopes.append(_drop_empty({"scope": _scope_json(scope_spans.scope), "spans": spans,
                                   "schemaUrl": scope_spans.schema_url}))
    block = _drop_empty({"resource": _resource_json(resource_spans), "scopeSpans": scopes,
                         "schemaUrl": resource_spans.schema_url})
    return {"resourceSpans": [block]}


def _span_json(span: Any) -> dict[str, Any]:
    status = span.status
    return _drop_empty({
        "traceId": _hex(span.trace_id),
        "spanId": _hex(span.span_id),
        "traceState": span.trace_state,
        "parentSpanId": _hex(span.parent_span_id),
        "flags": int(span.flags or 0),
        "name": span.name,
        "kind": int(span.kind or 0),
        "startTimeUnixNano": _nanos(span.start_time_unix_nano),
        "endTimeUnixNano": _nanos(span.end_time_unix_nano),
        "attributes": attributes_to_json(span.attributes),
        "droppedAttributesCount": span.dropped_attributes_count,
        "events": [_drop_empty({"timeUnixNano": _nanos(e.time_unix_nano), "name": e.name,
                                "attributes": attributes_to_json(e.attributes),
                                "droppedAttributesCount": e.dropped_attributes_count})
                   for e in span.events],
        "droppedEventsCount": span.dropped_events_count,
        "links": [_drop_empty({"traceId": _hex(link.trace_id), "spanId": _hex(link.span_id),
                               "traceState": link.trace_state,
                               "attributes": attributes_to_json(link.attributes),
                               "droppedAttributesCount": link.dropped_attributes_count,
                               "flags": int(link.flags or 0)})
                  for link in span.links],
        "droppedLinksCount": span.dropped_links_count,
        "status": (_drop_empty({"message": status.message, "code": int(status.code or 0)})
                   if status is not None else None),
    })


def resource_logs_to_json(resource_logs: Any) -> dict[str, Any]:
    """One ``ResourceLogs`` as an OTLP/JSON ``ExportLogsServiceRequest``."""
    scopes = []
    for scope_logs in resource_logs.scope_logs:
        records = [_log_json(record) for record in scope_logs.log_records]
        scopes.append(_drop_empty({"scope": _scope_json(scope_logs.scope),
                                   "logRecords": records, "schemaUrl": scope_logs.schema_url}))
    block = _drop_empty({"resource": _resource_json(resource_logs), "scopeLogs": scopes,
                         "schemaUrl": resource_logs.schema_url})
    return {"resourceLogs": [block]}


def _log_json(record: Any) -> dict[str, Any]:
    body = any_to_json(record.body) if record.body is not None else {}
    return _drop_empty({
        "timeUnixNano": _nanos(record.time_unix_nano),
        "observedTimeUnixNano": _nanos(record.observed_time_unix_nano),
        "severityNumber": int(record.severity_number or 0),
        "severityText": record.severity_text,
        "body": body,
        "attributes": attributes_to_json(record.attributes),
        "droppedAttributesCount": record.dropped_attributes_count,
        "flags": int(record.flags or 0),
        "traceId": _hex(record.trace_id),
        "spanId": _hex(record.span_id),
        "eventName": record.event_name,
    })


def resource_metrics_to_json(resource_metrics: Any) -> dict[str, Any]:
    """One ``ResourceMetrics`` as an OTLP/JSON ``ExportMetricsServiceRequest``."""
    scopes = []
    for scope_metrics in resource_metrics.scope_metrics:
        metrics = [_metric_json(metric) for metric in scope_metrics.metrics]
        scopes.append(_drop_empty({"scope": _scope_json(scope_metrics.scope),
                                   "metrics": metrics, "schemaUrl": scope_metrics.schema_url}))
    block = _drop_empty({"resource": _resource_json(resource_metrics), "scopeMetrics": scopes,
                         "schemaUrl": resource_metrics.schema_url})
    return {"resourceMetrics": [block]}


def _metric_json(metric: Any) -> dict[str, Any]:
    key, data = _metric_data(metric)
    node: dict[str, Any] = {"name": metric.name, "description": metric.description,
                            "unit": metric.unit,
                            "metadata": attributes_to_json(getattr(metric, "metadata", ()))}
    if data is not None and key:
        body: dict[str, Any] = {"dataPoints": [_point_json(key, p) for p in data.data_points]}
        temporality = getattr(data, "aggregation_temporality", None)
        if temporality is not None:
            body["aggregationTemporality"] = int(temporality)
        if getattr(data, "is_monotonic", False):
            body["isMonotonic"] = True
        node[key] = body
    return _drop_empty(node)


def _point_json(kind: str, point: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "attributes": attributes_to_json(point.attributes),
        "startTimeUnixNano": _nanos(point.start_time_unix_nano),
        "timeUnixNano": _nanos(point.time_unix_nano),
        "flags": int(point.flags or 0),
    }
    if kind in ("sum", "gauge"):
        node.update(_number(point.value, "asInt", "asDouble"))
    else:
        node["count"] = str(int(point.count or 0))
    if kind in ("histogram", "exponentialHistogram"):
        for name in ("sum", "min", "max"):
            value = getattr(point, name, None)
            if value is not None:
                node[name] = _double(value)
    if kind == "histogram":
        node["bucketCounts"] = [str(int(n)) for n in point.bucket_counts]
        node["explicitBounds"] = [_double(b) for b in point.explicit_bounds]
    elif kind == "exponentialHistogram":
        node["scale"] = int(point.scale)
        node["zeroCount"] = str(int(point.zero_count or 0))
        node["zeroThreshold"] = _double(getattr(point, "zero_threshold", 0.0) or 0.0)
        for side in ("positive", "negative"):
            buckets = getattr(point, side, None)
            if buckets is not None:
                node[side] = {"offset": int(buckets.offset),
                              "bucketCounts": [str(int(n)) for n in buckets.bucket_counts]}
    elif kind == "summary":
        node["sum"] = _double(point.sum)
        node["quantileValues"] = [{"quantile": _double(q.quantile), "value": _double(q.value)}
                                  for q in point.quantile_values]
    exemplars = [_exemplar_json(e) for e in getattr(point, "exemplars", ())]
    if exemplars:
        node["exemplars"] = exemplars
    return {k: v for k, v in node.items() if v is not None and v != [] and v != {}}


def _number(value: Any, int_key: str, double_key: str) -> dict[str, Any]:
    if value is None:
        return {}
    inner = value[0]
    if type(value).__name__.endswith("AsInt"):
        return {int_key: str(int(inner))}
    return {double_key: _double(inner)}


def _exemplar_json(exemplar: Any) -> dict[str, Any]:
    node = {"filteredAttributes": attributes_to_json(exemplar.filtered_attributes),
            "timeUnixNano": _nanos(exemplar.time_unix_nano),
            "spanId": _hex(exemplar.span_id), "traceId": _hex(exemplar.trace_id)}
    node.update(_number(exemplar.value, "asInt", "asDouble"))
    return _drop_empty(node)


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

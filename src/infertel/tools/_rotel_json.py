"""rotel's ``ResourceSpans`` / ``ResourceLogs`` / ``ResourceMetrics`` as OTLP/JSON export
requests (protobuf's JSON mapping: int64 as strings, ids as hex, defaults omitted), so the
collector's file sink writes what :mod:`infertel.tools._store` reads."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from typing import Any

from infertel.tools._rotel_values import any_to_python, metric_data


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
    key, data = metric_data(metric)
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

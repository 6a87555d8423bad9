"""OTLP encoding where one bad record costs that record, never its batch.

Each record is first made carriable (``_sanitize``); the batch is then encoded in one call (the
normal, fast case). Should that still raise, every record is encoded alone, the ones that fail
are left out and counted, and the rest are encoded together. Nothing here logs an exception's
text: an encoder's message can quote the value it choked on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from google.protobuf.message import Message
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import (
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.trace import ReadableSpan

from infertel.export import _sanitize

# OpenTelemetry semantic convention: log records with the same uid are duplicates of each other.
LOG_RECORD_UID: Final = "log.record.uid"

_Record = TypeVar("_Record")


@dataclass(frozen=True)
class Encoded:
    """An OTLP export request (``None`` when nothing survived), how many records it holds and
    how many were lost to encoding."""

    message: Message | None
    records: int
    failed: int


def _isolated(records: Sequence[_Record], carriable: Callable[[_Record], bool],
              clean: Callable[[_Record], _Record],
              encode: Callable[[list[_Record]], Message]) -> Encoded:
    ready: list[_Record] = []
    failed = 0
    for record in records:
        try:
            ready.append(record if carriable(record) else clean(record))
        except Exception:
            failed += 1
    if not ready:
        return Encoded(None, 0, failed)
    try:
        return Encoded(encode(ready), len(ready), failed)
    except Exception:
        pass
    good: list[_Record] = []
    for record in ready:
        try:
            encode([record])
        except Exception:
            failed += 1
        else:
            good.append(record)
    if not good:
        return Encoded(None, 0, failed)
    try:
        return Encoded(encode(good), len(good), failed)
    except Exception:  # each encoded alone but not together: give up on the batch
        return Encoded(None, 0, failed + len(good))


def encode_span_batch(spans: Sequence[ReadableSpan]) -> Encoded:
    return _isolated(spans, _sanitize.span_carriable, _sanitize.clean_span, encode_spans)


def encode_log_batch(logs: Sequence[ReadableLogRecord]) -> Encoded:
    return _isolated(logs, _sanitize.log_carriable, _sanitize.clean_log, encode_logs)


def encode_metric_batch(data: MetricsData) -> Encoded:
    """Metrics are isolated per metric (a name with its data points); ``records`` counts
    metrics."""
    items = [(rm, sm, metric) for rm in data.resource_metrics for sm in rm.scope_metrics
             for metric in sm.metrics]

    def carriable(item: tuple[Any, Any, Any]) -> bool:
        rm, sm, metric = item
        return bool(_sanitize.resource_carriable(rm.resource)
                    and _sanitize.scope_carriable(sm.scope)
                    and _sanitize.metric_carriable(metric))

    def clean(item: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
        rm, sm, metric = item
        resource = rm.resource if _sanitize.resource_carriable(rm.resource) else \
            _sanitize.clean_resource(rm.resource)
        scope = sm.scope if _sanitize.scope_carriable(sm.scope) else \
            _sanitize.clean_scope(sm.scope)
        return (ResourceMetrics(resource, [], rm.schema_url),
                ScopeMetrics(scope, [], sm.schema_url), _sanitize.clean_metric(metric))

    if not items:
        return Encoded(None, 0, 0)
    if _sanitize.metrics_carriable(data):
        try:
            return Encoded(encode_metrics(data), len(items), 0)
        except Exception:
            pass
    return _isolated(items, carriable, clean, lambda chosen: encode_metrics(_regroup(chosen)))


def _regroup(items: list[tuple[Any, Any, Any]]) -> MetricsData:
    """Metrics back under their (resource, scope), in their original order."""
    resources: dict[int, tuple[Any, dict[int, tuple[Any, list[Any]]]]] = {}
    for rm, sm, metric in items:
        _, scopes = resources.setdefault(id(rm), (rm, {}))
        scopes.setdefault(id(sm), (sm, []))[1].append(metric)
    return MetricsData(resource_metrics=[
        ResourceMetrics(rm.resource, [ScopeMetrics(sm.scope, metrics, sm.schema_url)
                                      for sm, metrics in scopes.values()], rm.schema_url)
        for rm, scopes in resources.values()])


def mark_log_records(message: Message) -> int:
    """Give every log record of an encoded request a ``log.record.uid``: the same value in
    every copy of the batch, so a reader drops replayed duplicates. Returns how many."""
    batch = os.urandom(12).hex()
    index = 0
    for resource_logs in message.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                record.attributes.append(KeyValue(
                    key=LOG_RECORD_UID, value=AnyValue(string_value=f"{batch}-{index:x}")))
                index += 1
    return index

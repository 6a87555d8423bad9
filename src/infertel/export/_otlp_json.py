"""OTLP/JSON encoding, as the OpenTelemetry Collector's file exporter writes it.

The SDK's own protobuf encoders build the export request; protobuf's JSON mapping renders it,
and the ids are rewritten from base64 to the lowercase hex that OTLP/JSON prescribes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import ReadableSpan

_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def spans_to_json(spans: Sequence[ReadableSpan]) -> str:
    return _to_json(encode_spans(spans))


def logs_to_json(logs: Sequence[ReadableLogRecord]) -> str:
    return _to_json(encode_logs(logs))


def metrics_to_json(data: MetricsData) -> str:
    return _to_json(encode_metrics(data))


def _to_json(message: Message) -> str:
    tree = MessageToDict(message, use_integers_for_enums=True)
    _hex_ids(tree)
    return json.dumps(tree, separators=(",", ":"), ensure_ascii=False)


def _hex_ids(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)

"""OTLP/JSON rendering, as the OpenTelemetry Collector's file exporter writes it.

The request comes from ``_encode`` (OpenTelemetry's protobuf encoders, one bad record costing
only itself); protobuf's JSON mapping renders it, and the ids are rewritten from base64 to the
lowercase hex that OTLP/JSON prescribes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def to_json(message: Message) -> str:
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

"""Attribute shaping shared by the span and log builders (inputs are already scrubbed)."""

from __future__ import annotations

import json
from typing import Any

from infertel import conventions as c


def payload_attributes(inputs: dict[str, Any] | None,
                       outputs: dict[str, Any] | None) -> dict[str, Any]:
    """Captured fields flattened to span-attribute values (scalars as-is, the rest as JSON)."""
    attributes: dict[str, Any] = {}
    for prefix, fields in ((c.INPUT_PREFIX, inputs), (c.OUTPUT_PREFIX, outputs)):
        if fields:
            for path, value in fields.items():
                attributes[prefix + path] = span_value(value)
    return attributes


def span_value(value: Any) -> str | bool | int | float:
    if isinstance(value, (str, bool, int, float)):
        return value
    return json.dumps(value, default=_type_name, separators=(",", ":"))


def _type_name(value: object) -> str:
    return f"<{type(value).__name__}>"  # never str(): its text could be anything

"""Attribute shaping shared by the span, metric and log builders."""

from __future__ import annotations

import json
import traceback
from typing import TYPE_CHECKING, Any

from infertel import conventions as c

if TYPE_CHECKING:
    from infertel._record import InferenceRecord


def call_attributes(record: InferenceRecord, segment: str, ring: str) -> dict[str, Any]:
    """The safe per-call attributes: ring, segment, outcome, sizes, error type."""
    spec = record.spec
    attributes: dict[str, Any] = dict(spec.static_attributes)
    attributes[c.DEPLOYMENT_RING] = spec.ring or ring
    attributes[c.SEGMENT] = segment
    attributes[c.INFERENCE_OUTCOME] = record.outcome
    attributes[c.INFERENCE_ID] = f"{record.span_id:016x}"
    if record.batch_size is not None:
        attributes[c.BATCH_SIZE] = record.batch_size
    if spec.kind in ("generator", "async_generator"):
        attributes[c.STREAM_ITEMS] = record.items
        if record.first_item_ns is not None:
            attributes[c.STREAM_TIME_TO_FIRST_ITEM] = (record.first_item_ns - record.start_ns) / 1e9
    if record.exception is not None:
        attributes[c.ERROR_TYPE] = exception_type_name(record.exception)
    return attributes


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
    return json.dumps(value, default=str, separators=(",", ":"))


def metric_segment(segment: str | None, seen: set[str], limit: int) -> str:
    """Bound segment cardinality: the first ``limit`` distinct values, then an overflow bucket."""
    if not segment:
        return c.SEGMENT_UNKNOWN
    if segment in seen:
        return segment
    if len(seen) >= limit:
        return c.SEGMENT_OVERFLOW
    seen.add(segment)
    return segment


class ExceptionText:
    """An exception as exported: type name, message and formatted stack (already scrubbed
    when the policy redacts), computed once for both the span and the log record."""

    __slots__ = ("message", "stacktrace", "type_name")

    def __init__(self, type_name: str, message: str, stacktrace: str) -> None:
        self.type_name = type_name
        self.message = message
        self.stacktrace = stacktrace

    @classmethod
    def of(cls, exception: BaseException) -> ExceptionText:
        return cls(exception_type_name(exception), exception_message(exception),
                   exception_stacktrace(exception))


def exception_type_name(exception: BaseException) -> str:
    cls = type(exception)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def exception_message(exception: BaseException) -> str:
    try:
        return str(exception)
    except Exception:  # a user __str__ that raises must not take the worker down
        return f"<unprintable {type(exception).__name__}>"


def exception_stacktrace(exception: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(exception))
    except Exception:
        return f"<unformattable {type(exception).__name__}>"

"""InferenceRecord: everything the serving thread hands to the background worker for one call.

Plain slots and no logic: the hot path fills it, the worker turns it into a span, metric
updates and a log record. Payload values are snapshots taken before the call returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infertel._decorator import CallSpec
    from infertel._runtime import Telemetry


class InferenceRecord:
    __slots__ = (
        "batch_size",
        "end_ns",
        "exception",
        "first_item_ns",
        "inputs",
        "items",
        "outcome",
        "outputs",
        "parent_span_id",
        "prediction",
        "sampled",
        "segment",
        "span_id",
        "spec",
        "start_ns",
        "telemetry",
        "token",
        "trace_id",
        "trace_state",
    )

    def __init__(self, telemetry: Telemetry, spec: CallSpec, trace_id: int, span_id: int,
                 parent_span_id: int | None, sampled: bool, start_ns: int) -> None:
        self.telemetry = telemetry
        self.token: Any = None  # the attached context, detached when the call ends
        self.trace_state: Any = None
        self.spec = spec
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.sampled = sampled
        self.start_ns = start_ns
        self.end_ns = start_ns
        self.first_item_ns: int | None = None
        self.items = 0
        self.segment: str | None = None
        self.batch_size: int | None = None
        self.inputs: dict[str, Any] | None = None
        self.outputs: dict[str, Any] | None = None
        self.prediction: Any = None
        self.outcome = ""
        self.exception: BaseException | None = None


class LogEvent:
    """A structured log event from ``infertel.get_logger()``, handed off like a record."""

    __slots__ = ("event", "level", "sampled", "span_id", "time_ns", "trace_id")

    def __init__(self, event: dict[str, Any], level: str, time_ns: int, trace_id: int,
                 span_id: int, sampled: bool) -> None:
        self.event = event
        self.level = level
        self.time_ns = time_ns
        self.trace_id = trace_id
        self.span_id = span_id
        self.sampled = sampled

"""Record types handed from the serving thread to the background worker.

``CallSpec`` is what decoration fixed about a function; ``InferenceRecord`` is one call;
``LogEvent`` one structured log event. Plain slots and no logic: the hot path fills them, the
worker scrubs them at the privacy boundary and builds signals from the result. Payload values
are snapshots taken before the call returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infertel import conventions as c

if TYPE_CHECKING:
    from infertel._provenance import ModelInfo
    from infertel._state import PipelineHandle


class CallSpec:
    """What the decoration fixed about a function; shared by all its calls."""

    __slots__ = (
        "batch_index",
        "batch_param",
        "input_actions",
        "inputs",
        "kind",
        "model",
        "output_actions",
        "outputs",
        "ring",
        "segment",
        "span_name",
        "static_attributes",
        "streaming",
        "undeclared",
    )

    def __init__(self, *, kind: str, span_name: str, code_function: str, ring: str | None,
                 segment: Any, model: ModelInfo | None, inputs: tuple[Any, ...],
                 outputs: tuple[Any, ...], undeclared: tuple[Any, ...],
                 batch_index: int | None, batch_param: str | None) -> None:
        self.kind = kind
        self.streaming = kind in ("generator", "async_generator")
        self.span_name = span_name
        self.segment = segment
        self.model = model
        self.inputs = inputs
        self.outputs = outputs
        self.input_actions: dict[str, str] = {g.path: g.action for g in inputs}
        self.output_actions: dict[str, str] = {g.path: g.action for g in outputs}
        # Parameters the decoration does not name: read only when the policy's
        # default_action asks for them (the default, "drop", never reads them).
        self.undeclared = undeclared
        self.batch_index = batch_index
        self.batch_param = batch_param
        self.ring = ring  # None: the ring configured for the process (INFERTEL_RING)
        self.static_attributes: dict[str, Any] = {
            c.INFERENCE_KIND: kind,
            c.CODE_FUNCTION: code_function,
        }


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

    def __init__(self, telemetry: PipelineHandle, spec: CallSpec, trace_id: int, span_id: int,
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

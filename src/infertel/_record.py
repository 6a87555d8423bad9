"""Record types handed from the serving thread to the background worker.

``CallSpec`` is what decoration fixed about a function; ``InferenceRecord`` is one call;
``LogEvent`` one structured log event. Plain slots and no logic: the hot path fills them, the
worker scrubs them at the privacy boundary and builds signals from the result. Payload values
are snapshots taken before the call returned.
"""

from __future__ import annotations

import traceback
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
        "drift",
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
        # Drift feature values ({path: scalar}) when monitoring is on; read only by the
        # privacy boundary's binner, which turns them into bin indices.
        self.drift: dict[str, Any] | None = None


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


class ExceptionText:
    """An exception as exported: type name, message and formatted stack. Built from the raw
    exception only at the privacy boundary, which scrubs message and stack before any signal
    sees them."""

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


class ScrubbedCall:
    """One call after the privacy boundary: everything a span, a log record, a metric update
    or a monitor may use, and nothing else. Built only by ``privacy.scrub_call``; no field
    holds a raw payload value."""

    __slots__ = (
        "attributes",
        "drift",
        "end_ns",
        "exception",
        "inputs",
        "metric_attributes",
        "name",
        "outputs",
        "parent_span_id",
        "predictions",
        "sampled",
        "span_id",
        "start_ns",
        "trace_id",
        "trace_state",
    )

    def __init__(self, record: InferenceRecord, *, name: str, attributes: dict[str, Any],
                 metric_attributes: dict[str, Any], inputs: dict[str, Any] | None,
                 outputs: dict[str, Any] | None, exception: ExceptionText | None,
                 trace_state: tuple[tuple[str, str], ...],
                 predictions: tuple[float, ...]) -> None:
        self.trace_id = record.trace_id
        self.span_id = record.span_id
        self.parent_span_id = record.parent_span_id
        self.sampled = record.sampled
        self.start_ns = record.start_ns
        self.end_ns = record.end_ns
        self.name = name
        self.attributes = attributes
        self.metric_attributes = metric_attributes
        self.inputs = inputs
        self.outputs = outputs
        self.exception = exception
        self.trace_state = trace_state
        self.predictions = predictions
        # Monitoring facts derived inside the boundary (bin indices, never raw values).
        self.drift: Any = None

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


class ArraySnapshot:
    """A numpy array (or pandas Series) captured on the hot path: shape, dtype and a bounded
    copy of the first values. The boundary exports its summary, never the values themselves
    (a prediction's scores are the one exception, as numbers on ``ml.prediction.value``)."""

    __slots__ = ("dtype", "head", "shape", "size")

    # Values kept for statistics and prediction scores.
    MAX_VALUES = 1000

    def __init__(self, value: Any) -> None:
        self.shape = tuple(int(n) for n in getattr(value, "shape", ()) or ())
        self.dtype = str(getattr(value, "dtype", ""))
        self.size = int(getattr(value, "size", 0) or 0)
        flat = value.reshape(-1) if hasattr(value, "reshape") else value
        self.head = flat[: self.MAX_VALUES].copy()

    def summary(self) -> dict[str, Any]:
        """Type, shape, dtype and, for numbers, min / max / mean over the kept values."""
        out: dict[str, Any] = {"type": "array", "shape": list(self.shape), "dtype": self.dtype}
        kind = getattr(getattr(self.head, "dtype", None), "kind", "")
        if kind in ("i", "u", "f") and len(self.head):
            values = [float(v) for v in self.head.tolist()]
            finite = [v for v in values if v == v and abs(v) != float("inf")]
            if finite:
                out["min"], out["max"] = min(finite), max(finite)
                out["mean"] = sum(finite) / len(finite)
            if self.size > len(values):
                out["sampled"] = len(values)
        return out

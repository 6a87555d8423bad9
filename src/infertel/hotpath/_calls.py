"""The per-call steps of the hot path: begin (ids, context, snapshots) and finish (hand-off).

Per call the serving thread reserves ids, takes two timestamps, attaches a non-recording span
context (so nested instrumentation and logs correlate), snapshots the declared fields and hands
an InferenceRecord to the bounded queue. Nothing raised here reaches the caller.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from infertel import _state
from infertel import conventions as c
from infertel._record import CallSpec, InferenceRecord
from infertel._state import PipelineHandle
from infertel.hotpath._capture import capture_inputs, capture_outputs, snapshot

SAMPLED = TraceFlags(TraceFlags.SAMPLED)
NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_EMPTY_TRACE_STATE = TraceState()
time_ns = time.time_ns
_get_current_span = trace.get_current_span
set_span_in_context = trace.set_span_in_context
attach = otel_context.attach
detach = otel_context.detach


def _span_context_factory() -> Callable[[int, int, TraceFlags, TraceState], SpanContext]:
    """SpanContext without re-validating ids we just generated (or took from a valid parent).

    ``SpanContext.__new__`` checks id ranges and ends in ``tuple.__new__`` with a fixed
    layout; building the tuple directly halves the cost. The layout is verified once here and
    the public constructor is used if it ever changes.
    """
    tuple_new = tuple.__new__

    def fast(trace_id: int, span_id: int, flags: TraceFlags, state: TraceState) -> SpanContext:
        return tuple_new(SpanContext, (trace_id, span_id, False, flags, state, True))

    def safe(trace_id: int, span_id: int, flags: TraceFlags, state: TraceState) -> SpanContext:
        return SpanContext(trace_id, span_id, False, flags, state)

    probe_state = TraceState([("k", "v")])
    probe, reference = fast(7, 9, SAMPLED, probe_state), safe(7, 9, SAMPLED, probe_state)
    same = tuple(probe) == tuple(reference) and probe.is_valid and not probe.is_remote and (
        probe.trace_state is reference.trace_state and probe.trace_flags.sampled)
    return fast if same else safe


new_span_context = _span_context_factory()


def begin(telemetry: PipelineHandle, spec: CallSpec, args: tuple[Any, ...],
           kwargs: Mapping[str, Any]) -> InferenceRecord | None:
    try:
        parent_context = otel_context.get_current()
        parent = _get_current_span(parent_context).get_span_context()
        ids = telemetry.id_generator
        if parent.is_valid:
            trace_id = parent.trace_id
            parent_id: int | None = parent.span_id
            state = parent.trace_state  # W3C tracestate travels down the trace
        else:
            trace_id = ids.generate_trace_id()
            parent_id = None
            state = _EMPTY_TRACE_STATE
        span_id = ids.generate_span_id()
        if telemetry.sampler is None:  # ParentBased(always_on), decided inline
            sampled = parent.trace_flags.sampled if parent_id is not None else True
        else:
            sampled = telemetry.should_sample(parent_context, parent, trace_id, spec.span_name)
        record = InferenceRecord(telemetry, spec, trace_id, span_id, parent_id, sampled,
                                 time_ns())
        record.trace_state = state
        if spec.inputs:
            record.inputs = capture_inputs(spec.inputs, args, kwargs)
        if telemetry.capture_undeclared and spec.undeclared:
            undeclared = capture_inputs(spec.undeclared, args, kwargs)
            record.inputs = {**(record.inputs or {}), **undeclared}
        drift = telemetry.drift_capture  # drift monitoring (issue 10): feature paths, no copy
        if drift is not None:
            record.drift = drift(spec, args, kwargs)
        if spec.batch_param is not None:
            record.batch_size = _batch_size(spec, args, kwargs)
        segment = spec.segment
        if segment is not None:
            record.segment = segment if isinstance(segment, str) else _call_segment(
                telemetry, segment, args, kwargs)
        span = NonRecordingSpan(
            new_span_context(trace_id, span_id, SAMPLED if sampled else NOT_SAMPLED, state))
        record.token = attach(set_span_in_context(span, parent_context))
        return record
    except Exception as error:
        telemetry.internal_error(error)
        return None


def _call_segment(telemetry: PipelineHandle, segment: Callable[..., Any],
                  args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str | None:
    try:
        value = segment(*args, **kwargs)
    except Exception as error:  # the user's segment function failed: segment unknown
        telemetry.callback_error(error)
        return None
    return None if value is None else str(value)


def _batch_size(spec: CallSpec, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int | None:
    index = spec.batch_index
    value = args[index] if index is not None and index < len(args) else kwargs.get(
        spec.batch_param or "")
    try:
        return len(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def finish(record: InferenceRecord, outcome: str, result: Any = None,
            exception: BaseException | None = None) -> None:
    """Close the call: timestamps, outputs, detach, hand off. Never raises."""
    telemetry = record.telemetry
    try:
        record.end_ns = time_ns()
        record.outcome = outcome
        if exception is not None:
            record.exception = exception
        elif outcome == c.OUTCOME_SUCCESS and not record.spec.streaming:
            if record.spec.outputs:
                record.outputs = capture_outputs(record.spec.outputs, result)
            if isinstance(result, (int, float)) and not isinstance(result, bool):
                record.prediction = result
            elif record.batch_size is not None and isinstance(result, (list, tuple)):
                record.prediction = snapshot(result)  # one value per row, bounded copy
            elif record.batch_size is not None and hasattr(result, "dtype"):
                record.prediction = snapshot(result)  # numpy scores, without importing numpy
    except Exception as error:
        safe_internal_error(telemetry, error)
    finally:
        try:
            detach(record.token)
        except Exception as error:
            safe_internal_error(telemetry, error)
    record.token = None
    telemetry.submit(record)


def fail(record: InferenceRecord, exc: BaseException) -> None:
    """Close a call that ended with ``exc``: ``cancelled`` when the caller cancelled it (task
    cancellation, a timeout, a coroutine closed before it finished), ``error`` otherwise."""
    if is_cancellation(exc):
        finish(record, c.OUTCOME_CANCELLED)
    else:
        finish(record, c.OUTCOME_ERROR, exception=exc)


def is_cancellation(exc: BaseException) -> bool:
    if isinstance(exc, GeneratorExit):
        return True
    # Looked up, not imported: a cancellation can only come from a loaded event-loop library,
    # and importing asyncio here would cost every ``import infertel``.
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None and isinstance(exc, asyncio.CancelledError):
        return True
    trio = sys.modules.get("trio")
    cancelled = getattr(trio, "Cancelled", None)
    return isinstance(cancelled, type) and isinstance(exc, cancelled)


def safe_internal_error(telemetry: PipelineHandle, error: BaseException) -> None:
    try:
        telemetry.internal_error(error)
    except _state.InternalError:
        if telemetry.raise_internal_errors:
            raise

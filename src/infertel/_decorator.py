"""``@traced_inference``: the hot path.

The wrapper kind (sync, async, generator, async generator) is chosen once, at decoration time.
Per call the serving thread reserves ids, takes two timestamps, attaches a non-recording span
context (so nested instrumentation and logs correlate), snapshots the declared fields and hands
an InferenceRecord to the bounded queue. Span, metrics and log are built in the background.
Nothing raised by telemetry reaches the caller; the caller's exceptions pass through unchanged.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, get_args, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from infertel import _state
from infertel import conventions as c
from infertel._capture import (
    FieldGetter,
    capture_inputs,
    capture_outputs,
    compile_inputs,
    compile_outputs,
    snapshot,
    undeclared_inputs,
)
from infertel._record import InferenceRecord
from infertel._types import Ring

if TYPE_CHECKING:
    from infertel._provenance import ModelInfo
    from infertel._runtime import Telemetry

P = ParamSpec("P")
R = TypeVar("R")

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_EMPTY_TRACE_STATE = TraceState()
_VALID_RINGS = frozenset(get_args(Ring))
_time_ns = time.time_ns
_get_current_span = trace.get_current_span
_set_span_in_context = trace.set_span_in_context
_attach = otel_context.attach
_detach = otel_context.detach

Segment = str | Callable[..., Any] | None


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

    def __init__(self, fn: Callable[..., Any], kind: str, name: str | None, ring: str | None,
                 segment: Segment, model: ModelInfo | None, inputs: tuple[FieldGetter, ...],
                 outputs: tuple[FieldGetter, ...], batch: bool | str,
                 dropped_roots: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.streaming = kind in ("generator", "async_generator")
        self.span_name = name or fn.__qualname__
        self.segment = segment
        self.model = model
        self.inputs = inputs
        self.outputs = outputs
        self.input_actions = {g.path: g.action for g in inputs}
        self.output_actions = {g.path: g.action for g in outputs}
        # Parameters the decoration does not name: read only when the policy's
        # default_action asks for them (the default, "drop", never reads them).
        declared_roots = {g.param for g in inputs} | set(dropped_roots)
        self.undeclared = undeclared_inputs(fn, declared_roots)
        self.batch_index, self.batch_param = _batch_parameter(fn, batch)
        self.ring = ring  # None: the ring configured for the process (INFERTEL_RING)
        self.static_attributes: dict[str, Any] = {
            c.INFERENCE_KIND: kind,
            c.CODE_FUNCTION: f"{fn.__module__}.{fn.__qualname__}",
        }


def _batch_parameter(fn: Callable[..., Any], batch: bool | str) -> tuple[int | None, str | None]:
    if batch is False:
        return None, None
    params = list(inspect.signature(fn).parameters.values())
    if batch is True:
        candidates = [p for p in params if p.name not in ("self", "cls")]
        if not candidates:
            raise ValueError(f"batch=True needs a parameter holding the batch in {fn.__qualname__}")
        chosen = candidates[0]
    else:
        found = [p for p in params if p.name == batch]
        if not found:
            raise ValueError(f"batch={batch!r} is not a parameter of {fn.__qualname__}")
        chosen = found[0]
    positional = chosen.kind in (chosen.POSITIONAL_ONLY, chosen.POSITIONAL_OR_KEYWORD)
    return (params.index(chosen) if positional else None), chosen.name


# ------------------------------------------------------------------------------ per-call steps
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
    probe, reference = fast(7, 9, _SAMPLED, probe_state), safe(7, 9, _SAMPLED, probe_state)
    same = tuple(probe) == tuple(reference) and probe.is_valid and not probe.is_remote and (
        probe.trace_state is reference.trace_state and probe.trace_flags.sampled)
    return fast if same else safe


_new_span_context = _span_context_factory()


def _begin(telemetry: Telemetry, spec: CallSpec, args: tuple[Any, ...],
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
                                 _time_ns())
        record.trace_state = state
        if spec.inputs:
            record.inputs = capture_inputs(spec.inputs, args, kwargs)
        if telemetry.capture_undeclared and spec.undeclared:
            undeclared = capture_inputs(spec.undeclared, args, kwargs)
            record.inputs = {**(record.inputs or {}), **undeclared}
        if spec.batch_param is not None:
            record.batch_size = _batch_size(spec, args, kwargs)
        segment = spec.segment
        if segment is not None:
            record.segment = segment if isinstance(segment, str) else _call_segment(
                telemetry, segment, args, kwargs)
        span = NonRecordingSpan(
            _new_span_context(trace_id, span_id, _SAMPLED if sampled else _NOT_SAMPLED, state))
        record.token = _attach(_set_span_in_context(span, parent_context))
        return record
    except Exception as error:
        telemetry.internal_error(error)
        return None


def _call_segment(telemetry: Telemetry, segment: Callable[..., Any],
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


def _finish(record: InferenceRecord, outcome: str, result: Any = None,
            exception: BaseException | None = None) -> None:
    """Close the call: timestamps, outputs, detach, hand off. Never raises."""
    telemetry = record.telemetry
    try:
        record.end_ns = _time_ns()
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
        _safe_internal_error(telemetry, error)
    finally:
        try:
            _detach(record.token)
        except Exception as error:
            _safe_internal_error(telemetry, error)
    record.token = None
    telemetry.worker.submit(record)


def _safe_internal_error(telemetry: Telemetry, error: BaseException) -> None:
    try:
        telemetry.internal_error(error)
    except _state.InternalError:
        if telemetry.settings.raise_internal_errors:
            raise


# ------------------------------------------------------------------------------ wrappers
def _wrap_sync(fn: Callable[P, R], spec: CallSpec) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        telemetry = _state.current
        if telemetry is None or not telemetry.enabled:
            return fn(*args, **kwargs)
        record = _begin(telemetry, spec, args, kwargs)
        if record is None:
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _finish(record, c.OUTCOME_ERROR, exception=exc)
            raise
        _finish(record, c.OUTCOME_SUCCESS, result)
        return result

    return wrapper


def _wrap_async(fn: Callable[P, Awaitable[R]], spec: CallSpec) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        telemetry = _state.current
        if telemetry is None or not telemetry.enabled:
            return await fn(*args, **kwargs)
        record = _begin(telemetry, spec, args, kwargs)
        if record is None:
            return await fn(*args, **kwargs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            _finish(record, c.OUTCOME_ERROR, exception=exc)
            raise
        _finish(record, c.OUTCOME_SUCCESS, result)
        return result

    return wrapper


# Items of one stream whose declared outputs are kept: enough to see what a stream produced,
# bounded so a long stream cannot grow a record without limit.
_MAX_STREAM_ITEMS_CAPTURED = 100


def _item_seen(record: InferenceRecord, item: Any) -> None:
    if record.items == 0:
        record.first_item_ns = _time_ns()
    record.items += 1
    getters = record.spec.outputs
    if getters and record.items <= _MAX_STREAM_ITEMS_CAPTURED:
        try:
            # For streams an output path applies to each item; values collect into a list.
            outputs = record.outputs
            if outputs is None:
                outputs = record.outputs = {}
            for path, value in capture_outputs(getters, item).items():
                outputs.setdefault(path, []).append(value)
        except Exception as error:
            _safe_internal_error(record.telemetry, error)


def _reattach(record: InferenceRecord) -> None:
    # Between items the stream's span context must not stay current in the consumer's code,
    # so it is attached only while the producer runs.
    record.token = _attach(_set_span_in_context(NonRecordingSpan(_new_span_context(
        record.trace_id, record.span_id, _SAMPLED if record.sampled else _NOT_SAMPLED,
        record.trace_state))))


def _wrap_generator(fn: Callable[P, Generator[Any, Any, Any]],
                    spec: CallSpec) -> Callable[P, Generator[Any, Any, Any]]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Generator[Any, Any, Any]:
        telemetry = _state.current
        if telemetry is not None and not telemetry.enabled:
            telemetry = None
        record = _begin(telemetry, spec, args, kwargs) if telemetry is not None else None
        if record is None:
            return (yield from fn(*args, **kwargs))
        try:
            stream = fn(*args, **kwargs)
        except BaseException as exc:
            _finish(record, c.OUTCOME_ERROR, exception=exc)
            raise
        attached = True
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            try:
                if not attached:
                    _reattach(record)
                attached = True
                if to_throw is not None:
                    pending, to_throw = to_throw, None
                    item = stream.throw(pending)
                else:
                    item = stream.send(to_send)
            except StopIteration as stop:
                _finish(record, c.OUTCOME_SUCCESS)
                return cast(Any, stop.value)
            except BaseException as exc:
                _finish(record, c.OUTCOME_ERROR, exception=exc)
                raise
            _detach_quietly(record)
            attached = False
            _item_seen(record, item)
            try:
                to_send = yield item
            except GeneratorExit:
                # The consumer closed the stream early (or dropped it): close the producer in
                # our context, then record the call as cancelled.
                _reattach(record)
                try:
                    stream.close()
                finally:
                    _finish(record, c.OUTCOME_CANCELLED)
                raise
            except BaseException as exc:
                to_throw = exc

    return wrapper


def _wrap_async_generator(fn: Callable[P, AsyncGenerator[Any, Any]],
                          spec: CallSpec) -> Callable[P, AsyncGenerator[Any, Any]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, Any]:
        telemetry = _state.current
        if telemetry is not None and not telemetry.enabled:
            telemetry = None
        record = _begin(telemetry, spec, args, kwargs) if telemetry is not None else None
        if record is None:
            async for item in fn(*args, **kwargs):
                yield item
            return
        try:
            stream = fn(*args, **kwargs)
        except BaseException as exc:
            _finish(record, c.OUTCOME_ERROR, exception=exc)
            raise
        attached = True
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            try:
                if not attached:
                    _reattach(record)
                attached = True
                if to_throw is not None:
                    pending, to_throw = to_throw, None
                    item = await stream.athrow(pending)
                else:
                    item = await stream.asend(to_send)
            except StopAsyncIteration:
                _finish(record, c.OUTCOME_SUCCESS)
                return
            except BaseException as exc:
                _finish(record, c.OUTCOME_ERROR, exception=exc)
                raise
            _detach_quietly(record)
            attached = False
            _item_seen(record, item)
            try:
                to_send = yield item
            except GeneratorExit:
                _reattach(record)
                try:
                    await stream.aclose()
                finally:
                    _finish(record, c.OUTCOME_CANCELLED)
                raise
            except BaseException as exc:
                to_throw = exc

    return wrapper


def _detach_quietly(record: InferenceRecord) -> None:
    try:
        _detach(record.token)
    except Exception as error:
        _safe_internal_error(record.telemetry, error)


# ------------------------------------------------------------------------------ the decorator
@overload
def traced_inference(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def traced_inference(
    *,
    name: str | None = None,
    model: ModelInfo | None = None,
    ring: Ring | None = None,
    segment: Segment = None,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    batch: bool | str = False,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def traced_inference(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    model: ModelInfo | None = None,
    ring: Ring | None = None,
    segment: Segment = None,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    batch: bool | str = False,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Trace every call of a predict function: span, metrics and an ``inference`` log record.

    Args:
        name: span name (default: the function's qualified name).
        model: provenance for this function when it differs from ``configure(model=...)``.
        ring: deployment ring, ``stable``, ``canary`` or ``shadow``; by default the ring
            configured for the process (``configure(ring=...)`` / ``INFERTEL_RING``).
        segment: a fixed segment, or a callable taking the call's arguments and returning it.
        inputs: ``{"param.field": action}``; paths start at a parameter name.
        outputs: ``{"field": action}``; paths start at the return value (``"return"``: all);
            for generators they apply to each item and collect into a list.
        batch: True (first parameter) or a parameter name: its ``len()`` is ``ml.batch.size``.

    Bad options raise ``ValueError`` here, at decoration time, never during a call.
    """
    if ring is not None and ring not in _VALID_RINGS:
        raise ValueError(f"ring must be one of {sorted(_VALID_RINGS)}, not {ring!r}")
    if segment is not None and not isinstance(segment, str) and not callable(segment):
        raise TypeError("segment must be a string, a callable or None")
    if model is not None:
        from infertel._provenance import ModelInfo  # pydantic: loaded only when used

        if not isinstance(model, ModelInfo):
            raise TypeError("model must be an infertel.ModelInfo")

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if not callable(func):
            raise TypeError("traced_inference decorates a function")
        kind = _kind(func)
        dropped = tuple(path.split(".")[0] for path, action in (inputs or {}).items()
                        if action == "drop")
        spec = CallSpec(func, kind, name, ring, segment, model, compile_inputs(func, inputs),
                        compile_outputs(outputs), batch, dropped)
        if kind == "async":
            return cast(Callable[P, R], _wrap_async(cast(Any, func), spec))
        if kind == "generator":
            return cast(Callable[P, R], _wrap_generator(cast(Any, func), spec))
        if kind == "async_generator":
            return cast(Callable[P, R], _wrap_async_generator(cast(Any, func), spec))
        return _wrap_sync(func, spec)

    if fn is not None:
        return decorate(fn)
    return decorate


def _kind(fn: Callable[..., Any]) -> str:
    if inspect.isasyncgenfunction(fn):
        return "async_generator"
    if inspect.isgeneratorfunction(fn):
        return "generator"
    if inspect.iscoroutinefunction(fn):
        return "async"
    return "sync"

"""The four wrapper kinds (sync, async, generator, async generator), chosen at decoration.

Each reads the process default pipeline once per call; with none, or disabled, the function
runs untouched. The caller's exceptions pass through unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any, ParamSpec, TypeVar, cast

from opentelemetry.trace import NonRecordingSpan

from infertel import _state
from infertel import conventions as c
from infertel._record import CallSpec, InferenceRecord
from infertel.hotpath._calls import (
    NOT_SAMPLED,
    SAMPLED,
    attach,
    begin,
    detach,
    fail,
    finish,
    new_span_context,
    safe_internal_error,
    set_span_in_context,
    time_ns,
)
from infertel.hotpath._capture import capture_outputs

P = ParamSpec("P")
R = TypeVar("R")


def wrap_sync(fn: Callable[P, R], spec: CallSpec) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        telemetry = _state.current
        if telemetry is None or not telemetry.enabled:
            return fn(*args, **kwargs)
        record = begin(telemetry, spec, args, kwargs)
        if record is None:
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            finish(record, c.OUTCOME_ERROR, exception=exc)
            raise
        finish(record, c.OUTCOME_SUCCESS, result)
        return result

    return wrapper


def wrap_async(fn: Callable[P, Awaitable[R]], spec: CallSpec) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        telemetry = _state.current
        if telemetry is None or not telemetry.enabled:
            return await fn(*args, **kwargs)
        record = begin(telemetry, spec, args, kwargs)
        if record is None:
            return await fn(*args, **kwargs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            fail(record, exc)  # asyncio.CancelledError -> cancelled, not error
            raise
        finish(record, c.OUTCOME_SUCCESS, result)
        return result

    return wrapper


# Items of one stream whose declared outputs are kept: enough to see what a stream produced,
# bounded so a long stream cannot grow a record without limit.
_MAX_STREAM_ITEMS_CAPTURED = 100


def _item_seen(record: InferenceRecord, item: Any) -> None:
    if record.items == 0:
        record.first_item_ns = time_ns()
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
            safe_internal_error(record.telemetry, error)


def _reattach(record: InferenceRecord) -> None:
    # Between items the stream's span context must not stay current in the consumer's code,
    # so it is attached only while the producer runs.
    record.token = attach(set_span_in_context(NonRecordingSpan(new_span_context(
        record.trace_id, record.span_id, SAMPLED if record.sampled else NOT_SAMPLED,
        record.trace_state))))


def wrap_generator(fn: Callable[P, Generator[Any, Any, Any]],
                    spec: CallSpec) -> Callable[P, Generator[Any, Any, Any]]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Generator[Any, Any, Any]:
        telemetry = _state.current
        if telemetry is not None and not telemetry.enabled:
            telemetry = None
        record = begin(telemetry, spec, args, kwargs) if telemetry is not None else None
        if record is None:
            return (yield from fn(*args, **kwargs))
        try:
            stream = fn(*args, **kwargs)
        except BaseException as exc:
            finish(record, c.OUTCOME_ERROR, exception=exc)
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
                finish(record, c.OUTCOME_SUCCESS)
                return cast(Any, stop.value)
            except BaseException as exc:
                fail(record, exc)
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
                    finish(record, c.OUTCOME_CANCELLED)
                raise
            except BaseException as exc:
                to_throw = exc

    return wrapper


def wrap_async_generator(fn: Callable[P, AsyncGenerator[Any, Any]],
                          spec: CallSpec) -> Callable[P, AsyncGenerator[Any, Any]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, Any]:
        telemetry = _state.current
        if telemetry is not None and not telemetry.enabled:
            telemetry = None
        record = begin(telemetry, spec, args, kwargs) if telemetry is not None else None
        if record is None:
            async for item in fn(*args, **kwargs):
                yield item
            return
        try:
            stream = fn(*args, **kwargs)
        except BaseException as exc:
            finish(record, c.OUTCOME_ERROR, exception=exc)
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
                finish(record, c.OUTCOME_SUCCESS)
                return
            except BaseException as exc:
                fail(record, exc)  # cancelled while the producer awaited: cancelled
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
                    finish(record, c.OUTCOME_CANCELLED)
                raise
            except BaseException as exc:
                to_throw = exc

    return wrapper


def _detach_quietly(record: InferenceRecord) -> None:
    try:
        detach(record.token)
    except Exception as error:
        safe_internal_error(record.telemetry, error)

"""asyncio: context across await, cancellation, and streams abandoned mid-way."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry import trace

import infertel
from infertel import conventions as c
from infertel.testing import capture_telemetry


def _by_name(spans: list, name: str) -> list:
    return [s for s in spans if s.name.rsplit(".", 1)[-1] == name]


class _Suspend:
    """One bare suspension point, no event loop needed."""

    def __await__(self) -> Iterator[None]:
        yield


async def test_context_follows_each_task_across_awaits() -> None:
    tracer: trace.Tracer = trace.NoOpTracer()

    @infertel.traced_inference
    async def predict(i: int) -> int:
        await asyncio.sleep(0.001 * (i % 7))  # the tasks interleave at every await
        with tracer.start_as_current_span("nested") as nested:
            nested.set_attribute("task.index", i)
            await asyncio.sleep(0)
        await asyncio.sleep(0.001 * (i % 3))
        return i

    with capture_telemetry() as captured:
        tracer = captured.telemetry.tracer_provider.get_tracer("nested-lib")
        assert await asyncio.gather(*(predict(i) for i in range(40))) == list(range(40))
        spans = captured.spans()
    calls = {s.context.span_id: s for s in _by_name(spans, "predict")}
    nested = _by_name(spans, "nested")
    assert len(calls) == 40
    assert len(nested) == 40
    for span in nested:
        # Each nested span's parent is the inference span of its own task, not of another.
        parent = calls[span.parent.span_id]
        assert parent.context.trace_id == span.context.trace_id
    assert len({s.context.trace_id for s in calls.values()}) == 40
    # Nothing leaks into the caller's context after the calls.
    assert not trace.get_current_span().get_span_context().is_valid


async def test_cancelled_task_ends_its_span_as_cancelled_not_error() -> None:
    started = asyncio.Event()

    @infertel.traced_inference
    async def predict() -> None:
        started.set()
        await asyncio.sleep(30)

    with capture_telemetry() as captured:
        task = asyncio.create_task(predict())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # the cancellation still reaches the caller
        [span] = captured.spans()
        [requests] = captured.metric_points(c.METRIC_REQUESTS)
    assert span.attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_CANCELLED
    assert span.status.status_code.name != "ERROR"
    assert c.ERROR_TYPE not in span.attributes
    assert requests.attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_CANCELLED


async def test_timeout_cancellation_of_an_async_stream_is_cancelled() -> None:
    @infertel.traced_inference
    async def stream() -> AsyncIterator[int]:
        for i in range(100):
            await asyncio.sleep(0.01)
            yield i

    async def consume() -> list[int]:
        return [item async for item in stream()]

    with capture_telemetry() as captured:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(consume(), timeout=0.05)
        [span] = captured.spans()
    assert span.attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_CANCELLED


async def test_abandoned_async_generator_ends_its_span_when_collected() -> None:
    @infertel.traced_inference
    async def tokens() -> AsyncIterator[str]:
        for word in ("a", "b", "c", "d"):
            yield word

    with capture_telemetry() as captured:
        stream = tokens()
        assert await stream.__anext__() == "a"  # consumed part-way, never closed
        del stream
        gc.collect()
        # asyncio's async-generator finaliser schedules aclose() on the loop.
        for _ in range(5):
            await asyncio.sleep(0)
        spans = captured.spans()
    [span] = spans
    assert span.attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_CANCELLED
    assert span.attributes[c.STREAM_ITEMS] == 1


def test_abandoned_generator_ends_its_span_when_collected() -> None:
    @infertel.traced_inference
    def tokens() -> Iterator[str]:
        yield from ("a", "b", "c")

    with capture_telemetry() as captured:
        stream = tokens()
        assert next(stream) == "a"
        del stream
        gc.collect()
        [span] = captured.spans()
    assert span.attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_CANCELLED
    assert not trace.get_current_span().get_span_context().is_valid


def test_coroutine_closed_before_completion_is_cancelled() -> None:
    @infertel.traced_inference
    async def predict() -> int:
        await _Suspend()
        return 1

    with capture_telemetry() as captured:
        coroutine = predict()
        coroutine.send(None)  # runs up to the suspension
        coroutine.close()  # GeneratorExit at the await: the call never finished
        [span] = captured.spans()
    assert span.attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_CANCELLED

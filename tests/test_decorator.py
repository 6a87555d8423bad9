"""@traced_inference: every wrapper kind, pass-through semantics and decoration-time checks."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

import infertel
from infertel import conventions as c
from infertel.testing import capture_telemetry


@dataclass
class Request:
    text: str
    amount: float
    tier: str = "gold"


def only_span(spans: list) -> dict:
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes)


def test_sync_function_returns_result_and_emits_span(model: infertel.ModelInfo) -> None:
    @infertel.traced_inference(ring="canary", segment=lambda req: req.tier,
                               inputs={"req.amount": "keep", "req.text": "drop"},
                               outputs={"return": "keep"})
    def predict(req: Request) -> float:
        return req.amount * 2

    with capture_telemetry(model=model) as captured:
        assert predict(Request("hi", 2.5)) == 5.0
        attributes = only_span(captured.spans())
    assert attributes[c.DEPLOYMENT_RING] == "canary"
    assert attributes[c.SEGMENT] == "gold"
    assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_SUCCESS
    assert attributes[c.MODEL_NAME] == "fraud-detector"
    assert attributes[c.MODEL_VERSION] == "2.3.1"
    assert attributes[c.INPUT_PREFIX + "req.amount"] == 2.5
    assert attributes[c.OUTPUT_PREFIX + "return"] == 5.0
    assert not any("text" in key for key in attributes), "a dropped field was exported"


def test_signature_and_metadata_are_preserved() -> None:
    def predict(req: Request, *, threshold: float = 0.5) -> bool:
        """Docstring."""
        return req.amount > threshold

    wrapped = infertel.traced_inference(predict)
    assert inspect.signature(wrapped) == inspect.signature(predict)
    assert wrapped.__name__ == "predict"
    assert wrapped.__doc__ == "Docstring."
    assert wrapped.__wrapped__ is predict  # type: ignore[attr-defined]


def test_user_exception_passes_through_unchanged() -> None:
    class ModelError(Exception):
        pass

    error = ModelError("bad input shape")

    @infertel.traced_inference
    def predict(x: int) -> int:
        raise error

    with capture_telemetry() as captured:
        with pytest.raises(ModelError) as raised:
            predict(1)
        spans = captured.spans()
    assert raised.value is error
    assert raised.value.args == ("bad input shape",)
    frames = [frame.name for frame in raised.traceback]
    assert "predict" in frames
    [span] = spans
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_ERROR
    assert span.attributes[c.ERROR_TYPE].endswith("ModelError")
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes[c.EXCEPTION_MESSAGE] == "bad input shape"
    assert "raise error" in event.attributes[c.EXCEPTION_STACKTRACE]


def test_base_exceptions_pass_through() -> None:
    @infertel.traced_inference
    def predict() -> None:
        raise KeyboardInterrupt

    with capture_telemetry() as captured:
        with pytest.raises(KeyboardInterrupt):
            predict()
        assert captured.spans()[0].attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_ERROR


async def test_async_function() -> None:
    @infertel.traced_inference(outputs={"label": "keep"})
    async def predict(x: int) -> dict:
        await asyncio.sleep(0)
        return {"label": "fraud" if x > 1 else "ok"}

    with capture_telemetry() as captured:
        results = await asyncio.gather(predict(1), predict(2))
        spans = captured.spans()
    assert [r["label"] for r in results] == ["ok", "fraud"]
    assert sorted(s.attributes[c.OUTPUT_PREFIX + "label"] for s in spans) == ["fraud", "ok"]
    assert all(s.attributes[c.INFERENCE_KIND] == "async" for s in spans)
    assert len({s.context.trace_id for s in spans}) == 2


def test_generator_streams_and_records_items_and_first_item_latency() -> None:
    @infertel.traced_inference
    def stream(n: int) -> Iterator[str]:
        yield from (f"tok{i}" for i in range(n))
        return None

    with capture_telemetry() as captured:
        assert list(stream(3)) == ["tok0", "tok1", "tok2"]
        attributes = only_span(captured.spans())
    assert attributes[c.STREAM_ITEMS] == 3
    assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_SUCCESS
    assert attributes[c.STREAM_TIME_TO_FIRST_ITEM] >= 0


def test_generator_early_close_ends_span_as_cancelled_and_closes_producer() -> None:
    closed = []

    @infertel.traced_inference
    def stream() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.append(True)

    with capture_telemetry() as captured:
        iterator = stream()
        assert next(iterator) == 0
        assert next(iterator) == 1
        iterator.close()
        attributes = only_span(captured.spans())
    assert closed == [True]
    assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_CANCELLED
    assert attributes[c.STREAM_ITEMS] == 2


def test_generator_error_mid_stream_and_send_and_return_value() -> None:
    @infertel.traced_inference
    def echo() -> Iterator[int]:
        received = yield 1
        yield received * 10
        raise RuntimeError("stream broke")

    with capture_telemetry() as captured:
        iterator = echo()
        assert next(iterator) == 1
        assert iterator.send(4) == 40
        with pytest.raises(RuntimeError, match="stream broke"):
            next(iterator)
        attributes = only_span(captured.spans())
    assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_ERROR
    assert attributes[c.STREAM_ITEMS] == 2

    @infertel.traced_inference
    def with_return() -> Iterator[int]:
        yield 1
        return 42

    def consume() -> Iterator[int]:
        value = yield from with_return()
        yield value

    with capture_telemetry():
        assert list(consume()) == [1, 42]


def test_generator_span_context_is_current_only_while_producer_runs() -> None:
    from opentelemetry import trace

    seen_inside: list[int] = []

    @infertel.traced_inference
    def stream() -> Iterator[int]:
        for i in range(2):
            seen_inside.append(trace.get_current_span().get_span_context().span_id)
            yield i

    with capture_telemetry() as captured:
        for _ in stream():
            assert not trace.get_current_span().get_span_context().is_valid
        [span] = captured.spans()
    assert seen_inside == [span.context.span_id] * 2


async def test_async_generator_full_and_early_close() -> None:
    @infertel.traced_inference
    async def tokens(n: int) -> AsyncIterator[str]:
        for i in range(n):
            await asyncio.sleep(0)
            yield f"t{i}"

    with capture_telemetry() as captured:
        assert [t async for t in tokens(4)] == ["t0", "t1", "t2", "t3"]
        stream = tokens(10)
        assert await stream.__anext__() == "t0"
        await stream.aclose()  # type: ignore[attr-defined]
        spans = sorted(captured.spans(), key=lambda s: s.start_time)
    assert [s.attributes[c.INFERENCE_OUTCOME] for s in spans] == [
        c.OUTCOME_SUCCESS, c.OUTCOME_CANCELLED]
    assert [s.attributes[c.STREAM_ITEMS] for s in spans] == [4, 1]
    assert all(s.attributes[c.INFERENCE_KIND] == "async_generator" for s in spans)


async def test_async_generator_error_propagates() -> None:
    @infertel.traced_inference
    async def tokens() -> AsyncIterator[int]:
        yield 1
        raise ValueError("boom")

    with capture_telemetry() as captured:
        with pytest.raises(ValueError, match="boom"):
            _ = [t async for t in tokens()]
        attributes = only_span(captured.spans())
    assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_ERROR


def test_method_and_batch_size() -> None:
    class Scorer:
        def __init__(self) -> None:
            self.calls = 0

        @infertel.traced_inference(batch=True, segment=lambda self, rows: "bulk")
        def score(self, rows: list[float]) -> list[float]:
            self.calls += 1
            return [r * 2 for r in rows]

    scorer = Scorer()
    with capture_telemetry() as captured:
        assert scorer.score([1.0, 2.0, 3.0]) == [2.0, 4.0, 6.0]
        attributes = only_span(captured.spans())
    assert scorer.calls == 1
    assert attributes[c.BATCH_SIZE] == 3
    assert attributes[c.SEGMENT] == "bulk"


def test_batch_by_parameter_name_given_as_keyword() -> None:
    @infertel.traced_inference(batch="rows")
    def score(model_id: str, rows: list[int]) -> int:
        return len(rows)

    with capture_telemetry() as captured:
        score("m", rows=[1, 2])
        assert only_span(captured.spans())[c.BATCH_SIZE] == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ring": "beta"}, "ring must be one of"),
        ({"inputs": {"request.text": "keep"}}, "must start with a parameter"),
        ({"inputs": {"req.text": "shred"}}, "unknown action"),
        ({"outputs": {"": "keep"}}, "must not be empty"),
        ({"batch": "missing"}, "is not a parameter"),
    ],
)
def test_bad_options_fail_at_decoration(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        @infertel.traced_inference(**options)
        def predict(req: Request) -> None:
            return None


def test_without_configure_the_function_just_runs() -> None:
    @infertel.traced_inference
    def predict(x: int) -> int:
        return x + 1

    assert predict(1) == 2


def test_disabled_telemetry_exports_nothing(tmp_path) -> None:
    @infertel.traced_inference
    def predict(x: int) -> int:
        return x + 1

    infertel.configure(exporter="local", local_dir=tmp_path, enabled=False)
    assert predict(1) == 2
    infertel.shutdown(timeout=5)
    assert not list(tmp_path.rglob("traces/*.jsonl"))

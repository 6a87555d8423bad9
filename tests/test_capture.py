"""Declared capture takes independent snapshots and never touches the caller's objects."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pydantic

import infertel
from infertel import conventions as c
from infertel.hotpath._capture import snapshot
from infertel.testing import capture_telemetry


@dataclass
class Features:
    values: list[float]
    meta: dict[str, str] = field(default_factory=dict)


class Request(pydantic.BaseModel):
    amount: float
    tags: list[str]


def test_mutation_after_return_is_not_seen() -> None:
    @infertel.traced_inference(inputs={"payload": "keep"}, outputs={"return": "keep"})
    def predict(payload: dict) -> list[int]:
        return [1, 2]

    payload = {"rows": [1, 2, 3], "meta": {"k": "v"}}
    with capture_telemetry() as captured:
        result = predict(payload)
        payload["rows"].append(99)
        payload["meta"]["k"] = "changed"
        result.append(3)
        [log] = [r.log_record for r in captured.logs() if r.log_record.event_name == "inference"]
    assert log.body["inputs"]["payload"] == {"rows": [1, 2, 3], "meta": {"k": "v"}}
    assert log.body["outputs"]["return"] == [1, 2]


def test_capture_never_mutates_the_callers_objects() -> None:
    @infertel.traced_inference(inputs={"features": "keep", "request.tags": "keep"})
    def predict(features: Features, request: Request) -> None:
        return None

    features = Features([1.0, 2.0], {"source": "app"})
    request = Request(amount=3.0, tags=["a"])
    before = (copy.deepcopy(features), request.model_copy(deep=True))
    with capture_telemetry() as captured:
        predict(features, request)
        [span] = captured.spans()
    assert (features, request) == before
    assert span.attributes[c.INPUT_PREFIX + "request.tags"] == '["a"]'
    assert '"values":[1.0,2.0]' in span.attributes[c.INPUT_PREFIX + "features"]


def test_snapshot_shapes() -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise AssertionError("repr must never be called: it could hold anything")

    assert snapshot(Request(amount=1.5, tags=["x"])) == {"amount": 1.5, "tags": ["x"]}
    assert snapshot(Features([1.0])) == {"values": [1.0], "meta": {}}
    assert snapshot((1, {2})) == [1, [2]]
    assert snapshot(Opaque()) == "<Opaque>"
    assert len(snapshot(list(range(5000)))) == 1000
    nested: list = []
    cursor = nested
    for _ in range(20):
        cursor.append([])
        cursor = cursor[0]
    assert "<max depth>" in str(snapshot(nested))


def test_numpy_arrays_are_summarised_never_dumped() -> None:
    import numpy as np

    from infertel._record import ArraySnapshot

    phones = np.array([[4155550123, 4155550199], [4155550100, 4155550111]], dtype=np.int64)
    captured = snapshot(phones)
    assert isinstance(captured, ArraySnapshot)
    phones[0, 0] = 0  # later mutation cannot reach the snapshot
    summary = captured.summary()
    assert (summary["shape"], summary["dtype"]) == ([2, 2], "int64")
    assert (summary["min"], summary["max"]) == (4155550100, 4155550199)
    big = snapshot(np.zeros(10_000)).summary()
    assert (big["sampled"], big["shape"]) == (ArraySnapshot.MAX_VALUES, [10_000])
    assert snapshot(np.float32(0.5)) == 0.5


def test_array_inputs_leave_as_summaries_with_digit_runs_scrubbed() -> None:
    import numpy as np

    @infertel.traced_inference(inputs={"features": "keep"})
    def predict(features: object) -> int:
        return 1

    with capture_telemetry() as captured:
        predict(np.array([4111111111111111, 4111111111111111], dtype=np.int64))
        [span] = captured.spans()
    exported = span.attributes[c.INPUT_PREFIX + "features"]
    assert "4111111111111111" not in exported
    assert '"shape":[2]' in exported


def test_missing_path_is_skipped_not_an_error() -> None:
    @infertel.traced_inference(inputs={"req.absent.deeper": "keep"}, outputs={"nope": "keep"})
    def predict(req: dict) -> dict:
        return {}

    with capture_telemetry() as captured:
        predict({})
        [span] = captured.spans()
    assert not any(k.startswith((c.INPUT_PREFIX, c.OUTPUT_PREFIX)) for k in span.attributes)

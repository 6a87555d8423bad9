"""What each call exports: span attributes, metric names and attributes, correlated logs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace

import infertel
from infertel import conventions as c
from infertel.privacy._policy import PrivacyPolicy
from infertel.testing import capture_telemetry


def test_inference_log_record_is_correlated_with_the_span(model: infertel.ModelInfo) -> None:
    @infertel.traced_inference(inputs={"x": "keep"}, outputs={"return": "keep"})
    def predict(x: int) -> int:
        return x * 3

    with capture_telemetry(model=model) as captured:
        predict(2)
        [span] = captured.spans()
        logs = [r.log_record for r in captured.logs()]
    [record] = [r for r in logs if r.event_name == c.EVENT_INFERENCE]
    assert record.trace_id == span.context.trace_id
    assert record.span_id == span.context.span_id
    assert record.body == {"event": "inference", "inputs": {"x": 2}, "outputs": {"return": 6}}
    assert record.attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_SUCCESS
    assert record.attributes[c.DURATION] >= 0


def test_user_logs_inside_a_call_carry_its_trace_and_span_ids() -> None:
    log = infertel.get_logger("service", component="scorer")

    @infertel.traced_inference
    def predict(x: int) -> int:
        log.info("scoring", rows=x)
        return x

    with capture_telemetry() as captured:
        predict(5)
        [span] = captured.spans()
        [user] = [r.log_record for r in captured.logs() if r.log_record.body == "scoring"]
    assert user.trace_id == span.context.trace_id
    assert user.span_id == span.context.span_id
    assert user.attributes["rows"] == 5
    assert user.attributes["component"] == "scorer"
    assert user.severity_text == "INFO"


def test_logger_exception_records_the_exception_fields() -> None:
    log = infertel.get_logger()
    with capture_telemetry() as captured:
        try:
            raise KeyError("missing feature")
        except KeyError:
            log.exception("lookup failed")
        [record] = [r.log_record for r in captured.logs() if r.log_record.body == "lookup failed"]
    assert record.attributes[c.EXCEPTION_TYPE] == "KeyError"
    assert "missing feature" in record.attributes[c.EXCEPTION_MESSAGE]
    assert record.severity_text == "ERROR"


def test_nested_opentelemetry_spans_are_children_of_the_inference_span() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    inner_exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(inner_exporter))
    tracer = provider.get_tracer("feature-store")

    @infertel.traced_inference
    def predict() -> None:
        with tracer.start_as_current_span("fetch-features"):
            pass

    with capture_telemetry() as captured:
        with tracer.start_as_current_span("http-request") as outer:
            predict()
        [ours] = captured.spans()
    inner = {s.name: s for s in inner_exporter.get_finished_spans()}
    assert ours.parent is not None
    assert ours.parent.span_id == outer.get_span_context().span_id
    assert ours.context.trace_id == outer.get_span_context().trace_id
    assert inner["fetch-features"].parent.span_id == ours.context.span_id


def test_metrics_use_conventional_names_and_only_allowlisted_attributes(
    model: infertel.ModelInfo,
) -> None:
    @infertel.traced_inference(ring="canary", segment="gold", inputs={"user_id": "keep"},
                               outputs={"return": "keep"})
    def predict(user_id: str, fail: bool) -> float:
        if fail:
            raise ValueError("nope")
        return 0.75

    with capture_telemetry(model=model) as captured:
        predict("u-123", False)
        predict("u-456", False)
        with pytest.raises(ValueError, match="nope"):
            predict("u-789", True)
        requests = captured.metric_points(c.METRIC_REQUESTS)
        durations = captured.metric_points(c.METRIC_DURATION)
        errors = captured.metric_points(c.METRIC_ERRORS)
        predictions = captured.metric_points(c.METRIC_PREDICTION_VALUE)
    assert sum(p.value for p in requests) == 3
    assert sum(p.count for p in durations) == 3
    assert sum(p.value for p in errors) == 1
    assert sum(p.count for p in predictions) == 2
    assert predictions[0].sum == 1.5
    for point in [*requests, *durations, *errors, *predictions]:
        keys = set(point.attributes)
        assert keys <= c.METRIC_ATTRIBUTE_ALLOWLIST, keys - c.METRIC_ATTRIBUTE_ALLOWLIST
        assert not any("u-" in str(v) for v in point.attributes.values())
    [error_point] = errors
    assert error_point.attributes[c.ERROR_TYPE] == "ValueError"
    assert error_point.attributes[c.MODEL_VERSION] == "2.3.1"


def test_duration_exemplars_link_to_the_trace() -> None:
    @infertel.traced_inference
    def predict() -> None:
        return None

    with capture_telemetry() as captured:
        predict()
        [span] = captured.spans()
        [point] = captured.metric_points(c.METRIC_DURATION)
    trace_ids = {e.trace_id for e in point.exemplars}
    assert span.context.trace_id in trace_ids


def test_segment_cardinality_is_bounded_with_an_overflow_bucket() -> None:
    @infertel.traced_inference(segment=lambda s: s)
    def predict(s: str) -> None:
        return None

    with capture_telemetry(privacy=PrivacyPolicy(segment_limit=3)) as captured:
        for i in range(10):
            predict(f"seg{i}")
        segments = {p.attributes[c.SEGMENT] for p in captured.metric_points(c.METRIC_REQUESTS)}
    assert segments == {"seg0", "seg1", "seg2", c.SEGMENT_OVERFLOW}


def test_resource_carries_provenance_and_deployment_event_is_logged(tmp_path) -> None:
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"weights")
    info = infertel.ModelInfo.from_artifact(artifact, name="m", version="9", dataset_version="d1",
                                            code_version="abc123", params={"C": 1.0})

    @infertel.traced_inference
    def predict() -> None:
        return None

    with capture_telemetry(model=info) as captured:
        predict()
        [span] = captured.spans()
        logs = [r.log_record for r in captured.logs()]
    resource = span.resource.attributes
    assert resource[c.MODEL_ARTIFACT_DIGEST] == info.artifact_digest
    assert resource[c.DATASET_VERSION] == "d1"
    assert resource[c.VCS_REVISION] == "abc123"
    assert resource[c.MODEL_PARAMS_HASH].startswith("sha256:")
    [deployment] = [r for r in logs if r.event_name == c.EVENT_DEPLOYMENT]
    assert deployment.body[c.MODEL_ARTIFACT_DIGEST] == info.artifact_digest
    assert deployment.attributes[c.MODEL_VERSION] == "9"
    assert deployment.timestamp <= span.start_time  # stamped at configure(), not when exported


def test_sampler_decision_is_respected(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")

    @infertel.traced_inference
    def predict() -> int:
        from opentelemetry import trace as t
        return int(t.get_current_span().get_span_context().trace_flags.sampled)

    with capture_telemetry() as captured:
        assert predict() == 0
        assert captured.spans() == []
        # Metrics and logs still count every call.
        assert sum(p.value for p in captured.metric_points(c.METRIC_REQUESTS)) == 1
    assert not trace.get_current_span().get_span_context().is_valid


def test_batch_scores_feed_the_prediction_histogram() -> None:
    @infertel.traced_inference(batch=True)
    def score(rows: list[int]) -> list[float]:
        return [0.1, 0.9, 0.5]

    with capture_telemetry() as captured:
        score([1, 2, 3])
        [point] = captured.metric_points(c.METRIC_PREDICTION_VALUE)
    assert point.count == 3
    assert point.sum == pytest.approx(1.5)


def test_stream_outputs_apply_to_each_item() -> None:
    @infertel.traced_inference(outputs={"token": "keep"})
    def stream() -> Iterator[dict]:
        yield {"token": "a"}
        yield {"token": "b"}

    with capture_telemetry() as captured:
        assert len(list(stream())) == 2
        [log] = [r.log_record for r in captured.logs() if r.log_record.event_name == "inference"]
    assert log.body["outputs"] == {"token": ["a", "b"]}


def test_ring_comes_from_configuration_unless_the_decorator_names_one() -> None:
    @infertel.traced_inference
    def default_ring() -> None:
        return None

    @infertel.traced_inference(ring="shadow")
    def shadow() -> None:
        return None

    with capture_telemetry(ring="canary") as captured:
        default_ring()
        shadow()
        rings = sorted(s.attributes[c.DEPLOYMENT_RING] for s in captured.spans())
    assert rings == ["canary", "shadow"]


def test_nested_spans_keep_flowing_after_a_second_configure(tmp_path) -> None:
    import json

    tracer = trace.get_tracer("library")

    @infertel.traced_inference(name="predict")
    def predict() -> None:
        with tracer.start_as_current_span("nested.work"):
            pass

    for run in ("first", "second"):
        store = tmp_path / run
        infertel.configure(local_dir=store)
        predict()
        assert infertel.shutdown(timeout=10)
        names = {s["name"] for f in (store / "traces").glob("*.jsonl")
                 for line in f.read_text().splitlines()
                 for rs in json.loads(line)["resourceSpans"]
                 for ss in rs["scopeSpans"] for s in ss["spans"]}
        assert names == {"nested.work", "predict"}, run

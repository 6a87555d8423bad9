"""Telemetry never breaks inference: bounded queue, swallowed internal errors, shutdown deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

import infertel
from infertel import conventions as c
from infertel.testing import capture_telemetry


def test_queue_overflow_drops_and_counts_without_blocking() -> None:
    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    release = threading.Event()
    with capture_telemetry(queue_size=5) as captured:
        worker = captured.telemetry.worker
        worker.submit(lambda: release.wait(10))  # occupy the worker
        time.sleep(0.05)
        start = time.monotonic()
        results = [predict(i) for i in range(50)]
        elapsed = time.monotonic() - start
        release.set()
        spans = captured.spans()
        dropped = worker.dropped()
        [point] = captured.metric_points(c.METRIC_QUEUE_DROPPED)
    assert results == list(range(50))
    assert elapsed < 5, "the serving thread blocked on a full queue"
    assert dropped["queue_full"] >= 45
    assert len(spans) + dropped["queue_full"] == 50
    assert point.attributes[c.DROP_REASON] == "queue_full"
    assert point.value == dropped["queue_full"]


def test_internal_failure_on_the_hot_path_does_not_reach_the_caller() -> None:
    class BrokenIds:
        def generate_trace_id(self) -> int:
            raise RuntimeError("id generator broke")

        generate_span_id = generate_trace_id

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x + 1

    with capture_telemetry(raise_internal_errors=False) as captured:
        captured.telemetry.id_generator = BrokenIds()  # type: ignore[assignment]
        assert predict(1) == 2
        assert captured.telemetry.internal_errors == 1
        assert captured.spans() == []


def test_internal_failure_in_the_background_is_counted_not_raised() -> None:
    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    with capture_telemetry(raise_internal_errors=False) as captured:
        class BrokenBuilder:
            def build(self, call: object) -> None:
                raise RuntimeError("span builder broke")

        captured.telemetry._processor.spans = BrokenBuilder()  # type: ignore[assignment]
        assert predict(3) == 3
        captured.flush()
        assert captured.telemetry.internal_errors == 1
        [point] = captured.metric_points(c.METRIC_INTERNAL_ERRORS)
        assert point.value == 1


def test_failing_segment_function_does_not_fail_the_call() -> None:
    @infertel.traced_inference(segment=lambda x: x.tier)
    def predict(x: int) -> int:
        return x

    with capture_telemetry() as captured:
        assert predict(7) == 7
        [span] = captured.spans()
        assert captured.telemetry.callback_errors == 1
        assert captured.telemetry.internal_errors == 0
    assert span.attributes[c.SEGMENT] == c.SEGMENT_UNKNOWN


def test_exporter_that_raises_is_contained_and_counted(tmp_path) -> None:
    from opentelemetry.sdk.trace.export import SpanExporter

    from infertel.config import resolve_settings
    from infertel.export._setup import Exporters

    class Exploding(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            raise ConnectionError("backend down")

    @infertel.traced_inference
    def predict() -> str:
        return "ok"

    telemetry = infertel.Telemetry(resolve_settings(exporter="none"), None,
                                   exporters=Exporters(Exploding(), None, None))
    from infertel.pipeline import _lifecycle as _runtime

    _runtime.install(telemetry)
    assert [predict() for _ in range(3)] == ["ok"] * 3
    telemetry.flush(timeout=5)
    assert telemetry.worker.dropped().get("export_failed", 0) == 3


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: the worst kind of backend."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    port = server.getsockname()[1]
    yield port
    server.close()


@pytest.mark.integration
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_shutdown_returns_within_its_deadline_when_the_endpoint_hangs(
    blackhole_port: int, protocol: str,
) -> None:
    infertel.configure(exporter="otlp", otlp_endpoint=f"http://127.0.0.1:{blackhole_port}",
                       otlp_protocol=protocol, export_timeout_s=30)  # type: ignore[arg-type]

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    assert [predict(i) for i in range(200)] == list(range(200))
    start = time.monotonic()
    finished = infertel.shutdown(timeout=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0, f"shutdown took {elapsed:.2f}s with a 1s deadline"
    assert finished is False  # the export could not complete against a silent endpoint


@pytest.mark.integration
def test_shutdown_with_unreachable_endpoint_closed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    infertel.configure(exporter="otlp", otlp_endpoint=f"http://127.0.0.1:{port}",
                       otlp_protocol="grpc", export_timeout_s=30)

    @infertel.traced_inference
    def predict() -> None:
        return None

    predict()
    start = time.monotonic()
    infertel.shutdown(timeout=1.5)
    assert time.monotonic() - start < 2.5


def test_configure_replaces_the_previous_default(tmp_path) -> None:
    first = infertel.configure(exporter="none")
    second = infertel.configure(exporter="none")
    from infertel.pipeline import _lifecycle as _runtime

    assert _runtime.current() is second
    assert first.enabled is False


def test_dropped_counts_are_public_and_shutdown_warns(caplog: pytest.LogCaptureFixture) -> None:
    @infertel.traced_inference
    def predict() -> None:
        return None

    release = threading.Event()
    with capture_telemetry(queue_size=1) as captured:
        captured.telemetry.worker.submit(lambda: release.wait(10))
        time.sleep(0.05)
        for _ in range(5):
            predict()
        release.set()
        captured.flush()
        lost = captured.telemetry.dropped()
    assert lost["queue_full"] >= 3
    assert any("dropped" in r.getMessage() for r in caplog.records)

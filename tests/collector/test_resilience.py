"""The collector dies mid-run: the service neither fails nor slows, losses are counted, and
export resumes once a collector is back on the same port."""

from __future__ import annotations

import os
import signal
import statistics
import time

import pytest
from collector_helpers import Collector, wait_for
from opentelemetry import trace

import infertel
from infertel.tools import _collector

pytestmark = pytest.mark.integration

EXPORT_TIMEOUT_S = 1.0
CALLS_WHILE_DOWN = 300


def test_service_survives_a_killed_collector(collector: Collector) -> None:
    telemetry = infertel.configure(
        service_name="resilient-service", exporter="otlp",
        otlp_endpoint=collector.endpoint("http/protobuf"), otlp_protocol="http/protobuf",
        export_timeout_s=EXPORT_TIMEOUT_S, metric_interval_s=0.5,
    )
    seen: list[str] = []

    @infertel.traced_inference(name="resilient_predict", inputs={"x": "keep"})
    def predict(x: int) -> int:
        seen.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))
        return x * 2

    # 1. Collector up: telemetry arrives.
    for i in range(5):
        assert predict(i) == 2 * i
    assert telemetry.flush(timeout=5.0)
    before = set(seen)
    wait_for(lambda: before <= collector.trace_ids(), what="traces sent while the collector ran")

    # 2. Kill it (no goodbye), then keep serving.
    _kill(collector)
    latencies = []
    for i in range(CALLS_WHILE_DOWN):
        started = time.perf_counter()
        assert predict(i) == 2 * i  # calls succeed...
        latencies.append(time.perf_counter() - started)
    # ...and stay fast: export happens in the background, never on the calling thread.
    assert statistics.median(latencies) < 0.005, statistics.median(latencies)
    assert max(latencies) < EXPORT_TIMEOUT_S / 2, max(latencies)
    # The worker keeps up (nothing dropped for a full queue) and counts what export lost.
    wait_for(lambda: telemetry.dropped().get("export_failed", 0) > 0,
             timeout=6 * EXPORT_TIMEOUT_S, what="failed exports to be counted")
    telemetry.flush(timeout=4 * EXPORT_TIMEOUT_S)
    assert telemetry.dropped().get("queue_full", 0) == 0, telemetry.dropped()

    # 3. A collector is back on the same ports: export resumes.
    collector.start()
    del seen[:]
    for i in range(5):
        assert predict(i) == 2 * i
    after = set(seen)
    deadline = time.monotonic() + 15.0
    while not after <= collector.trace_ids():
        assert time.monotonic() < deadline, "no new spans arrived after the restart"
        telemetry.flush(timeout=2 * EXPORT_TIMEOUT_S)
        time.sleep(0.2)
    lost_while_down = telemetry.dropped()["export_failed"]
    assert lost_while_down > 0

    # shutdown() keeps its deadline whatever the backend does.
    started = time.monotonic()
    infertel.shutdown(timeout=2.0)
    assert time.monotonic() - started < 2.5


def test_shutdown_keeps_its_deadline_while_the_collector_is_down(collector: Collector) -> None:
    telemetry = infertel.configure(
        service_name="resilient-service", exporter="otlp",
        otlp_endpoint=collector.endpoint("grpc"), otlp_protocol="grpc",
        export_timeout_s=5.0, metric_interval_s=0.5,
    )

    @infertel.traced_inference(name="resilient_predict")
    def predict(x: int) -> int:
        return x + 1

    _kill(collector)
    for i in range(50):
        assert predict(i) == i + 1
    started = time.monotonic()
    infertel.shutdown(timeout=1.5)  # export timeout (5 s) is longer than the deadline
    assert time.monotonic() - started < 2.0
    assert sum(telemetry.dropped().values()) > 0  # what could not be sent is counted


def _kill(collector: Collector) -> None:
    """SIGKILL rotel (a crash: no shutdown, no flush) and wait until its port is closed."""
    assert collector.state is not None
    pid = collector.state.pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _collector.alive(pid), timeout=5.0, what="rotel to die")
    assert not _collector.port_open("127.0.0.1", collector.http_port)

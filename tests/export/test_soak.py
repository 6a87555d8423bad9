"""Long fault tests (``make soak``): a minutes-long collector outage under steady load with the
spool on (nothing lost) and with a spool too small for it (the oldest batches go first, and
exactly what was evicted is missing), against the real local collector."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from opentelemetry import trace
from real_collector import RealCollector, attribute, wait_for

import infertel

pytestmark = [pytest.mark.soak, pytest.mark.integration, pytest.mark.timeout(900)]
RATE = 200  # calls per second
OUTAGE_S = 90


@pytest.fixture
def collector(tmp_path: Path) -> RealCollector:
    running = RealCollector(tmp_path / "collector")
    try:
        yield running
    finally:
        running.stop()


def _paced(seconds: float, produced: list[str]) -> None:
    @infertel.traced_inference(name="soak_predict")
    def predict(x: int) -> int:
        produced.append(format(trace.get_current_span().get_span_context().span_id, "016x"))
        return x

    start = time.monotonic()
    n = 0
    while (elapsed := time.monotonic() - start) < seconds:
        target = int(elapsed * RATE)
        while n < target:
            predict(n)
            n += 1
        time.sleep(0.005)


def _outage(collector: RealCollector, produced: list[str]) -> None:
    collector.start()
    _paced(10, produced)
    collector.kill()
    _paced(OUTAGE_S, produced)
    collector.start()
    _paced(10, produced)


def test_long_outage_with_the_spool_loses_nothing(collector: RealCollector,
                                                  tmp_path: Path) -> None:
    telemetry = infertel.configure(exporter="otlp", otlp_endpoint=collector.url,
                                   spool_dir=tmp_path / "spool", export_timeout_s=2.0,
                                   metric_interval_s=5.0)
    produced: list[str] = []
    _outage(collector, produced)
    telemetry.flush(timeout=30.0)
    assert telemetry.spool.drain(timeout=120.0)
    assert infertel.shutdown(timeout=30.0)
    wait_for(lambda: set(collector.span_ids()) >= set(produced), 60, "every span")
    wait_for(lambda: {r.get("spanId") for r in collector.log_records()} >= set(produced), 60,
             "every log record")
    logs = collector.log_records()
    assert len({attribute(r, "log.record.uid") for r in logs}) == len(produced)
    assert telemetry.dropped() == {}


def test_long_outage_with_a_small_spool_evicts_oldest_first_and_counts_it(
        collector: RealCollector, tmp_path: Path) -> None:
    telemetry = infertel.configure(exporter="otlp", otlp_endpoint=collector.url,
                                   spool_dir=tmp_path / "spool", spool_max_bytes=2 * 1024 * 1024,
                                   export_timeout_s=2.0, metrics_exporter="none")
    produced: list[str] = []
    _outage(collector, produced)
    telemetry.flush(timeout=30.0)
    assert telemetry.spool.drain(timeout=120.0)
    assert infertel.shutdown(timeout=30.0)
    time.sleep(2.0)
    status = telemetry.export_status.snapshot()
    evicted = status["traces"]["dropped"].get("spool_evicted", 0)
    assert evicted > 0
    spans = set(collector.span_ids())
    assert len(spans) + evicted == len(produced)
    # The oldest batches went first: what is missing is one unbroken stretch of the outage.
    order = {span_id: i for i, span_id in enumerate(produced)}
    missing = sorted(order[s] for s in set(produced) - spans)
    assert not [s for s in spans if missing[0] < order[s] < missing[-1]]
    assert set(status["logs"]["dropped"]) <= {"spool_evicted"}

"""Fault tests against the real local collector (rotel) and a deliberately bad endpoint: the
collector absent at start, killed mid-run, restarted, slow (5 s per request), answering errors;
the process SIGKILLed while the spool holds data, then restarted.

With the spool, every span and inference log record arrives (duplicates carry the same span id
or ``log.record.uid``); without it, what arrived plus what was counted as lost is exactly what
was produced. Timing limits live in benchmarks/bench_outage.py, not here.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fake_otlp import attribute as pb_attribute
from fake_otlp import fake_otlp
from opentelemetry import trace
from real_collector import RealCollector, attribute, wait_for

import infertel

pytestmark = pytest.mark.integration
UID = "log.record.uid"


@pytest.fixture
def collector(tmp_path: Path) -> RealCollector:
    running = RealCollector(tmp_path / "collector")
    try:
        yield running
    finally:
        running.stop()


def _service(n: int, produced: list[str]) -> None:
    @infertel.traced_inference(name="fault_predict")
    def predict(x: int) -> int:
        produced.append(format(trace.get_current_span().get_span_context().span_id, "016x"))
        return x

    for i in range(n):
        assert predict(i) == i  # never an exception to the caller


def _log_span_ids(records: list[dict]) -> list[str]:
    return [r["spanId"] for r in records if r.get("spanId")]


def _wait_written(collector: RealCollector, produced: list[str]) -> None:
    """The collector's file sink writes after answering: give it a moment."""
    wait_for(lambda: set(_log_span_ids(collector.log_records())) >= set(produced)
             and set(collector.span_ids()) >= set(produced), 15, "the collector's files")


def _assert_all_delivered_marked(collector: RealCollector, produced: list[str]) -> None:
    _wait_written(collector, produced)
    spans = collector.span_ids()
    assert set(spans) == set(produced)
    logs = collector.log_records()
    assert set(_log_span_ids(logs)) == set(produced)
    # Every log record carries a uid; copies of one record share it, distinct records do not.
    by_uid = collections.defaultdict(set)
    for record in logs:
        uid = attribute(record, UID)
        assert uid, record
        by_uid[uid].add(record["spanId"])
    assert all(len(span_ids) == 1 for span_ids in by_uid.values())
    assert len(by_uid) == len(produced)


def test_collector_absent_at_start_then_started(collector: RealCollector,
                                                tmp_path: Path) -> None:
    telemetry = infertel.configure(exporter="otlp", otlp_endpoint=collector.url,
                                   spool_dir=tmp_path / "spool", export_timeout_s=1.0,
                                   metric_interval_s=0.5)
    produced: list[str] = []
    _service(200, produced)
    assert not telemetry.flush(timeout=1.0)  # nothing can be delivered yet...
    held = telemetry.spool.stats()
    assert held["records"] >= 200  # ...but it is all on disk
    assert telemetry.dropped() == {}
    collector.start()
    assert telemetry.flush(timeout=10.0)
    assert telemetry.spool.drain(timeout=30.0)
    assert infertel.shutdown(timeout=10.0)
    _assert_all_delivered_marked(collector, produced)
    assert telemetry.spool.stats()["batches"] == 0
    assert telemetry.dropped() == {}


def test_collector_killed_mid_run_and_restarted(collector: RealCollector,
                                                tmp_path: Path) -> None:
    collector.start()
    telemetry = infertel.configure(exporter="otlp", otlp_endpoint=collector.url,
                                   spool_dir=tmp_path / "spool", export_timeout_s=1.0,
                                   metric_interval_s=0.5)
    produced: list[str] = []
    _service(100, produced)
    assert telemetry.flush(timeout=10.0)
    # rotel answers before its file sink writes: what it holds unwritten dies with it (the
    # collector's own loss, out of the SDK's reach), so let it write before the kill.
    _wait_written(collector, produced)
    collector.kill()
    _service(100, produced)
    telemetry.flush(timeout=2.0)
    assert telemetry.spool.stats()["records"] >= 100
    collector.start()
    _service(100, produced)
    assert telemetry.flush(timeout=10.0)
    assert telemetry.spool.drain(timeout=30.0)
    assert infertel.shutdown(timeout=10.0)
    _assert_all_delivered_marked(collector, produced)
    assert telemetry.dropped() == {}


def test_without_spool_delivered_plus_counted_is_exactly_produced(
        collector: RealCollector) -> None:
    collector.start()
    telemetry = infertel.configure(exporter="otlp", otlp_endpoint=collector.url,
                                   export_timeout_s=1.0, metric_interval_s=60)
    produced: list[str] = []
    for phase in ("up", "killed", "restarted"):
        if phase == "killed":
            collector.kill()
        elif phase == "restarted":
            collector.start()
        for _ in range(5):
            _service(20, produced)
            telemetry.flush(timeout=3.0)
            time.sleep(0.2)
    assert infertel.shutdown(timeout=10.0) in (True, False)
    time.sleep(0.5)  # the collector's file sink writes asynchronously
    status = telemetry.export_status.snapshot()
    spans, logs = collector.span_ids(), _log_span_ids(collector.log_records())
    assert len(spans) == len(set(spans))  # no spool: nothing is sent twice
    lost_spans = sum(status["traces"]["dropped"].values())
    lost_logs = sum(status["logs"]["dropped"].values())
    assert lost_spans > 0  # the outage did cost something, and it was counted...
    assert len(spans) + lost_spans == len(produced) == 300  # ...exactly
    assert len(logs) + lost_logs == 300
    assert set(status["traces"]["dropped"]) == {"export_failed"}
    assert telemetry.dropped()["export_failed"] >= lost_spans + lost_logs


def test_slow_endpoint_is_given_up_on_and_spooled_then_delivered(tmp_path: Path) -> None:
    with fake_otlp() as endpoint:
        endpoint.behaviour.delay_s = 5.0
        telemetry = infertel.configure(exporter="otlp", otlp_endpoint=endpoint.url,
                                       spool_dir=tmp_path / "spool", export_timeout_s=0.5,
                                       metrics_exporter="none")
        produced: list[str] = []
        _service(150, produced)
        telemetry.flush(timeout=2.0)
        # The worker did not wait 5 s per batch: everything is handed over and nothing was
        # dropped for a full queue.
        assert telemetry.worker.pending() == 0
        assert telemetry.dropped() == {}
        endpoint.behaviour.delay_s = 0.0
        telemetry.flush(timeout=10.0)
        assert telemetry.spool.drain(timeout=30.0)
        assert infertel.shutdown(timeout=10.0)
        spans = endpoint.span_ids()
        assert set(spans) == set(produced)
        records = endpoint.log_records()
        uids = collections.Counter(pb_attribute(r, UID) for r in records)
        assert len(uids) == len(produced)
        # The slow endpoint took batches the client had given up on: those arrived twice,
        # with the same span ids and log uids, so a reader can drop the copies.
        assert len(spans) + len(records) > 2 * len(produced)


@pytest.mark.parametrize("spool", [True, False])
def test_endpoint_answering_errors(tmp_path: Path, spool: bool) -> None:
    with fake_otlp() as endpoint:
        endpoint.behaviour.fail_next = 6  # 503s, then fine
        telemetry = infertel.configure(
            exporter="otlp", otlp_endpoint=endpoint.url, metrics_exporter="none",
            spool_dir=tmp_path / "spool" if spool else None, export_timeout_s=1.0)
        produced: list[str] = []
        for _ in range(10):
            _service(20, produced)
            telemetry.flush(timeout=5.0)
        if spool:
            assert telemetry.spool.drain(timeout=30.0)
        infertel.shutdown(timeout=10.0)
        status = telemetry.export_status.snapshot()
        delivered = len(endpoint.span_ids())
        if spool:
            assert set(endpoint.span_ids()) == set(produced)
            assert status["traces"]["dropped"] == {}
        else:
            assert status["traces"]["dropped"]["export_failed"] > 0
            assert delivered + status["traces"]["dropped"]["export_failed"] == len(produced)


def test_permanent_refusal_is_counted_not_spooled(tmp_path: Path) -> None:
    with fake_otlp() as endpoint:
        endpoint.behaviour.status["traces"] = 400
        telemetry = infertel.configure(exporter="otlp", otlp_endpoint=endpoint.url,
                                       metrics_exporter="none", spool_dir=tmp_path / "spool")
        produced: list[str] = []
        _service(30, produced)
        telemetry.flush(timeout=5.0)
        assert telemetry.export_status.snapshot()["traces"]["dropped"] == {"export_rejected": 30}
        assert "traces" not in telemetry.spool.stats()["by_signal"]
        infertel.shutdown(timeout=5.0)


_CHILD = textwrap.dedent("""
    import sys, time
    import infertel
    from opentelemetry import trace

    url, spool, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    telemetry = infertel.configure(exporter="otlp", otlp_endpoint=url, spool_dir=spool,
                                   export_timeout_s=10.0, metrics_exporter="none")

    @infertel.traced_inference(name="killed_predict")
    def predict(x):
        print("SPAN", format(trace.get_current_span().get_span_context().span_id, "016x"))
        return x

    for i in range(calls):
        predict(i)
    telemetry.flush(timeout=2.0)
    while telemetry.spool.stats()["records"] < 2 * calls:
        time.sleep(0.05)
    print("SPOOLED", flush=True)
    if calls:
        time.sleep(600)  # until killed
    ok = telemetry.spool.drain(timeout=60.0)
    print("DRAINED", ok, telemetry.spool.stats()["batches"], flush=True)
    infertel.shutdown(timeout=5.0)
""")


def test_sigkill_while_the_spool_holds_data_then_restart(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with fake_otlp() as endpoint:
        endpoint.behaviour.status.update(traces=503, logs=503)
        child = subprocess.Popen([sys.executable, "-c", _CHILD, endpoint.url, str(spool), "300"],
                                 stdout=subprocess.PIPE, text=True)
        try:
            produced = []
            assert child.stdout is not None
            for line in child.stdout:
                if line.startswith("SPAN"):
                    produced.append(line.split()[1])
                elif line.startswith("SPOOLED"):
                    break
            assert len(produced) == 300
            # The collector comes back but answers slowly: the replayer's request is taken,
            # and the process is killed before the answer, so the batch stays in the spool.
            endpoint.behaviour.delay_s = 10.0
            endpoint.behaviour.status.update(traces=200, logs=200)
            wait_for(lambda: endpoint.accepted["traces"] or endpoint.accepted["logs"], 30,
                     "the replayer's first request")
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=10) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)
            if child.stdout is not None:
                child.stdout.close()
        endpoint.behaviour.delay_s = 0.0
        restarted = subprocess.run(
            [sys.executable, "-c", _CHILD, endpoint.url, str(spool), "0"],
            capture_output=True, text=True, timeout=120, check=False)
        assert restarted.returncode == 0, restarted.stderr[-2000:]
        assert "DRAINED True 0" in restarted.stdout
        spans = endpoint.span_ids()
        records = endpoint.log_records()
    # Everything the killed process had spooled arrived...
    assert set(spans) == set(produced)
    assert {r.span_id.hex() for r in records} == set(produced)
    # ...the batch in flight at the kill arrived twice, and the copies are marked as such.
    assert len(spans) + len(records) > 2 * len(produced)
    uids = collections.defaultdict(set)
    for record in records:
        uids[pb_attribute(record, UID)].add(record.span_id.hex())
    assert len(uids) == len(produced)
    assert all(len(span_ids) == 1 for span_ids in uids.values())


def test_received_log_uid_survives_the_collector(collector: RealCollector,
                                                 tmp_path: Path) -> None:
    """The collector's own scrubbing layer leaves the dedupe key alone."""
    collector.start()
    infertel.configure(exporter="otlp", otlp_endpoint=collector.url, spool_dir=tmp_path / "s")
    _service(3, [])
    assert infertel.shutdown(timeout=10.0)
    wait_for(lambda: len(collector.log_records()) == 3, 15, "logs")
    uids = [attribute(r, UID) for r in collector.log_records()]
    assert all(isinstance(uid, str) and len(uid) > 24 for uid in uids)
    assert len(set(uids)) == 3


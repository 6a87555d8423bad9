"""Direct encoding (issue 12) keeps the export side's guarantees: what cannot be sent is
counted (never raised), the spool takes the encoded requests while the collector is away and
replays them (log records marked with ``log.record.uid``), and a local store that cannot be
written counts its loss."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from collector_helpers import Collector, free_port, wait_for

import infertel
from infertel import conventions as c
from infertel.export._encode import LOG_RECORD_UID

pytestmark = pytest.mark.integration


def _predict() -> Any:
    @infertel.traced_inference(inputs={"req.text": "redact"}, outputs={"score": "keep"})
    def predict(req: dict[str, Any]) -> dict[str, Any]:
        if req.get("fail"):
            raise ValueError(f"declined for {req['text']}")
        return {"score": 0.5}

    return predict


def test_an_unreachable_collector_costs_counted_records_only() -> None:
    port = free_port()  # nothing listens: connections are refused
    telemetry = infertel.configure(service_name="direct-down", exporter="otlp",
                                   otlp_endpoint=f"http://127.0.0.1:{port}",
                                   otlp_protocol="http/protobuf", export_timeout_s=1.0,
                                   raise_internal_errors=True)
    assert telemetry._processor.direct is not None
    predict = _predict()
    for i in range(20):
        with contextlib.suppress(ValueError):
            predict({"text": f"mail carol{i}@example.com", "fail": i % 4 == 0})
    telemetry.flush(timeout=10.0, metrics=False)
    status = telemetry.export_status.snapshot()
    assert status["traces"]["dropped"] == {"export_failed": 20}
    assert status["logs"]["dropped"].get("export_failed", 0) >= 20
    assert status["traces"]["exported_records"] == 0
    assert telemetry.dropped().get("export_failed", 0) >= 40
    assert telemetry.internal_errors == 0
    infertel.shutdown(timeout=5.0)


def test_the_spool_keeps_encoded_batches_and_replays_them(tmp_path: Path) -> None:
    http = free_port()
    grpc = free_port(exclude=(http,))
    telemetry = infertel.configure(service_name="direct-spool", exporter="otlp",
                                   otlp_endpoint=f"http://127.0.0.1:{http}",
                                   otlp_protocol="http/protobuf", export_timeout_s=1.0,
                                   spool_dir=tmp_path / "spool", metric_interval_s=3600,
                                   raise_internal_errors=True)
    assert telemetry._processor.direct is not None
    assert telemetry.spool is not None
    predict = _predict()
    for i in range(12):
        predict({"text": f"mail dan{i}@example.com"})
    telemetry.worker.flush(10.0)
    held = telemetry.spool.stats()
    assert held["by_signal"]["traces"]["records"] == 12  # nothing lost: kept on disk
    assert held["by_signal"]["logs"]["records"] >= 12
    assert telemetry.export_status.snapshot()["traces"]["dropped"] == {}

    collector = Collector(tmp_path / "collector", grpc, http)
    collector.start()
    try:
        wait_for(lambda: len(collector.trace_ids()) == 12, timeout=30.0,
                 what="the spooled spans replayed to the collector")
        assert infertel.shutdown(timeout=10.0)
        records = [record for doc in collector.documents("logs")
                   for block in doc["resourceLogs"] for scoped in block["scopeLogs"]
                   for record in scoped["logRecords"]
                   if record.get("eventName") == c.EVENT_INFERENCE]
        assert len(records) == 12
        uids = [next(a["value"]["stringValue"] for a in record["attributes"]
                     if a["key"] == LOG_RECORD_UID) for record in records]
        assert len(set(uids)) == 12  # one per record, the same in every copy of a batch
        raw = json.dumps(collector.documents("traces") + collector.documents("logs"))
        assert "example.com" not in raw
    finally:
        collector.stop()


def test_a_local_store_that_cannot_be_written_counts_its_loss(tmp_path: Path) -> None:
    store = tmp_path / "store"
    telemetry = infertel.configure(service_name="direct-local", exporter="local",
                                   local_dir=store, raise_internal_errors=True)
    assert telemetry._processor.direct is not None
    store.mkdir(parents=True, exist_ok=True)
    (store / "traces").write_text("a file where the traces folder should be")
    try:
        predict = _predict()
        for i in range(5):
            predict({"text": f"call {i}"})
        telemetry.flush(timeout=10.0, metrics=False)
        status = telemetry.export_status.snapshot()
        assert status["traces"]["dropped"] == {"export_failed": 5}
        assert status["traces"]["exported_records"] == 0
        assert status["logs"]["exported_records"] >= 5
        assert telemetry.internal_errors == 0
    finally:
        infertel.shutdown(timeout=5.0)

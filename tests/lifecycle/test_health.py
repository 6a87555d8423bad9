"""infertel.health(): the telemetry path's state for probes, and the same facts as metrics."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from lifecycle_helpers import read_store

import infertel
from infertel import conventions as c
from infertel.pipeline import _lifecycle
from infertel.testing import capture_telemetry

_EMAIL = "jane.doe@example.com"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_before_configure_health_says_not_configured() -> None:
    _lifecycle._installed = None
    health = infertel.health()
    assert health.ok is False
    assert health.reasons == ("not configured",)
    assert health.configured is False
    assert json.loads(json.dumps(health.as_dict()))["reasons"] == ["not configured"]


def test_healthy_local_pipeline_reports_exports_per_signal(tmp_path: Path) -> None:
    telemetry = infertel.configure(exporter="local", local_dir=tmp_path, queue_size=1234)

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    predict(1)
    before = time.time_ns()
    assert telemetry.flush(timeout=10) is True
    health = infertel.health()
    assert health.ok is True
    assert health.reasons == ()
    assert health.configured is True
    assert health.enabled is True
    assert health.worker_alive is True
    assert health.queue_capacity == 1234
    assert health.queue_depth == 0
    assert health.dropped == {}
    assert health.service_instance_id == telemetry.resource.attributes[c.SERVICE_INSTANCE_ID]
    assert set(health.exports) == {"traces", "logs", "metrics"}
    for signal in ("traces", "logs", "metrics"):
        facts = health.exports[signal]
        assert facts["last_success_unix_nano"] is not None, signal
        assert facts["last_success_unix_nano"] >= before - 10**9
        assert 0 <= facts["last_success_age_s"] < 10
        assert facts["consecutive_failures"] == 0
    assert health.redaction_child is not None  # the default policy offloads long strings
    assert health.spool is None
    json.dumps(health.as_dict())  # plain types only


def test_a_full_queue_and_its_drops_show_up(tmp_path: Path) -> None:
    telemetry = infertel.configure(exporter="local", local_dir=tmp_path, queue_size=10)

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    release = threading.Event()
    telemetry.worker.submit(lambda: release.wait(10))
    time.sleep(0.1)
    for i in range(25):
        predict(i)
    health = infertel.health()
    release.set()
    assert health.queue_depth >= 9
    assert health.ok is False
    assert any(reason.startswith("queue nearly full") for reason in health.reasons)
    assert health.dropped["queue_full"] == telemetry.dropped()["queue_full"] >= 15


@pytest.mark.integration
def test_failing_exports_make_health_not_ok() -> None:
    telemetry = infertel.configure(exporter="otlp",
                                   otlp_endpoint=f"http://127.0.0.1:{_closed_port()}",
                                   export_timeout_s=1.0)

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    for i in range(4):
        predict(i)
        telemetry.flush(timeout=3)
    health = infertel.health()
    assert health.ok is False
    assert any(reason.startswith("traces export failing") for reason in health.reasons)
    assert health.exports["traces"]["last_success_unix_nano"] is None
    assert health.exports["traces"]["consecutive_failures"] >= 1
    assert health.dropped.get("export_failed", 0) > 0


def test_after_shutdown_health_says_so() -> None:
    infertel.configure(exporter="none")
    infertel.shutdown(timeout=5)
    health = infertel.health()
    assert health.ok is False
    assert health.reasons == ("shut down",)
    assert health.shut_down is True
    assert health.worker_alive is False


def test_health_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    telemetry = infertel.configure(exporter="local", local_dir=tmp_path)

    class BrokenStatus:
        def snapshot(self) -> dict[str, object]:
            raise RuntimeError("status broke")

    monkeypatch.setattr(telemetry, "export_status", BrokenStatus())
    health = infertel.health()
    assert health.ok is False
    assert health.reasons == ("health check failed (RuntimeError)",)


def test_the_same_facts_are_self_metrics() -> None:
    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    release = threading.Event()
    with capture_telemetry(queue_size=50) as captured:
        captured.telemetry.worker.submit(lambda: release.wait(10))
        time.sleep(0.1)
        for i in range(5):
            predict(i)
        data = captured._metrics.get_metrics_data()  # collect while the records wait
        release.set()
    points = {metric.name: metric.data.data_points[0].value
              for rm in data.resource_metrics for sm in rm.scope_metrics
              for metric in sm.metrics if metric.data.data_points}
    assert points[c.METRIC_QUEUE_DEPTH] >= 5
    assert points[c.METRIC_QUEUE_CAPACITY] == 50
    assert points[c.METRIC_HEALTH_OK] == 1


def test_export_age_metrics_reach_the_store_without_personal_data(tmp_path: Path) -> None:
    infertel.configure(service_name="health-metrics", exporter="local", local_dir=tmp_path,
                       metric_interval_s=0.2)

    @infertel.traced_inference(inputs={"note": "keep"})
    def predict(note: str) -> str:
        raise ValueError(f"cannot score {note}")

    for _ in range(3):
        with pytest.raises(ValueError, match="cannot score"):
            predict(f"mail {_EMAIL} please")
    time.sleep(0.5)
    assert infertel.shutdown(timeout=10) is True
    names = {name for _, name, _ in read_store(tmp_path).points}
    for name in (c.METRIC_EXPORT_TRACES_LAST_SUCCESS_AGE, c.METRIC_EXPORT_LOGS_LAST_SUCCESS_AGE,
                 c.METRIC_QUEUE_DEPTH, c.METRIC_HEALTH_OK, c.METRIC_REDACTION_CHILD_ALIVE):
        assert name in names
    raw = "".join(p.read_text() for p in tmp_path.glob("metrics/*.jsonl"))
    assert _EMAIL not in raw
    assert _EMAIL not in json.dumps(infertel.health().as_dict())


def test_spool_size_is_reported_when_the_spool_is_on(tmp_path: Path) -> None:
    telemetry = infertel.configure(exporter="otlp",
                                   otlp_endpoint=f"http://127.0.0.1:{_closed_port()}",
                                   export_timeout_s=1.0, spool_dir=tmp_path / "spool")

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    for i in range(20):
        predict(i)
    telemetry.flush(timeout=5, metrics=False)
    spool = infertel.health().spool
    assert spool is not None
    assert spool["bytes"] > 0
    assert spool["records"] >= 20

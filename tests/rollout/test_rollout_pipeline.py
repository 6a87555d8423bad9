"""The guard inside the real SDK: fed by the worker, decisions in a real store, reproduced from it.

Each service is its own process (rollout_service.py): the switch and the guard are
process-wide, as in production. Stores are written by infertel's local exporter and read back
by ``infertel rollout status``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from infertel.cli import app
from infertel.cli._rollout_store import read_rollout
from infertel.tools._store import iter_documents, span_rows

SERVICE = Path(__file__).with_name("rollout_service.py")
WIDE = {"COLUMNS": "250"}
pytestmark = pytest.mark.integration


def _serve(store: Path, seed: int, canary_error: float, max_calls: int,
           *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(SERVICE), str(store), str(seed),
                             str(canary_error), str(max_calls), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


def _status(store: Path) -> tuple[int, dict[str, Any], str]:
    runner = CliRunner()
    as_json = runner.invoke(app, ["rollout", "status", str(store), "--json"], env=WIDE)
    text = runner.invoke(app, ["rollout", "status", str(store)], env=WIDE)
    return as_json.exit_code, json.loads(as_json.output), text.output


def test_a_failing_canary_is_rolled_back_and_the_decision_reproduces(tmp_path: Path) -> None:
    result = _result(_serve(tmp_path, 1, 0.4, 20_000))
    # on_rollback ran once, on the guard's own thread (not a serving thread, not the worker).
    assert result["callbacks"] == ["infertel-rollout-rollback"]
    assert result["routing"] == "stable"
    found = read_rollout(tmp_path)
    assert len(found.plans) == 1
    assert found.plans[0].hash_ok
    actions = [d.decision["action"] for d in found.decisions]
    assert actions[-1] == "rollback"
    assert set(actions[:-1]) <= {"continue"}
    assert all(d.decision["plan_hash"] == found.plans[0].plan_hash for d in found.decisions)
    code, report, text = _status(tmp_path)
    assert code == 0, text
    checks = report["stored_decisions"]
    assert len(checks) == len(actions)
    assert all(check["reproduced"] for check in checks)
    assert max(check["max_relative_difference"] for check in checks) <= 1e-9
    assert report["fleet"]["action"] == "rollback"
    assert "replayed from each process" in text
    # Every inference span says how the call was routed (OTel feature-flag conventions).
    spans = [row for doc in iter_documents(tmp_path) if doc.signal == "traces"
             for row in span_rows(doc.data)]
    assert spans
    for row in spans:
        attributes = json.loads(row["attributes"]) if isinstance(row["attributes"], str) \
            else row["attributes"]
        assert attributes["feature_flag.key"] == "infertel.rollout"
        assert attributes["feature_flag.result.variant"] == row["ring"]


def test_fleet_of_processes_recomputed_and_each_decision_replayed(tmp_path: Path) -> None:
    # Two replicas write into one store at once: one's canary fails, the other's is clean.
    failing = _serve(tmp_path, 2, 0.5, 20_000)
    clean = _serve(tmp_path, 3, 0.0, 4_000)
    results = [_result(failing), _result(clean)]
    assert results[0]["state"] == "rolled_back"
    assert results[1]["callbacks"] == []
    code, report, text = _status(tmp_path)
    assert code == 0, text
    assert report["processes"] == 2
    instances = {check["instance"] for check in report["stored_decisions"]}
    assert len(instances) == 2
    assert all(check["reproduced"] for check in report["stored_decisions"])
    # The fleet view merges both replicas' calls up to the first rollback.
    assert report["fleet_through"] is not None
    fleet = report["fleet"]
    assert fleet["n_baseline"] + fleet["n_candidate"] > max(
        c for c in (fleet["n_baseline"], fleet["n_candidate"]))


def test_a_tampered_decision_does_not_reproduce(tmp_path: Path) -> None:
    _result(_serve(tmp_path, 1, 0.4, 20_000))
    logs = next((tmp_path / "logs").glob("*.jsonl"))
    text = logs.read_text()
    # Rewrite history: the stored rollback claims more canary calls than there were.
    edited, count = re.subn(r'(\\"n_candidate\\":)(\d+)', lambda m: m.group(1) + "99999", text)
    assert count > 0
    logs.write_text(edited)
    code, report, _ = _status(tmp_path)
    assert code == 1
    assert not all(check["reproduced"] for check in report["stored_decisions"])


def test_no_personal_data_in_rollout_events_or_status(tmp_path: Path) -> None:
    result = _result(_serve(tmp_path, 4, 0.4, 20_000, "--pii"))
    assert result["state"] == "rolled_back"
    found = read_rollout(tmp_path)
    events = json.dumps([p.plan for p in found.plans] + [d.decision for d in found.decisions])
    _, report, text = _status(tmp_path)
    planted = re.compile(r"jane|doe|example\.com|\+44 20 7946 0958|7946 0958")
    for output in (events, json.dumps(report), text):
        assert not planted.search(output), planted.search(output)
    # infertel's own scanner finds nothing in the store: no numbers in the rollout events
    # that read as card or phone numbers either (times are text, floats have 10 digits).
    scanned = CliRunner().invoke(app, ["scan", str(tmp_path)], env=WIDE)
    assert scanned.exit_code == 0, scanned.output
    # The e-mail segments reached the guard only as the boundary's scrubbed form.
    segments = {e["segment"] for d in found.decisions for e in d.decision["evidence"]}
    assert all("@" not in segment for segment in segments)


def test_labels_recorded_by_inference_id_reach_the_guard_in_the_worker() -> None:
    """Calibration end to end: the id is read inside the call, the label arrives after it."""
    import random
    import threading

    import infertel
    from infertel import rollout
    from infertel.rollout import _registry, _switch

    fired = threading.Event()
    guard = rollout.RolloutGuard(criteria=[rollout.Calibration(min_labels=150)],
                                 min_samples=50, look_lag_s=0.0,
                                 on_rollback=lambda d: fired.set())
    infertel.configure(exporter="none", rollout=guard)
    rng = random.Random(5)
    try:
        def score(ring: str) -> dict[str, Any]:
            return {"id": rollout.current_inference_id(), "score": rng.choice((0.1, 0.9))}

        predict = {ring: infertel.traced_inference(ring=ring, segment="all",
                                                   outputs={"score": "keep"})(score)
                   for ring in ("stable", "canary")}
        for _ in range(4000):
            ring = rng.choice(("stable", "canary"))
            out = predict[ring](ring)
            truth = rng.random() < out["score"]
            # The canary's scores are confidently wrong on a quarter of its calls.
            wrong = ring == "canary" and rng.random() < 0.25
            assert rollout.record_outcome(out["id"], float(truth != wrong))
            if fired.is_set():
                break
        assert fired.wait(10.0)
        decision = guard.last_decision
        assert decision is not None
        assert decision.triggered[0].criterion == "calibration"
    finally:
        infertel.shutdown(timeout=5.0)
        _switch.set_active(None)
        _registry.activate(None)

"""DriftAlerts: the candidate ring drifting (and the baseline not) rolls the rollout back.

Unit tests feed drift state changes straight to the guard; the pipeline tests run a real
Telemetry with drift monitoring and the guard, shift one ring's inputs and read the stored
``ml.rollout.decision`` back from the local store.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import infertel
from infertel import conventions as c
from infertel.cli._rollout_store import read_rollout, reproduce
from infertel.monitor import Baseline, DriftConfig, DriftRules
from infertel.rollout import DriftAlerts, ErrorRate, Latency, Observation, RolloutGuard

T0 = 1_800_000_000_000_000_000
FACTS = {"window_start_ns": T0, "window_end_ns": T0 + 250_000_000,
         "scores": {"psi": 0.61, "js": 0.2}}


def _guard(**kwargs: Any) -> tuple[RolloutGuard, list[Any]]:
    fired: list[Any] = []
    guard = RolloutGuard(criteria=[DriftAlerts()], on_rollback=fired.append, **kwargs)
    guard.observe_many(Observation(ring=ring, segment="a", error=False, duration_s=0.01,
                                   end_ns=T0 + i * 1000) for i, ring in
                       enumerate(["stable", "canary"] * 50))
    return guard, fired


def test_candidate_alert_rolls_back_once_with_evidence() -> None:
    guard, fired = _guard()
    first = guard.look()
    assert first is not None
    assert first.action == "continue"
    assert guard.observe_drift("canary", "amount", "alert", FACTS)
    decision = guard.look()
    assert decision is not None
    assert decision.action == "rollback"
    body = decision.to_dict()
    assert body["drift"] == [{
        "criterion": "drift_alerts", "test": "drift hysteresis state", "segment": "*",
        "ring": "canary", "feature": "amount", "level": "alert", "threshold": "alert",
        "baseline_level": "ok", "window_start": "2027-01-15T08:00:00.000000000Z",
        "window_end": "2027-01-15T08:00:00.250000000Z", "scores": {"js": 0.2, "psi": 0.61},
        "harmful": True}]
    assert guard.state == "rolled_back"
    assert guard.switch.route() == "stable"
    # Later looks (and further alerts) decide nothing more; the callback ran exactly once.
    guard.observe_drift("canary", "other", "alert", FACTS)
    assert guard.look() is None
    assert guard.wait_for_callbacks(5.0)
    assert [d.action for d in fired] == ["rollback"]
    audit = [e for e in guard.audit_entries() if e["kind"] == "decision"]
    assert audit[-1]["data"]["action"] == "rollback"
    assert audit[-1]["data"]["drift"][0]["feature"] == "amount"


def test_same_alert_in_both_rings_is_not_the_candidate() -> None:
    guard, fired = _guard()
    guard.observe_drift("stable", "amount", "alert", FACTS)
    guard.observe_drift("canary", "amount", "alert", FACTS)
    decision = guard.look()
    assert decision is not None
    assert decision.action == "continue"
    # When the baseline's alert clears while the candidate's stays, the candidate is to blame.
    guard.observe_drift("stable", "amount", "ok", FACTS)
    again = guard.look(T0 + 10**12)
    assert again is not None
    assert again.action == "rollback"
    assert again.drift[0].baseline_level == "ok"
    assert guard.wait_for_callbacks(5.0)
    assert len(fired) == 1


def test_warn_below_the_level_other_rings_and_bad_labels_do_nothing() -> None:
    guard, fired = _guard()
    assert guard.observe_drift("canary", "amount", "warn", FACTS)
    assert not guard.observe_drift("shadow", "amount", "alert", FACTS)  # not compared
    assert not guard.observe_drift("canary", "jane.doe@example.com", "alert", FACTS)
    assert not guard.observe_drift("canary", "amount", "panic", FACTS)
    assert not guard.observe_drift("canary", "amount", "alert", {"scores": object()})
    decision = guard.look()
    assert decision is not None
    assert decision.action == "continue"
    assert "jane" not in json.dumps(guard.audit_entries())
    assert fired == []
    # At level "warn" the same warning is enough.
    warn_guard = RolloutGuard(criteria=[DriftAlerts(level="warn")])
    warn_guard.observe(Observation("canary", "a", False, 0.01, T0))
    warn_guard.observe_drift("canary", "amount", "warn", FACTS)
    found = warn_guard.look()
    assert found is not None
    assert found.action == "rollback"


def test_plan_hash_changes_with_the_criterion_and_replays() -> None:
    plain = RolloutGuard(criteria=[ErrorRate(), Latency()])
    with_drift = RolloutGuard(criteria=[ErrorRate(), Latency(), DriftAlerts()])
    warn = RolloutGuard(criteria=[ErrorRate(), Latency(), DriftAlerts(level="warn")])
    assert len({plain.plan_hash, with_drift.plan_hash, warn.plan_hash}) == 3
    assert {"criterion": "drift_alerts", "test": "drift hysteresis state", "level": "alert",
            "multiplicity": "none (not a sequential test)"} in with_drift.plan["criteria"]
    # Not in the Bonferroni family: the SPRT tests keep the same per-test alpha.
    assert with_drift.alpha_per_test == plain.alpha_per_test
    assert with_drift.plan["family_size"] == plain.plan["family_size"]
    assert RolloutGuard.from_plan(with_drift.plan).plan_hash == with_drift.plan_hash
    with pytest.raises(ValueError, match="level must be"):
        DriftAlerts(level="ok")


# ------------------------------------------------------------------ the real pipeline
@dataclass
class Request:
    amount: float
    note: str


def _serve(store: Path, shifted_ring: str) -> RolloutGuard:
    rng = np.random.default_rng(3)
    baseline = Baseline.from_frame(pd.DataFrame({
        "amount": rng.normal(100.0, 20.0, 20_000), "score": rng.random(20_000)}),
        prediction="score")
    drift = DriftConfig(baseline=baseline, window=0.25, features={"req.amount": "numeric"},
                        rules=DriftRules(min_count=100))
    fired: list[Any] = []
    guard = RolloutGuard(criteria=[DriftAlerts()], on_rollback=fired.append,
                         look_lag_s=0.0)
    infertel.configure(service_name="drift-gate", exporter="local", local_dir=store,
                       model=infertel.ModelInfo(name="fraud", version="2.0"), drift=drift,
                       rollout=guard, metric_interval_s=0.2, raise_internal_errors=True)
    decorate: dict[str, Any] = {"inputs": {"req.note": "redact"}, "outputs": {"return": "keep"}}

    def model(req: Request) -> float:
        return 0.5

    rings = {ring: infertel.traced_inference(name="predict", ring=ring, **decorate)(model)
             for ring in ("stable", "canary")}
    try:
        for batch in range(10):
            for _ in range(250):
                for ring, predict in rings.items():
                    shift = 40.0 if ring == shifted_ring and batch >= 2 else 0.0
                    predict(Request(float(rng.normal(100.0 + shift, 20.0)),
                                    "call jane.doe@example.com"))
            time.sleep(0.3)
    finally:
        assert infertel.shutdown(timeout=10)
    assert guard.wait_for_callbacks(5.0)
    assert len(fired) == (1 if guard.state == "rolled_back" else 0)
    return guard


@pytest.mark.integration
def test_pipeline_canary_shift_is_rolled_back_with_drift_evidence(tmp_path: Path) -> None:
    guard = _serve(tmp_path, "canary")
    decisions = [d.decision for d in read_rollout(tmp_path).decisions]
    assert decisions
    assert decisions[-1]["action"] == "rollback"
    assert decisions[-1]["plan_hash"] == guard.plan_hash
    evidence = decisions[-1]["drift"]
    assert [(e["criterion"], e["ring"], e["feature"], e["level"]) for e in evidence] == [
        ("drift_alerts", "canary", "amount", "alert")]
    assert evidence[0]["scores"]
    assert evidence[0]["window_start"] < evidence[0]["window_end"]
    text = "\n".join(p.read_text() for p in tmp_path.rglob("*.jsonl"))
    assert c.EVENT_DRIFT_DETECTED in text
    assert "jane.doe" not in text
    # Reproducible from the store: the calls and the logged drift state changes, replayed into
    # a fresh guard with the stored plan, give every stored decision again.
    found = read_rollout(tmp_path)
    [(instance, calls)] = found.calls.items()
    [plan] = found.plans
    checks = reproduce(plan.plan, calls, found.decisions, found.drift[instance])
    assert checks
    assert all(check.reproduced for check in checks), [c.detail for c in checks]
    without_drift = reproduce(plan.plan, calls, found.decisions)
    assert not without_drift[-1].reproduced  # the drift events are what decided it


@pytest.mark.integration
def test_pipeline_stable_only_shift_is_no_rollback(tmp_path: Path) -> None:
    guard = _serve(tmp_path, "stable")
    text = "\n".join(p.read_text() for p in tmp_path.rglob("*.jsonl"))
    assert c.EVENT_DRIFT_DETECTED in text  # the stable ring did drift
    assert guard.state == "running"
    decisions = [d.decision for d in read_rollout(tmp_path).decisions]
    assert decisions
    assert {d["action"] for d in decisions} == {"continue"}

"""configure(drift=...) end to end on the real pipeline and local store: the hot path captures
undeclared drift features, the worker bins them inside the boundary, the store gets the drift
histograms, the baseline event and a drift event with trace ids, and `infertel drift` on the
store alone names the shifted feature. Planted personal data and raw values never come out."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import infertel
from infertel import conventions as c
from infertel.cli import app
from infertel.monitor import Baseline, DriftConfig, DriftRules

PLANTED_AMOUNT = 987654.321
PLANTED_EMAIL = "jane.doe@example.com"


@dataclass
class Request:
    amount: float
    country: str
    note: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("store")
    rng = np.random.default_rng(0)
    baseline = Baseline.from_frame(pd.DataFrame({
        "amount": rng.normal(100.0, 20.0, 20_000),
        "country": rng.choice(["de", "fr", "us"], 20_000),
        "score": rng.random(20_000),
    }), prediction="score")
    config = DriftConfig(baseline=baseline, window=0.25,
                         features={"req.amount": "numeric", "req.country": "categorical"},
                         rules=DriftRules(min_count=100))
    infertel.configure(service_name="drift-test", exporter="local", local_dir=tmp_path,
                       model=infertel.ModelInfo(name="fraud", version="2.0"), drift=config,
                       metric_interval_s=0.2, raise_internal_errors=True)

    @infertel.traced_inference(inputs={"req.note": "redact"}, outputs={"return": "keep"})
    def predict(req: Request) -> float:
        return 0.5

    sent = 0
    for batch in range(12):
        shift = 20.0 if batch >= 5 else 0.0  # one standard deviation, from batch 5 on
        for _ in range(400):
            amount = PLANTED_AMOUNT if sent == 2500 else float(rng.normal(100.0 + shift, 20.0))
            country = PLANTED_EMAIL if sent == 2501 else str(rng.choice(["de", "fr", "us"]))
            predict(Request(amount, country, f"call me at {PLANTED_EMAIL}"))
            sent += 1
        time.sleep(0.3)
    assert infertel.shutdown(timeout=10)
    return tmp_path


def everything(store: Path) -> str:
    return "\n".join(p.read_text() for p in store.rglob("*.jsonl"))


def test_store_has_drift_histograms_events_and_no_raw_values(store):
    text = everything(store)
    assert c.METRIC_FEATURE_DISTRIBUTION in text
    assert c.EVENT_DRIFT_BASELINE in text
    assert c.EVENT_DRIFT_DETECTED in text
    assert c.FEATURE_SCHEMA_HASH in text
    assert "987654" not in text
    assert "jane.doe" not in text


def test_infertel_drift_on_the_store_alone(store):
    result = CliRunner().invoke(app, ["drift", str(store), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    by_feature = {f["feature"]: f for f in report["features"]}
    assert by_feature["amount"]["state"] == "alert"
    assert by_feature["country"]["max_window_level"] == "ok"
    detected = [e for e in report["stored_events"] if e["event"] == c.EVENT_DRIFT_DETECTED]
    assert detected
    first = detected[0]["body"]
    assert first["feature"] == "amount"
    assert first["exemplar_trace_ids"]
    trace = first["exemplar_trace_ids"][0]
    query = CliRunner().invoke(app, ["query", str(store), "--trace", trace, "--json"])
    assert query.exit_code == 0, query.output
    assert trace in query.stdout

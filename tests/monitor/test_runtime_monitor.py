"""FeatureBinner, DriftConfig and DriftMonitor on real snapshots: bins, violations, windows,
bounded memory, and no raw value in anything they return."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from infertel.monitor import (
    MISSING,
    Baseline,
    DriftConfig,
    DriftMonitor,
    DriftRules,
    FeatureBinner,
    parse_window,
)

S = 10**9


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    rng = np.random.default_rng(3)
    n = 5000
    return Baseline.from_frame(pd.DataFrame({
        "amount": rng.gamma(2.0, 50.0, n),
        "country": rng.choice(["de", "fr", "us"], n),
        "vip": rng.random(n) < 0.3,
    }))


FEATURES = {"req.amount": "numeric", "req.country": "categorical", "req.vip": "categorical"}


def test_binner_matches_searchsorted_and_reports_violations(baseline):
    binner = FeatureBinner(baseline, FEATURES)
    assert binner.names == ("amount", "country", "vip")
    amount = baseline.features["amount"]
    values = [0.0, amount.min, 37.5, 100.0, amount.max, amount.max * 1.05]
    for value in values:
        bins, violations = binner.bin({"req.amount": value, "req.country": "fr",
                                       "req.vip": True})
        assert bins[0] == int(np.searchsorted(amount.bounds, value, side="left"))
        assert bins[1] == baseline.features["country"].categories.index("fr")
        assert bins[2] == baseline.features["vip"].categories.index("true")
        assert violations == []
    bins, violations = binner.bin({"req.amount": "12", "req.country": "xx", "req.extra": 1})
    assert bins == [MISSING, 3, MISSING]  # "xx" -> __other__ (index 3 after de, fr, us)
    assert sorted(violations) == [("__extra__", "extra"), ("amount", "type"), ("vip", "missing")]
    far = amount.max + 0.5 * (amount.max - amount.min)
    bins, violations = binner.bin({"req.amount": far, "req.country": "de", "req.vip": False})
    assert bins[0] == len(amount.bounds)  # the overflow bucket
    assert violations == [("amount", "out_of_range")]
    assert binner.bin({"req.amount": float("nan"), "req.country": None, "req.vip": 0})[1] == [
        ("amount", "missing"), ("country", "missing")]


def test_config_validation(baseline, tmp_path):
    path = baseline.save(tmp_path / "b.json")
    config = DriftConfig(baseline=str(path), features=FEATURES, window="5m")
    assert config.window == 300.0
    assert config.baseline == baseline
    assert config.schema_diff() == {"not_in_baseline": [], "not_monitored": []}
    with pytest.raises(ValidationError, match="declared numeric but the baseline has it as "
                                              "categorical"):
        DriftConfig(baseline=baseline, features={"req.country": "numeric"})
    with pytest.raises(ValidationError, match="use a duration"):
        DriftConfig(baseline=baseline, features=FEATURES, window="soon")
    with pytest.raises(ValidationError, match="features"):
        DriftConfig(baseline=baseline, features={})
    with pytest.raises(ValidationError, match="baseline not found"):
        DriftConfig(baseline=tmp_path / "missing.json", features=FEATURES)
    diff = DriftConfig(baseline=baseline, features={"req.amount": "numeric",
                                                    "req.age": "numeric"}).schema_diff()
    assert diff == {"not_in_baseline": ["age"], "not_monitored": ["country", "vip"]}
    assert parse_window("250ms") == 0.25
    assert parse_window(90) == 90.0


def test_monitor_windows_events_and_no_raw_values(baseline):
    rules = DriftRules(alert_after=2, of_last=3, clear_after=2)
    monitor = DriftMonitor(DriftConfig(baseline=baseline, features=FEATURES, window=1,
                                       rules=rules, exemplars=2), start_ns=0)
    rng = np.random.default_rng(5)
    group = ("fraud", "2.0", "canary")
    planted_amount = 987654.321  # a raw value that must not come out
    results = []
    for second in range(6):
        for i in range(1000):
            drifted = second >= 2
            snapshot = {
                "req.amount": planted_amount if drifted and i == 0
                else float(rng.gamma(2.0, 50.0) + (200.0 if drifted else 0.0)),
                "req.country": "jane.doe@example.com" if i == 1 else str(rng.choice(["de", "fr"])),
                "req.vip": bool(rng.random() < 0.3),
            }
            monitor.observe(group, snapshot, second * S + i * 1000, trace_id=f"{i:032x}")
        results.append(monitor.tick((second + 1) * S))
    events = [e for r in results for e in r.events]
    # amount shifted; country lost "us" (only de/fr sent); vip is as in the baseline.
    assert {(e.feature, e.state) for e in events} == {("amount", "alert"), ("country", "alert")}
    change = next(e for e in events if e.feature == "amount")
    assert change.window_start_ns == 3 * S
    assert change.window_end_ns == 4 * S
    assert change.exemplar_trace_ids == [f"{0:032x}", f"{1:032x}"]
    assert change.group == {"model": "fraud", "version": "2.0", "ring": "canary"}
    everything = json.dumps({
        "events": [e.body() for e in events],
        "scores": [r.__dict__ for res in results for r in res.scores],
        "distributions": monitor.distributions(),
        "latest": monitor.latest_scores(),
    }, default=str)
    assert "987654" not in everything
    assert "jane.doe" not in everything
    totals = {name: sum(counts) for _, name, counts in monitor.distributions()}
    assert totals == {"amount": 6000, "country": 6000, "vip": 6000}
    country = next(counts for _, name, counts in monitor.distributions() if name == "country")
    assert country[-1] == 6  # the six planted e-mails were counted in __other__, nothing more


def test_missing_rate_violation_and_group_cap(baseline):
    rules = DriftRules(min_count=10)
    monitor = DriftMonitor(DriftConfig(baseline=baseline, features=FEATURES, window=1,
                                       rules=rules, max_groups=2), start_ns=0)
    for i in range(20):
        monitor.observe(("m", "1", "stable"), {"req.amount": 10.0, "req.country": "de"},
                        i * 1000)
    result = monitor.tick(S)
    assert (("m", "1", "stable"), "vip", "missing_rate") in result.violations
    assert monitor.add(("m", "2", "stable"), [0, 0, 0], 0)
    assert not monitor.add(("m", "3", "stable"), [0, 0, 0], 0)
    assert monitor.dropped_groups == 1

"""The exported form: drift histograms with the baseline's bounds per feature, category
counters, score gauges and violation counters, written by the real local-store exporter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricsData
from opentelemetry.sdk.resources import Resource

from infertel import conventions as c
from infertel.config import resolve_settings
from infertel.export._setup import build_exporters
from infertel.monitor import Baseline, DriftConfig, DriftMonitor, DriftRules
from infertel.monitor._otel import DriftMetricExporter, DriftMetrics

S = 10**9
GROUP = ("fraud", "2.0", "canary")


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    rng = np.random.default_rng(12)
    return Baseline.from_frame(pd.DataFrame({
        "amount": rng.gamma(2.0, 50.0, 5000),
        "age": rng.normal(40, 12, 5000),
        "country": rng.choice(["de", "fr"], 5000),
    }))


def export_once(tmp_path: Path, baseline: Baseline) -> list[dict]:
    config = DriftConfig(baseline=baseline, window=1, rules=DriftRules(min_count=10),
                         features={"req.amount": "numeric", "req.age": "numeric",
                                   "req.country": "categorical"})
    monitor = DriftMonitor(config, start_ns=5)
    for i in range(100):
        monitor.observe(GROUP, {"req.amount": 123456.789 if i == 0 else 50.0 + i,
                                "req.age": "jane.doe@example.com" if i == 1 else 40.0,
                                "req.country": "fr"}, i)
    monitor.tick(S)
    exporter = DriftMetricExporter(
        build_exporters(resolve_settings(exporter="local", local_dir=tmp_path)).metrics,
        monitor, Resource({"service.name": "t"}), clock=lambda: 2 * S)
    exporter.export(MetricsData([]))
    exporter.shutdown()
    files = sorted((tmp_path / "metrics").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def metrics_by_name(documents: list[dict]) -> dict[str, dict]:
    return {m["name"]: m for d in documents for rm in d["resourceMetrics"]
            for sm in rm["scopeMetrics"] for m in sm["metrics"]}


def attrs(point: dict) -> dict:
    return {a["key"]: next(iter(a["value"].values())) for a in point["attributes"]}


def test_histograms_carry_each_features_baseline_bounds(tmp_path, baseline):
    documents = export_once(tmp_path, baseline)
    metrics = metrics_by_name(documents)
    histogram = metrics[c.METRIC_FEATURE_DISTRIBUTION]["histogram"]
    assert histogram["aggregationTemporality"] in (2, "AGGREGATION_TEMPORALITY_CUMULATIVE")
    points = {attrs(p)[c.FEATURE_NAME]: p for p in histogram["dataPoints"]}
    assert set(points) == {"amount", "age"}
    for name, point in points.items():
        assert point["explicitBounds"] == baseline.features[name].bounds
        assert set(attrs(point)) == {c.MODEL_NAME, c.MODEL_VERSION, c.DEPLOYMENT_RING,
                                     c.FEATURE_NAME}
        assert "sum" not in point  # never derived from values the monitor never sees
        assert "min" not in point
        assert "max" not in point
        assert point["startTimeUnixNano"] == "5"
    # Counts: the same binning as numpy on the same values.
    amounts = [123456.789] + [50.0 + i for i in range(1, 100)]
    expected = np.bincount(np.searchsorted(baseline.features["amount"].bounds, amounts),
                           minlength=baseline.features["amount"].n_bins).tolist()
    assert [int(n) for n in points["amount"]["bucketCounts"]] == expected
    assert int(points["age"]["count"]) == 99  # one value was not a number
    categories = metrics[c.METRIC_FEATURE_CATEGORIES]["sum"]
    assert {attrs(p)[c.FEATURE_BIN]: int(p["asInt"]) for p in categories["dataPoints"]} == {
        "de": 0, "fr": 100, "__other__": 0}
    gauges = metrics[c.METRIC_DRIFT_SCORE]["gauge"]["dataPoints"]
    assert {(attrs(p)[c.FEATURE_NAME], attrs(p)[c.DRIFT_METRIC]) for p in gauges} >= {
        ("amount", "psi"), ("age", "js_distance"), ("country", "chi2")}
    violations = {(attrs(p)[c.FEATURE_NAME], attrs(p)[c.VIOLATION_KIND]): int(p["asInt"])
                  for p in metrics[c.METRIC_INPUT_VIOLATIONS]["sum"]["dataPoints"]}
    assert violations == {("amount", "out_of_range"): 1, ("age", "type"): 1}


def test_no_raw_value_leaves(tmp_path, baseline):
    text = json.dumps(export_once(tmp_path, baseline))
    assert "123456" not in text
    assert "jane.doe" not in text


def test_delta_points_count_since_the_last_collection(baseline):
    """(The local store always asks for cumulative; OTLP exporters may prefer delta.)"""
    config = DriftConfig(baseline=baseline, features={"req.amount": "numeric"}, window=1)
    monitor = DriftMonitor(config, start_ns=0)
    metrics = DriftMetrics(monitor, delta=True)
    monitor.observe(GROUP, {"req.amount": 10.0}, 1)
    first = metrics.collect(S)[0].data
    monitor.observe(GROUP, {"req.amount": 10.0}, 2)
    monitor.observe(GROUP, {"req.amount": 10.0}, 3)
    second = metrics.collect(2 * S)[0].data
    assert [first.data_points[0].count, second.data_points[0].count] == [1, 2]
    assert second.data_points[0].start_time_unix_nano == S
    assert second.aggregation_temporality == AggregationTemporality.DELTA

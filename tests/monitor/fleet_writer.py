"""One process of the fleet test: binds its share of a seeded stream and exports the drift
histograms into a store with the real local exporter. Run as a script (not a test)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.resources import Resource

from infertel.config import resolve_settings
from infertel.export._setup import build_exporters
from infertel.monitor import DriftConfig, DriftMonitor
from infertel.monitor._otel import DriftMetricExporter

WINDOW_NS = 60 * 10**9
T0 = 1_800_000_000 * 10**9  # a fixed epoch second on a window boundary
WINDOWS, CALLS, DRIFT_FROM = 10, 2000, 5
FEATURES = {"req.amount": "numeric", "req.age": "numeric", "req.country": "categorical"}


def stream(seed: int):  # the same calls in every process: each keeps its share
    rng = np.random.default_rng(seed)
    for w in range(WINDOWS):
        shift = 0.5 * 40.0 if w >= DRIFT_FROM else 0.0  # 0.5 sd of amount
        amount = rng.normal(100.0 + shift, 40.0, CALLS)
        age = rng.integers(18, 90, CALLS)
        country = rng.choice(["de", "fr", "us", "nl"], CALLS, p=[0.4, 0.3, 0.2, 0.1])
        yield w, amount, age, country


def main(store: str, baseline: str, index: int, workers: int, seed: int) -> None:
    config = DriftConfig(baseline=baseline, features=FEATURES, window=60)
    monitor = DriftMonitor(config, start_ns=T0)
    now = [T0]
    exporter = DriftMetricExporter(
        build_exporters(resolve_settings(exporter="local", local_dir=Path(store))).metrics,
        monitor,
        Resource({"service.name": "fleet", "service.instance.id": f"proc-{index}-of-{workers}"}),
        clock=lambda: now[0])
    group = ("fraud", "2.0", "stable")
    call = 0
    for w, amount, age, country in stream(seed):
        for i in range(CALLS):
            if call % workers == index:
                snapshot = {"req.amount": float(amount[i]), "req.age": int(age[i]),
                            "req.country": str(country[i])}
                monitor.observe(group, snapshot, T0 + w * WINDOW_NS + i)
            call += 1
        now[0] = T0 + (w + 1) * WINDOW_NS
        exporter.export(MetricsData([]))
    exporter.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))

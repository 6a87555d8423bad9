"""A small service exposing infertel's metrics to Prometheus (opentelemetry-exporter-prometheus).

    python alert_service.py PORT MODE_FILE

Serves stable and canary calls through @traced_inference in a loop; MODE_FILE holds the
canary's error ratio (re-read every 100 ms), so a test can inject a regression or a blip. The
metrics are whatever the real SDK records, under the names the Prometheus exporter gives them.
With ``--names`` it scrapes itself once, prints the exposition and exits (the names test).
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
import urllib.request
from pathlib import Path

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from prometheus_client import start_http_server

import infertel
from infertel.config import resolve_settings
from infertel.pipeline import _lifecycle
from infertel.pipeline._telemetry import Telemetry
from infertel.rollout import ErrorRate, RolloutGuard

CALLS_PER_SECOND = 300


def main() -> None:
    port, mode_file = int(sys.argv[1]), Path(sys.argv[2])
    names_only = "--names" in sys.argv
    reader = PrometheusMetricReader()
    settings = resolve_settings(service_name="alert-service", exporter="none")
    # A guard that never decides (auto_promote off, and the injected errors are what the
    # alerts are tested on): it exports the ml.rollout.state gauge the rules read.
    guard = RolloutGuard(criteria=[ErrorRate()], auto_promote=False, min_samples=10**9)
    telemetry = Telemetry(settings, infertel.ModelInfo(name="fraud-detector", version="2.0"),
                          metric_readers=[reader], rollout=guard)
    _lifecycle.install(telemetry)
    # The drift gauge is built by the drift exporter wrapper (push only); this gauge has the same
    # name, unit and attributes, so the names test sees how Prometheus names it.
    meter = telemetry.meter_provider.get_meter("names-check")
    drift = meter.create_gauge("ml.drift.score", unit="1")
    drift.set(0.05, {"ml.model.name": "fraud-detector", "ml.feature.name": "amount",
                     "ml.drift.metric": "psi"})
    start_http_server(port, addr="127.0.0.1")
    rng = random.Random(3)
    state = {"canary_error": 0.0}

    def call(ring: str) -> float:
        if ring == "canary" and rng.random() < state["canary_error"]:
            raise RuntimeError("canary regression")
        if rng.random() < 0.005:
            raise TimeoutError("feature store")
        return round(rng.random(), 3)

    stable = infertel.traced_inference(name="predict", ring="stable", segment="pro",
                                       outputs={"return": "keep"})(lambda: call("stable"))
    canary = infertel.traced_inference(name="predict", ring="canary", segment="pro",
                                       outputs={"return": "keep"})(lambda: call("canary"))
    next_read = 0.0
    started = time.monotonic()
    calls = 0
    while True:
        now = time.monotonic()
        if now >= next_read:
            text = mode_file.read_text().strip() if mode_file.exists() else ""
            state["canary_error"] = float(text or 0.0)
            next_read = now + 0.1
        for predict in (stable, canary):
            with contextlib.suppress(RuntimeError, TimeoutError):
                predict()
        calls += 2
        if names_only and calls >= 400:
            telemetry.flush(5.0)
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
            sys.stdout.write(body.decode())
            return
        # Pace: CALLS_PER_SECOND in all, whatever each call costs.
        delay = started + calls / CALLS_PER_SECOND - time.monotonic()
        if delay > 0:
            time.sleep(delay)


if __name__ == "__main__":
    main()

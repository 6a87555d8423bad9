"""Smoke run of the end-to-end benchmark (benchmarks/bench_e2e.py), so it never rots: a real
local collector, every contender in its own process, tiny counts, no timing thresholds (the
targets are judged by ``make bench`` itself). Peers are optional: without them the harness
names them with the reason they were not measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "benchmarks" / "bench_e2e.py"
OURS = ("otel_span", "otel_span_error", "otel_full", "infertel", "infertel_error",
        "infertel_sdk_path", "infertel_sdk_path_error")
PEERS = ("logfire", "traceloop", "mlflow")


@pytest.mark.timeout(400)
def test_quick_run_measures_every_contender_through_the_collector(tmp_path: Path) -> None:
    out = tmp_path / "e2e.json"
    proc = subprocess.run([sys.executable, str(HARNESS), "--quick", "--out", str(out),
                           "--rounds", "1", "--calls", "40"],
                          capture_output=True, text=True, timeout=380, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    cpu = result["cpu"]
    assert set(cpu["contenders"]) | set(cpu["not_measured"]) == set(OURS) | set(PEERS)
    for name in OURS:
        row = cpu["contenders"][name]
        assert row["cpu_us"] > 0, (name, row)
        assert row["p99_us"] >= row["median_us"] > 0, (name, row)
    for name in ("infertel", "infertel_error", "infertel_sdk_path"):
        check = cpu["contenders"][name]["check"]
        assert check["dropped"] == {}, (name, check)
        assert check["internal_errors"] == 0, (name, check)
        assert check["exported"]["traces"] >= 40, (name, check)  # exported, not just built
    received = result["collector_received_spans"]
    assert received.get("bench-infertel", 0) >= 40  # and they reached the collector
    assert received.get("bench-otel_span", 0) >= 40
    sustained = result["sustained"]
    assert sustained["drops_total"] == 0
    assert sustained["on_calls_per_s"] > 0
    assert result["targets"] == []  # --quick: not judged

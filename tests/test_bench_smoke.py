"""Smoke run of the overhead benchmark harness, so it never rots.

Tiny counts and no timing thresholds: the targets are judged by ``make bench`` itself, never by
a timed unit test. Peers (logfire, traceloop, mlflow) are optional; without them the harness
must still name them, with the reason they were not measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "benchmarks" / "bench_overhead.py"
SECTIONS = ("latency", "sustained", "memory", "import", "disabled", "redaction", "profile")
OURS = ("bare", "otel_span", "otel_span_error", "otel_span_metrics", "otel_span_metrics_log",
        "infertel", "infertel_error")
PEERS = ("logfire", "traceloop", "mlflow")


@pytest.mark.timeout(400)
def test_quick_run_reports_every_contender_and_section(tmp_path: Path) -> None:
    out = tmp_path / "overhead.json"
    cmd = [
        sys.executable, str(HARNESS), "--quick", "--out", str(out),
        "--rounds", "2", "--calls", "40", "--warmup", "10",
        "--sustained-rounds", "1", "--sustained-calls", "20",
        "--memory-calls", "2000", "--import-reps", "1",
        "--disabled-rounds", "1", "--disabled-calls", "2000",
        "--profile-calls", "300", "--redaction", "skip",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=380, cwd=ROOT,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))

    for section in SECTIONS:
        assert section in result, section
        if section != "redaction":  # skipped on purpose: bench_redaction.py has its own run
            assert "not_measured" not in result[section], (section, result[section])

    latency = result["latency"]
    rows = latency["contenders"]
    assert set(rows) == set(OURS) | set(PEERS)
    for name in OURS:
        row = rows[name]
        assert row["median_us"] > 0, (name, row)
        assert row["p99_us"] >= row["median_us"], (name, row)
        assert row["median_x"] > 0, (name, row)
        assert row["cpu_us"] > 0, (name, row)
    for name in PEERS:
        assert "median_us" in rows[name] or rows[name]["not_measured"], name
    assert latency["infertel_drops"] == {}
    for group in latency["exported_vs_calls"].values():
        assert group["exported"] == group["calls"], latency["exported_vs_calls"]

    sustained = result["sustained"]
    assert sustained["drops_total"] == 0
    assert sustained["exported_spans"] == sustained["calls_with_telemetry"] > 0
    assert sustained["free_text_redacted"] is True
    assert {"1_thread", "2_threads"} <= set(sustained["variants"])
    for protocol in ("grpc", "http/protobuf"):
        assert result["memory"][protocol]["growth_mb"] >= -1000, result["memory"][protocol]
    assert result["import"]["importtime_cumulative_s"] > 0
    assert "not_configured_overhead_ns" in result["disabled"]
    assert result["profile"]["serving_thread_top"]

    targets = {t["target"]: t for t in result["targets"]}
    assert len(targets) >= 8
    assert all(t["status"] in ("n/a (quick)", "NOT MEASURED") for t in targets.values())

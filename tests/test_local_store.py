"""The embedded local store: OTLP-JSON lines per signal, hex ids, rotation by size."""

from __future__ import annotations

import json
import os
from pathlib import Path

import infertel


def _lines(directory: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(directory.glob("*.jsonl"))
            for line in f.read_text().splitlines()]


def test_store_layout_and_otlp_json_encoding(tmp_path: Path) -> None:
    infertel.configure(service_name="svc", exporter="local", local_dir=tmp_path,
                       model=infertel.ModelInfo(name="m", version="1"))

    @infertel.traced_inference(ring="canary")
    def predict(x: int) -> int:
        infertel.get_logger().info("inside", x=x)
        return x

    predict(1)
    assert infertel.shutdown(timeout=10)
    [request] = _lines(tmp_path / "traces")
    [resource_spans] = request["resourceSpans"]
    resource = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "svc"}
    [span] = resource_spans["scopeSpans"][0]["spans"]
    assert len(span["traceId"]) == 32
    assert int(span["traceId"], 16)
    assert len(span["spanId"]) == 16
    assert int(span["spanId"], 16)
    logs = [r for line in _lines(tmp_path / "logs") for rl in line["resourceLogs"]
            for sl in rl["scopeLogs"] for r in sl["logRecords"]]
    inside = [r for r in logs if r["body"] == {"stringValue": "inside"}]
    assert inside
    assert inside[0]["traceId"] == span["traceId"]
    assert inside[0]["spanId"] == span["spanId"]
    metric_names = {m["name"] for line in _lines(tmp_path / "metrics")
                    for rm in line["resourceMetrics"] for sm in rm["scopeMetrics"]
                    for m in sm["metrics"]}
    assert {"ml.inference.requests", "ml.inference.duration"} <= metric_names


def test_files_rotate_by_size_and_carry_the_pid(tmp_path: Path) -> None:
    from infertel.export._local import RotatingJsonLines

    out = RotatingJsonLines(tmp_path, "traces", max_bytes=4096)
    for i in range(100):
        out.write(json.dumps({"resourceSpans": [], "n": i, "pad": "x" * 200}))
    out.close()
    files = sorted((tmp_path / "traces").glob("*.jsonl"))
    assert len(files) >= 4
    assert all(f"-{os.getpid()}-" in f.name for f in files)
    assert all(f.stat().st_size < 4096 + 300 for f in files)
    numbers = [json.loads(line)["n"] for f in files for line in f.read_text().splitlines()]
    assert sorted(numbers) == list(range(100))

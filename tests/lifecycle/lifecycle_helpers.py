"""Helpers for the lifecycle tests: run a script in a fresh interpreter, read the local store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *, timeout: float = 120.0, env: dict[str, str] | None = None,
               args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this venv; never hangs past ``timeout``."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    for name in [n for n in full_env if n.startswith(("OTEL_", "INFERTEL_"))]:
        if env is None or name not in env:
            del full_env[name]
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=ROOT, check=False)


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        value = item.get("value", {})
        out[item["key"]] = next(iter(value.values()), None) if value else None
    return out


@dataclass
class Store:
    """What a local store folder holds: spans and log records with their resource, metrics."""

    spans: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    # (resource attributes, metric name, data point) for every exported point
    points: list[tuple[dict[str, Any], str, dict[str, Any]]] = field(default_factory=list)

    def instance_ids(self) -> set[str]:
        return {s["resource"]["service.instance.id"] for s in self.spans}

    def spans_of(self, instance_id: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["resource"]["service.instance.id"] == instance_id]

    def last_sum(self, instance_id: str, metric: str) -> int:
        """The latest cumulative value of counter ``metric`` for one process (all series)."""
        latest: dict[str, tuple[int, int]] = {}
        for resource, name, point in self.points:
            if name != metric or resource.get("service.instance.id") != instance_id:
                continue
            key = json.dumps(point.get("attributes", []), sort_keys=True)
            stamp = int(point["timeUnixNano"])
            if key not in latest or stamp >= latest[key][0]:
                latest[key] = (stamp, int(point.get("asInt", point.get("asDouble", 0))))
        return sum(value for _, value in latest.values())


def read_store(directory: Path) -> Store:
    store = Store()
    for path in sorted(directory.glob("traces/*.jsonl")):
        for line in path.read_text().splitlines():
            for rs in json.loads(line).get("resourceSpans", []):
                resource = _attributes(rs.get("resource", {}).get("attributes", []))
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        store.spans.append({**span, "resource": resource,
                                            "attrs": _attributes(span.get("attributes", []))})
    for path in sorted(directory.glob("logs/*.jsonl")):
        for line in path.read_text().splitlines():
            for rl in json.loads(line).get("resourceLogs", []):
                resource = _attributes(rl.get("resource", {}).get("attributes", []))
                for sl in rl.get("scopeLogs", []):
                    for record in sl.get("logRecords", []):
                        store.logs.append({**record, "resource": resource})
    for path in sorted(directory.glob("metrics/*.jsonl")):
        for line in path.read_text().splitlines():
            for rm in json.loads(line).get("resourceMetrics", []):
                resource = _attributes(rm.get("resource", {}).get("attributes", []))
                for sm in rm.get("scopeMetrics", []):
                    for metric in sm.get("metrics", []):
                        for kind in ("sum", "gauge", "histogram"):
                            for point in metric.get(kind, {}).get("dataPoints", []):
                                store.points.append((resource, metric["name"], point))
    return store

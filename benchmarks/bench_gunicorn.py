"""gunicorn --preload with 4 workers under load, reload and stop: does every worker's telemetry
arrive, once, under its own service.instance.id, with no hang? (issue 9's published figure)

    .venv/bin/python benchmarks/bench_gunicorn.py --requests 2000 --rounds 3 \
        --out benchmarks/results/gunicorn.json

Serves tests/lifecycle/gunicorn_app.py (a decorated WSGI app, telemetry configured in the master
before the fork, exporting to a local store), sends the requests from 8 client threads, reloads
with SIGHUP, sends more, stops with SIGTERM, then reads the store back. The same run with
telemetry off (INFERTEL_ENABLED=false) gives the throughput ratio. Loopback only.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "tests" / "lifecycle"
sys.path.insert(0, str(APP_DIR))

from lifecycle_helpers import read_store  # noqa: E402

WORKERS = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, value: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"/?{value}")
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        answer: dict[str, Any] = json.loads(response.read())
        return answer
    finally:
        connection.close()


def _load(port: int, values: range) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda v: _get(port, v), values))
    return answers, time.perf_counter() - started


def _wait(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _get(port, 0)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer")


def run(requests: int, enabled: bool) -> dict[str, Any]:
    store = Path(tempfile.mkdtemp(prefix="bench-gunicorn-"))
    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "INFERTEL_"))},
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(APP_DIR)]),
           "INFERTEL_TEST_STORE": str(store), "INFERTEL_ENABLED": str(enabled).lower()}
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "--workers", str(WORKERS),
         "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "30", "--timeout", "120",
         "--log-level", "warning", "gunicorn_app:app"],
        cwd=APP_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(port, 60)
        first, first_s = _load(port, range(1, requests // 2 + 1))
        server.send_signal(signal.SIGHUP)
        old = {a["pid"] for a in first}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(a["pid"] not in old for a in _load(port, range(8))[0]):
                break
        second, second_s = _load(port, range(10_000, 10_000 + requests // 2))
        stop_started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=120)
        stop_s = time.monotonic() - stop_started
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    result: dict[str, Any] = {
        "enabled": enabled, "requests": len(first) + len(second),
        "requests_per_s": (len(first) + len(second)) / (first_s + second_s),
        "stop_s": round(stop_s, 2), "total_s": round(time.monotonic() - started, 2),
        "exit_code": server.returncode,
    }
    if enabled:
        data = read_store(store)
        spans_by_instance = collections.Counter(
            s["resource"].get("service.instance.id") for s in data.spans)
        span_ids = [s["spanId"] for s in data.spans]
        served_pids = {a["pid"] for a in first + second}
        result.update({
            "worker_processes_serving": len(served_pids),
            "instance_ids_with_spans": len(spans_by_instance),
            "spans_exported": len(span_ids),
            "duplicate_spans": len(span_ids) - len(set(span_ids)),
            # Every request's span (plus the master's own 5 calls and the reload probes).
            "spans_minus_requests": len(span_ids) - (len(first) + len(second)),
        })
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rounds = []
    for _ in range(args.rounds):  # alternating on/off, ratios per round
        on, off = run(args.requests, True), run(args.requests, False)
        rounds.append({"on": on, "off": off,
                       "throughput_ratio": on["requests_per_s"] / off["requests_per_s"]})
        print(json.dumps(rounds[-1]), flush=True)
    summary = {
        "command": "python benchmarks/bench_gunicorn.py " + " ".join(sys.argv[1:]),
        "workers": WORKERS,
        "median_throughput_ratio": statistics.median(r["throughput_ratio"] for r in rounds),
        "all_exit_0": all(r["on"]["exit_code"] == 0 and r["off"]["exit_code"] == 0
                          for r in rounds),
        "duplicate_spans": sum(r["on"]["duplicate_spans"] for r in rounds),
        "rounds": rounds,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "rounds"}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""A real pre-forking server: gunicorn --preload, 4 workers, a decorated WSGI app, reload, stop."""

from __future__ import annotations

import collections
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from lifecycle_helpers import ROOT, read_store

from infertel import conventions as c

pytest.importorskip("gunicorn")

WORKERS = 4
APP_DIR = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_answers: list[dict[str, Any]] = []  # every answer of the test, probes included


def _get(port: int, value: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", f"/?{value}")
        response = connection.getresponse()
        assert response.status == 200
        answer: dict[str, Any] = json.loads(response.read())
        _answers.append(answer)
        return answer
    finally:
        connection.close()


def _load(port: int, values: range) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda v: _get(port, v), values))


def _wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_every_worker_reports_under_its_own_instance_through_reload_and_stop(
        tmp_path: Path) -> None:
    port = _free_port()
    _answers.clear()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "INFERTEL_"))},
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(APP_DIR)]),
           "INFERTEL_TEST_STORE": str(tmp_path)}
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "--workers", str(WORKERS),
         "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "20", "--timeout", "60",
         "--log-level", "warning", "gunicorn_app:app"],
        cwd=APP_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until(lambda: _get(port, 0), 30, "gunicorn to answer")
        first = _load(port, range(1, 401))
        old_pids = {answer["pid"] for answer in first}

        server.send_signal(signal.SIGHUP)  # reload: new workers forked, old ones stopped

        def new_workers_answer() -> bool:
            return any(a["pid"] not in old_pids for a in _load(port, range(8)))

        _wait_until(new_workers_answer, 30, "the reloaded workers")
        second = _load(port, range(1000, 1200))
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    elapsed = time.monotonic() - started
    assert server.returncode == 0, stderr[-3000:]
    assert elapsed < 120, "start, load, reload and stop took too long (a hang)"

    answers = list(_answers)
    assert len(answers) >= len(first) + len(second)
    served = collections.Counter(a["instance"] for a in answers)
    pids_of = collections.defaultdict(set)
    for answer in answers:
        pids_of[answer["instance"]].add(answer["pid"])
    assert len({a["pid"] for a in first}) == WORKERS, "the load did not reach every worker"
    # One service.instance.id per worker process, never shared between two processes.
    assert all(len(pids) == 1 for pids in pids_of.values())
    assert len(served) == len({a["pid"] for a in answers})
    assert len(served) > WORKERS  # the reload's new workers reported too

    store = read_store(tmp_path)
    span_ids = [s["spanId"] for s in store.spans]
    assert len(span_ids) == len(set(span_ids)), "a record was exported twice"
    for instance, count in served.items():
        # Every request's span arrived, once, under the instance of the worker that served it.
        assert len(store.spans_of(instance)) == count, instance
        # Cumulative metrics per worker count that worker's calls only.
        assert store.last_sum(instance, c.METRIC_REQUESTS) == count, instance
    [master] = store.instance_ids() - set(served)
    master_spans = store.spans_of(master)
    assert len(master_spans) == 5  # gunicorn_app.MASTER_CALLS, exported once, by the master
    assert all(int(s["attrs"]["ml.input.x"]) <= 0 for s in master_spans)

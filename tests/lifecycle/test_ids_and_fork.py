"""Trace/span ids the application cannot seed; a forked child gets a pipeline of its own."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import pytest
from lifecycle_helpers import read_store, run_python

import infertel
from infertel import conventions as c
from infertel.pipeline import _lifecycle
from infertel.pipeline._identity import SecureIdGenerator, schema_url
from infertel.testing import capture_telemetry

_SEEDED_IDS = """
    import json, random
    import infertel
    from infertel.testing import capture_telemetry

    random.seed(0)  # routine in ML code

    @infertel.traced_inference
    def predict(x):
        return x

    with capture_telemetry() as captured:
        for i in range(200):
            predict(i)
        spans = captured.spans()
    print(json.dumps([[s.context.trace_id, s.context.span_id] for s in spans]))
"""


@pytest.mark.integration
def test_processes_that_seed_random_alike_draw_different_ids() -> None:
    runs = [run_python(_SEEDED_IDS, timeout=60) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    first, second = (json.loads(run.stdout.strip().splitlines()[-1]) for run in runs)
    assert len(first) == len(second) == 200
    # Before: the SDK's random-module generator gave both processes the very same ids.
    assert not {t for t, _ in first} & {t for t, _ in second}
    assert not {s for _, s in first} & {s for _, s in second}


def test_calls_neither_follow_nor_consume_the_applications_random_stream() -> None:
    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    random.seed(0)
    expected = random.random()
    with capture_telemetry() as captured:
        random.seed(0)
        predict(1)
        assert random.random() == expected  # the call drew nothing from `random`
        random.seed(0)
        predict(2)
        first, second = captured.spans()
    assert first.context.trace_id != second.context.trace_id
    assert first.context.span_id != second.context.span_id
    assert isinstance(captured.telemetry.tracer_provider.id_generator, SecureIdGenerator)


def test_ids_are_valid_and_distinct_over_many_draws() -> None:
    ids = SecureIdGenerator()
    spans = [ids.generate_span_id() for _ in range(20_000)]
    traces = [ids.generate_trace_id() for _ in range(20_000)]
    assert len(set(spans)) == len(spans)
    assert len(set(traces)) == len(traces)
    assert all(0 < s < 2**64 for s in spans)
    assert all(0 < t < 2**128 for t in traces)
    # Both halves of a trace id are random (no fixed or zero half).
    assert len({t >> 64 for t in traces}) == len(traces)


def _wait_child(pid: int, timeout: float) -> int | None:
    """The child's exit code, or None if it is still running after ``timeout`` (killed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


def test_forked_child_draws_ids_the_parent_does_not() -> None:
    ids = SecureIdGenerator()
    ids.generate_span_id()  # the pool is filled before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.write(write, json.dumps([ids.generate_span_id() for _ in range(100)]).encode())
        finally:
            os._exit(0)
    os.close(write)
    assert _wait_child(pid, 20) == 0
    with os.fdopen(read) as pipe:
        child = set(json.loads(pipe.read()))
    parent = {ids.generate_span_id() for _ in range(100)}
    assert not parent & child


def test_forked_child_exports_its_own_records_under_its_own_instance_id(tmp_path: Path) -> None:
    telemetry = infertel.configure(service_name="forking", exporter="local", local_dir=tmp_path)

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    release = threading.Event()
    telemetry.worker.submit(lambda: release.wait(10))  # parent's records stay queued...
    time.sleep(0.1)
    for i in range(5):
        predict(i)
    pid = os.fork()  # ...at the fork
    if pid == 0:  # child
        code = 1
        try:
            for i in range(7):
                predict(100 + i)
            code = 0 if infertel.shutdown(timeout=10) else 2
        finally:
            os._exit(code)
    release.set()
    assert _wait_child(pid, 30) == 0
    for i in range(3):
        predict(200 + i)
    assert infertel.shutdown(timeout=10) is True

    store = read_store(tmp_path)
    parent_id = str(telemetry.resource.attributes[c.SERVICE_INSTANCE_ID])
    ids = store.instance_ids()
    assert len(ids) == 2
    assert parent_id in ids
    [child_id] = ids - {parent_id}
    assert len(store.spans_of(parent_id)) == 8
    # Before: the child re-exported nothing of its own under a new id (one id for both).
    assert len(store.spans_of(child_id)) == 7
    span_ids = [s["spanId"] for s in store.spans]
    assert len(span_ids) == len(set(span_ids)), "a record was exported twice"
    # Cumulative metrics start at zero in the child: 7 calls, not the parent's 5 + 7.
    assert store.last_sum(child_id, c.METRIC_REQUESTS) == 7
    assert store.last_sum(parent_id, c.METRIC_REQUESTS) == 8
    # The resource and the scope name their semantic-conventions version.
    assert schema_url().startswith("https://opentelemetry.io/schemas/1.")
    raw = "".join(p.read_text() for p in tmp_path.glob("traces/*.jsonl"))
    assert raw.count(f'"schemaUrl":"{schema_url()}"') >= 4  # resource + scope, both processes


def test_fork_while_the_worker_holds_a_lock_of_the_pipeline(tmp_path: Path) -> None:
    infertel.configure(exporter="local", local_dir=tmp_path)
    telemetry = _lifecycle.current()
    assert telemetry is not None

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    # The scrubber's end-of-batch step, made to hold a lock while it waits: a stand-in for any
    # lock inside the pipeline (exporter, scrubber, redaction child) held across the fork.
    scrubber = telemetry.scrubber
    original = scrubber.release
    held = threading.Lock()
    inside = threading.Event()
    release = threading.Event()

    def release_holding_a_lock() -> None:
        with held:
            inside.set()
            release.wait(10)
            original()

    scrubber.release = release_holding_a_lock  # type: ignore[method-assign]
    predict(0)
    assert inside.wait(10)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child: before, its worker reused this scrubber and blocked on `held`
        code = 1
        try:
            for i in range(3):
                predict(i)
            code = 0 if infertel.shutdown(timeout=5) else 2
        finally:
            os._exit(code)
    fork_took = time.monotonic() - started
    try:
        assert _wait_child(pid, 30) == 0, "the forked child could not deliver (deadlock)"
    finally:
        release.set()
    assert fork_took < 2.0  # the bounded wait for the worker's batch, not longer
    assert infertel.shutdown(timeout=10) is True
    logs = read_store(tmp_path).logs
    assert len({r["resource"]["service.instance.id"] for r in logs}) == 2

"""Worker.flush is event-driven: it wakes an idle worker at once (the worker would otherwise
sleep its whole poll interval) and waits on the worker's idle event, not by polling."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from infertel.pipeline import _worker
from infertel.pipeline._worker import Worker


def test_flush_wakes_a_sleeping_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # A poll interval far longer than the flush timeout: only a wake-up can make flush succeed.
    monkeypatch.setattr(_worker, "_POLL_INTERVAL_S", 600.0)
    handled: list[Any] = []
    worker = Worker(handled.extend, maxsize=100, name="test-worker")
    worker.start()
    try:
        assert worker.flush(30.0)  # the worker's first pass found nothing and went to sleep
        for round_ in range(3):
            items = [(round_, i) for i in range(5)]
            for item in items:
                assert worker.submit(item)
            assert worker.flush(30.0)
            assert handled[-5:] == items
        assert worker.pending() == 0
    finally:
        assert worker.stop(30.0)
    assert not worker.alive()


def test_flush_waits_for_the_batch_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_worker, "_POLL_INTERVAL_S", 600.0)
    entered, release = threading.Event(), threading.Event()
    handled: list[Any] = []

    def slow(batch: list[Any]) -> None:
        entered.set()
        release.wait(30.0)
        handled.extend(batch)

    worker = Worker(slow, maxsize=100, name="test-worker")
    worker.start()
    try:
        worker.submit("a")
        threading.Thread(target=worker.flush, args=(30.0,), daemon=True).start()
        assert entered.wait(30.0)
        # The queue is empty now but the batch is not handled: flush must not answer True.
        assert worker.flush(0.2) is False
        release.set()
        assert worker.flush(30.0)
        assert handled == ["a"]
    finally:
        release.set()
        assert worker.stop(30.0)


def test_flush_and_submit_from_many_threads() -> None:
    handled: list[Any] = []
    lock = threading.Lock()

    def handle(batch: list[Any]) -> None:
        with lock:
            handled.extend(batch)

    worker = Worker(handle, maxsize=100_000, name="test-worker")
    worker.start()
    failures: list[int] = []

    def producer(n: int) -> None:
        for i in range(200):
            worker.submit((n, i))
            if i % 50 == 49:
                mine = {(n, j) for j in range(i + 1)}
                if not worker.flush(30.0):
                    failures.append(n)
                with lock:
                    seen = set(handled)
                if not mine <= seen:  # flush answered True before these were handled
                    failures.append(n)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60.0)
    try:
        assert failures == []
        assert len(handled) == 800
    finally:
        assert worker.stop(30.0)

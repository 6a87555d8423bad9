"""flush() and shutdown(): deadlines, honest answers, one summary line; exit and SIGTERM."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from lifecycle_helpers import read_store, run_python

import infertel

_EMAIL = "jane.doe@example.com"


def _summaries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "infertel" and "did not deliver everything" in r.getMessage()]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_flush_on_a_short_deadline_returns_false_instead_of_raising(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    telemetry = infertel.configure(exporter="local", local_dir=tmp_path)

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    release = threading.Event()
    telemetry.worker.submit(lambda: release.wait(10))  # the worker is busy past the deadline
    time.sleep(0.1)
    predict(1)
    start = time.monotonic()
    # Before: OpenTelemetry's "MeterProvider.force_flush failed..." reached the caller.
    assert telemetry.flush(timeout=0.05) is False
    assert time.monotonic() - start < 0.5
    release.set()
    [summary] = _summaries(caplog)
    assert "flush" in summary.getMessage()
    assert "queued or in progress" in summary.getMessage()
    assert telemetry.flush(timeout=5.0) is True  # the record was delivered after all


def test_flush_and_shutdown_report_true_when_everything_arrived(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    infertel.configure(exporter="local", local_dir=tmp_path)

    @infertel.traced_inference
    def predict(x: int) -> int:
        return x

    for i in range(20):
        predict(i)
    assert infertel.configure.__module__  # keep the module loaded
    from infertel.pipeline import _lifecycle

    telemetry = _lifecycle.current()
    assert telemetry is not None
    assert telemetry.flush(timeout=10.0) is True
    assert infertel.shutdown(timeout=10.0) is True
    assert infertel.shutdown(timeout=10.0) is True  # a second call repeats the answer
    assert _summaries(caplog) == []
    assert len(read_store(tmp_path).spans) == 20


@pytest.mark.integration
def test_shutdown_is_false_with_one_summary_line_when_exports_fail(
        caplog: pytest.LogCaptureFixture) -> None:
    infertel.configure(exporter="otlp", otlp_endpoint=f"http://127.0.0.1:{_closed_port()}",
                       export_timeout_s=1.0)

    @infertel.traced_inference(inputs={"email": "keep"})
    def predict(email: str) -> int:
        return len(email)

    for _ in range(30):
        predict(_EMAIL)
    from infertel.pipeline import _lifecycle

    telemetry = _lifecycle.current()
    assert telemetry is not None
    start = time.monotonic()
    # Before: True, although nothing reached the (absent) collector.
    assert infertel.shutdown(timeout=4.0) is False
    assert time.monotonic() - start < 4.5
    [summary] = _summaries(caplog)
    message = summary.getMessage()
    lost = telemetry.dropped()
    assert lost.get("export_failed", 0) > 0
    for reason, count in lost.items():
        assert f"{reason}={count}" in message
    assert infertel.shutdown(timeout=1.0) is False  # the answer does not change
    assert _EMAIL not in caplog.text


def test_drops_are_counted_in_the_summary_without_payload_text(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    telemetry = infertel.configure(exporter="local", local_dir=tmp_path, queue_size=3)

    @infertel.traced_inference(inputs={"note": "keep"})
    def predict(note: str) -> str:
        return note

    release = threading.Event()
    telemetry.worker.submit(lambda: release.wait(10))
    time.sleep(0.1)
    for _ in range(10):
        predict(f"call {_EMAIL} now")
    release.set()
    assert telemetry.flush(timeout=10.0) is False
    [summary] = _summaries(caplog)
    assert f"queue_full={telemetry.dropped()['queue_full']}" in summary.getMessage()
    assert telemetry.flush(timeout=10.0) is True  # counted once, not again
    assert _EMAIL not in caplog.text


_NER_EXIT = """
    import sys
    import infertel
    infertel.configure(service_name="ner-exit", exporter="local", local_dir=sys.argv[1],
                       privacy=infertel.PrivacyPolicy(detection="ner"))

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> int:
        return len(text)

    for i in range(1500):
        predict(f"Customer John Smith from Berlin called about order {i}")
    print("calls done", flush=True)
    # no shutdown(): the interpreter exits with the worker inside spaCy
"""


@pytest.mark.integration
def test_exit_without_shutdown_in_ner_mode_does_not_crash(tmp_path: Path) -> None:
    pytest.importorskip("spacy")
    start = time.monotonic()
    done = run_python(_NER_EXIT, args=(str(tmp_path),), timeout=90)
    elapsed = time.monotonic() - start
    # Before: SIGABRT ("libblis: Aborting.") or SIGSEGV at exit, with no count of the loss.
    assert done.returncode == 0, done.stderr[-2000:]
    assert "calls done" in done.stdout
    assert "Fatal Python error" not in done.stderr
    assert "did not deliver everything" in done.stderr or "Aborting" not in done.stderr
    assert elapsed < 60


_EXIT_WITH_THREADS = """
    import sys, threading, time
    import infertel
    infertel.configure(exporter="local", local_dir=sys.argv[1])

    @infertel.traced_inference
    def predict(x):
        return x

    def late_calls():
        time.sleep(0.3)  # still calling after the main thread has finished
        for i in range(50):
            predict(i)

    threading.Thread(target=late_calls).start()  # not a daemon: the interpreter waits for it
    for i in range(10):
        predict(i)
"""


@pytest.mark.integration
def test_exit_flushes_after_the_applications_threads_finish(tmp_path: Path) -> None:
    done = run_python(_EXIT_WITH_THREADS, args=(str(tmp_path),), timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(read_store(tmp_path).spans) == 60


_SIGTERM_DEFAULT = """
    import os, signal, sys, time
    import infertel
    infertel.configure(exporter="local", local_dir=sys.argv[1])

    @infertel.traced_inference
    def predict(x):
        return x

    for i in range(3000):
        predict(i)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
    print("not reached")
"""


@pytest.mark.integration
def test_sigterm_flushes_then_ends_the_process_as_sigterm_does(tmp_path: Path) -> None:
    start = time.monotonic()
    done = run_python(_SIGTERM_DEFAULT, args=(str(tmp_path),), timeout=60)
    assert done.returncode == -signal.SIGTERM, done.stderr[-2000:]
    assert "not reached" not in done.stdout
    # Before: the default action killed the process with the records still queued.
    assert len(read_store(tmp_path).spans) == 3000
    assert time.monotonic() - start < 20  # export_timeout_s (5 s) plus interpreter start


_SIGTERM_APP_HANDLER = """
    import os, signal, sys
    import infertel

    def on_term(signum, frame):
        print("app handler ran", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    infertel.configure(exporter="local", local_dir=sys.argv[1])
    assert signal.getsignal(signal.SIGTERM) is on_term, "infertel replaced the app's handler"

    @infertel.traced_inference
    def predict(x):
        return x

    for i in range(500):
        predict(i)
    os.kill(os.getpid(), signal.SIGTERM)
    import time; time.sleep(30)
"""


@pytest.mark.integration
def test_an_application_sigterm_handler_is_left_alone(tmp_path: Path) -> None:
    done = run_python(_SIGTERM_APP_HANDLER, args=(str(tmp_path),), timeout=60,
                      env={"INFERTEL_LOG_LEVEL": "INFO"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "app handler ran" in done.stdout
    # The application's own exit path (sys.exit) flushes through the exit hook.
    assert len(read_store(tmp_path).spans) == 500


def test_no_handler_is_installed_over_an_existing_one(caplog: pytest.LogCaptureFixture) -> None:
    from infertel.pipeline import _lifecycle

    previous = signal.getsignal(signal.SIGTERM)

    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not called in this test")

    signal.signal(signal.SIGTERM, mine)
    try:
        caplog.set_level(logging.INFO, logger="infertel")
        _lifecycle._install_sigterm_handler()
        assert signal.getsignal(signal.SIGTERM) is mine
        assert any("SIGTERM has a handler already" in r.getMessage() for r in caplog.records)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _lifecycle._install_sigterm_handler()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)

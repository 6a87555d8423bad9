"""The redaction child under faults: stopped, wedged, dead parent, oversize messages; its
health facts; and the same pseudonyms in the child and in-process without an HMAC key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import infertel
from infertel import conventions as c
from infertel.privacy import _child_protocol as proto
from infertel.privacy import _offload
from infertel.privacy._offload import OFFLOAD_MIN_CHARS, RedactionProcess
from infertel.testing import capture_telemetry

EMAIL = "jane.doe@example.com"
LONG = (f"Customer {EMAIL} called from +44 20 7946 0958 about card 4111 1111 1111 1111; " * 4)
ROOT = Path(__file__).resolve().parents[2]


def started(policy: infertel.PrivacyPolicy | None = None) -> RedactionProcess:
    process = RedactionProcess(policy or infertel.PrivacyPolicy(), None)
    answer = process.redact_many([LONG], budget_s=30)
    assert answer is not None
    assert EMAIL not in answer[0][0]
    return process


def child_of(process: RedactionProcess) -> subprocess.Popen[bytes]:
    child = process._process
    assert child is not None
    return child


def test_a_stopped_child_is_seen_killed_and_reaped_at_once() -> None:
    process = started()
    child = child_of(process)
    os.kill(child.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        # 400 records: the old per-record budget would have waited 0.25 s x 400 = 100 s.
        answer = process.redact_many([f"{n} {LONG}" for n in range(400)], budget_s=0.25 * 400)
        elapsed = time.monotonic() - t0
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGCONT)
    assert answer is None  # the caller redacts in-process: never raw
    assert elapsed < 2.0
    assert child.poll() == -signal.SIGKILL  # killed and reaped, no zombie
    health = process.health()
    assert health["alive"] is False
    assert health["failures"] == 1
    assert health["last_failure"] == "stopped"
    process.close()


def test_a_wedged_child_misses_a_deadline_that_scales_with_the_work(
        monkeypatch: pytest.MonkeyPatch) -> None:
    process = started()
    small = process._deadline_s(1_000, 1)
    large = process._deadline_s(60_000, 60)
    assert _offload.MIN_DEADLINE_S <= small < large
    assert process._deadline_s(60_000, 1) < large  # the count matters as well as the size
    # Wedged but not visibly stopped: the state poll sees nothing, only the deadline can tell.
    monkeypatch.setattr(proto, "process_state", lambda pid: None)
    child = child_of(process)
    os.kill(child.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        answer = process.redact_many([LONG] * 3, budget_s=600.0)
        elapsed = time.monotonic() - t0
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGCONT)
    expected = process._deadline_s(3 * len(LONG), 3)
    assert answer is None
    assert expected - 0.2 <= elapsed <= expected + 1.0  # the work-scaled bound, not 600 s
    assert process.health()["last_failure"] == "timeout"
    process.close()


def test_restart_after_exponential_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_offload, "BACKOFF_BASE_S", 0.2)
    process = started()
    child = child_of(process)
    child.kill()
    child.wait(5)
    assert process.redact_many([LONG], 30) is None  # notices the death, backs off
    assert process.health()["last_failure"] == "exited"
    # A crash loop: every new child dies at start; the waits double.
    monkeypatch.setattr(_offload, "CHILD_MODULE", "infertel.privacy._no_such_child_module")
    waits = []
    for _ in range(3):
        waits.append(process.health()["backoff_remaining_s"])
        assert process.redact_many([LONG], 30) is None  # still backing off: no new child
        assert process._process is None
        time.sleep(waits[-1] + 0.05)
        assert process.redact_many([LONG], 30) is None  # starts one, which dies
    assert waits == pytest.approx([0.2, 0.4, 0.8], abs=0.05)
    monkeypatch.setattr(_offload, "CHILD_MODULE", "infertel.privacy._redaction_child")
    time.sleep(process.health()["backoff_remaining_s"] + 0.05)
    again = process.redact_many([LONG], 30)
    assert again is not None
    assert EMAIL not in again[0][0]
    health = process.health()
    assert health["starts"] == 5
    assert health["restarts"] == 4
    assert health["failures"] == 4
    assert health["fallback_batches"] == 3
    assert health["alive"] is True
    process.close()
    assert process.health()["alive"] is False


def test_health_carries_no_payload_text() -> None:
    process = started()
    child = child_of(process)
    os.kill(child.pid, signal.SIGSTOP)
    try:
        assert process.redact_many([LONG], 30) is None
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGCONT)
    dumped = json.dumps(process.health())
    for planted in (EMAIL, "jane", "7946", "4111"):
        assert planted not in dumped
    process.close()


def test_pipeline_keeps_every_record_when_the_child_is_stopped() -> None:
    policy = infertel.PrivacyPolicy(redaction_process="on")

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry(privacy=policy) as captured:
        predict(LONG)
        captured.flush()
        offload = captured.telemetry.scrubber._offload
        assert offload is not None
        child = child_of(offload)
        os.kill(child.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            for n in range(200):
                predict(f"{n} {LONG}")
            captured.flush()
            elapsed = time.monotonic() - t0
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGCONT)
        spans = captured.spans()
        health = offload.health()
    assert len(spans) == 201
    texts = [s.attributes[c.INPUT_PREFIX + "text"] for s in spans]
    assert all(EMAIL not in t and "<EMAIL_ADDRESS>" in t for t in texts)
    assert elapsed < 10.0
    assert health["last_failure"] == "stopped"


def test_the_child_exits_when_its_parent_dies(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT / "src")!r})
        import infertel
        from infertel.privacy._offload import RedactionProcess
        process = RedactionProcess(infertel.PrivacyPolicy(), None)
        assert process.redact_many(["x" * 300], 30) is not None
        print(process._process.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    parent.stdout.close()
    parent.kill()  # SIGKILL: no atexit, no close(); only the pipe tells the child
    parent.wait(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proto.process_state(child_pid) not in (None, "Z"):
        time.sleep(0.05)
    assert proto.process_state(child_pid) in (None, "Z")


def test_child_environment_single_threaded_blas_and_no_key() -> None:
    key = "0123456789abcdef0123456789abcdef"
    os.environ["INFERTEL_HMAC_KEY"] = key
    try:
        process = started(infertel.PrivacyPolicy())
    finally:
        del os.environ["INFERTEL_HMAC_KEY"]
    child = child_of(process)
    environ = Path(f"/proc/{child.pid}/environ").read_bytes().split(b"\0")
    cmdline = Path(f"/proc/{child.pid}/cmdline").read_bytes()
    for name in _offload.THREAD_VARS:
        assert f"{name}=1".encode() in environ
    assert not any(entry.startswith(b"INFERTEL_HMAC_KEY") for entry in environ)
    assert key.encode() not in b"".join(environ) + cmdline
    process.close()
    assert child.poll() is not None


def test_oversize_or_truncated_messages_fail_instead_of_hanging() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    try:
        os.write(write_end, (proto.MAX_MESSAGE_BYTES + 1).to_bytes(4, "big"))
        with pytest.raises(proto.ChildError, match="protocol"):
            proto.recv(read_end, time.monotonic() + 1)
        os.write(write_end, (100).to_bytes(4, "big") + b"half")  # then nothing more
        t0 = time.monotonic()
        with pytest.raises(proto.ChildError, match="timeout"):
            proto.recv(read_end, time.monotonic() + 0.3)
        assert time.monotonic() - t0 < 1.0
    finally:
        os.close(read_end)
        os.close(write_end)


def test_without_a_key_child_and_in_process_pseudonyms_are_identical() -> None:
    policy = infertel.PrivacyPolicy(redaction_process="on",
                                    pseudonymize_entities=("EMAIL_ADDRESS",))

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    short = f"mail {EMAIL}"
    assert len(short) < OFFLOAD_MIN_CHARS <= len(LONG)
    with capture_telemetry(privacy=policy) as captured:
        predict(LONG)  # redacted in the child
        predict(short)  # redacted in-process
        spans = sorted(captured.spans(), key=lambda s: s.start_time)
        offload = captured.telemetry.scrubber._offload
        assert offload is not None
        assert offload.health()["batches"] >= 1  # the long one really went to the child
    long_out, short_out = (s.attributes[c.INPUT_PREFIX + "text"] for s in spans)
    token = short_out.removeprefix("mail ")
    assert token.startswith("<EMAIL_ADDRESS:k1:")
    assert long_out.count(token) == 4
    assert EMAIL not in long_out + short_out


def test_a_forked_process_gets_its_own_child_and_leaves_the_parents_alone() -> None:
    process = started()
    parent_child = child_of(process)
    pid = os.fork()
    if pid == 0:  # the forked process: exit code says what it saw
        code = 1
        try:
            assert process._process is None  # the parent's child was dropped, not signalled
            answer = process.redact_many([LONG], 30)
            assert answer is not None
            assert EMAIL not in answer[0][0]
            mine = child_of(process)
            assert mine.pid != parent_child.pid
            process.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent_child.poll() is None  # still ours, still serving
    again = process.redact_many([LONG], 30)
    assert again is not None
    assert EMAIL not in again[0][0]
    process.close()

"""Payload redaction in a child process: same result as in-process, safe when the child dies."""

from __future__ import annotations

import os
import signal

import infertel
from infertel import conventions as c
from infertel.privacy._offload import OFFLOAD_MIN_CHARS, RedactionProcess
from infertel.testing import capture_telemetry

KEY = "0123456789abcdef0123456789abcdef"
LONG = ("Customer jane.doe@example.com called from +44 20 7946 0958 about card "
        "4111 1111 1111 1111; " * 4)


def redacted_inputs(mode: str) -> list[str]:
    policy = infertel.PrivacyPolicy(redaction_process=mode, hmac_key=KEY,  # type: ignore[arg-type]
                                    pseudonymize_entities=("EMAIL_ADDRESS",))

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry(privacy=policy) as captured:
        for n in range(5):
            predict(f"{n} {LONG}")
        spans = sorted(captured.spans(), key=lambda s: s.start_time)
        counts = [s.attributes[c.REDACTION_COUNT] for s in spans]
    assert counts == [12] * 5
    return [s.attributes[c.INPUT_PREFIX + "text"] for s in spans]


def test_child_process_redacts_exactly_as_in_process() -> None:
    assert len(LONG) >= OFFLOAD_MIN_CHARS
    in_child = redacted_inputs("on")
    in_process = redacted_inputs("off")
    assert in_child == in_process
    assert "jane.doe" not in "".join(in_child)
    assert "<EMAIL_ADDRESS:k1:" in in_child[0]


def test_a_dead_child_falls_back_to_in_process_redaction() -> None:
    policy = infertel.PrivacyPolicy(redaction_process="on")

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry(privacy=policy) as captured:
        predict(LONG)
        captured.flush()
        offload = captured.telemetry.scrubber._offload
        assert offload is not None
        child = offload._process
        assert child is not None
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
        predict("again " + LONG)
        spans = captured.spans()
    assert len(spans) == 2
    assert all("jane.doe" not in s.attributes[c.INPUT_PREFIX + "text"] for s in spans)


def test_no_child_outlives_shutdown() -> None:
    process = RedactionProcess(infertel.PrivacyPolicy(), None)
    [(text, entities)] = process.redact_many([LONG], budget_s=30)
    assert "jane.doe" not in text
    assert entities.count("EMAIL_ADDRESS") == 4
    child = process._process
    assert child is not None
    process.close()
    assert child.poll() is not None


def test_short_strings_never_start_a_child() -> None:
    policy = infertel.PrivacyPolicy(redaction_process="on")

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry(privacy=policy) as captured:
        predict("short jane.doe@example.com")
        [span] = captured.spans()
        assert captured.telemetry.scrubber._offload._process is None  # type: ignore[union-attr]
    assert span.attributes[c.INPUT_PREFIX + "text"] == "short <EMAIL_ADDRESS>"

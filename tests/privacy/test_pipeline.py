"""The privacy pipeline: field actions, pseudonyms, scrubbing rules, fail-closed behaviour."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pydantic
import pytest

import infertel
from infertel import conventions as c
from infertel.privacy._actions import bucket
from infertel.privacy._pseudonym import Pseudonymizer
from infertel.privacy._scrubber import REDACTION_FAILED, Scrubber, ScrubContext
from infertel.testing import capture_telemetry

KEY = "0123456789abcdef0123456789abcdef"


def context() -> ScrubContext:
    return ScrubContext(5.0)


def test_markers_and_pseudonyms_are_opaque_to_a_second_scrub() -> None:
    scrubber = Scrubber(infertel.PrivacyPolicy())
    already = "<HASH:k1:415555267123> <EMAIL_ADDRESS> then call +44 20 7946 0958"
    assert scrubber.text(already, context()) == (
        "<HASH:k1:415555267123> <EMAIL_ADDRESS> then call <PHONE_NUMBER>")


def test_json_strings_are_scrubbed_as_structures() -> None:
    scrubber = Scrubber(infertel.PrivacyPolicy())
    text = '{"user": "a.b@example.com", "password": "hunter2", "note": "line1\\nline2"}'
    out = scrubber.text(text, context())
    assert "a.b@example.com" not in out
    assert "hunter2" not in out
    assert '"password":"<SECRET>"' in out
    assert '"note":"line1\\nline2"' in out


def test_values_under_secret_keys_are_replaced_but_counts_are_not() -> None:
    scrubber = Scrubber(infertel.PrivacyPolicy())
    out = scrubber.value({"api_key": "zzz", "max_tokens": 5, "session_id": "s-1",
                          "Authorization": "opaque"}, context())
    assert out == {"api_key": "<SECRET>", "max_tokens": 5, "session_id": "<SECRET>",
                   "Authorization": "<SECRET>"}


def test_bytes_and_unknown_objects_never_leave_as_content() -> None:
    scrubber = Scrubber(infertel.PrivacyPolicy())
    assert scrubber.value(b"jane@example.com", context()) == "<bytes:16>"
    assert scrubber.value({1, 2}, context()) == "<set>"


def test_scrub_failure_replaces_the_payload_and_is_counted() -> None:
    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        raise RuntimeError(f"failed on {text}")

    with capture_telemetry(raise_internal_errors=False) as captured:
        detector = captured.telemetry.scrubber.detector

        def broken(text: str) -> list:
            raise RuntimeError("detector crashed")

        detector.analyze = broken  # type: ignore[method-assign]
        with pytest.raises(RuntimeError, match="failed on"):
            predict("jane.doe@example.com")
        [span] = captured.spans()
        [log] = [r.log_record for r in captured.logs() if r.log_record.event_name == "inference"]
        failures = captured.telemetry.scrubber.failures()
    exported = repr(span.attributes) + repr(span.events) + repr(span.status) + repr(log.body) \
        + repr(log.attributes) + span.name
    assert "jane.doe" not in exported
    # The worker failed closed: payload and exception text replaced by markers, flagged.
    assert span.attributes[c.INPUT_PREFIX + "text"] == REDACTION_FAILED
    assert span.attributes[c.REDACTION_FAILED] is True
    assert span.events[0].attributes[c.EXCEPTION_MESSAGE] == REDACTION_FAILED
    assert log.body["inputs"] == {"text": REDACTION_FAILED}
    assert log.attributes[c.EXCEPTION_MESSAGE] == REDACTION_FAILED
    assert failures >= 2  # the payload pass and the exception-text pass both failed closed


def test_scrub_timeout_fails_closed() -> None:
    policy = infertel.PrivacyPolicy(redaction_timeout_s=1e-9)

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry(privacy=policy, raise_internal_errors=False) as captured:
        predict("call +44 20 7946 0958")
        [span] = captured.spans()
    assert "7946" not in repr(span.attributes)
    assert captured.telemetry.scrubber.failures() >= 1


def test_hash_action_is_a_stable_keyed_pseudonym_that_rotates_with_the_key() -> None:
    def run(policy: infertel.PrivacyPolicy) -> list[str]:
        @infertel.traced_inference(inputs={"user_id": "hash"})
        def predict(user_id: str) -> None:
            return None

        with capture_telemetry(privacy=policy) as captured:
            predict("u-42")
            predict("u-42")
            predict("u-43")
            return [s.attributes[c.INPUT_PREFIX + "user_id"] for s in captured.spans()]

    first = run(infertel.PrivacyPolicy(hmac_key=KEY))
    assert first[0] == first[1] != first[2]
    assert re.fullmatch(r"<HASH:k1:[0-9a-f]{12}>", first[0])
    rotated = run(infertel.PrivacyPolicy(hmac_key=KEY[::-1], hmac_key_id="k2"))
    assert rotated[0].startswith("<HASH:k2:")
    assert rotated[0].split(":")[2] != first[0].split(":")[2]


def test_pseudonyms_normalise_the_same_person() -> None:
    p = Pseudonymizer(KEY.encode(), "k1")
    assert p.token("EMAIL_ADDRESS", "Jane.Doe@Example.com ") == p.token(
        "EMAIL_ADDRESS", "jane.doe@example.com")
    assert p.token("PHONE_NUMBER", "+44 20 7946 0958") == p.token("PHONE_NUMBER", "+442079460958")


def test_pseudonymised_entities_correlate_across_calls() -> None:
    policy = infertel.PrivacyPolicy(hmac_key=KEY, pseudonymize_entities=("EMAIL_ADDRESS",))

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry(privacy=policy) as captured:
        predict("from Jane.Doe@example.com")
        predict("cc jane.doe@example.com and +44 20 7946 0958")
        texts = [s.attributes[c.INPUT_PREFIX + "text"] for s in captured.spans()]
    tokens = [re.search(r"<EMAIL_ADDRESS:k1:[0-9a-f]{12}>", t).group() for t in texts]  # type: ignore[union-attr]
    assert tokens[0] == tokens[1]
    assert "<PHONE_NUMBER>" in texts[1]


def test_missing_key_uses_an_ephemeral_one_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    p = Pseudonymizer(None, "k1")
    assert p.ephemeral
    assert any("no HMAC key configured" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymizer(b"short", "k1")


def test_key_from_environment_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERTEL_HMAC_KEY", "from-env-" + KEY)
    assert infertel.PrivacyPolicy().key_bytes() == ("from-env-" + KEY).encode()
    monkeypatch.delenv("INFERTEL_HMAC_KEY")
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    assert infertel.PrivacyPolicy(hmac_key_file=key_file).key_bytes() == KEY.encode()
    with pytest.raises(ValueError, match="cannot read"):
        infertel.PrivacyPolicy(hmac_key_file=tmp_path / "missing").key_bytes()


def test_bucket_and_truncate_actions() -> None:
    policy = infertel.PrivacyPolicy(buckets={"req.amount": (0, 100, 1000)}, truncate_length=10)

    @infertel.traced_inference(inputs={"req.amount": "bucket", "req.comment": "truncate",
                                       "req.age": "bucket"})
    def predict(req: dict) -> None:
        return None

    with capture_telemetry(privacy=policy) as captured:
        predict({"amount": 250.0, "comment": "a long comment mailing x@example.com", "age": 42})
        [span] = captured.spans()
    assert span.attributes[c.INPUT_PREFIX + "req.amount"] == "[100, 1000)"
    # The cut never leaves part of a word (the rest of a value the detector cannot see whole).
    assert span.attributes[c.INPUT_PREFIX + "req.comment"] == "a long <TRUNCATED>"
    assert span.attributes[c.INPUT_PREFIX + "req.age"] == "[10, 100)"
    assert bucket(-5, (0, 10)) == "(-inf, 0)"
    assert bucket(10, (0, 10)) == "[10, inf)"
    assert bucket("x", (0, 10)) == REDACTION_FAILED


def test_default_action_applies_to_undeclared_parameters() -> None:
    @infertel.traced_inference(inputs={"secret_param": "drop"})
    def predict(text: str, count: int, secret_param: str) -> None:
        return None

    with capture_telemetry() as captured:
        predict("mail a@example.com", 3, "never")
        [span] = captured.spans()
    assert not any(k.startswith(c.INPUT_PREFIX) for k in span.attributes)

    with capture_telemetry(privacy=infertel.PrivacyPolicy(default_action="redact")) as captured:
        predict("mail a@example.com", 3, "never")
        [span] = captured.spans()
    assert span.attributes[c.INPUT_PREFIX + "text"] == "mail <EMAIL_ADDRESS>"
    assert span.attributes[c.INPUT_PREFIX + "count"] == 3
    assert c.INPUT_PREFIX + "secret_param" not in span.attributes


def test_segment_pseudonymised_on_request() -> None:
    policy = infertel.PrivacyPolicy(segment_action="hash", hmac_key=KEY)

    @infertel.traced_inference(segment=lambda user: user)
    def predict(user: str) -> None:
        return None

    with capture_telemetry(privacy=policy) as captured:
        predict("customer-881")
        [span] = captured.spans()
        [point] = captured.metric_points(c.METRIC_REQUESTS)
    assert span.attributes[c.SEGMENT].startswith("<SEGMENT:k1:")
    assert point.attributes[c.SEGMENT] == span.attributes[c.SEGMENT]


@pytest.mark.parametrize(
    "arguments",
    [
        {"buckets": {"x": (10, 1)}},
        {"hmac_key_id": "has space"},
        {"custom_recognizers": [{"entity_type": "EMP", "pattern": "("}]},
        {"redaction_timeout_s": 0},
        {"default_action": "keep"},
    ],
)
def test_policy_rejects_bad_values(arguments: dict) -> None:
    with pytest.raises(pydantic.ValidationError):
        infertel.PrivacyPolicy(**arguments)


def test_custom_recognizer_from_the_policy() -> None:
    policy = infertel.PrivacyPolicy(custom_recognizers=[
        infertel.RecognizerSpec(entity_type="EMPLOYEE_ID", pattern=r"\bEMP-\d{6}\b")])

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry(privacy=policy) as captured:
        predict("ticket by EMP-123456")
        [span] = captured.spans()
    assert span.attributes[c.INPUT_PREFIX + "text"] == "ticket by <EMPLOYEE_ID>"


def test_scrubbing_stays_off_the_serving_thread() -> None:
    """Redaction runs in the worker: a call's latency does not include detection."""
    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry() as captured:
        seen: list[str] = []
        scrubber = captured.telemetry.scrubber
        original = scrubber.text

        def spy(text: str, ctx: ScrubContext) -> str:
            import threading

            seen.append(threading.current_thread().name)
            return original(text, ctx)

        scrubber.text = spy  # type: ignore[method-assign]
        predict("x@example.com")
        captured.spans()
        time.sleep(0)
    assert seen
    assert "MainThread" not in seen


def test_nested_user_spans_still_pass_the_exit_scrubber() -> None:
    """Spans the worker builds are trusted (already scrubbed); everything else is scrubbed."""
    from opentelemetry import trace

    tracer = trace.get_tracer("user-code")

    @infertel.traced_inference
    def predict(text: str) -> None:
        with tracer.start_as_current_span(f"lookup {text}", attributes={"q": text}):
            pass

    infertel.configure(exporter="none")  # installs the forwarding global provider
    with capture_telemetry() as captured:
        predict("mail jane.doe@example.com")
        captured.telemetry.tracer_provider.force_flush()
        spans = {s.name: s for s in captured.spans()}
    nested = spans["lookup mail <EMAIL_ADDRESS>"]
    assert nested.attributes["q"] == "mail <EMAIL_ADDRESS>"
    assert not any("jane.doe" in name for name in spans)


def test_keys_get_pattern_detection_only_under_an_ner_policy() -> None:
    """NER reads dotted identifiers as names; keys must survive it, emails in keys must not."""
    pytest.importorskip("spacy", reason="NER needs pip install 'infertel[ner]'")
    scrubber = Scrubber(infertel.PrivacyPolicy(detection="ner"))
    try:
        scrubber.detector.analyze("Jane Doe")
    except (ImportError, RuntimeError, OSError) as error:
        pytest.skip(f"spaCy model not installed: {error}")
    out = scrubber.attributes({"ml.input.req.patient_ref": "Jane Doe called",
                               "jane.doe@example.com": 1}, context())
    assert out == {"ml.input.req.patient_ref": "<PERSON> called", "<EMAIL_ADDRESS>": 1}

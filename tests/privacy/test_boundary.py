"""One test per leak class of the privacy boundary: each plants its own values through one
route into a real pipeline writing a real local store, then reads every file back.

Values are fake but well-formed (Luhn-valid cards, plausible phones, SSNs outside the
never-issued ranges), chosen so the detector's job is not in question: what is tested is
that every exit crosses the boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from boundary_helpers import configure_store, flush_all, leaks, shutdown, store_text
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

import infertel

EMAIL = "zorblax.quint@example.org"
CARD = "4539578763621486"
PHONE = "+14155550143"
SSN = "536-22-1789"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "store"
    shutdown()


def test_user_span_event_names_scope_and_tracestate_are_scrubbed(store: Path) -> None:
    telemetry = configure_store(store)
    # Values stand apart from their neighbours here: this test is about routes, not about the
    # detector's handling of glued forms (tests/privacy/test_detector*.py covers those).
    tracer = trace.get_tracer(f"lib-of-{EMAIL}", f"1.0 {PHONE}",
                              attributes={"owner": EMAIL})
    parent = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1),
                         trace_state=TraceState([("vendor", f"mail:{EMAIL}"), ("ok", "v1")]))
    with tracer.start_as_current_span(
            "nested", context=trace.set_span_in_context(NonRecordingSpan(parent))) as span:
        span.add_event(f"mail sent to {EMAIL}", {"card": CARD})
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"call {PHONE}"))
    flush_all(telemetry)
    text = store_text(store)
    assert "nested" in text  # the span arrived
    assert '"ok=v1"' in text or "ok=v1" in text  # clean tracestate entries stay
    assert not leaks(text, [EMAIL, CARD, PHONE])


def test_processors_added_later_through_the_global_provider_see_scrubbed_spans(
        store: Path) -> None:
    configure_store(store)
    seen: list[ReadableSpan] = []

    class Recorder(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            seen.append(span)

    provider = trace.get_tracer_provider()
    provider.add_span_processor(Recorder())  # type: ignore[attr-defined]
    with trace.get_tracer("x").start_as_current_span(f"lookup {EMAIL}") as span:
        span.set_attribute("customer", CARD)
    [recorded] = seen
    rendered = recorded.to_json()
    assert not leaks(rendered, [EMAIL, CARD])


def test_safe_keys_set_by_users_are_not_trusted(store: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"service.instance.id={EMAIL}")
    model = infertel.ModelInfo(name=f"model {EMAIL}", version=f"v {PHONE}")
    telemetry = configure_store(store, model=model)
    with trace.get_tracer("x").start_as_current_span("s") as span:
        span.set_attribute("ml.inference.id", EMAIL)
        span.set_attribute("ml.batch.size", int(CARD))
        span.set_attribute("error.type", f"Err {SSN}")
    infertel.get_logger("app").info("event", **{"ml.model.artifact.digest": EMAIL})

    @infertel.traced_inference(inputs={"req": "keep"})
    def predict(req: dict[str, object]) -> int:
        return 1

    predict({"ml.inference.id": EMAIL, "code.function.name": f"f {PHONE}"})
    flush_all(telemetry)
    text = store_text(store)
    assert not leaks(text, [EMAIL, CARD, PHONE, SSN])


@pytest.mark.parametrize("action", ["keep", "redact"])
def test_numbers_are_scanned_whatever_their_type(store: Path, action: str) -> None:
    import numpy as np

    telemetry = configure_store(store)

    @infertel.traced_inference(inputs={"req": action})
    def predict(req: dict[str, object]) -> int:
        return 1

    predict({"amount": 12.5, "pay": int(CARD), "np": np.int64(int(CARD)),
             "phone_as_float": float(PHONE[1:]), "many": [int(CARD), 3]})
    flush_all(telemetry)
    text = store_text(store)
    assert "12.5" in text  # ordinary numbers stay numbers
    assert not leaks(text, [CARD, PHONE])


def test_values_under_secret_and_personal_keys_are_replaced_whatever_their_type(
        store: Path) -> None:
    telemetry = configure_store(store)

    @infertel.traced_inference(inputs={"req": "keep"})
    def predict(req: dict[str, object]) -> int:
        return 1

    predict({"password": 123456789012, "api_key": ["k1-abcdefgh", "k2-ijklmnop"],
             "token": {"inner": "tok-zzzz-yyyy"}, "name": "Zorblax", "holder": "Quint",
             "street": "Fnordgasse", "city": "Blorpton", "date_of_birth": 19700101,
             "max_tokens": 512, "model_name": "resnet"})
    flush_all(telemetry)
    text = store_text(store)
    assert not leaks(text, ["123456789012", "k1-abcdefgh", "k2-ijklmnop", "tok-zzzz-yyyy",
                            "Zorblax", "Quint", "Fnordgasse", "Blorpton", "19700101"])
    assert "512" in text
    assert "resnet" in text  # "model_name" is not a person's name


@pytest.mark.parametrize("action", ["bucket", "hash", "truncate"])
def test_outputs_declared_bucket_hash_truncate_never_reach_metric_values(
        store: Path, action: str) -> None:
    telemetry = configure_store(store)
    secret_score = 0.73125

    @infertel.traced_inference(outputs={"return": action})
    def predict(x: int) -> float:
        return secret_score

    for _ in range(3):
        predict(1)
    flush_all(telemetry)
    metrics = "\n".join(p.read_text() for p in (store / "metrics").glob("*.jsonl"))
    assert "ml.prediction.value" not in metrics or "0.73125" not in metrics
    assert "2.19375" not in metrics  # the sum of three calls


def test_kept_outputs_do_reach_metric_values(store: Path) -> None:
    telemetry = configure_store(store)

    @infertel.traced_inference(outputs={"return": "keep"})
    def predict(x: int) -> float:
        return 0.73125

    predict(1)
    flush_all(telemetry)
    metrics = "\n".join(p.read_text() for p in (store / "metrics").glob("*.jsonl"))
    assert "0.73125" in metrics  # the same test can fail: values do arrive when allowed


def test_truncate_never_leaves_part_of_a_value(store: Path) -> None:
    policy = infertel.PrivacyPolicy(truncate_length=30)
    telemetry = configure_store(store, privacy=policy)

    @infertel.traced_inference(inputs={"note": "truncate"})
    def predict(note: str) -> int:
        return 1

    predict(f"please write to {EMAIL} today")  # the cut at 30 falls inside the address
    predict("call 4155550143 or 4155550199 now")
    flush_all(telemetry)
    text = store_text(store)
    assert not leaks(text, [EMAIL, "zorblax.quint", "4155550143", "41555501"])


def test_user_metric_descriptions_and_attributes_are_scrubbed(store: Path) -> None:
    telemetry = configure_store(store)
    meter = telemetry.meter_provider.get_meter("app")
    counter = meter.create_counter("app.calls", description=f"calls by {EMAIL}")
    counter.add(1, {"ml.segment": EMAIL, "user.phone": PHONE})
    flush_all(telemetry)
    text = store_text(store)
    assert "app.calls" in text
    assert not leaks(text, [EMAIL, PHONE])


def test_internal_error_logs_never_quote_the_value(store: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    telemetry = configure_store(store, raise_internal_errors=False)

    class Hostile:
        def __len__(self) -> int:
            raise ValueError(f"bad batch from {EMAIL}")

    @infertel.traced_inference(batch=True)
    def predict(rows: object) -> int:
        return 1

    with caplog.at_level(logging.DEBUG, logger="infertel"):
        predict(Hostile())
        telemetry.internal_error(RuntimeError(f"cannot encode {CARD}"))
        flush_all(telemetry)
    assert "infertel internal error" in caplog.text
    assert not leaks(caplog.text, [EMAIL, CARD])


def test_configure_writes_the_policy_file_the_collector_reads(
        store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from infertel.privacy._policy_file import load_policy

    target = tmp_path / "policy.json"
    monkeypatch.setenv("INFERTEL_POLICY_FILE", str(target))
    policy = infertel.PrivacyPolicy(pseudonymize_entities=("EMAIL_ADDRESS",),
                                    hmac_key="k" * 32, truncate_length=17)
    configure_store(store, privacy=policy)
    written = target.read_text()
    assert "k" * 32 not in written  # the key never goes into a file
    loaded = load_policy(target)
    assert loaded.truncate_length == 17
    assert loaded.pseudonymize_entities == ("EMAIL_ADDRESS",)

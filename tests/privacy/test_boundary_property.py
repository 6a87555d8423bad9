"""Property: whatever nested payload, keys and types a call carries, no planted value reaches
any exit — spans, events, links, scope, tracestate, logs, metrics, resource, stderr — in any
form (raw, digits only, case-folded, JSON-escaped).

One real pipeline writes a real local store for the whole test; each example plants fresh
values through every route at once and reads back what was written since.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import hypothesis.strategies as st
import pytest
from boundary_helpers import configure_store, flush_all, leaks, shutdown, store_text
from hypothesis import HealthCheck, given, settings
from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags, TraceState

import infertel


def _luhn_complete(prefix: str) -> str:
    digits = [int(d) for d in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return prefix + str((10 - total % 10) % 10)


cards = st.from_regex(r"4[0-9]{14}", fullmatch=True).map(_luhn_complete)
emails = st.builds(lambda user, host: f"{user}@{host}.example.com",
                   st.from_regex(r"[a-z]{4,9}\.[a-z]{3,8}", fullmatch=True),
                   st.from_regex(r"[a-z]{4,8}", fullmatch=True))
phones = st.from_regex(r"\+1(415|646|312)555[0-9]{4}", fullmatch=True)
ssns = st.from_regex(r"(5[0-9]{2}|6[0-5][0-9])-(1[0-9]|2[0-9])-[1-9][0-9]{3}", fullmatch=True)
planted_text = st.one_of(cards, emails, phones, ssns)

# How a planted value is held: as text, inside a sentence, as an int (numbers only), under a
# random key, nested in lists and maps.
keys = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)


@st.composite
def payloads(draw: st.DrawFn) -> tuple[object, list[str]]:
    planted: list[str] = []

    def leaf() -> st.SearchStrategy[object]:
        def hold(value: str) -> st.SearchStrategy[object]:
            planted.append(value)
            forms: list[st.SearchStrategy[object]] = [
                st.just(value), st.just(f"note: {value} (verified)")]
            digits = value.replace("-", "").replace("+", "")
            # Cards and phones held as ints are recognisable by their digits alone (Luhn, a
            # country code); a bare 9-digit SSN without context is indistinguishable from any
            # other 9-digit number, so it is planted as text only.
            if digits.isdigit() and "-" not in value:
                forms.append(st.just(int(digits)))
            return st.one_of(forms)

        return st.one_of(
            planted_text.flatmap(hold),
            st.integers(-1000, 1000), st.floats(allow_nan=False, width=32),
            st.text(alphabet="abc xyz", max_size=12), st.booleans(), st.none())

    tree = st.recursive(leaf(), lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)),
        max_leaves=6)
    value = draw(tree)
    return value, planted


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("property") / "store"
    yield path
    shutdown()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=payloads(), secret=planted_text, caller_secret=planted_text)
def test_no_planted_value_reaches_any_exit(store: Path, payload: tuple[object, list[str]],
                                          secret: str, caller_secret: str,
                                          caplog: pytest.LogCaptureFixture) -> None:
    value, planted = payload
    planted = [*planted, secret, caller_secret]
    for old in store.rglob("*.jsonl"):
        old.unlink()
    telemetry = configure_store(store, raise_internal_errors=False)
    logger = infertel.get_logger("app")
    tracer = trace.get_tracer(f"scope {secret}", attributes={"owner": secret})
    inbound = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1),
                          trace_state=TraceState([("v", secret.replace("@", "-").replace(
                              "+", "").replace(" ", ""))]))

    @infertel.traced_inference(inputs={"req": "keep", "note": "redact"},
                               outputs={"return": "keep"}, segment=lambda req, note: note)
    def predict(req: object, note: str) -> object:
        with tracer.start_as_current_span(f"inner {secret}",
                                          links=[Link(inbound, {"who": secret})]) as span:
            span.set_attribute("payload", str(req))
            span.add_event(f"saw {secret}", {"value": secret})
        logger.info(f"predicting for {secret}", req=req, who=caller_secret)
        if isinstance(req, dict) and len(req) % 2:
            raise ValueError(f"bad request from {secret}: {req!r}")
        return req

    with caplog.at_level(logging.DEBUG):
        with trace.use_span(NonRecordingSpan(inbound)), contextlib.suppress(ValueError):
            predict(value, f"contact {caller_secret}")
        meter = telemetry.meter_provider.get_meter(f"m {secret}")
        meter.create_counter("app.seen", description=f"by {secret}").add(
            1, {"ml.segment": caller_secret, "who": secret})
        flush_all(telemetry)
    written = store_text(store)
    assert "predict" in written  # the call was exported: the check below is not vacuous
    assert not leaks(written, planted), "leaked into the store"
    assert not leaks(caplog.text, planted), "leaked into the log output"

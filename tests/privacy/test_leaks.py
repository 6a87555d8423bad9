"""Leak tests: the labelled corpus through every exit, then a search of the exported bytes.

Every structured value planted in the corpus (emails, phone numbers, cards, SSNs, IPs, IBANs,
credential URLs, secrets) goes through declared inputs (redacted and kept), outputs, user logs
(message, attributes, nested values), exception messages, nested OpenTelemetry spans (name,
attributes, events, status), the metric segment and resource attributes, into the real local
store. No planted value may appear in any file, in any normalised form.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

import infertel
from infertel import conventions as c

CORPUS = Path(__file__).parent / "corpus" / "pii_corpus.jsonl"
# PERSON and LOCATION need NER; these are the entities pattern mode must always catch.
UNSTRUCTURED = {"PERSON", "LOCATION"}


def load_corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def planted_values(sentences: list[dict]) -> list[str]:
    return sorted({span["value"] for s in sentences for span in s["spans"]
                   if span["entity_type"] not in UNSTRUCTURED})


def structured_sentences() -> list[dict]:
    return [s for s in load_corpus()
            if any(span["entity_type"] not in UNSTRUCTURED for span in s["spans"])]


def normalised_forms(value: str) -> set[str]:
    """The value as written, lower-cased, JSON-escaped and without white space."""
    forms = {value, value.lower(), json.dumps(value)[1:-1], re.sub(r"\s+", "", value)}
    return {form for form in forms if form}


def leaks_in(blob: str, values: list[str]) -> list[str]:
    """Values found in ``blob`` in any normalised form. Long numbers are also looked for as
    bare digits, bounded by non-digits so that timestamps do not match by chance."""
    lowered = blob.lower()
    found = []
    for value in values:
        if any(form.lower() in lowered for form in normalised_forms(value)):
            found.append(value)
            continue
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 9 and digits in blob and re.search(rf"(?<!\d){digits}(?!\d)", blob):
            found.append(value)
    return found


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def store_bytes(store: Path) -> str:
    """Every distinct string of every exported record (keys included), one per line.

    Parsing first means JSON escapes are undone, so a value cannot hide behind them; the
    raw bytes are checked too, for anything that is not valid JSON."""
    files = sorted(store.rglob("*.jsonl"))
    assert files, "nothing was exported"
    strings: set[str] = set()
    raw_tail = []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            try:
                strings.update(_strings(json.loads(line)))
            except json.JSONDecodeError:
                raw_tail.append(line)
    return "\n".join([*sorted(strings), *raw_tail])


def drive_every_exit(sentences: list[dict]) -> None:
    """Send each sentence through every exit a serving team might open."""
    log = infertel.get_logger("leak-test")
    tracer = trace.get_tracer("user-instrumentation")

    @infertel.traced_inference(
        ring="canary",
        segment=lambda req: req["text"],
        inputs={"req.text": "redact", "req.meta": "keep"},
        outputs={"echo": "keep", "nested": "redact"},
    )
    def predict(req: dict) -> dict:
        text = req["text"]
        log.info(text, detail=text, nested={"inner": [text]})
        with tracer.start_as_current_span(f"lookup {text}", attributes={"query": text}) as span:
            span.add_event("note", {"text": text})
            span.set_status(Status(StatusCode.ERROR, text))
        if req["fail"]:
            raise ValueError(f"cannot score {text}")
        return {"echo": text, "nested": {"list": [text]}}

    for n, sentence in enumerate(sentences):
        request = {"text": sentence["text"], "meta": {"note": sentence["text"]}, "fail": n % 3 == 0}
        with contextlib.suppress(ValueError):
            predict(request)


@pytest.fixture
def resource_with_pii(monkeypatch: pytest.MonkeyPatch) -> str:
    owner = "ops-lead.owner@example.com"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"team.owner={owner}")
    return owner


@pytest.mark.integration
def test_no_planted_value_leaves_through_any_exit(tmp_path: Path, resource_with_pii: str) -> None:
    sentences = structured_sentences()
    assert len(sentences) > 1000
    infertel.configure(local_dir=tmp_path, metric_interval_s=3600,
                       privacy=infertel.PrivacyPolicy(pseudonymize_entities=("EMAIL_ADDRESS",),
                                                      hmac_key="k" * 32))
    drive_every_exit(sentences)
    assert infertel.shutdown(timeout=60)
    blob = store_bytes(tmp_path)
    assert "<EMAIL_ADDRESS:k1:" in blob  # the pipeline ran and pseudonymised
    assert "cannot score" in blob  # exception messages were exported (scrubbed), not dropped
    leaked = leaks_in(blob, [*planted_values(sentences), resource_with_pii])
    assert not leaked, f"{len(leaked)} planted values leaked, e.g. {leaked[:5]}"


@pytest.mark.integration
def test_the_leak_check_catches_a_store_written_without_redaction(tmp_path: Path) -> None:
    """The check above must be able to fail: with redaction off, the same traffic leaks."""
    sentences = structured_sentences()[:200]
    infertel.configure(local_dir=tmp_path, privacy=infertel.PrivacyPolicy(redaction=False))
    drive_every_exit(sentences)
    assert infertel.shutdown(timeout=30)
    leaked = leaks_in(store_bytes(tmp_path), planted_values(sentences))
    assert len(leaked) == len(planted_values(sentences))


def test_redaction_counts_are_on_the_span_and_in_self_metrics() -> None:
    from infertel.testing import capture_telemetry

    @infertel.traced_inference(inputs={"text": "redact"})
    def predict(text: str) -> None:
        return None

    with capture_telemetry() as captured:
        predict("mail jane.doe@example.com or call +44 20 7946 0958")
        [span] = captured.spans()
        points = captured.metric_points(c.METRIC_REDACTION_ENTITIES)
    assert span.attributes[c.REDACTION_COUNT] == 2
    assert span.attributes[c.INPUT_PREFIX + "text"] == "mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>"
    by_entity = {p.attributes[c.REDACTION_ENTITY_TYPE]: p.value for p in points}
    assert by_entity["EMAIL_ADDRESS"] >= 1
    assert by_entity["PHONE_NUMBER"] >= 1

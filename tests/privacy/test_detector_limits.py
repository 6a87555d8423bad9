"""Cutting text without keeping part of a value, and numbers held as numbers (issue 8,
"Cutting and shapes" and "Types not scanned")."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from infertel.privacy import PiiDetector

CORPUS = Path(__file__).parent / "corpus" / "pii_corpus.jsonl"


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector(cache_size=0)


# ------------------------------------------------------------------ 9. safe cutting


def test_a_cut_inside_an_email_drops_all_of_it(detector: PiiDetector) -> None:
    text = "contact maria.lopez@correo.es now"
    limit = text.index("@") + 4  # "maria.lopez@cor": no longer an e-mail on its own
    assert detector.analyze(text[:limit]) == []  # why cutting first and scanning after leaks
    assert detector.safe_cut(text, limit) == "contact "
    assert detector.cut_findings(text, limit) == (len("contact "), [])


def test_a_cut_inside_a_phone_number_drops_all_of_its_digits(detector: PiiDetector) -> None:
    text = "call +44 20 7946 0958 please"
    cut = detector.safe_cut(text, text.index("0958"))
    assert cut == "call "
    assert not re.search(r"\d", cut)


def test_findings_before_the_cut_are_kept_whole(detector: PiiDetector) -> None:
    text = "mail maria@correo.es then call +44 20 7946 0958 please"
    limit = text.index("7946")
    cut, findings = detector.cut_findings(text, limit)
    assert cut == text.index("+44")
    assert [f.entity_type for f in findings] == ["EMAIL_ADDRESS"]
    assert detector.redact_findings(text[:cut], findings) == "mail <EMAIL_ADDRESS> then call "


def test_cut_bounds(detector: PiiDetector) -> None:
    text = "card 4539148803436467"
    assert detector.safe_cut(text, len(text) + 10) == text
    assert detector.cut_findings(text, len(text)) == (len(text), detector.analyze(text))
    assert detector.safe_cut(text, 0) == ""
    assert detector.safe_cut(text, 3) == "car"
    with pytest.raises(ValueError, match="limit"):
        detector.safe_cut(text, -1)


def _corpus() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["spans"] and r["spans"][0]["entity_type"] not in ("PERSON",)]


def test_cutting_the_corpus_anywhere_never_keeps_part_of_a_found_value(
    detector: PiiDetector,
) -> None:
    rng = random.Random(3)
    rows = _corpus()
    checked = 0
    for row in rng.sample(rows, 600):
        text = row["text"]
        whole = detector.analyze(text)
        limit = rng.randrange(len(text) + 1)
        cut, findings = detector.cut_findings(text, limit)
        assert cut <= limit
        out = detector.redact_findings(text[:cut], findings)
        for f in whole:
            if f.start < limit < f.end:  # the limit falls inside this value
                checked += 1
                assert cut <= f.start
                value = text[f.start : f.end]
                assert value[: limit - f.start] not in out[f.start :], (text, limit, out)
    assert checked > 100  # the sample exercises the case


# ---------------------------------------------------------- 10. numbers as numbers


@pytest.mark.parametrize(
    ("value", "key", "entity"),
    [
        (4539148803436467, None, "CREDIT_CARD"),
        (4539148803436467.0, None, "CREDIT_CARD"),
        (371449635398431, "amount", "CREDIT_CARD"),  # Amex, 15 digits
        (501800000009, "card_number", "CREDIT_CARD"),  # 12-digit Maestro needs the key
        (14155550123, None, "PHONE_NUMBER"),  # E.164 digits, +1
        (4915112345678, None, "PHONE_NUMBER"),  # +49 mobile
        (447911123456, None, "PHONE_NUMBER"),  # +44 mobile
        (4155550123, "phone", "PHONE_NUMBER"),  # national, the key says so
        (612345678, "telefono", "PHONE_NUMBER"),
        (536904399, "ssn", "US_SSN"),
        (536904399, "customer_social_security", "US_SSN"),
        (-4539148803436467, None, "CREDIT_CARD"),
    ],
)
def test_numbers_holding_an_entity(
    detector: PiiDetector, value: Any, key: str | None, entity: str
) -> None:
    findings = detector.analyze_number(value, key)
    assert [f.entity_type for f in findings] == [entity]
    digits = str(abs(int(value)))
    assert (findings[0].start, findings[0].end) == (0, len(digits))
    assert detector.redact_number(value, key) == f"<{entity}>"


def test_numpy_integers_are_numbers_too(detector: PiiDetector) -> None:
    np = pytest.importorskip("numpy")
    assert detector.redact_number(np.int64(4539148803436467)) == "<CREDIT_CARD>"
    assert detector.redact_number(np.uint64(14155550123)) == "<PHONE_NUMBER>"
    assert detector.redact_number(np.float64(4539148803436467.0)) == "<CREDIT_CARD>"
    assert detector.redact_number(np.int32(42)) is None


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (536904399, None),  # a bare 9-digit number is an SSN only under an SSN key
        (4155550123, None),  # national 10 digits: only under a phone key
        (2147483647, None),
        (1718100930, "timestamp"),
        (1718100930123, None),  # epoch milliseconds
        (1718100930123456, None),  # epoch microseconds
        (1718100930123456789, None),  # epoch nanoseconds
        (123456789012, None),
        (0, None),
        (42, "ssn"),
        (True, None),
        (3.14159, None),
        (float("nan"), None),
        (1e300, None),
        ("4539148803436467", None),  # strings go through analyze()
        (None, None),
    ],
)
def test_numbers_that_are_just_numbers(detector: PiiDetector, value: Any, key: str | None) -> None:
    assert detector.analyze_number(value, key) == []
    assert detector.redact_number(value, key) is None


def test_strict_numbers_fail_closed(detector: PiiDetector) -> None:
    # Without a key saying what they are, these are only findings when asked to fail closed.
    for value, entity in ((536904399, "US_SSN"), (4155550123, "PHONE_NUMBER"),
                          (501800000009, "CREDIT_CARD")):  # fmt: skip
        assert detector.redact_number(value) is None
        assert detector.redact_number(value, strict=True) == f"<{entity}>"
    assert detector.redact_number(2024, strict=True) is None
    assert detector.redact_number(1718100930123, strict=True) is None  # epoch milliseconds


def test_redact_number_uses_the_pseudonymize_hook() -> None:
    seen: list[tuple[str, str]] = []

    def hook(entity: str, value: str) -> str:
        seen.append((entity, value))
        return f"<{entity}:k1:{'0' * 12}>"

    detector = PiiDetector(pseudonymize=hook)
    assert detector.redact_number(4539148803436467) == "<CREDIT_CARD:k1:000000000000>"
    assert seen == [("CREDIT_CARD", "4539148803436467")]


def test_entity_subsets_apply_to_numbers() -> None:
    detector = PiiDetector(["PHONE_NUMBER"], cache_size=0)
    assert detector.analyze_number(4539148803436467) == []
    assert [f.entity_type for f in detector.analyze_number(14155550123)] == ["PHONE_NUMBER"]

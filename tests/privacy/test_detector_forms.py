"""Forms that hid values from the pattern detector: encodings, separators, neighbours,
prefixes and marker-shaped text (issue 8, "Detector gaps" and "Cutting and shapes").

Every value is planted here; each test asserts that no recognisable part of it survives
redaction, not only that a finding exists.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from infertel.privacy import PiiDetector
from infertel.privacy._markers import MARKER, marker_regex, split_markers


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector(cache_size=0)


def _fragments(value: str) -> list[str]:
    """Parts of ``value`` that must not survive: every run of 4+ letters or digits holding
    a digit or a lower-case letter (upper-case words are marker names: "<CARD>")."""
    return [
        m.group()
        for m in re.finditer(r"[^\W_]{4,}", value)
        if any(c.isdigit() or c.islower() for c in m.group())
    ]


def assert_hidden(detector: PiiDetector, text: str, value: str, entity: str) -> None:
    start = text.index(value)
    end = start + len(value)
    findings = detector.analyze(text)
    covering = [f for f in findings if f.start <= start and f.end >= end]
    assert covering, f"{value!r} not covered in {text!r}: {findings}"
    assert covering[0].entity_type == entity, (covering, entity)
    redacted = detector.redact(text)
    for fragment in _fragments(value):
        assert fragment not in redacted, (fragment, redacted)


# --------------------------------------------------------------- 1. decoded views

FW_EMAIL = "ｋｅｎｊｉ＠ｅｘａｍｐｌｅ．ｊｐ"
FW_CARD = "４５３９ １４８８ ０３４３ ６４６７"
FW_IBAN = "ＤＥ８９３７０４００４４０５３２０１３０００"
NBSP, NNBSP, FIGURE, THIN, SHY = "\u00a0", "\u202f", "\u2007", "\u2009", "\u00ad"

DECODED = [
    # percent-encoding, single and double
    (
        "GET /search?email=maria.lopez%40correo.es&page=2",
        "maria.lopez%40correo.es",
        "EMAIL_ADDRESS",
    ),
    ("q=%2B44%2020%207946%200958&lang=en", "%2B44%2020%207946%200958", "PHONE_NUMBER"),
    ("pay?n=4539%201488%200343%206467&amt=5", "4539%201488%200343%206467", "CREDIT_CARD"),
    (
        "next=%252B33%25206%252012%252034%252056%252078",
        "%252B33%25206%252012%252034%252056%252078",
        "PHONE_NUMBER",
    ),
    ("u=jo%C3%ABl.roux%40exemple.fr", "jo%C3%ABl.roux%40exemple.fr", "EMAIL_ADDRESS"),
    # JSON / Python escapes
    (
        '{"note": "write to p.nguyen\\u0040example.org today"}',
        "p.nguyen\\u0040example.org",
        "EMAIL_ADDRESS",
    ),
    ('log="{\\"password\\": \\"Zq8mW2pKx\\"}"', "Zq8mW2pKx", "SECRET"),
    ('"msg": "card:\\n4539148803436467\\nthanks"', "4539148803436467", "CREDIT_CARD"),
    ('"ssn\\u003a 536-90-4399"', "536-90-4399", "US_SSN"),
    ("b'ana\\x40ejemplo.com'", "ana\\x40ejemplo.com", "EMAIL_ADDRESS"),
    # HTML character references
    ("mail: kim&#64;example.com", "kim&#64;example.com", "EMAIL_ADDRESS"),
    # full-width and other compatibility forms (NFKC), non-ASCII digits
    ("ｍａｉｌ： " + FW_EMAIL, FW_EMAIL, "EMAIL_ADDRESS"),
    ("カード " + FW_CARD + " です", FW_CARD, "CREDIT_CARD"),
    ("SSN ５３６－９０－４３９９", "５３６－９０－４３９９", "US_SSN"),
    ("電話 ＋４４ ２０ ７９４６ ０９５８", "＋４４ ２０ ７９４６ ０９５８", "PHONE_NUMBER"),
    ("رقم +٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", "PHONE_NUMBER"),
    ("iban " + FW_IBAN, FW_IBAN, "IBAN_CODE"),
]


@pytest.mark.parametrize(("text", "value", "entity"), DECODED)
def test_encoded_values_are_found_and_fully_replaced(
    detector: PiiDetector, text: str, value: str, entity: str
) -> None:
    assert_hidden(detector, text, value, entity)


def test_the_original_encoded_characters_are_replaced(detector: PiiDetector) -> None:
    text = "GET /search?email=maria.lopez%40correo.es&page=2"
    assert detector.redact(text) == "GET /search?email=<EMAIL_ADDRESS>&page=2"
    text = '{"to": "p.nguyen\\u0040example.org"}'
    assert detector.redact(text) == '{"to": "<EMAIL_ADDRESS>"}'
    text = "tel ＋４４ ２０ ７９４６ ０９５８."
    assert detector.redact(text) == "tel <PHONE_NUMBER>."


DECODED_NEGATIVES = [
    "progress 100%25 done, util=53%",
    "path C:\\\\Users\\\\build\\\\2024\\\\logs",
    '{"msg": "line one\\nline two\\t3.11.7"}',
    "ｖｅｒｓｉｏｎ ３．１１．７ ２０２４年６月１１日",
    "price&nbsp;1&nbsp;299&nbsp;€ &amp; shipping",
    "q=machine%20learning%20models&page=3",
]


@pytest.mark.parametrize("text", DECODED_NEGATIVES)
def test_decoding_adds_no_false_findings(detector: PiiDetector, text: str) -> None:
    assert detector.analyze(text) == []


# ---------------------------------------------------------------- 2. separators

SEPARATED = [
    (
        f"call +44{NBSP}20{NBSP}7946{NBSP}0958 today",
        f"+44{NBSP}20{NBSP}7946{NBSP}0958",
        "PHONE_NUMBER",
    ),
    (
        f"card 4539{NNBSP}1488{NNBSP}0343{NNBSP}6467",
        f"4539{NNBSP}1488{NNBSP}0343{NNBSP}6467",
        "CREDIT_CARD",
    ),
    (f"ssn 536{FIGURE}90{FIGURE}4399", f"536{FIGURE}90{FIGURE}4399", "US_SSN"),
    (
        f"IBAN DE89{THIN}3704{THIN}0044{THIN}0532{THIN}0130{THIN}00",
        f"DE89{THIN}3704{THIN}0044{THIN}0532{THIN}0130{THIN}00",
        "IBAN_CODE",
    ),
    ("card 4539.1488.0343.6467 ok", "4539.1488.0343.6467", "CREDIT_CARD"),
    ("card 4539/1488/0343/6467 ok", "4539/1488/0343/6467", "CREDIT_CARD"),
    ("card 4539–1488–0343–6467 ok", "4539–1488–0343–6467", "CREDIT_CARD"),
    (f"card 4539{SHY}1488{SHY}0343{SHY}6467", f"4539{SHY}1488{SHY}0343{SHY}6467", "CREDIT_CARD"),
    ("SSN 536.90.4399", "536.90.4399", "US_SSN"),
    ("SSN 536/90/4399", "536/90/4399", "US_SSN"),
    ("IBAN DE89.3704.0044.0532.0130.00.", "DE89.3704.0044.0532.0130.00", "IBAN_CODE"),
    ("IBAN DE89-3704-0044-0532-0130-00", "DE89-3704-0044-0532-0130-00", "IBAN_CODE"),
    ("IBAN DE89/3704/0044/0532/0130/00", "DE89/3704/0044/0532/0130/00", "IBAN_CODE"),
    ("Tel. 030/12345678 bitte", "030/12345678", "PHONE_NUMBER"),
    ("mobile 06.12.34.56.78", "06.12.34.56.78", "PHONE_NUMBER"),
    ("mail maria\u200b.lopez@correo.es", "maria\u200b.lopez@correo.es", "EMAIL_ADDRESS"),
]


@pytest.mark.parametrize(("text", "value", "entity"), SEPARATED)
def test_separators_do_not_hide_numbers(
    detector: PiiDetector, text: str, value: str, entity: str
) -> None:
    assert_hidden(detector, text, value, entity)


@pytest.mark.parametrize(
    "text",
    [
        "versions 4.1.2 and 10.0.19041.1288",
        "dates 2024/06/11 and 11.06.2024",
        "amount 1\u202f234\u202f567,89 €",
        "ratio 1/2/3/4/5",
    ],
)
def test_dotted_and_slashed_lookalikes_stay_clean(detector: PiiDetector, text: str) -> None:
    assert detector.analyze(text) == []


# ------------------------------------------------------------ 3. adjacent numbers

ADJACENT = [
    ("call 4155550123 4155550199", ["4155550123", "4155550199"], "PHONE_NUMBER"),
    ("tel 020 7946 0958 020 7946 0321", ["020 7946 0958", "020 7946 0321"], "PHONE_NUMBER"),
    ("+1 415 555 0123 +1 415 555 0199", ["+1 415 555 0123", "+1 415 555 0199"], "PHONE_NUMBER"),
    ("card 4539148803436467 123", ["4539148803436467"], "CREDIT_CARD"),
    ("card 4539 1488 0343 6467 123", ["4539 1488 0343 6467"], "CREDIT_CARD"),
    ("card 4539148803436467 09/27", ["4539148803436467"], "CREDIT_CARD"),
    ("card 5425233430109903 0927 321", ["5425233430109903"], "CREDIT_CARD"),
    ("ref 2024 4155550123", ["4155550123"], "PHONE_NUMBER"),
]


@pytest.mark.parametrize(("text", "values", "entity"), ADJACENT)
def test_a_neighbouring_number_does_not_hide_a_value(
    detector: PiiDetector, text: str, values: list[str], entity: str
) -> None:
    for value in values:
        assert_hidden(detector, text, value, entity)


def test_a_cvv_next_to_a_card_is_not_mistaken_for_its_end(detector: PiiDetector) -> None:
    assert detector.redact("card 4539148803436467 123") == "card <CREDIT_CARD> 123"


@pytest.mark.parametrize(
    "text",
    [
        "Reference number 4532 7788 1234 5679 was not found.",  # card-shaped, fails Luhn
        "input_ids 101 2023 2003 1037 3231 102 4567 8910",
        "shape 1 3 224 224 dtype float32",
    ],
)
def test_runs_of_small_numbers_are_not_combed_for_entities(
    detector: PiiDetector, text: str
) -> None:
    assert detector.analyze(text) == []


# ------------------------------------------------------ 4. glued to a prefix or a path

GLUED = [
    ("GET /users/536-90-4399/orders", "536-90-4399", "US_SSN"),
    ("key id-4539148803436467 rejected", "4539148803436467", "CREDIT_CARD"),
    ("ref_4539148803436467", "4539148803436467", "CREDIT_CARD"),
    ("login user_maria.lopez@correo.es", "maria.lopez@correo.es", "EMAIL_ADDRESS"),
    ("tel:+4915112345678", "+4915112345678", "PHONE_NUMBER"),
    ("/v1/customers/+14155550123/orders", "+14155550123", "PHONE_NUMBER"),
    ("acct=DE89370400440532013000&x=1", "DE89370400440532013000", "IBAN_CODE"),
    ("acct_GB82WEST12345698765432", "GB82WEST12345698765432", "IBAN_CODE"),
    ("/ssn/536904399/", "536904399", "US_SSN"),
]


@pytest.mark.parametrize(("text", "value", "entity"), GLUED)
def test_values_glued_to_a_prefix_or_in_a_path(
    detector: PiiDetector, text: str, value: str, entity: str
) -> None:
    assert_hidden(detector, text, value, entity)


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v1/items/4155550123/ 200",
        "invoice INV-2024-000123 is overdue",
        "build-20240611123456 finished",
        "request id 550e8400-e29b-41d4-a716-446655440000 completed",
        "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "release-1.2.3.4 tagged",
        "order_123456789 shipped",
    ],
)
def test_ids_glued_to_words_stay_clean(detector: PiiDetector, text: str) -> None:
    assert [f.entity_type for f in detector.analyze(text)] in ([], ["SLACK_TOKEN"])


# ------------------------------------------------------- 7. marker-shaped input


MARKED = [
    ("ref <REF:maria.lopez@correo.es> sent", "maria.lopez@correo.es", "EMAIL_ADDRESS"),
    ("maria<X>@correo.es", "maria<X>@correo.es", "EMAIL_ADDRESS"),
    ("4539<CARD>148803436467", "4539<CARD>148803436467", "CREDIT_CARD"),
    ("4539<CREDIT_CARD>148803436467", "4539<CREDIT_CARD>148803436467", "CREDIT_CARD"),
    ("call +44 20<br/>7946 0958", "+44 20<br/>7946 0958", "PHONE_NUMBER"),
    ("<PHONE_NUMBER:k1:+4915112345678>", "+4915112345678", "PHONE_NUMBER"),
    ("<EMAIL_ADDRESS:k1:maria@correo.es>", "maria@correo.es", "EMAIL_ADDRESS"),
    ("ssn 536<TRUNCATED>-90-4399", "536<TRUNCATED>-90-4399", "US_SSN"),
]


@pytest.mark.parametrize(("text", "value", "entity"), MARKED)
def test_marker_shaped_text_is_not_trusted(
    detector: PiiDetector, text: str, value: str, entity: str
) -> None:
    assert_hidden(detector, text, value, entity)


def test_infertel_markers_stay_opaque_and_intact(detector: PiiDetector) -> None:
    text = "<HASH:k1:415555267123> <EMAIL_ADDRESS> <PHONE_NUMBER:k1:0123456789ab> <bytes:16>"
    assert detector.analyze(text) == []
    again = detector.redact("mail maria@correo.es or call +44 20 7946 0958")
    assert detector.redact(again) == again == "mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>"


def test_only_exact_marker_forms_are_genuine() -> None:
    genuine = [
        "<EMAIL_ADDRESS>",
        "<SECRET>",
        "<REDACTION_FAILED>",
        "<TRUNCATED>",
        "<bytes:42>",
        "<HASH:k1:0123456789ab>",
        "<PHONE_NUMBER:key.2:a1b2c3d4e5f6>",
    ]
    fake = [
        "<REF:abc>",
        "<X>",
        "<CARD>",
        "<EMAIL_ADDRESS:k1:+4915112345678>",
        "<PHONE_NUMBER:k1:123>",
        "<bytes:x>",
        "<email_address>",
    ]
    assert all(MARKER.fullmatch(m) for m in genuine)
    assert not any(MARKER.fullmatch(m) for m in fake)
    assert marker_regex(["EMPLOYEE_ID"]).fullmatch("<EMPLOYEE_ID>")


def test_split_markers_splits_only_at_free_standing_genuine_markers() -> None:
    assert split_markers("a <EMAIL_ADDRESS> b") == ["a ", "<EMAIL_ADDRESS>", " b"]
    assert split_markers("a <REF:x> b") == ["a <REF:x> b"]
    assert split_markers("4539<CREDIT_CARD>148803436467") == ["4539<CREDIT_CARD>148803436467"]
    assert split_markers("maria<EMAIL_ADDRESS>@correo.es") == ["maria<EMAIL_ADDRESS>@correo.es"]
    assert split_markers("no markers") == ["no markers"]


@pytest.mark.parametrize(
    "text",
    ["pad_token=<pad> eos_token=</s>", "secret: <redacted>", "<b>bold</b> and <i>2024</i>"],
)
def test_tags_around_clean_text_add_no_findings(detector: PiiDetector, text: str) -> None:
    assert detector.analyze(text) == []


# ------------------------------------------------------------ the corpus of forms

FORMS = Path(__file__).parent / "corpus" / "pii_corpus_forms.jsonl"


def test_forms_corpus_recall_and_precision(detector: PiiDetector) -> None:
    rows = [json.loads(line) for line in FORMS.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 1200
    assert sum(1 for row in rows if not row["spans"]) >= 300
    total: Counter[str] = Counter()
    found: Counter[str] = Counter()
    missed: dict[str, list[str]] = {}
    false_positives = []
    for row in rows:
        text = row["text"]
        findings = detector.analyze(text)
        for s in row["spans"]:
            assert text[s["start"] : s["end"]] == s["value"]
            total[s["entity_type"]] += 1
            if any(f.start <= s["start"] and f.end >= s["end"] for f in findings):
                found[s["entity_type"]] += 1
            else:
                missed.setdefault(s["entity_type"], []).append(text)
        if not row["spans"] and findings:
            false_positives.append(text)
    assert set(total) >= {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN",
                          "IBAN_CODE", "STREET_ADDRESS", "BEARER_TOKEN"}  # fmt: skip
    for entity, n in total.items():
        assert found[entity] / n >= 0.98, (entity, found[entity], n, missed.get(entity, [])[:5])
    assert false_positives == []

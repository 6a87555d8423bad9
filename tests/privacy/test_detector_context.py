"""National phone formats, SSNs and tokens in context (exception messages), and street
addresses (issue 8, "Detector gaps" and "Names"): values planted here, precision checked on
look-alikes from the same domains (versions, timestamps, prices, order numbers)."""

from __future__ import annotations

import random
import re
import string

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from infertel.privacy import PiiDetector

REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "PL")
#: A phone word in each region's language, as it precedes numbers in free text and keys.
PHONE_WORD = {
    "US": "call me at", "GB": "phone:", "DE": "Tel.:", "FR": "téléphone :", "ES": "móvil",
    "IT": "cellulare", "NL": "bel", "IN": "mobile no.", "BR": "celular", "PL": "tel.",
}  # fmt: skip


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector(cache_size=0)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _random_number(rng: random.Random, region: str, kind: int) -> phonenumbers.PhoneNumber:
    """A random valid number of ``region`` (not the well-known example number)."""
    example = phonenumbers.example_number_for_type(region, kind)
    nsn = str(example.national_number)
    for _ in range(500):
        new = nsn[:3] + "".join(rng.choice(string.digits) for _ in range(len(nsn) - 3))
        num = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=int(new))
        num.italian_leading_zero = example.italian_leading_zero
        if phonenumbers.is_valid_number(num) and phonenumbers.region_code_for_number(num) == region:
            return num
    raise AssertionError(f"no random number for {region}")


def _national_forms(num: phonenumbers.PhoneNumber) -> list[tuple[str, bool]]:
    """(written form, needs a phone word before it) for one number."""
    national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    nsn = phonenumbers.national_significant_number(num)
    forms = [
        (national, False),
        (re.sub(r"[ ()]+", "-", national).strip("-"), False),
        (phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL), False),
        (e164, False),
        (_digits(national), True),  # no separators at all
        (e164[1:], True),  # E.164 digits without the "+"
    ]
    if _digits(national) != nsn:
        forms.append((nsn, True))  # without the trunk prefix
    return forms


def _phone_cases() -> list[tuple[str, str]]:
    rng = random.Random(8)
    cases = []
    for region in REGIONS:
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            for _ in range(3):
                num = _random_number(rng, region, kind)
                for form, needs_word in _national_forms(num):
                    lead = PHONE_WORD[region] if needs_word or rng.random() < 0.5 else "ref"
                    cases.append((region, f"{lead} {form}, gracias"))
    return cases


PHONE_CASES = _phone_cases()


@pytest.mark.parametrize(("region", "text"), PHONE_CASES)
def test_national_phone_numbers_of_ten_countries(
    detector: PiiDetector, region: str, text: str
) -> None:
    findings = detector.analyze(text)
    assert [f.entity_type for f in findings] == ["PHONE_NUMBER"], (region, text, findings)
    redacted = detector.redact(text)
    number = text.split(" ", 1)[1].rsplit(",", 1)[0] if " " in text else text
    assert _digits(number)[-6:] not in _digits(redacted), (region, text, redacted)


def test_spanish_nine_digit_numbers_without_a_trunk_prefix(detector: PiiDetector) -> None:
    for text in ("Mi móvil es 612345678.", "llamar al 912 34 56 78", "teléfono: 612 345 678"):
        assert [f.entity_type for f in detector.analyze(text)] == ["PHONE_NUMBER"], text


PHONE_NEGATIVES = [
    "Upgraded torch from 2.1.0 to 2.3.1 (build 20240611.3)",
    "timestamp 2024-06-11 10:15:30.123456 epoch 1718100930 ms 1718100930123",
    "price 1.299,00 € or $1,299.99, total 612 345 678,50 PLN",
    "Order #612345678 shipped, invoice 1123456780 paid",
    "ticket 912345678 closed after 1234567 ms",
    "shape (1, 612, 345) dtype int64 n=912345678",
    "zip 28013 Madrid, CAP 00184 Roma, PLZ 10115 Berlin",
    "ISBN 978-3-16-148410-0 and doi 10.1038/s41586-021-03819-2",
    "gpu_mem=24576MiB step=612345 loss=0.612345678",
    "seed 123456789012 and hash 4155550123abc",
]


@pytest.mark.parametrize("text", PHONE_NEGATIVES)
def test_national_formats_keep_precision(detector: PiiDetector, text: str) -> None:
    assert [f for f in detector.analyze(text) if f.entity_type == "PHONE_NUMBER"] == []


# ------------------------------------------------------- 6. SSNs and tokens in context

CONTEXT = [
    ("social_security_number=536904399", "536904399", "US_SSN"),
    ("{'SocialSecurity': 536904399}", "536904399", "US_SSN"),
    ("536904399 (SSN on file)", "536904399", "US_SSN"),
    ("ValueError: bad ssn 536904399", "536904399", "US_SSN"),
    ("KeyError: 'ssn=536904399'", "536904399", "US_SSN"),
    ("RuntimeError: lookup failed for SSN 536-90-4399 in batch 7", "536-90-4399", "US_SSN"),
    (
        "HTTPError: 401 Unauthorized, headers={'Authorization': 'Bearer q7Zx9LmN2pR4tV8wYc'}",
        "q7Zx9LmN2pR4tV8wYc",
        "BEARER_TOKEN",
    ),
    ("auth failed: token=Zm9vYmFyMTIzNDU2Nzg5MGFi", "Zm9vYmFyMTIzNDU2Nzg5MGFi", "BEARER_TOKEN"),
    (
        "PermissionError: invalid token 'a1b2c3d4e5f6g7h8i9j0'",
        "a1b2c3d4e5f6g7h8i9j0",
        "BEARER_TOKEN",
    ),
    ('{"x-auth-token": "9f8e7d6c5b4a39281716aa0b"}', "9f8e7d6c5b4a39281716aa0b", "BEARER_TOKEN"),
    (
        "AuthenticationError: Incorrect API key provided: sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12",
        "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12",
        "SECRET",
    ),
    (
        "hub login hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh failed",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
        "SECRET",
    ),
]


@pytest.mark.parametrize(("text", "value", "entity"), CONTEXT)
def test_ssns_and_tokens_in_context(
    detector: PiiDetector, text: str, value: str, entity: str
) -> None:
    start = text.index(value)
    findings = detector.analyze(text)
    covering = [f for f in findings if f.start <= start and f.end >= start + len(value)]
    assert [f.entity_type for f in covering] == [entity], (text, findings)
    assert value not in detector.redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "max_new_tokens=4096 pad_token=<pad> eos_token=</s>",
        "token count exceeded: 4096 > 2048",
        "tokenizer=bert-base-uncased tokens_in=512",
        "ValueError: expected 9 digits, got 536904399",
        "ssn field missing for user 42",
        "invalid token expired_at_2024",
        "token: 12345678901234567890",
    ],
)
def test_context_look_alikes_stay_clean(detector: PiiDetector, text: str) -> None:
    assert detector.analyze(text) == []


# --------------------------------------------------------------- 8. street addresses

ADDRESSES = [
    ("Ship to 221B Baker Street, London", "221B Baker Street"),
    ("HQ: 1600 Amphitheatre Parkway, Mountain View", "1600 Amphitheatre Parkway"),
    ("office at 350 5th Ave. New York", "350 5th Ave"),
    ("lives at 77 Sunset Blvd", "77 Sunset Blvd"),
    ("send it to 12 baker street please", "12 baker street"),
    ("Lieferadresse: Hauptstraße 5, 10115 Berlin", "Hauptstraße 5"),
    ("Anschrift Hauptstr. 5", "Hauptstr. 5"),
    ("wohnt in der Karl-Marx-Straße 12a", "Karl-Marx-Straße 12a"),
    ("Berliner Straße 5 in Potsdam", "Berliner Straße 5"),
    ("Adresse : 12 rue de la Paix, 75002 Paris", "12 rue de la Paix"),
    ("au 5 bis avenue des Champs-Élysées", "5 bis avenue des Champs-Élysées"),
    ("livraison 8 boulevard Haussmann", "8 boulevard Haussmann"),
    ("dirección: Calle Mayor 3, Madrid", "Calle Mayor 3"),
    ("en la Calle de Alcalá, 45", "Calle de Alcalá, 45"),
    ("oficina Avenida de América 12", "Avenida de América 12"),
    ("indirizzo: Via Roma 10, Milano", "Via Roma 10"),
    ("in Piazza della Signoria 1", "Piazza della Signoria 1"),
    ("adres: Kerkstraat 12, Amsterdam", "Kerkstraat 12"),
    ("woont op de Keizersgracht 123", "Keizersgracht 123"),
    ("Stationsplein 5, Utrecht", "Stationsplein 5"),
    # street words that are ordinary nouns too, with evidence of an address around them
    ("Ship to 7835 Erica Trace Apt. 915", "7835 Erica Trace Apt. 915"),
    ("address: 141 Hodges Mountains, Lake Jessica", "141 Hodges Mountains"),
    ("Flat 17\nJanet Meadows", "Flat 17\nJanet Meadows"),
    ("Anschrift: Jens-Drubin-Straße 47-26", "Jens-Drubin-Straße 47-26"),
    ("Röhrdanzplatz 83/53", "Röhrdanzplatz 83/53"),
    ("Urbanización María Segura 70 Puerta 1", "Urbanización María Segura 70 Puerta 1"),
    ("Viale Gioachino, 96 Piano 1", "Viale Gioachino, 96 Piano 1"),
    ("Lolahof 7", "Lolahof 7"),
]


@pytest.mark.parametrize(("text", "value"), ADDRESSES)
def test_street_addresses_in_six_languages(detector: PiiDetector, text: str, value: str) -> None:
    start = text.index(value)
    findings = detector.analyze(text)
    covering = [f for f in findings if f.start <= start and f.end >= start + len(value)]
    assert [f.entity_type for f in covering] == ["STREET_ADDRESS"], (text, findings)
    assert value not in detector.redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "top 5 Ways to speed up inference",
        "Route 66 and Highway to Hell",
        "step 3 Close the valve, step 4 Open it",
        "sent via Slack 2 times",
        "a 2 lane road with 3 main roads",
        "Upload 3 files to Google Drive",
        "Chapter 12 Street Photography",
        "the 9 Supreme Court justices",
        "on place 3 in the ranking, route 66 of course",
        "String 5 of 10 parsed; buffer 4 flushed",
        "Via Slack 2 alerts were sent",
        "We run 3 Data Centers in 2 Regions",
        "deployed 3 Cloud Run services, Page 2 View Details",
        "I finished 2 Marathon Trails and Step 3 Park the car",
    ],
)
def test_address_look_alikes_stay_clean(detector: PiiDetector, text: str) -> None:
    assert detector.analyze(text) == []

# ruff: noqa: E501  (sentence templates read best on one line)
"""Generate ``pii_corpus_forms.jsonl``: the forms that hid values from the detector.

Usage (from the repository root; ``generate_corpus.py`` runs it too)::

    .venv/bin/python tests/privacy/corpus/generate_forms.py

Same row format as ``pii_corpus.jsonl`` (``{"text", "spans": [{"entity_type", "start",
"end", "value"}]}``; negatives have no spans). A span's value is the text *as written*:
percent-encoded, JSON-escaped, full-width, split by no-break spaces or a marker-shaped
token, glued to a prefix. Categories (the ``kind`` of each row is not stored, so a
consumer cannot key on it): encoded values, unusual separators, adjacent numbers, values
glued to a prefix or path, national phone numbers of ten countries with and without trunk
prefix, street addresses in six languages, SSNs and tokens in exception messages,
marker-shaped text, and look-alikes of all of these (versions, timestamps, prices, order
numbers, encoded clean text, street-like phrases, token-like settings).

Seeded (its own seed, so the base corpus is unchanged); made with Faker 40.63.0 and
phonenumbers 9.0.43.
"""

from __future__ import annotations

import json
import random
import string
import sys
from pathlib import Path
from typing import Any

import generate_corpus as G
import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberType

SEED = 20250812
OUT = Path(__file__).with_name("pii_corpus_forms.jsonl")
Row = dict[str, Any]

# ------------------------------------------------------------------------- encodings

NBSP, NNBSP, FIGURE, THIN = "\u00a0", "\u202f", "\u2007", "\u2009"


def percent_at(v: str) -> str:
    return v.replace("@", "%40").replace("+", "%2B")


def percent_all(v: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else f"%{ord(c):02X}" for c in v)


def percent_every(v: str) -> str:
    return "".join(f"%{b:02X}" for b in v.encode())


def json_u(v: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else f"\\u{ord(c):04x}" for c in v)


def json_digits(v: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if c.isdigit() and i % 3 == 0 else c for i, c in enumerate(v))


def html_ref(v: str) -> str:
    return v.replace("@", "&#64;").replace("+", "&#43;")


def fullwidth(v: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in v)


def arabic_digits(v: str) -> str:
    return "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in v)


def separators(sep: str):  # type: ignore[no-untyped-def]
    return lambda v: v.replace(" ", sep).replace("-", sep)


def zero_width(v: str) -> str:
    mid = len(v) // 2
    return v[:mid] + "\u200b" + v[mid:]


def soft_hyphen(v: str) -> str:
    return "\u00ad".join(v[i : i + 4] for i in range(0, len(v), 4))


EMAIL_ENCODINGS = [percent_at, percent_all, percent_every, json_u, html_ref, fullwidth, zero_width]
SLASHED = separators("/")
NUMBER_ENCODINGS = [
    percent_all, json_u, json_digits, fullwidth, arabic_digits, separators(NBSP), separators(NNBSP),
    separators(FIGURE), separators(THIN), separators("."), SLASHED, separators("\u2013"),
]  # fmt: skip
def grouped_iban(iban: str) -> str:
    return " ".join(iban[k : k + 4] for k in range(0, len(iban), 4))


ENCODED_TEMPLATES = [
    "GET /search?q={v}&page=2 200",
    '{"note": "customer wrote {v} in the form"}',
    "redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&hint={v}",
    "log: field={v} status=ok",
    "prompt: please update my details to {v}, thanks",
    "ユーザー {v} からの問い合わせ",
]


def encoded() -> list[Row]:
    rows: list[Row] = []
    rng = G.rng
    for i in range(70):
        value = G.fake.email()
        enc = EMAIL_ENCODINGS[i % len(EMAIL_ENCODINGS)](value)
        rows.append(G.fill(ENCODED_TEMPLATES[i % len(ENCODED_TEMPLATES)], v=("EMAIL_ADDRESS", enc)))
    makers: list[tuple[str, Any]] = [
        ("PHONE_NUMBER", lambda: phonenumbers.format_number(G.random_number(G.pick(["US", "GB", "DE", "FR", "ES"]), PhoneNumberType.MOBILE), PhoneNumberFormat.INTERNATIONAL)),
        ("CREDIT_CARD", lambda: G.group_card(G.fake.credit_card_number(card_type="visa16"), " ")),
        ("US_SSN", lambda: G.fake.ssn()),
        ("IBAN_CODE", lambda: grouped_iban(Faker(G.pick(["de_DE", "fr_FR", "es_ES", "nl_NL"])).iban())),
    ]
    for entity, make in makers:
        for i in range(36):
            encode = NUMBER_ENCODINGS[i % len(NUMBER_ENCODINGS)]
            value = make()
            if entity == "PHONE_NUMBER" and encode is SLASHED:
                enc = value.replace(" ", "/", 2).replace("/", " ", 1)  # "+44 20/7946 0958"
            else:
                enc = encode(value)
            template = ENCODED_TEMPLATES[(i + rng.randrange(6)) % len(ENCODED_TEMPLATES)]
            if entity == "US_SSN":
                template = template.replace("{v}", "SSN {v}")
            rows.append(G.fill(template, v=(entity, enc)))
    return rows


# ----------------------------------------------------------- adjacent and glued values


def adjacent_and_glued() -> list[Row]:
    rows: list[Row] = []
    for i in range(40):
        a = phonenumbers.format_number(G.random_number(G.pick(["US", "GB", "DE"]), PhoneNumberType.FIXED_LINE), PhoneNumberFormat.E164)
        b = phonenumbers.format_number(G.random_number(G.pick(["US", "FR", "IN"]), PhoneNumberType.MOBILE), PhoneNumberFormat.E164)
        card = G.fake.credit_card_number(card_type="visa16")
        grouped = G.group_card(card, " ") if i % 2 else card
        cvv = str(G.rng.randrange(100, 1000))
        expiry = f"{G.rng.randrange(1, 13):02d}/{G.rng.randrange(25, 31)}"
        rows.append(G.fill(["phones {a} {b} on file", "call {a} or {b}", "phone numbers: {a} {b}"][i % 3], a=("PHONE_NUMBER", a[1:] if i % 4 == 0 else a), b=("PHONE_NUMBER", b)))
        rows.append(G.fill(["card {c} {x} ok", "pay with {c} {x}", "cc={c} {x}"][i % 3], c=("CREDIT_CARD", grouped), x=cvv if i % 2 else expiry))
    glued = [
        ("GET /users/{v}/orders", "US_SSN", lambda: G.fake.ssn()),
        ("key id-{v} rejected", "CREDIT_CARD", lambda: G.fake.credit_card_number(card_type="visa16")),
        ("ref_{v} failed", "CREDIT_CARD", lambda: G.fake.credit_card_number(card_type="mastercard")),
        ("login user_{v}", "EMAIL_ADDRESS", lambda: G.fake.email()),
        ("tel:{v}", "PHONE_NUMBER", lambda: phonenumbers.format_number(G.random_number(G.pick(["DE", "IT", "NL"]), PhoneNumberType.MOBILE), PhoneNumberFormat.E164)),
        ("/v1/customers/{v}/invoices", "PHONE_NUMBER", lambda: phonenumbers.format_number(G.random_number("US", PhoneNumberType.MOBILE), PhoneNumberFormat.E164)),
        ("acct={v}&amount=10", "IBAN_CODE", lambda: Faker(G.pick(["de_DE", "fr_FR", "nl_NL", "es_ES"])).iban()),
        ("acct_{v}", "IBAN_CODE", lambda: Faker(G.pick(["it_IT", "pl_PL", "en_GB"])).iban()),
    ]
    for i in range(96):
        template, entity, make = glued[i % len(glued)]
        rows.append(G.fill(template, v=(entity, make())))
    return rows


# --------------------------------------------------------------- national phones

PHONE_REGIONS = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "PL"]
PHONE_WORDS = {
    "US": ["call me at", "cell:", "phone"], "GB": ["ring me on", "mobile:", "tel"],
    "DE": ["Tel.:", "Handy", "Rufnummer:"], "FR": ["téléphone :", "portable", "appelez le"],
    "ES": ["móvil", "teléfono:", "llámame al"], "IT": ["cellulare", "tel.", "chiama il"],
    "NL": ["bel", "telefoon:", "mobiel"], "IN": ["mobile no.", "contact", "whatsapp"],
    "BR": ["celular", "telefone:", "ligue para"], "PL": ["tel.", "komórka:", "zadzwoń"],
}  # fmt: skip


def national_phones() -> list[Row]:
    rows: list[Row] = []
    for region in PHONE_REGIONS:
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            for _ in range(5):
                num = G.random_number(region, kind)
                national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
                e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
                nsn = phonenumbers.national_significant_number(num)
                digits = "".join(c for c in national if c.isdigit())
                forms = [(national, False), (national.replace(" ", "-"), False), (digits, True), (e164[1:], True)]
                if digits != nsn:
                    forms.append((nsn, True))  # without the trunk prefix
                for form, needs_word in forms:
                    word = G.pick(PHONE_WORDS[region])
                    lead = word if needs_word or G.rng.random() < 0.6 else G.pick(["ref", "id", "nota"])
                    rows.append(G.fill("{w} {v}, gracias", w=lead, v=("PHONE_NUMBER", form)))
    return rows


# --------------------------------------------------------------- street addresses

ADDRESS_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL"]
ADDRESS_TEMPLATES = [
    "Ship to {v} please", "address: {v}", "{v}", '{"street": "{v}", "verified": true}',
    "Lieferadresse: {v}", "dirección {v}", "indirizzo di consegna {v}", "woont op {v}",
    "The customer moved to {v} last month.",
]


def addresses() -> list[Row]:
    rows: list[Row] = []
    for k, locale in enumerate(ADDRESS_LOCALES):
        f = Faker(locale)
        f.seed_instance(SEED + k)
        n = 0
        while n < 30:
            value = f.street_address().strip()
            if "\n" in value or not any(c.isdigit() for c in value):
                continue  # a house number on the same line (no "rue de X" without number)
            rows.append(G.fill(ADDRESS_TEMPLATES[n % len(ADDRESS_TEMPLATES)], v=("STREET_ADDRESS", value)))
            n += 1
    own = [
        "221B Baker Street", "12 rue de la Paix", "Calle Mayor 3", "Via Roma 10", "Kerkstraat 12",
        "Hauptstr. 5", "Karl-Marx-Straße 12a", "Piazza della Signoria 1", "5 bis avenue des Champs-Élysées",
        "1600 Amphitheatre Parkway", "Avenida de América 12", "Keizersgracht 123", "77 Sunset Blvd",
    ]  # fmt: skip
    for i, value in enumerate(own):
        rows.append(G.fill(ADDRESS_TEMPLATES[i % len(ADDRESS_TEMPLATES)], v=("STREET_ADDRESS", value)))
    return rows


# ------------------------------------------------------- exception messages, markers


def exceptions_and_markers() -> list[Row]:
    rows: list[Row] = []
    alnum = string.ascii_letters + string.digits
    for i in range(60):
        ssn = G.fake.ssn()
        bare = ssn.replace("-", "")
        token = G.rand_str(alnum, G.rng.randrange(20, 40))
        if not any(c.isdigit() for c in token):
            token += "7"
        templates: list[tuple[str, str, str]] = [
            ("ValueError: bad ssn {v}", "US_SSN", bare),
            ("KeyError: 'social_security_number={v}'", "US_SSN", bare),
            ("RuntimeError: lookup failed for SSN {v} in batch 7", "US_SSN", ssn),
            ("HTTPError: 401 Unauthorized for url: https://api.example.com/v1 headers={'Authorization': 'Bearer {v}'}", "BEARER_TOKEN", token),
            ("PermissionError: invalid token '{v}'", "BEARER_TOKEN", token),
            ("auth failed: token={v}", "BEARER_TOKEN", token),
            ("openai.AuthenticationError: Incorrect API key provided: sk-proj-{v}", "SECRET", token),
        ]
        template, entity, value = templates[i % len(templates)]
        if entity == "SECRET":
            rows.append(G.fill(template.replace("sk-proj-{v}", "{v}"), v=(entity, "sk-proj-" + value)))
        else:
            rows.append(G.fill(template, v=(entity, value)))
    for i in range(40):
        email = G.fake.email()
        local, domain = email.split("@")
        card = G.fake.credit_card_number(card_type="visa16")
        tag = G.pick(["<X>", "<REF:1>", "<CARD>", "<br/>", "<CREDIT_CARD>", "<TRUNCATED>"])
        forms = [
            ("EMAIL_ADDRESS", f"{local}{tag}@{domain}"),
            ("CREDIT_CARD", f"{card[:4]}{tag}{card[4:]}"),
            ("EMAIL_ADDRESS", email),
        ]
        entity, value = forms[i % 3]
        template = ["ref <REF:{v}> sent", "note: {v} (copied)", "value={v}"][i % 3]
        rows.append(G.fill(template, v=(entity, value)))
    return rows


# ----------------------------------------------------------------------- negatives


def negatives() -> list[Row]:
    rng = G.rng
    out: list[str] = []
    for _ in range(110):
        dt = G.fixed_datetime()
        out.append(G.pick([
            f"Upgraded torch from {rng.randrange(1, 3)}.{rng.randrange(0, 13)}.{rng.randrange(0, 9)} to {rng.randrange(2, 3)}.{rng.randrange(0, 9)}.{rng.randrange(0, 9)}",
            f"timestamp {dt.isoformat()} epoch {int(dt.timestamp())} ms {int(dt.timestamp() * 1000)}",
            f"run {dt.strftime('%Y%m%d')} {dt.strftime('%H%M%S')} finished",
            f"price {rng.randrange(1, 999)}{NNBSP}{rng.randrange(100, 999)},{rng.randrange(10, 99)}{NBSP}€ incl. VAT",
            f"total ${rng.randrange(1, 99)},{rng.randrange(100, 999)}.{rng.randrange(10, 99)} for {rng.randrange(2, 9)} seats",
            f"Order #{rng.randrange(10**8, 10**9)} shipped, ticket {rng.randrange(10**6, 10**7)} closed",
            f"invoice INV-{rng.randrange(2019, 2026)}-{rng.randrange(0, 999999):06d} is overdue",
            f"build-{dt.strftime('%Y%m%d%H%M%S')} released, job_{rng.randrange(10**8, 10**9)} queued",
            f"GET /api/v2/items/{rng.randrange(10**9, 10**10)}/ 200 in {rng.randrange(5, 900)} ms",
            f"input_ids {' '.join(str(rng.randrange(100, 30000)) for _ in range(8))}",
            f"shape ({rng.randrange(1, 64)}, {rng.randrange(1, 1024)}, {rng.randrange(1, 1024)}) loss={rng.random():.9f}",
        ]))  # fmt: skip
    for _ in range(70):
        out.append(G.pick([
            f"q=machine%20learning%20{G.fake.word()}&page={rng.randrange(1, 9)}",
            f"progress {rng.randrange(1, 100)}%25 util={rng.randrange(0, 100)}%",
            f'{{"msg": "line one\\nline two\\t{rng.randrange(1, 9)}.{rng.randrange(0, 12)}"}}',
            f"ｖｅｒｓｉｏｎ {fullwidth(str(rng.randrange(1, 9)))}．{fullwidth(str(rng.randrange(0, 20)))} {fullwidth(str(rng.randrange(2020, 2026)))}年{fullwidth(str(rng.randrange(1, 13)))}月",
            f"price&nbsp;{rng.randrange(1, 999)}&nbsp;€ &amp; shipping",
            "pad_token=<pad> eos_token=</s> max_new_tokens=" + str(rng.randrange(16, 4096)),
            f"<b>{rng.randrange(1, 999)}</b> items in <i>{G.fake.word()}</i>",
        ]))  # fmt: skip
    for _ in range(60):
        out.append(G.pick([
            f"top {rng.randrange(3, 10)} Ways to speed up inference",
            f"Route {rng.randrange(1, 99)} and Highway to Hell",
            f"step {rng.randrange(1, 9)} Close the valve, step {rng.randrange(1, 9)} Open it",
            f"sent via Slack {rng.randrange(2, 9)} times",
            f"We run {rng.randrange(2, 9)} Data Centers in {rng.randrange(2, 9)} Regions",
            f"the {rng.randrange(2, 12)} Supreme Court justices",
            f"String {rng.randrange(1, 9)} of {rng.randrange(10, 20)} parsed",
            f"deployed {rng.randrange(2, 9)} Cloud Run services",
        ]))  # fmt: skip
    for _ in range(60):
        out.append(G.pick([
            f"max_new_tokens={rng.randrange(16, 4096)} tokens_in={rng.randrange(10, 9000)}",
            f"token count exceeded: {rng.randrange(4097, 9000)} > 4096",
            "tokenizer=bert-base-uncased revision=main",
            f"ValueError: expected 9 digits, got {rng.randrange(10**8, 10**9)}",
            f"ssn field missing for user {rng.randrange(1, 10**5)}",
            f"request id {G.fake.uuid4()} completed",
            f"trace_id={G.rand_str('0123456789abcdef', 32)}",
        ]))  # fmt: skip
    return [{"text": text, "spans": []} for text in out]


def rows() -> list[Row]:
    G.rng.seed(SEED)
    Faker.seed(SEED)
    G.fake.seed_instance(SEED)
    out: list[Row] = []
    for make in (encoded, adjacent_and_glued, national_phones, addresses, exceptions_and_markers, negatives):
        out.extend(make())
    random.Random(SEED).shuffle(out)
    return out


def main() -> int:
    data = rows()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in data:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for row in data:
        for span in row["spans"]:
            counts[span["entity_type"]] = counts.get(span["entity_type"], 0) + 1
    negatives_n = sum(1 for r in data if not r["spans"])
    print(f"{len(data)} sentences ({negatives_n} negative) -> {OUT.name}", file=sys.stderr)
    for entity, n in sorted(counts.items()):
        print(f"  {entity:16} {n}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

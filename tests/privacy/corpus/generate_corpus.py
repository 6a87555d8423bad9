# ruff: noqa: E501  (sentence templates and value recipes read best on one line)
"""Generate the labelled PII corpus ``pii_corpus.jsonl`` next to this file.

Usage (from the repository root)::

    .venv/bin/python tests/privacy/corpus/generate_corpus.py

It also writes ``pii_corpus_forms.jsonl`` (see ``generate_forms.py``).

Each line is ``{"text": ..., "spans": [{"entity_type", "start", "end", "value"}]}``.
Negative sentences (look-alikes that are not PII) have ``"spans": []``.

Values come from Faker (names, e-mails, card numbers, SSNs, IPs, IBANs), from
python-phonenumbers' metadata (valid numbers for 18 regions, formatted in national,
international and E.164 styles) and from our own templates (secrets, URLs, negatives);
sentences are built from hand-written templates. Gold IBANs are double-checked with
Presidio's ``IbanRecognizer`` (an independent implementation) when it is installed.

Reproducible: Faker and ``random`` are seeded, so the same Faker / phonenumbers versions
produce the same file (made with Faker 40.63.0 and phonenumbers 9.0.43). The committed
file is the reference; regenerate only on purpose.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import random
import re
import string
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberType

SEED = 20240611
OUT = Path(__file__).with_name("pii_corpus.jsonl")

rng = random.Random(SEED)
Faker.seed(SEED)
fake = Faker("en_US")

Span = dict[str, Any]


class Sentence:
    """Builds a text while recording entity spans."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[Span] = []
        self.pos = 0

    def t(self, text: str) -> Sentence:
        self.parts.append(text)
        self.pos += len(text)
        return self

    def e(self, entity_type: str, value: str) -> Sentence:
        self.spans.append(
            {
                "entity_type": entity_type,
                "start": self.pos,
                "end": self.pos + len(value),
                "value": value,
            }
        )
        return self.t(value)

    def done(self) -> dict[str, Any]:
        text = "".join(self.parts)
        for s in self.spans:
            assert text[s["start"] : s["end"]] == s["value"], s
        return {"text": text, "spans": self.spans}


SLOT = re.compile(r"\{([a-z]\w*)\}")


def fill(template: str, **values: tuple[str, str] | str) -> dict[str, Any]:
    """``template`` with ``{name}`` slots; entity slots are (entity_type, value) pairs."""
    s = Sentence()
    pos = 0
    for match in SLOT.finditer(template):
        s.t(template[pos : match.start()])
        slot = values[match.group(1)]
        if isinstance(slot, tuple):
            s.e(slot[0], slot[1])
        else:
            s.t(slot)
        pos = match.end()
    s.t(template[pos:])
    return s.done()


def pick(seq: list[str]) -> str:
    return seq[rng.randrange(len(seq))]


def fixed_datetime() -> datetime:
    """A random moment of 2024 (Faker's "this year" helpers depend on today's date)."""
    return datetime(2024, 1, 1) + timedelta(seconds=rng.randrange(366 * 86400))


def rand_str(alphabet: str, n: int) -> str:
    return "".join(alphabet[rng.randrange(len(alphabet))] for _ in range(n))


ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
B64 = string.ascii_letters + string.digits + "+/"

# ------------------------------------------------------------------------------ emails

EMAIL_TEMPLATES = [
    "Please contact {v} for access to the dashboard.",
    "user={v} requested a password reset",
    "Send the report to {v} before Friday.",
    "From: {v}\nSubject: invoice overdue",
    '{"customer_email": "{v}", "plan": "pro"}',
    "Reply-To: <{v}>",
    "Can you forward this thread to {v}? Thanks!",
    "mailto:{v}",
    "login failed for {v} (attempt 3)",
    "CC: {v}; {w}",
    "My email is {v} and my backup is {w}.",
    "prompt: summarise the complaint from {v}",
]


def email_values() -> list[str]:
    out = []
    for _ in range(70):
        out.append(fake.email())
    for _ in range(20):
        out.append(fake.free_email())
    for _ in range(15):
        first = fake.first_name().lower()
        last = fake.last_name().lower()
        out.append(f"{first}.{last}+{pick(['news', 'work', 'x1', 'billing'])}@{fake.domain_name()}")
    for _ in range(10):
        out.append(f"{fake.user_name()}@mail.{fake.domain_word()}.co.uk")
    for _ in range(5):
        out.append(fake.company_email().upper())
    out.append("o'brien@example.ie")
    out.append("user_name-1@sub.example-domain.org")
    out.append("info@xn--80ak6aa92e.com")
    return out


def emails() -> list[dict[str, Any]]:
    vals = email_values()
    rows = []
    for i, v in enumerate(vals):
        tpl = EMAIL_TEMPLATES[i % len(EMAIL_TEMPLATES)]
        w = vals[(i + 7) % len(vals)]
        rows.append(fill(tpl, v=("EMAIL_ADDRESS", v), w=("EMAIL_ADDRESS", w)))
    return rows


# ------------------------------------------------------------------------------ phones

NATIONAL_REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "CA", "IL"]
INTL_ONLY_REGIONS = ["ES", "IT", "NL", "AU", "JP", "MX", "CH", "SE", "ZA", "SG"]


def random_number(region: str, kind: int) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, kind)
    nsn = str(example.national_number)
    keep = min(4, len(nsn) - 4)
    for _ in range(200):
        new = nsn[:keep] + rand_str(string.digits, len(nsn) - keep)
        num = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=int(new))
        if example.italian_leading_zero:
            num.italian_leading_zero = True
        if phonenumbers.is_valid_number(num) and phonenumbers.region_code_for_number(num) == region:
            return num
    return example


def phone_styles(num: phonenumbers.PhoneNumber, national: bool) -> list[str]:
    intl = phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    styles = [intl, e164, intl.replace(" ", "-", 1), "00" + e164[1:]]
    if national:
        nat = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
        styles += [nat, nat, nat.replace(" ", "-"), nat.replace(" ", ".")]
        if num.country_code == 1:
            nsn = str(num.national_number)
            styles += [
                f"{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}",
                f"{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}",
                f"1-{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}",
            ]
    return styles


PHONE_TEMPLATES = [
    "Call me at {v} after 6pm.",
    "Customer phone: {v}",
    "tel: {v}",
    "You can reach the on-call engineer on {v}.",
    '{"phone": "{v}", "verified": true}',
    "My mobile is {v}, landline {w}.",
    "Please ring {v} to confirm the delivery.",
    "contact_number={v}",
    "The caller ({v}) asked about their order.",
    "WhatsApp {v}",
]


def phones() -> list[dict[str, Any]]:
    values: list[str] = []
    for region in NATIONAL_REGIONS:
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            for _ in range(3):
                num = random_number(region, kind)
                styles = phone_styles(num, national=True)
                values.extend(rng.sample(styles, 3))
    for region in INTL_ONLY_REGIONS:
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            for _ in range(2):
                num = random_number(region, kind)
                styles = phone_styles(num, national=False)
                values.extend(rng.sample(styles, 2))
    # Deduplicate, keeping order.
    seen: set[str] = set()
    uniq = [v for v in values if not (v in seen or seen.add(v))]
    rows = []
    for i, v in enumerate(uniq):
        tpl = PHONE_TEMPLATES[i % len(PHONE_TEMPLATES)]
        w = uniq[(i + 11) % len(uniq)]
        rows.append(fill(tpl, v=("PHONE_NUMBER", v), w=("PHONE_NUMBER", w)))
    return rows


# ------------------------------------------------------------------------------- cards

CARD_TYPES = [
    "visa",
    "visa13",
    "visa19",
    "mastercard",
    "amex",
    "discover",
    "jcb",
    "diners",
    "maestro",
]


def group_card(number: str, sep: str) -> str:
    if (len(number) == 15 and number[0] == "3") or len(number) == 14:
        parts = [number[:4], number[4:10], number[10:]]
    else:
        parts = [number[i : i + 4] for i in range(0, len(number), 4)]
    return sep.join(parts)


CARD_TEMPLATES = [
    "Card number: {v}",
    "Please charge {v} for the annual plan.",
    "payment failed for card {v} (insufficient funds)",
    '{"cc": "{v}", "exp": "12/27"}',
    "I paid with my {brand} {v} yesterday.",
    "Visa ending in 4242? No, the full number is {v}.",
    "card={v}&amount=49.99",
    "Refund to {v}, expiry 09/26, thanks.",
]


def cards() -> list[dict[str, Any]]:
    rows = []
    i = 0
    for card_type in CARD_TYPES:
        n = 0
        while n < 18:
            number = fake.credit_card_number(card_type=card_type)
            if number[0] == "0":  # Faker's maestro "0604" prefix is not a real IIN
                continue
            sep = pick(["", " ", " ", "-"])
            value = group_card(number, sep) if sep else number
            tpl = CARD_TEMPLATES[i % len(CARD_TEMPLATES)]
            rows.append(fill(tpl, v=("CREDIT_CARD", value), brand=card_type.rstrip("0123456789")))
            i += 1
            n += 1
    return rows


# -------------------------------------------------------------------------------- SSNs

SSN_TEMPLATES = [
    "SSN: {v}",
    "My social security number is {v}.",
    "applicant ssn={v}",
    '{"ssn": "{v}", "dob": "1984-02-11"}',
    "Employee {name} (SSN {v}) was onboarded.",
    "Please verify social security number {v} against the W-2.",
]


def ssns() -> list[dict[str, Any]]:
    rows = []
    for i in range(130):
        ssn = fake.ssn()
        style = i % 6
        if style == 3:
            value = ssn.replace("-", " ")
        elif style == 5:
            value = ssn.replace("-", "")
        else:
            value = ssn
        tpl = SSN_TEMPLATES[i % len(SSN_TEMPLATES)]
        rows.append(fill(tpl, v=("US_SSN", value), name=fake.first_name()))
    return rows


# ---------------------------------------------------------------------------------- IPs

IP_TEMPLATES = [
    "Connection from {v} refused",
    "client_ip={v} status=403",
    "The server at {v} is unreachable.",
    '{"remote_addr": "{v}", "path": "/login"}',
    "ssh admin@{v} failed: permission denied",
    "Blocked {v} after 5 failed logins.",
    "X-Forwarded-For: {v}, {w}",
    "ping {v}",
]


def ip_values() -> list[str]:
    out: list[str] = []
    for _ in range(35):
        out.append(fake.ipv4_public())
    for _ in range(15):
        out.append(fake.ipv4_private())
    for _ in range(10):
        out.append(fake.ipv4(network=True))
    for _ in range(25):
        out.append(fake.ipv6())
    for _ in range(25):
        addr = ipaddress.IPv6Address(fake.ipv6())
        packed = bytearray(addr.packed)
        for k in rng.sample(range(2, 8), rng.randrange(2, 5)):
            packed[2 * k] = packed[2 * k + 1] = 0
        out.append(ipaddress.IPv6Address(bytes(packed)).compressed)
    out += [
        "fe80::1",
        "::1",
        "2001:db8::8a2e:370:7334",
        "fe80::1ff:fe23:4567:890a%eth0",
        "::ffff:192.0.2.128",
        "64:ff9b::192.0.2.33",
        "2001:db8:85a3::8a2e:370:7334/64",
        "ff02::2",
        "2001:DB8:0:0:8:800:200C:417A",
        "fd12:3456:789a:1::1",
    ]
    return out


def ips() -> list[dict[str, Any]]:
    vals = ip_values()
    rows = []
    for i, v in enumerate(vals):
        tpl = IP_TEMPLATES[i % len(IP_TEMPLATES)]
        if "@" in tpl and ":" in v:
            tpl = "ssh to [{v}] failed: permission denied"
        w = vals[(i + 5) % len(vals)]
        rows.append(fill(tpl, v=("IP_ADDRESS", v), w=("IP_ADDRESS", w)))
    return rows


# -------------------------------------------------------------------------------- IBANs

IBAN_LOCALES = [
    "az_AZ", "cs_CZ", "da_DK", "de_AT", "de_CH", "de_DE", "el_GR", "en_GB", "en_IE", "es_ES",
    "fi_FI", "fr_FR", "it_IT", "nl_BE", "nl_NL", "no_NO", "pl_PL", "pt_BR", "pt_PT", "ro_RO",
    "ru_RU", "sk_SK", "tr_TR", "uk_UA", "mk_MK",
]  # fmt: skip

IBAN_TEMPLATES = [
    "IBAN: {v}",
    "Please transfer the deposit to {v} by Monday.",
    "beneficiary_iban={v}",
    '{"iban": "{v}", "bic": "DEUTDEFF"}',
    "My account is {v}, thanks.",
    "Wire to IBAN {v} (reference 2024-117)",
]


def _iban_check() -> Callable[[str], bool]:
    try:
        os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
        from presidio_analyzer.predefined_recognizers import IbanRecognizer
    except ImportError:
        return lambda _v: True
    rec = IbanRecognizer()
    return lambda v: bool(rec.validate_result(v))


def ibans() -> list[dict[str, Any]]:
    check = _iban_check()
    rows = []
    i = 0
    for locale in IBAN_LOCALES:
        f = Faker(locale)
        f.seed_instance(SEED + i)
        for _ in range(5):
            iban = f.iban()
            if not check(iban):
                continue
            value = " ".join(iban[k : k + 4] for k in range(0, len(iban), 4)) if i % 2 else iban
            tpl = IBAN_TEMPLATES[i % len(IBAN_TEMPLATES)]
            rows.append(fill(tpl, v=("IBAN_CODE", value)))
            i += 1
    return rows


# ------------------------------------------------------------------ credential-bearing URLs

URL_TEMPLATES = [
    "Connecting to {v}",
    "DATABASE_URL={v}",
    "fetch({v}) returned 401",
    "Download the export from {v} within 15 minutes.",
    '{"callback": "{v}"}',
    "webhook configured: {v}",
]


def url_values() -> list[str]:
    out = []
    for _ in range(35):
        scheme = pick(
            ["postgres", "postgresql", "mysql", "redis", "amqp", "mongodb+srv", "https", "ftp"]
        )
        user = fake.user_name()
        pw = rand_str(ALNUM + "!$*", rng.randrange(8, 20))
        host = pick([fake.domain_name(), f"db-{rng.randrange(1, 9)}.internal", "10.0.3.17"])
        path = pick(["/app", "/", "/0", "/orders?sslmode=require", ""])
        port = pick(["", ":5432", ":6379", ":8443"])
        out.append(f"{scheme}://{user}:{pw}@{host}{port}{path}")
    for _ in range(45):
        host = fake.domain_name()
        param = pick(
            ["token", "access_token", "api_key", "apikey", "sig", "key", "auth", "client_secret"]
        )
        secret = rand_str(ALNUM + "-_", rng.randrange(16, 40))
        path = pick(["/v1/data", "/export.csv", "/api/items", "/callback", "/download/report.pdf"])
        extra = pick(["", "&page=2", "&format=json"])
        lead = pick(["", "lang=en&"])
        out.append(f"https://{host}{path}?{lead}{param}={secret}{extra}")
    for _ in range(10):
        cred = f"AKIA{rand_str(UPPER_DIGITS, 16)}%2F20240611%2Fus-east-1%2Fs3%2Faws4_request"
        sig = rand_str("0123456789abcdef", 64)
        out.append(
            f"https://{fake.domain_word()}-bucket.s3.amazonaws.com/reports/q2.pdf?X-Amz-Algorithm="
            f"AWS4-HMAC-SHA256&X-Amz-Credential={cred}&X-Amz-Expires=900&X-Amz-Signature={sig}"
        )
    for _ in range(10):
        sig = rand_str(ALNUM, 43) + "%3D"
        out.append(
            f"https://{fake.domain_word()}.blob.core.windows.net/data/file.parquet?sv=2022-11-02"
            f"&se=2024-06-12T10%3A00%3A00Z&sr=b&sp=r&sig={sig}"
        )
    return out


def urls() -> list[dict[str, Any]]:
    rows = []
    for i, v in enumerate(url_values()):
        rows.append(fill(URL_TEMPLATES[i % len(URL_TEMPLATES)], v=("URL_CREDENTIALS", v)))
    return rows


# ------------------------------------------------------------------------------ secrets


def aws() -> list[dict[str, Any]]:
    rows = []
    templates = [
        "AWS_ACCESS_KEY_ID={k}\nAWS_SECRET_ACCESS_KEY={s}",
        "aws_access_key_id = {k}\naws_secret_access_key = {s}",
        "Using credentials {k} / {s} for the upload.",
        '{"AccessKeyId": "{k}", "SecretAccessKey": "{s}"}',
        "export AWS_ACCESS_KEY_ID={k} AWS_SECRET_ACCESS_KEY={s}",
        "access key {k} was rotated yesterday",
        "Found key {k} in the repo history.",
    ]
    for i in range(84):
        prefix = "ASIA" if i % 4 == 3 else "AKIA"
        key = prefix + rand_str(string.ascii_uppercase + "234567", 16)
        secret = rand_str(B64, 40)
        rows.append(
            fill(
                templates[i % len(templates)],
                k=("AWS_ACCESS_KEY", key),
                s=("AWS_SECRET_KEY", secret),
            )
        )
    return rows


def github() -> list[dict[str, Any]]:
    templates = [
        "GITHUB_TOKEN={v}",
        "git clone with token {v} failed",
        "Authorization: token {v}",
        '{"github_token": "{v}"}',
        "Revoke {v} immediately, it was pushed to a public repo.",
    ]
    rows = []
    for i in range(80):
        if i % 5 == 4:
            value = "github_pat_" + rand_str(ALNUM, 22) + "_" + rand_str(ALNUM, 59)
        else:
            value = pick(["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]) + rand_str(ALNUM, 36)
        rows.append(fill(templates[i % len(templates)], v=("GITHUB_TOKEN", value)))
    return rows


def slack() -> list[dict[str, Any]]:
    templates = [
        "SLACK_BOT_TOKEN={v}",
        "slack client initialised with {v}",
        '{"token": "{v}", "channel": "#alerts"}',
        "posting to Slack using {v}",
    ]
    rows = []
    for i in range(70):
        kind = i % 5
        if kind == 0:
            value = f"xoxb-{rand_str(string.digits, 12)}-{rand_str(string.digits, 13)}-{rand_str(ALNUM, 24)}"
        elif kind == 1:
            value = (
                f"xoxp-{rand_str(string.digits, 12)}-{rand_str(string.digits, 12)}-"
                f"{rand_str(string.digits, 13)}-{rand_str('0123456789abcdef', 32)}"
            )
        elif kind == 2:
            value = f"xoxa-2-{rand_str(string.digits, 12)}-{rand_str(string.digits, 13)}-{rand_str(ALNUM, 32)}"
        elif kind == 3:
            value = f"xapp-1-A{rand_str(UPPER_DIGITS, 10)}-{rand_str(string.digits, 13)}-{rand_str('0123456789abcdef', 64)}"
        else:
            value = f"xoxs-{rand_str(string.digits, 11)}-{rand_str(ALNUM, 30)}"
        rows.append(fill(templates[i % len(templates)], v=("SLACK_TOKEN", value)))
    return rows


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt() -> str:
    header = {"alg": pick(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    payload = {
        "sub": str(rng.randrange(10**6, 10**9)),
        "name": fake.name(),
        "iat": rng.randrange(1_600_000_000, 1_750_000_000),
    }
    if rng.random() < 0.5:
        payload["email"] = fake.email()
    sig = bytes(rng.randrange(256) for _ in range(32))
    return ".".join(
        [
            b64url(json.dumps(header, separators=(",", ":")).encode()),
            b64url(json.dumps(payload, separators=(",", ":")).encode()),
            b64url(sig),
        ]
    )


def jwts() -> list[dict[str, Any]]:
    templates = [
        "id_token: {v}",
        "session cookie jwt={v}; Path=/",
        '{"jwt": "{v}"}',
        "decoded the token {v} and found an expired claim",
        "X-Auth-Token: {v}",
    ]
    return [fill(templates[i % len(templates)], v=("JWT", make_jwt())) for i in range(75)]


def bearers() -> list[dict[str, Any]]:
    """Bearer tokens; a JWT sent as a bearer token is labelled JWT (the more specific type)."""
    templates = [
        "Authorization: Bearer {v}",
        "curl -H 'Authorization: Bearer {v}' https://api.example.com/v1/models",
        "headers = {'Authorization': 'Bearer {v}'}",
        "request rejected: bearer {v} expired",
    ]
    rows = []
    for i in range(72):
        if i % 6 == 5:
            entity, value = "JWT", make_jwt()
        else:
            entity, value = "BEARER_TOKEN", rand_str(ALNUM + "-._~", rng.randrange(20, 48))
        rows.append(fill(templates[i % len(templates)], v=(entity, value)))
    return rows


def pem_block(kind: str, lines: int, newline: str) -> str:
    body = (
        newline.join(rand_str(B64, 64) for _ in range(lines)) + newline + rand_str(B64, 20) + "=="
    )
    label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
    return f"-----BEGIN {label}-----{newline}{body}{newline}-----END {label}-----"


def private_keys() -> list[dict[str, Any]]:
    templates = [
        "{v}",
        "Here is the deploy key:\n{v}\nplease keep it safe",
        '{"private_key": "{v}"}',
        "ssh_key = '''{v}'''",
    ]
    rows = []
    for i in range(52):
        kind = ["RSA", "", "EC", "OPENSSH", "ENCRYPTED", "DSA"][i % 6]
        newline = "\\n" if i % 4 == 2 else "\n"
        rows.append(
            fill(templates[i % len(templates)], v=("PRIVATE_KEY", pem_block(kind, 3, newline)))
        )
    return rows


def secrets_assignments() -> list[dict[str, Any]]:
    templates = [
        "password={v}",
        "DB_PASSWORD={v}",
        '{"password": "{v}", "user": "admin"}',
        "client_secret: {v}",
        "api_key = '{v}'",
        "MYSQL_ROOT_PASSWORD: {v}",
        "secret={v}",
        "login user=admin pwd={v}",
        "config: {'api_secret': '{v}'}",
        "Authorization: Basic {v}",
    ]
    rows = []
    for i in range(110):
        tpl = templates[i % len(templates)]
        if "Basic" in tpl:
            value = base64.b64encode(f"{fake.user_name()}:{rand_str(ALNUM, 10)}".encode()).decode()
        elif i % 3 == 0:
            value = fake.password(length=rng.randrange(10, 20), special_chars=False)
        else:
            value = rand_str(ALNUM + "!@#%^*_+-", rng.randrange(8, 28))
        rows.append(fill(tpl, v=("SECRET", value)))
    return rows


# ----------------------------------------------------------------------------- mixed


def mixed() -> list[dict[str, Any]]:
    rows = []
    for i in range(150):
        s = Sentence()
        name = fake.name()
        s.t(f"[{fixed_datetime().isoformat()}] ticket #{rng.randrange(1000, 99999)}: ")
        choice = i % 5
        if choice == 0:
            s.t(f"{name} wrote from ").e("EMAIL_ADDRESS", fake.email()).t(" asking to update card ")
            s.e("CREDIT_CARD", group_card(fake.credit_card_number(card_type="visa16"), " "))
            s.t(".")
        elif choice == 1:
            num = random_number(pick(NATIONAL_REGIONS), PhoneNumberType.MOBILE)
            s.t("callback to ").e(
                "PHONE_NUMBER", phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)
            )
            s.t(", origin ip ").e("IP_ADDRESS", fake.ipv4_public()).t(", ssn on file ").e(
                "US_SSN", fake.ssn()
            )
        elif choice == 2:
            s.t("payout IBAN ").e("IBAN_CODE", Faker("de_DE").iban()).t(" confirmed by ").e(
                "EMAIL_ADDRESS", fake.company_email()
            )
        elif choice == 3:
            s.t("env dump: TOKEN_HEADER='Bearer ").e("BEARER_TOKEN", rand_str(ALNUM, 32)).t(
                "' password="
            ).e("SECRET", rand_str(ALNUM, 14)).t(" host ").e(
                "IP_ADDRESS", ipaddress.IPv6Address(fake.ipv6()).compressed
            )
        else:
            s.t("user ").e("EMAIL_ADDRESS", fake.free_email()).t(" phone ").e(
                "PHONE_NUMBER",
                phonenumbers.format_number(
                    random_number(pick(["US", "CA"]), PhoneNumberType.FIXED_LINE),
                    PhoneNumberFormat.NATIONAL,
                ),
            ).t(" leaked key ").e("GITHUB_TOKEN", "ghp_" + rand_str(ALNUM, 36))
        rows.append(s.done())
    return rows


# ------------------------------------------------------------------------- NER sentences

NER_TEMPLATES = [
    "{p} flew from {l} to {m} last week.",
    "Meeting notes: {p} and {q} discussed the launch in {l}.",
    "Please ship the package to {p} in {l}.",
    "{p} is the new account manager for the {l} office.",
    "Dear {p}, your order has been dispatched from {l}.",
    "The patient, {p}, was transferred to a hospital in {l}.",
    "Summarise the email {p} sent about the conference in {l}.",
    "{p} lives in {l} and works remotely.",
]


def ner_rows() -> list[dict[str, Any]]:
    rows = []
    gb = Faker("en_GB")
    gb.seed_instance(SEED)
    for i in range(240):
        f = fake if i % 3 else gb
        loc = f.city() if i % 2 else fake.country()
        loc2 = fake.city()
        tpl = NER_TEMPLATES[i % len(NER_TEMPLATES)]
        rows.append(
            fill(
                tpl,
                p=("PERSON", f.name()),
                q=("PERSON", f.name()),
                l=("LOCATION", loc),
                m=("LOCATION", loc2),
            )
        )
    return rows


# --------------------------------------------------------------------------- negatives


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def negatives() -> list[dict[str, Any]]:
    out: list[str] = []
    for _ in range(40):
        while True:
            digits = pick(["4", "5", "3", "6"]) + rand_str(string.digits, 15)
            if not luhn_ok(digits):
                break
        style = rng.randrange(3)
        value = digits if style == 0 else group_card(digits, " " if style == 1 else "-")
        out.append(
            pick(
                [
                    f"Reference number {value} was not found.",
                    f"tracking id {value}",
                    f"batch {value} processed",
                ]
            )
        )
    for _ in range(30):
        out.append(
            f"Order #{rng.randrange(10000, 999999)} shipped on {fixed_datetime().date().isoformat()}."
        )
        out.append(
            f"invoice INV-{rng.randrange(2019, 2025)}-{rng.randrange(0, 99999):05d} is overdue"
        )
    for _ in range(25):
        dt = fixed_datetime()
        out.append(pick([
            f"{dt.isoformat(sep=' ', timespec='seconds')} INFO request completed in {rng.randrange(5, 900)} ms",
            f"timestamp={dt.isoformat()}Z level=warn",
            f"Backup finished at {dt.strftime('%d/%m/%Y %H:%M')}",
            f"scheduled for {dt.strftime('%m/%d/%Y')} at {dt.strftime('%H:%M:%S')}",
            f"epoch {int(dt.timestamp())} build {dt.strftime('%Y%m%d')}.{rng.randrange(1, 9)}",
        ]))  # fmt: skip
    for _ in range(25):
        out.append(pick([
            f"Upgraded torch from {rng.randrange(1, 3)}.{rng.randrange(0, 13)}.{rng.randrange(0, 9)} to v2.{rng.randrange(0, 6)}.1",
            f"Windows build 10.0.{rng.randrange(10000, 22631)}.{rng.randrange(1, 3000)}",
            f"Python {rng.randrange(3, 4)}.{rng.randrange(8, 13)}.{rng.randrange(0, 12)} on linux",
            f"release 1.{rng.randrange(0, 40)}.{rng.randrange(0, 9)}-rc.{rng.randrange(1, 5)}",
            f"model checkpoint v{rng.randrange(1, 9)}.{rng.randrange(0, 99)}.{rng.randrange(0, 999)}",
        ]))  # fmt: skip
    for _ in range(30):
        out.append(pick([
            f"See {fake.url()}docs/getting-started?page={rng.randrange(1, 9)}&lang=en for details.",
            f"GET https://{fake.domain_name()}/api/v1/items?limit=50&offset={rng.randrange(0, 500)} 200",
            f"health check http://localhost:{rng.randrange(3000, 9000)}/healthz ok",
            f"docs at {fake.domain_name()}/faq",
            f"redirect to https://{fake.domain_name()}/search?q=privacy+policy",
        ]))  # fmt: skip
    for _ in range(25):
        out.append(pick([
            f"latency_ms={rng.randrange(1, 500)}.{rng.randrange(0, 99)} tokens_in={rng.randrange(10, 4000)} tokens_out={rng.randrange(1, 2000)}",
            f"temperature=0.{rng.randrange(0, 99)} top_p=0.9 max_new_tokens={rng.randrange(16, 4096)}",
            f"batch_size={rng.randrange(1, 256)} learning_rate={rng.randrange(1, 9)}e-{rng.randrange(3, 6)} epoch={rng.randrange(1, 50)}",
            f"pad_token=<pad> eos_token=</s> vocab_size={rng.randrange(30000, 130000)}",
            f"accuracy=0.{rng.randrange(800, 999)} f1=0.{rng.randrange(700, 999)} n={rng.randrange(1000, 100000)}",
            f"gpu_mem={rng.randrange(1000, 80000)}MiB util={rng.randrange(0, 100)}% step={rng.randrange(0, 1000000)}",
        ]))  # fmt: skip
    for _ in range(20):
        out.append(pick([
            f"request id {fake.uuid4()} completed",
            f"commit {rand_str('0123456789abcdef', 40)} merged",
            f"sha256:{rand_str('0123456789abcdef', 64)}",
            f"trace_id={rand_str('0123456789abcdef', 32)} span_id={rand_str('0123456789abcdef', 16)}",
        ]))  # fmt: skip
    for _ in range(15):
        area = pick(["000", "666"])
        out.append(pick([f"placeholder SSN {area}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}", "example SSN 123-45-6789 in the docs", f"form field ssn=XXX-XX-{rng.randrange(1000, 9999)}"]))  # fmt: skip
    for _ in range(15):
        out.append(pick([
            f"invalid address {rng.randrange(256, 999)}.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}.{rng.randrange(0, 255)} rejected",
            f"coordinates {rng.uniform(-90, 90):.4f}, {rng.uniform(-180, 180):.4f}",
            f"ratio {rng.randrange(1, 20)}:{rng.randrange(1, 20)} and time {rng.randrange(0, 23):02d}:{rng.randrange(0, 59):02d}:{rng.randrange(0, 59):02d}",
            f"price ${rng.randrange(1, 9)},{rng.randrange(100, 999)}.{rng.randrange(10, 99)} incl. VAT",
        ]))  # fmt: skip
    for _ in range(15):
        country = pick(["DE", "GB", "FR", "NL", "ES"])
        out.append(
            f"bad IBAN {country}00 {rand_str(string.digits, 4)} {rand_str(string.digits, 4)} {rand_str(string.digits, 4)} {rand_str(string.digits, 4)} 00 rejected"
        )
    for _ in range(20):
        out.append(pick([
            "The password must contain at least 12 characters.",
            "Reset your password using the link we sent.",
            "password: ********",
            "api_key=${API_KEY}",
            "secret: <redacted>",
            "token count exceeded the context window",
            "Use the bearer token from the vault, never hard-code it.",
            "follow @" + fake.user_name() + " for updates",
            "icon@2x.png failed to load",
            "email me at john dot doe at example dot com",
            "password=None",
            "client_secret: null",
        ]))  # fmt: skip
    for _ in range(15):
        out.append(pick([
            f"ISBN 978-{rng.randrange(0, 9)}-{rng.randrange(10, 99)}-{rng.randrange(100000, 999999)}-{rng.randrange(0, 9)}",
            f"Quantity: {rng.randrange(1, 99)} x {rng.randrange(1, 999)} units",
            f"port {rng.randrange(1024, 65535)} open, pid {rng.randrange(100, 99999)}",
            f"score {rng.randrange(0, 100)}/{100} in {rng.randrange(1, 60)} minutes",
        ]))  # fmt: skip
    return [{"text": text, "spans": []} for text in out]


def main() -> int:
    rows: list[dict[str, Any]] = []
    for make in (
        emails, phones, cards, ssns, ips, ibans, urls, aws, github, slack, jwts, bearers,
        private_keys, secrets_assignments, mixed, ner_rows, negatives,
    ):  # fmt: skip
        rows.extend(make())
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for row in rows:
        for span in row["spans"]:
            counts[span["entity_type"]] = counts.get(span["entity_type"], 0) + 1
    negatives_n = sum(1 for r in rows if not r["spans"])
    print(
        f"{len(rows)} sentences ({negatives_n} negative), {OUT.stat().st_size} bytes",
        file=sys.stderr,
    )
    for entity, n in sorted(counts.items()):
        print(f"  {entity:16} {n}", file=sys.stderr)
    # The forms that hid values from the detector (encodings, separators, neighbours,
    # prefixes, national phones, addresses, exception text, markers): a second file with
    # its own seed, so this one stays as it was.
    import generate_forms

    return generate_forms.main()


if __name__ == "__main__":
    raise SystemExit(main())

"""Validators run on candidate spans only (checksums, parsers, invalid-range rules).

Each validator mirrors the matching Presidio recognizer's ``validate_result`` /
``invalidate_result`` (presidio-analyzer 2.2.x) unless noted.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache

# Phone validation lives in its own module; re-exported for callers of this one.
from infertel.privacy._detect_phone import (
    has_prefixless_region,
    phone_validator,
    prefixless_regions,
)
from infertel.privacy._detect_tables import (
    EMAIL_FAKE_TLDS,
    IBAN_BBAN,
    SECRET_PLACEHOLDERS,
    URL_SECRET_PARAMS,
)
from infertel.privacy._patterns import SSN_SAMPLES

# --------------------------------------------------------------------------------------
# Credit cards — Presidio CreditCardRecognizer: strip "-" and " ", then Luhn.
# --------------------------------------------------------------------------------------

# Doubling a Luhn digit, as a character map: 0->0 1->2 2->4 3->6 4->8 5->1 6->3 7->5 8->7 9->9.
_LUHN_DOUBLE = str.maketrans("0123456789", "0246813579")


def luhn_ok(digits: str) -> bool:
    """Return whether ``digits`` (ASCII digits only) passes the Luhn checksum.

    Digit sums are taken over the bytes in C: sum(b"...") - 48 * len.
    """
    kept = digits[-1::-2].encode()
    doubled = digits[-2::-2].translate(_LUHN_DOUBLE).encode()
    return (sum(kept) + sum(doubled) - 48 * len(digits)) % 10 == 0


# Maestro issuer ranges (50, 56-69), the only cards issued with 12 digits.
_MAESTRO_12 = ("50", "56", "57", "58", "6")


def card_ok(digits: str) -> bool:
    """Card-number rules for 12-19 digits.

    Presidio's pattern accepts issuer prefixes 4, 5[0-5], 6, 1 and 3 and rejects a bare
    13-digit number starting with 1 (``(?!1\\d{12}(?!\\d))``). Also accepted here:
    Mastercard's 2-series (2221-2720, issued since 2017), 15-digit JCB 2131, Maestro's
    50 and 56-58 ranges and 12-digit Maestro numbers, all of which Presidio's pattern
    misses.
    """
    n = len(digits)
    if n < 12 or n > 19:
        return False
    if n == 12:
        return digits.startswith(_MAESTRO_12) and luhn_ok(digits)
    first = digits[0]
    if first == "1":
        if n == 13:
            return False
    elif first == "2":
        # Mastercard 2-series, or a legacy 15-digit JCB (2131).
        if not (2221 <= int(digits[:4]) <= 2720 or (n == 15 and digits.startswith("2131"))):
            return False
    elif first not in "3456":
        return False
    return luhn_ok(digits)


# --------------------------------------------------------------------------------------
# US SSN — Presidio UsSsnRecognizer.invalidate_result.
# --------------------------------------------------------------------------------------


def ssn_ok(digits: str) -> bool:
    """Return whether 9 ``digits`` can be an issued SSN (Presidio's invalid-range rules)."""
    if digits.count(digits[0]) == 9:  # all the same digit
        return False
    if digits[3:5] == "00" or digits[5:] == "0000":  # group or serial all zeros
        return False
    if digits[:3] in ("000", "666"):  # area numbers never issued
        return False
    return digits not in SSN_SAMPLES  # published sample / placeholder numbers


# --------------------------------------------------------------------------------------
# IBAN — Presidio IbanRecognizer: mod-97 check digits + per-country BBAN format.
# --------------------------------------------------------------------------------------

_IBAN_LETTERS = {ord(c): str(i) for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_BBAN_PART = re.compile(r"(\d+)([nac])")
_BBAN_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}


@cache
def _iban_format(country: str) -> tuple[int, re.Pattern[str]] | None:
    spec = IBAN_BBAN.get(country)
    if spec is None:
        return None
    parts = _BBAN_PART.findall(spec)
    length = 4 + sum(int(count) for count, _ in parts)
    regex = "".join(f"{_BBAN_CLASS[kind]}{{{count}}}" for count, kind in parts)
    if country == "CR":  # Costa Rica: the first BBAN digit is always 0
        regex = "0[0-9]{17}"
    return length, re.compile(regex)


def iban_length(country: str) -> int | None:
    """Total IBAN length for ``country`` (None when the country has no IBAN format)."""
    fmt = _iban_format(country)
    return None if fmt is None else fmt[0]


def iban_ok(compact: str) -> bool:
    """Validate an IBAN without separators: country format, length and mod-97."""
    fmt = _iban_format(compact[:2])
    if fmt is None:
        return False
    length, bban = fmt
    if len(compact) != length or not bban.fullmatch(compact, 4):
        return False
    rearranged = (compact[4:] + compact[:4]).translate(_IBAN_LETTERS)
    return int(rearranged) % 97 == 1


# --------------------------------------------------------------------------------------
# IP addresses — Presidio IpRecognizer.invalidate_result: ipaddress.ip_interface().
# --------------------------------------------------------------------------------------


def ipv4_ok(candidate: str) -> bool:
    """Fast path of :func:`ip_ok` for a dotted quad with an optional "/prefix" (the
    shape is already checked): octets <= 255 without leading zeros, prefix <= 32 —
    what ``ipaddress.ip_interface`` accepts."""
    address, _, prefix = candidate.partition("/")
    for octet in address.split("."):
        if (len(octet) > 1 and octet[0] == "0") or int(octet) > 255:
            return False
    return not prefix or int(prefix) <= 32


def ipv6_ok(candidate: str) -> bool:
    """Whether ``candidate`` parses as an IPv6 address / interface (zone id allowed)."""
    try:
        ipaddress.IPv6Interface(candidate)
    except ValueError:
        return False
    return True


def ip_ok(candidate: str) -> bool:
    """Return whether ``candidate`` parses as an IPv4/IPv6 address or interface."""
    try:
        ipaddress.ip_interface(candidate)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------
# Email — Presidio EmailRecognizer validates the domain with tldextract (public-suffix
# list). Without bundling that list: the top-level label must be alphabetic (or IDNA
# "xn--"), at least two characters, and not a file extension ("icon@2x.png").
# --------------------------------------------------------------------------------------


def email_ok(candidate: str) -> bool:
    """Return whether a matched ``local@domain`` candidate is an email address."""
    local, _, domain = candidate.rpartition("@")
    if not local or local[0] == "." or local[-1] == "." or ".." in local:
        return False
    tld = domain.rsplit(".", 1)[-1]
    if tld.startswith("xn--"):
        return True
    return len(tld) >= 2 and tld.isalpha() and tld.lower() not in EMAIL_FAKE_TLDS


# --------------------------------------------------------------------------------------
# URLs: credentials in the user-info part or in sensitive query/fragment parameters.
# --------------------------------------------------------------------------------------

_URL_PARAM = re.compile(r"[?&#;]([A-Za-z0-9_.\-]+)=([^&#;\s]+)")
_URL_TRAILING = ".,;:!?)]}'\"*"


def url_trim(url: str) -> str:
    """Drop trailing sentence punctuation from a matched URL."""
    return url.rstrip(_URL_TRAILING)


def url_has_credentials(url: str) -> bool:
    """Return whether ``url`` carries credentials (user:pass@, tokens, signatures)."""
    rest = url.split("://", 1)[1]
    cut = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if 0 <= i < cut:
            cut = i
    authority = rest[:cut]
    at = authority.rfind("@")
    if at > 0:
        userinfo = authority[:at]
        user, colon, password = userinfo.partition(":")
        if colon and password:
            return True
        # A long opaque user name is a token ("https://<token>@github.com/...").
        if len(user) >= 20 and any(c.isdigit() for c in user) and any(c.isalpha() for c in user):
            return True
    host = authority[at + 1 :].lower()
    if host == "hooks.slack.com" and rest[cut:].startswith("/services/"):
        return True
    if cut < len(rest):
        for match in _URL_PARAM.finditer(rest, cut):
            if match.group(1).lower() in URL_SECRET_PARAMS:
                return True
    return False


# --------------------------------------------------------------------------------------
# Generic secret assignments: reject placeholders ("***", "<redacted>", "${VAR}").
# --------------------------------------------------------------------------------------


def secret_value_ok(value: str) -> bool:
    """Return whether an assigned value looks like a real secret, not a placeholder."""
    if value.lower() in SECRET_PLACEHOLDERS:
        return False
    first = value[0]
    if first in "$<{%" or value.startswith("os.environ"):
        return False
    return value.strip("*xX.#-_") != ""


__all__ = [
    "card_ok",
    "email_ok",
    "has_prefixless_region",
    "iban_length",
    "iban_ok",
    "ip_ok",
    "ipv4_ok",
    "ipv6_ok",
    "luhn_ok",
    "phone_validator",
    "prefixless_regions",
    "secret_value_ok",
    "ssn_ok",
    "url_has_credentials",
    "url_trim",
]

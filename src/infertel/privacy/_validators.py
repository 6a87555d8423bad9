"""Validators run on candidate spans only (checksums, parsers, invalid-range rules).

Each validator mirrors the matching Presidio recognizer's ``validate_result`` /
``invalidate_result`` (presidio-analyzer 2.2.x) unless noted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from infertel.privacy._patterns import (
    EMAIL_FAKE_TLDS,
    IBAN_BBAN,
    SECRET_PLACEHOLDERS,
    SSN_SAMPLES,
    URL_SECRET_PARAMS,
)

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


# --------------------------------------------------------------------------------------
# Phone numbers — Presidio PhoneRecognizer runs python-phonenumbers' PhoneNumberMatcher
# with leniency VALID for each of its regions, over the whole text. Here only candidate
# digits are checked, against phonenumbers' own metadata, re-implementing what
# ``parse`` + ``is_valid_number`` do with it: strip the national prefix
# (``_maybe_strip_national_prefix_carrier_code``), pick the region among those sharing
# the calling code (``_region_code_for_number_from_list``) and match the region's number
# types (``_number_type_helper``). Same answers, without phonenumbers' per-call object
# and regex-cache overhead. The matcher's date / timestamp / publication-page rules are
# applied by the detector.
# --------------------------------------------------------------------------------------

_ValidateFn = Callable[[str, bool, Sequence[str]], bool]
_Desc = tuple[frozenset[int], "re.Pattern[str]"]
_TYPE_FIELDS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


class _Region:
    __slots__ = ("cc", "cc_len", "general", "leading", "lengths", "prefix", "transform", "types")

    def __init__(self, md: Any) -> None:
        self.cc: int = md.country_code
        self.cc_len = len(str(self.cc))
        self.prefix = (
            re.compile(md.national_prefix_for_parsing) if md.national_prefix_for_parsing else None
        )
        self.transform: str | None = md.national_prefix_transform_rule or None
        self.leading = re.compile(md.leading_digits) if md.leading_digits else None
        general = md.general_desc
        self.general: _Desc = (
            frozenset(general.possible_length),
            re.compile(general.national_number_pattern),
        )
        #: Digit counts a national-format candidate can have: a national number,
        #: optionally behind a national prefix (up to 5 digits with a carrier code) or
        #: the calling code; used to skip regions cheaply.
        self.lengths = frozenset(
            n + extra
            for n in self.general[0]
            for extra in (0, 1, 2, 3, 4, 5, self.cc_len, self.cc_len + 1)
        )
        types: list[_Desc] = []
        for field in _TYPE_FIELDS:
            desc = getattr(md, field)
            if desc is None or not desc.national_number_pattern:
                continue
            lengths = frozenset(n for n in desc.possible_length if n > 0)
            types.append((lengths, re.compile(desc.national_number_pattern)))
        self.types = tuple(types)

    def viable(self, nsn: str) -> bool:
        lengths, pattern = self.general
        return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None

    def typed(self, nsn: str) -> bool:
        """``_number_type_helper(nsn, metadata) != UNKNOWN``."""
        if not self.viable(nsn):
            return False
        n = len(nsn)
        for lengths, pattern in self.types:
            if (not lengths or n in lengths) and pattern.fullmatch(nsn) is not None:
                return True
        return False

    def strip_prefix(self, digits: str) -> str:
        """``_maybe_strip_national_prefix_carrier_code`` (the stripped number only)."""
        prefix = self.prefix
        if prefix is None:
            return digits
        match = prefix.match(digits)
        if match is None:
            return digits
        general = self.general[1]
        viable_original = general.fullmatch(digits) is not None
        groups = match.groups()
        if self.transform is None or not groups or groups[-1] is None:
            stripped = digits[match.end() :]
        else:
            stripped = prefix.sub(self.transform, digits, count=1)
        if viable_original and general.fullmatch(stripped) is None:
            return digits
        return stripped


class _PhoneNumbers:
    """Phone validation over python-phonenumbers' metadata (imported on first use)."""

    def __init__(self) -> None:
        import phonenumbers
        from phonenumbers import PhoneMetadata

        self._metadata: Any = PhoneMetadata
        self._cc_regions: dict[int, tuple[str, ...]] = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        self._regions: dict[tuple[str, int], _Region | None] = {}

    def _region(self, region: str, cc: int = 0) -> _Region | None:
        key = (region, cc if region == "001" else 0)
        info = self._regions.get(key, self)  # ``self`` marks "not loaded yet"
        if info is self:
            md = (
                self._metadata.metadata_for_nongeo_region(cc)
                if region == "001"
                else self._metadata.metadata_for_region(region)
            )
            info = _Region(md) if md is not None else None
            self._regions[key] = info
        assert info is not self
        return info  # type: ignore[return-value]

    def _valid(self, cc: int, nsn: str) -> bool:
        """``is_valid_number(PhoneNumber(cc, nsn))``."""
        regions = self._cc_regions.get(cc)
        if not regions:
            return False
        if len(regions) == 1:
            info = self._region(regions[0], cc)
            return info is not None and info.typed(nsn)
        for region in regions:
            info = self._region(region, cc)
            if info is None:
                continue
            if info.leading is not None:
                if info.leading.match(nsn):
                    return info.typed(nsn)
            elif info.typed(nsn):
                return True
        return False

    def has_prefixless_region(self, regions: Sequence[str]) -> bool:
        """Whether a region writes national numbers without a trunk prefix (ES, IT ...)."""
        for region in regions:
            md = self._metadata.metadata_for_region(region)
            if md is not None and not md.national_prefix:
                return True
        return False

    def validate(self, digits: str, international: bool, regions: Sequence[str]) -> bool:
        if international:
            for width in (1, 2, 3):
                cc = int(digits[:width])
                if cc in self._cc_regions:
                    nsn = digits[width:]
                    main = self._region(self._cc_regions[cc][0], cc)
                    if main is not None:
                        nsn = main.strip_prefix(nsn)
                    return self._valid(cc, nsn)
            return False
        if digits.startswith("00"):  # international dialling prefix of most regions
            return self.validate(digits[2:], True, regions)
        n = len(digits)
        for region in regions:
            info = self._region(region)
            if info is None or (info.lengths and n not in info.lengths):
                continue
            nsn = digits
            # ``_maybe_extract_country_code``: the region's own calling code written
            # without "+" ("49 89 1234567" in Germany) is dropped when that helps.
            code = str(info.cc)
            if digits.startswith(code):
                rest = info.strip_prefix(digits[len(code) :])
                if not info.viable(digits) and info.viable(rest):
                    nsn = rest
            if nsn is digits:
                nsn = info.strip_prefix(digits)
            if info.viable(nsn) and self._valid(info.cc, nsn):
                return True
        return False


def _heuristic_phone(digits: str, international: bool, regions: Sequence[str]) -> bool:
    """Fallback when python-phonenumbers is not installed: E.164 length rules only."""
    if international:
        return 8 <= len(digits) <= 15 and digits[0] != "0"
    if digits[0] == "0":
        return 10 <= len(digits) <= 12 and digits[1] != "0"
    return len(digits) == 10 and digits[0] in "23456789"


_phone_impl: _ValidateFn | None = None
_phone_numbers: _PhoneNumbers | None = None


def phone_validator() -> _ValidateFn:
    """Return the phone validator, importing phonenumbers on first use if available."""
    global _phone_impl, _phone_numbers
    if _phone_impl is None:
        try:
            _phone_numbers = _PhoneNumbers()
            _phone_impl = _phone_numbers.validate
        except ImportError:  # pragma: no cover - exercised when phonenumbers is absent
            _phone_impl = _heuristic_phone
    return _phone_impl


def has_prefixless_region(regions: Sequence[str]) -> bool:
    """Whether any of ``regions`` writes national numbers without a trunk prefix."""
    phone_validator()
    if _phone_numbers is None:  # pragma: no cover - phonenumbers absent
        return False
    return _phone_numbers.has_prefixless_region(regions)

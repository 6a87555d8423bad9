"""Phone-number validation over python-phonenumbers' metadata (imported on first use)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

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
    __slots__ = (
        "_typed_by_length",
        "cc",
        "cc_len",
        "general",
        "leading",
        "lengths",
        "prefix",
        "transform",
        "types",
    )

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
        self._typed_by_length: dict[int, re.Pattern[str] | None] = {}

    def viable(self, nsn: str) -> bool:
        lengths, pattern = self.general
        return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None

    def typed(self, nsn: str) -> bool:
        """``_number_type_helper(nsn, metadata) != UNKNOWN``."""
        if not self.viable(nsn):
            return False
        n = len(nsn)
        # The types possible at this length, as one alternation: one C call instead of one
        # per type (fullmatch of an alternation is "any alternative matches it all").
        typed = self._typed_by_length.get(n, self)
        if typed is self:
            patterns = [p.pattern for lengths, p in self.types if not lengths or n in lengths]
            typed = re.compile("(?:" + "|".join(patterns) + ")") if patterns else None
            self._typed_by_length[n] = typed
        assert typed is not self
        return typed is not None and typed.fullmatch(nsn) is not None  # type: ignore[union-attr]

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
        self._by_length: dict[tuple[tuple[str, ...], int], tuple[_Region, ...]] = {}

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

    def prefixless_regions(self, regions: Sequence[str]) -> tuple[str, ...]:
        """The regions that write national numbers without a trunk prefix (ES, IT, PL ...)."""
        out = []
        for region in regions:
            md = self._metadata.metadata_for_region(region)
            if md is not None and not md.national_prefix:
                out.append(region)
        return tuple(out)

    def _regions_for(self, regions: tuple[str, ...], n: int) -> tuple[_Region, ...]:
        """The loaded regions among ``regions`` whose numbers can have ``n`` digits."""
        key = (regions, n)
        found = self._by_length.get(key)
        if found is None:
            infos = (self._region(region) for region in regions)
            found = tuple(
                info
                for info in infos
                if info is not None and (not info.lengths or n in info.lengths)
            )
            if len(self._by_length) < 4096:
                self._by_length[key] = found
        return found

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
        for info in self._regions_for(tuple(regions), len(digits)):
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


def prefixless_regions(regions: Sequence[str]) -> tuple[str, ...]:
    """Those of ``regions`` that write national numbers without a trunk prefix."""
    phone_validator()
    if _phone_numbers is None:  # pragma: no cover - phonenumbers absent
        return ()
    return _phone_numbers.prefixless_regions(regions)


def has_prefixless_region(regions: Sequence[str]) -> bool:
    """Whether any of ``regions`` writes national numbers without a trunk prefix."""
    return bool(prefixless_regions(regions))

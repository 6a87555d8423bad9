"""Whether a digit run is a phone number: the rules before and around the validator.

What phonenumbers' metadata cannot tell from the digits alone: how national numbers are
written (trunk prefix, grouping), which lengths need a phone word before them, what a date,
a decimal, an amount or a publication page looks like, and where an extension ends. Mixed
into :class:`infertel.privacy._detect_numbers.NumberScanner`.
"""

from __future__ import annotations

from infertel.privacy import _validators as V
from infertel.privacy._detect_common import Regexes, phone_context, phone_neighbour_bad


class PhoneRules:
    """Phone-number rules; the scanner sets these attributes."""

    _rx: Regexes
    phone_regions: tuple[str, ...]
    _prefixless: tuple[str, ...] | None

    def _prefixless_regions(self) -> tuple[str, ...]:
        prefixless = self._prefixless
        if prefixless is None:
            prefixless = self._prefixless = V.prefixless_regions(self.phone_regions)
        return prefixless

    def _phone(
        self,
        text: str,
        start: int,
        end: int,
        candidate: str,
        digits: str,
        groups: list[str],
        seps: list[str],
        glued: bool,
    ) -> int:
        """End of the phone number (extension included) at ``text[start:end]``, or 0."""
        rx = self._rx
        regions = self.phone_regions
        international = candidate[0] == "+" or candidate.startswith("(+")
        if not international and digits.startswith("00") and digits[2] != "0":
            international = True
            digits = digits[2:]
        e164_digits = False
        if international:
            if len(digits) < 8 or len(digits) > 15:
                return 0
        elif glued:
            return 0  # "id-4155550123", "/items/0612345678/": ids, unless written "+CC ..."
        elif len(seps) == 1 and seps[0] == "." and (groups[0] == "0" or digits[0] != "0"):
            return 0  # a decimal number ("0.612345678", "1234.567890"), not "030.1234567"
        elif digits[0] == "0":
            # Trunk-prefixed national numbers have 9-12 digits (8 written in groups, like
            # "0471 1234"); shorter zero-padded runs ("0123456") are ids, although Italy's
            # metadata would accept them.
            if len(digits) > 12 or len(digits) < (8 if seps else 9):
                return 0
        else:
            n = len(digits)
            if n >= 10:
                # National numbers of 10+ digits without a trunk prefix are NANP / Indian /
                # Brazilian / Italian mobile numbers; written without any separator they are
                # 10 digits not starting with 1, or 11 starting with 1. Other unseparated
                # lengths (epoch timestamps, long ids) are phone numbers only after a phone
                # word: a national number without its trunk prefix ("phone 1215340646"),
                # or E.164 digits without the "+" ("Tel. 4915112345678").
                if n > 12 or (
                    not seps
                    and candidate[0] != "("
                    and not ((n == 10 and digits[0] != "1") or (n == 11 and digits[0] == "1"))
                ):
                    if n > 15 or not phone_context(text, start):
                        return 0
                    e164_digits = n >= 11
            elif n >= 8 and phone_context(text, start):
                pass  # 8-9 digits after a phone word: any region's national number
            else:
                # 7-9 digits without a trunk prefix: a national number only in regions that
                # write them so (ES, IT, PL: "612 345 678"), and only when grouped like one.
                regions = self._prefixless_regions()
                if not regions or not _phone_grouped(groups, seps):
                    return 0
            if end + 1 < len(text) and text[end] in ",." and text[end + 1].isdigit():
                return 0  # an amount with decimals ("612 345 678,50")
        # Separator shape: no versions or dotted decimals (10.0.19041.1), nothing shaped
        # like an IPv4 address, few single-digit groups, at most one slash.
        if seps:
            singles = 0
            for group in groups:
                if len(group) == 1:
                    singles += 1
            if singles > 2:
                return 0
            if "." in seps:
                if any(len(group) == 1 for group in groups[1:]):
                    return 0
                if len(groups) == 4 and max(len(group) for group in groups) <= 3:
                    return 0
            if candidate.count("/") > 1 and not international:
                return 0  # dates, fractions, paths; "+34/612/31/90/80" is a number
        # phonenumbers PhoneNumberMatcher rules (leniency VALID); each regex only runs when
        # the characters it needs are present.
        if "/" in candidate and rx.slash_dates.search(candidate):
            return 0
        if len(candidate) == 10 and rx.dates.fullmatch(candidate):
            return 0
        if (
            " " in candidate
            and rx.time_stamps.search(candidate)
            and rx.time_stamps_suffix.match(text, end)
        ):
            return 0
        has_paren = "(" in candidate
        if has_paren and "-" in candidate and rx.pub_pages.search(candidate):
            return 0
        if (
            (has_paren or ")" in candidate)
            and candidate.count("(") != candidate.count(")")
            and not candidate.startswith("(")
        ):
            return 0
        if start > 0 and candidate[0] not in "+(" and phone_neighbour_bad(text[start - 1]):
            return 0
        # An extension ("x4688", " ext. 12", "#3") belongs to the number, as in
        # phonenumbers' matcher; otherwise a letter right after it disqualifies it.
        stop = end
        if (stop < len(text) and not text[stop].isspace()) or (
            stop + 1 < len(text) and text[stop + 1] in "eExX#"
        ):
            extension = rx.extension.match(text, end)
            if extension is not None:
                stop = extension.end()
        if stop < len(text) and phone_neighbour_bad(text[stop]):
            return 0
        validate = V.phone_validator()
        if e164_digits:
            if validate(digits, True, regions):
                return stop
            if len(digits) > 12:
                return 0
        if not validate(digits, international, regions):
            return 0
        return stop


def _phone_grouped(groups: list[str], seps: list[str]) -> bool:
    """Grouped like a national number (612 345 678, 91 234 56 78), not like thousands."""
    if len(groups) < 3 or seps[0] not in " -" or any(s != seps[0] for s in seps):
        return False
    if not 2 <= len(groups[0]) <= 3:
        return False
    return all(2 <= len(g) <= 4 for g in groups)

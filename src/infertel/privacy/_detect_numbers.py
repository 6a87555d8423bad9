"""Digit runs: phone numbers, card numbers, US SSNs and IPv4 addresses.

A run is digit groups joined by single separators (see ``_patterns.NUM``). The whole run is
tried first; if it is not one entity, it may be several numbers side by side ("<phone>
<phone>", "<card> <cvv>", "<card> 12/27"), so sub-runs split at single spaces are tried.
A run glued to what precedes it by "-", "_" or "/" ("id-<card>", "/users/<ssn>/") only
yields strongly shaped entities: separated SSNs (bare ones after an SSN word), cards of
13+ digits, international phone numbers.
"""

from __future__ import annotations

from infertel.privacy import _patterns as P
from infertel.privacy import _validators as V
from infertel.privacy._detect_common import (
    CARD_SEPARATORS_ANY,
    GLUE,
    SSN_SEPARATORS,
    Cand,
    context_before,
    phone_context,
)
from infertel.privacy._detect_phone_rules import PhoneRules

_MAX_SUBRUN_GROUPS = 8


class NumberScanner(PhoneRules):
    """Classifies digit runs; mixed into the scanner, which sets these attributes."""

    _ip: bool
    _num_entities: frozenset[str]

    def _digit_runs(self, text: str, masked: list[tuple[int, int]], out: list[Cand]) -> None:
        rx = self._rx
        for m in rx.num.finditer(text):
            start, end = m.span()
            if masked and any(a <= start and end <= b for a, b in masked):
                continue  # digits of an IBAN-shaped token (valid or not)
            if (
                end < len(text)
                and (text[end].isalnum() or text[end] == "_")
                and rx.extension.match(text, end) is None
            ):
                continue  # digits running into a word (not an extension): an id
            self._classify_num(text, start, end, out)

    def _classify_num(self, text: str, start: int, end: int, out: list[Cand]) -> None:
        rx = self._rx
        run = text[start:end]
        glued = start > 0 and text[start - 1] in GLUE
        if (
            glued
            and end + 1 < len(text)
            and text[end] in "-_"
            and (text[end + 1].isalnum() or text[end + 1] == "_")
        ):
            return  # digits inside a hyphenated token (a UUID, a Slack token), not a value
        if self._ip and "." in run:
            quad = rx.dotted_quad.fullmatch(run.strip("()"))
            if quad is not None:
                # "release-1.2.3.4" is a version, not an address: no IPs glued to a word.
                if not glued and V.ipv4_ok(quad.group()):
                    s = start + run.index(quad.group())
                    out.append((P.IP_ADDRESS, s, s + len(quad.group()), P.SCORES[P.IP_ADDRESS]))
                return
        if not self._num_entities or len(run) < 7 or (len(run) == 10 and rx.dates.fullmatch(run)):
            return  # nothing wanted, too short, or a bare date (2024-03-15, 15.03.2024)
        # Unbalanced brackets around the run belong to the sentence: "(+1 415 555 0132)".
        if run[-1] == ")" and "(" not in run:
            run = run[:-1]
            end -= 1
        if run[0] == "(" and ")" not in run:
            run = run[1:]
            start += 1
        # One C call splits the run: [lead, digits, sep, digits, ..., digits, trail].
        pieces = rx.digit_split.split(run)
        if len(pieces) < 3:
            return
        groups = pieces[1::2]
        seps = pieces[2:-1:2]
        if glued and run[0] != "+" and not run.startswith("00"):
            # Glued to a word: only a separated or bare SSN (9 digits) or a card (13+).
            nd = sum(map(len, groups))
            if nd != 9 and nd < 13:
                return
        if self._classify(text, start, end, run, groups, seps, glued, out):
            return
        n = len(groups)
        if n == 1:
            return
        # Uniformly separated: one number that failed (a card failing Luhn), or numbers side
        # by side with the same separator ("<phone> <phone>", "<card> <cvv>"). Only
        # space-separated runs are split, and only into pieces tiled from either end, so a
        # list of small numbers ("101 2023 2003 1037 ...") is not combed for Luhn-valid
        # windows.
        first = seps[0]
        uniform = seps.count(first) == n - 1
        if uniform and first != " ":
            return
        spans: list[tuple[int, int]] = []
        pos = start + len(pieces[0])
        for k, group in enumerate(groups):
            spans.append((pos, pos + len(group)))
            pos += len(group) + (len(seps[k]) if k < n - 1 else 0)
        if uniform:
            self._tile(text, spans, groups, seps, glued, out)
            return
        # Mixed separators: try sub-runs split at single spaces (a card number followed by
        # its expiry date, two addresses), longest first, left to right.
        i = 0
        while i < n:
            if i > 0 and seps[i - 1] != " ":
                i += 1
                continue
            found = False
            for j in range(min(n, i + _MAX_SUBRUN_GROUPS), i, -1):
                if (i, j) == (0, n) or (j < n and seps[j - 1] != " "):
                    continue
                if self._classify_sub(text, spans, groups, seps, i, j, glued and i == 0, out):
                    i = j
                    found = True
                    break
            if not found:
                i += 1

    def _tile(
        self,
        text: str,
        spans: list[tuple[int, int]],
        groups: list[str],
        seps: list[str],
        glued: bool,
        out: list[Cand],
    ) -> None:
        """Split a space-separated run into entities tiled from its left, then its right end."""
        n = len(groups)
        if n >= 4 and all(len(g) == 4 for g in groups[:-1]):
            # Grouped in fours like a card number: either a card and its CVV / a year
            # ("4539 1488 0343 6467 123"), or one number that failed Luhn. Phone numbers
            # are not carved out of it ("4532 7788 1234 | 5679").
            digits = "".join(groups[:-1])
            if (
                len(groups[-1]) <= 4
                and P.CREDIT_CARD in self._num_entities
                and len(digits) >= 13
                and V.card_ok(digits)
            ):
                start, end = spans[0][0], spans[n - 2][1]
                out.append((P.CREDIT_CARD, start, end, P.SCORES[P.CREDIT_CARD]))
            return
        found: list[Cand] = []
        left = 0
        while left < n:
            for j in range(min(n, left + _MAX_SUBRUN_GROUPS), left, -1):
                if (left, j) != (0, n) and self._classify_sub(
                    text, spans, groups, seps, left, j, glued and left == 0, found
                ):
                    left = j
                    break
            else:
                break
        right = n
        while right > left:
            for i in range(max(left, right - _MAX_SUBRUN_GROUPS), right):
                if (i, right) != (0, n) and self._classify_sub(
                    text, spans, groups, seps, i, right, glued and i == 0, found
                ):
                    right = i
                    break
            else:
                break
        # At most two entities, accounting for the whole run but short groups at one end
        # (an expiry and a CVV after a card, a year before a phone number): in a list of
        # numbers ("input_ids 17689 10949 27552 ...") neighbours that happen to validate
        # as a phone number are not one.
        rest = groups[left:right]
        if len(found) > 2:
            return  # three or more numbers in a row: a list, not neighbouring values
        if not rest or (
            all(len(g) <= 4 for g in rest)
            and ((right == n and len(rest) <= 2) or (left == 0 and len(rest) == 1))
        ):
            out.extend(found)

    def _classify_sub(
        self,
        text: str,
        spans: list[tuple[int, int]],
        groups: list[str],
        seps: list[str],
        i: int,
        j: int,
        glued: bool,
        out: list[Cand],
    ) -> bool:
        start = spans[i][0]
        end = spans[j - 1][1]
        if self._ip and j - i == 4:
            candidate = text[start:end]
            if self._rx.dotted_quad.fullmatch(candidate):
                if not glued and V.ipv4_ok(candidate):
                    out.append((P.IP_ADDRESS, start, end, P.SCORES[P.IP_ADDRESS]))
                    return True
                return False
        # A "(" right before the first group, or a ")" right after the last, belongs to it.
        if start > 0 and text[start - 1] == "(":
            start -= 1
            if start > 0 and text[start - 1] == "+":
                start -= 1
        if end < len(text) and text[end] == ")" and "(" in text[start:end]:
            end += 1
        candidate = text[start:end]
        return self._classify(text, start, end, candidate, groups[i:j], seps[i : j - 1], glued, out)

    def _classify(
        self,
        text: str,
        start: int,
        end: int,
        candidate: str,
        groups: list[str],
        seps: list[str],
        glued: bool,
        out: list[Cand],
    ) -> bool:
        """Classify one digit run (``candidate`` = ``text[start:end]``)."""
        digits = groups[0] if len(groups) == 1 else "".join(groups)
        nd = len(digits)
        if nd < 7 or nd > 19:
            return False
        wanted = self._num_entities
        scores = P.SCORES
        lead = candidate[0]

        # US SSN: Presidio "SSN5 (medium)" ddd?dd?dddd with one consistent delimiter, or a
        # bare 9-digit number ("SSN4 (very weak)") with an SSN word before or just after it.
        if nd == 9 and P.US_SSN in wanted:
            if len(groups) == 3:
                if (
                    len(groups[0]) == 3
                    and len(groups[1]) == 2
                    and seps[0] == seps[1]
                    and seps[0] in SSN_SEPARATORS
                    and lead.isdigit()
                ):
                    if V.ssn_ok(digits):
                        out.append((P.US_SSN, start, end, scores[P.US_SSN]))
                        return True
                    return False
            elif len(groups) == 1 and V.ssn_ok(digits) and self._ssn_context(text, start, end):
                out.append((P.US_SSN, start, end, scores[P.US_SSN]))
                return True

        # Credit card: 12-19 digits, one separator kind, Luhn. 12-digit (Maestro) numbers
        # also need 4-4-4 grouping or a card context word before them (and are never
        # accepted glued to a word).
        if (
            nd >= 12
            and P.CREDIT_CARD in wanted
            and lead.isdigit()
            and _card_shape(groups, seps)
            and V.card_ok(digits)
            and (nd > 12 or (not glued and self._card12(text, start, groups)))
            # 13-digit (legacy Visa) cards are rare; after a phone word these digits are
            # an E.164 number without its "+".
            and not (nd == 13 and phone_context(text, start))
        ):
            out.append((P.CREDIT_CARD, start, end, scores[P.CREDIT_CARD]))
            return True

        if P.PHONE_NUMBER in wanted and nd <= 17:
            phone_end = self._phone(text, start, end, candidate, digits, groups, seps, glued)
            if phone_end:
                out.append((P.PHONE_NUMBER, start, phone_end, scores[P.PHONE_NUMBER]))
                return True
        return False

    def _ssn_context(self, text: str, start: int, end: int) -> bool:
        if context_before(text, start, P.SSN_CONTEXT):
            return True
        after = text[end : end + P.SSN_CONTEXT_AFTER].lower()
        return any(word in after for word in P.SSN_CONTEXT)

    @staticmethod
    def _card12(text: str, start: int, groups: list[str]) -> bool:
        """A 12-digit (Maestro) number is a card when grouped 4-4-4 or after a card word."""
        return len(groups) == 3 or context_before(text, start, P.CARD_CONTEXT)


def _card_shape(groups: list[str], seps: list[str]) -> bool:
    """One separator kind and an issuer's printed grouping (4-4-4-4, 4-6-5, 4-4-4-4-3...),
    so "<card> <cvv>" or a list of small numbers is not read as one long card number."""
    if not seps:
        return True
    sep = seps[0]
    if any(s != sep for s in seps) or sep not in CARD_SEPARATORS_ANY:
        return False
    lengths = [len(g) for g in groups]
    if lengths in ([4, 6, 5], [4, 6, 4], [8, 8]):
        return True
    return len(lengths) >= 3 and all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4

"""Shared pieces of the pattern detector: the candidate tuple, compiled regexes, span merging.

The regexes are compiled once per process, on the first detector's first use.
"""

from __future__ import annotations

import re
from functools import lru_cache

from infertel.privacy import _patterns as P

#: Internal candidate: (entity_type, start, end, score); Finding objects are made only for
#: the final, merged spans.
Cand = tuple[str, int, int, float]

SSN_SEPARATORS = frozenset("- ./")
#: Card number separators (one kind per number, in the issuers' printed grouping).
CARD_SEPARATORS_ANY = frozenset(" -./")
TYPED_PREFIXES = ("eyJ", "-----BEGIN", "gh", "xox", "xapp-", "AKIA", "ASIA", "sk-", "hf_")
#: Characters that may glue a digit run to what precedes it ("id-<card>", "/users/<ssn>/",
#: "ref_<card>"); such runs only yield strongly shaped entities.
GLUE = frozenset("-_/")


class Regexes:
    """Compiled scanner regexes."""

    def __init__(self) -> None:
        self.pem = re.compile(P.PEM)
        self.url_rest = re.compile(P.URL_REST)
        self.jwt = re.compile(P.JWT_RE)
        self.github = re.compile(P.GITHUB)
        self.slack = re.compile(P.SLACK)
        self.aws = re.compile(P.AWS_KEY)
        self.aws_secret_value = re.compile(P.AWS_SECRET_VALUE)
        self.aws_secret_near = re.compile(P.AWS_SECRET_NEAR)
        self.bearer = re.compile(P.BEARER)
        self.bearer_upper = re.compile(P.BEARER_UPPER)
        self.token = re.compile(P.TOKEN_VALUE)
        self.api_key = re.compile(P.API_KEY_PREFIXED)
        self.basic = re.compile(P.BASIC)
        self.secret = re.compile(P.SECRET_ASSIGN)
        self.secret_key = re.compile(P.SECRET_KEY_FULL)
        self.key_assigned = re.compile(r"[a-z0-9]*[\"']?[ \t]*[:=]")
        self.email_domain = re.compile(P.EMAIL_DOMAIN)
        self.iban = re.compile(P.IBAN)
        self.ipv6 = re.compile(P.IPV6)
        self.ipv6_suffix = re.compile(P.IPV6_SUFFIX)
        self.num = re.compile(P.NUM)
        self.digit = re.compile(r"[0-9]")
        self.letter = re.compile(r"[A-Za-z]")
        self.digit_split = re.compile(r"([0-9]+)")
        self.dotted_quad = re.compile(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?:/[0-9]{1,2})?")
        # phonenumbers' PhoneNumberMatcher rules (phonenumbermatcher.py).
        self.slash_dates = re.compile(
            r"(?:(?:[0-3]?\d/[01]?\d)|(?:[01]?\d/[0-3]?\d))/(?:[12]\d)?\d{2}"
        )
        self.time_stamps = re.compile(r"[12]\d{3}[-/]?[01]\d[-/]?[0-3]\d +[0-2]\d$")
        self.time_stamps_suffix = re.compile(r":[0-5]\d")
        self.extension = re.compile(
            r"[ \t]*(?:(?:ext|extn|extension)\.?|[xX]|#|;ext=)[ \t]*[0-9]{1,7}(?![0-9])", re.I
        )
        self.pub_pages = re.compile(r"\d{1,5}-+\d{1,5}\s{0,4}\(\d{1,4}")
        # Dates with dashes or dots, which the matcher's rules above do not catch.
        self.dates = re.compile(
            r"(?:19|20)\d{2}[./-][01]?\d[./-][0-3]?\d|[0-3]?\d[./-][01]?\d[./-](?:19|20)\d{2}"
        )


@lru_cache(maxsize=1)
def regexes() -> Regexes:
    return Regexes()


def word_start(text: str, pos: int, letters: str) -> bool:
    """``text[pos]`` is one of ``letters`` and does not continue a word."""
    return (
        pos >= 0
        and text[pos] in letters
        and (pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_"))
    )


def phone_neighbour_bad(ch: str) -> bool:
    """VALID leniency: no Latin letter, '%' or currency symbol right next to a number."""
    if ch == "%" or ch in "$€£¥₹":
        return True
    return ch.isalpha() and ord(ch) < 0x250


def context_before(text: str, start: int, words: tuple[str, ...]) -> bool:
    """One of ``words`` (lower-case) in the CONTEXT_WINDOW characters before ``start``."""
    window = text[max(0, start - P.CONTEXT_WINDOW) : start].lower()
    return any(word in window for word in words)


def phone_context(text: str, start: int) -> bool:
    """A phone word (any of several languages) in the CONTEXT_WINDOW before ``start``."""
    window = text[max(0, start - P.CONTEXT_WINDOW) : start].lower()
    for word in P.PHONE_CONTEXT:
        if word in window:
            return True
    for word in P.PHONE_CONTEXT_WORDS:
        i = window.find(word)
        while i >= 0:
            end = i + len(word)
            if (i == 0 or not window[i - 1].isalpha()) and (
                end == len(window) or not window[end].isalpha()
            ):
                return True
            i = window.find(word, end)
    return False


def resolve(cands: list[Cand]) -> list[Cand]:
    """Merge overlapping candidates into non-overlapping spans.

    Overlapping candidates become one span covering all of them (so no part of any matched
    value survives redaction), labelled by the highest-scoring candidate, ties going to the
    longest.
    """
    if len(cands) < 2:
        return cands
    cands.sort(key=_order)
    merged: list[Cand] = []
    best = cands[0]
    group_start = best[1]
    group_end = best[2]
    for c in cands[1:]:
        if c[1] < group_end:
            if c[2] > group_end:
                group_end = c[2]
            if c[3] > best[3] or (c[3] == best[3] and c[2] - c[1] > best[2] - best[1]):
                best = c
            continue
        merged.append((best[0], group_start, group_end, best[3]))
        best = c
        group_start = c[1]
        group_end = c[2]
    merged.append((best[0], group_start, group_end, best[3]))
    return merged


def _order(c: Cand) -> tuple[int, int]:
    return (c[1], -c[2])

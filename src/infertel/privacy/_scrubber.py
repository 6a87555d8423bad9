"""The scrubbing walker: one policy applied to every value that leaves the process.

Strings go through PII detection; containers are walked (keys too: a dict keyed by email is
as leaky as a value); bytes never leave as bytes. Each record is scrubbed under a time budget:
past it, or on any error, the caller replaces the record's payload with a marker (fail closed).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

# Re-exported: the budget moved to _budget.py; importers keep this path.
from infertel.privacy._budget import ScrubContext as ScrubContext
from infertel.privacy._budget import ScrubTimeout as ScrubTimeout
from infertel.privacy._keys import SDK_KEYS, fits_shape, is_digit_run, key_entity
from infertel.privacy._markers import split_markers
from infertel.privacy._ner_filter import key_may_be_name
from infertel.privacy._offload import OFFLOAD_MIN_CHARS, RedactionProcess
from infertel.privacy._policy import PrivacyPolicy
from infertel.privacy._pseudonym import Pseudonymizer

if TYPE_CHECKING:
    from infertel.privacy._detector import PiiDetector

_log = logging.getLogger("infertel")

REDACTION_FAILED: Final = "<REDACTION_FAILED>"
TRUNCATED: Final = "<TRUNCATED>"
SECRET_MARKER: Final = "<SECRET>"
# Strings remembered as already clean (keys only, no text): sized for a busy service's
# distinct attribute values between two visits of the same value.
_CLEAN_MEMO_SIZE = 65_536
# Walks deeper than this are cut: telemetry values are shallow, and a cycle must not hang us.
_MAX_DEPTH = 16
# Characters scanned on each side of a length cut, so an entity across the cut is found whole.
_CUT_WINDOW = 256
_TOKEN_TAIL = re.compile(r"\S*$")
# Digits and the separators numbers are written with, ending at the cut.
_NUMBER_TAIL = re.compile(r"[\d(+][\d\s\u00a0\u202f\u2007().+/-]*$")


class Scrubber:
    """Thread-safe: exporter threads and the worker share one instance."""

    def __init__(self, policy: PrivacyPolicy) -> None:
        self.policy = policy
        self._detector: PiiDetector | None = None
        self._key_detector: PiiDetector | None = None
        self._pseudonymizer: Pseudonymizer | None = None
        self._init_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._entities: collections.Counter[str] = collections.Counter()
        self._failures = 0
        self._clean: dict[tuple[int, int], None] = {}
        # Answers from the redaction child for the batch being built (worker thread only).
        self._preloaded: dict[str, tuple[str, list[str]]] = {}
        self._offload: RedactionProcess | None = None
        if policy.redaction and _use_process(policy):
            self._offload = RedactionProcess(policy, policy.key_bytes())

    # ----------------------------------------------------------------- counters
    def entity_counts(self) -> dict[str, int]:
        with self._count_lock:
            return dict(self._entities)

    def failures(self) -> int:
        with self._count_lock:
            return self._failures

    def count_failure(self) -> None:
        with self._count_lock:
            self._failures += 1

    # ----------------------------------------------------------------- lazy parts
    @property
    def detector(self) -> PiiDetector:
        detector = self._detector
        if detector is None:
            with self._init_lock:
                if self._detector is None:
                    from infertel.privacy._detector import PiiDetector

                    policy = self.policy
                    self._detector = PiiDetector(
                        policy.entities,
                        detection=policy.detection,
                        extra_recognizers=[r.model_dump() for r in policy.custom_recognizers],
                        pseudonymize=self._replacement,
                    )
                detector = self._detector
        return detector

    @property
    def pseudonymizer(self) -> Pseudonymizer:
        pseudonymizer = self._pseudonymizer
        if pseudonymizer is None:
            with self._init_lock:
                if self._pseudonymizer is None:
                    self._pseudonymizer = Pseudonymizer(self.policy.key_bytes(),
                                                        self.policy.hmac_key_id)
                pseudonymizer = self._pseudonymizer
        return pseudonymizer

    def warm_up(self) -> None:
        """Build the detector and load what it loads lazily (phone metadata), outside any
        record's budget, so the first records are not the ones paying for it."""
        self.detector.analyze("call +44 20 7946 0958 or jane@example.com, card 4111111111111111")

    def _replacement(self, entity_type: str, value: str) -> str:
        if entity_type in self.policy.pseudonymize_entities:
            return self.pseudonymizer.token(entity_type, value)
        return f"<{entity_type}>"

    # ----------------------------------------------------------------- scrubbing
    def text(self, text: str, context: ScrubContext) -> str:
        """``text`` with every detected entity replaced; never echoes what it matched.

        A string holding a JSON object or array (a payload someone ``json.dumps``-ed into an
        attribute) is parsed and scrubbed as a structure: in its encoded form, escaped quotes
        and newlines would hide values from the patterns.
        """
        key = (hash(text), len(text))
        clean = self._clean
        if key in clean:
            return text
        out = self._scrub_text(text, context)
        # Remember what is known clean: our own output (the exit pass sees the worker's output
        # again) and input that needed no change. Keys are (hash, length), so the memo holds
        # no text; a false hit needs a 64-bit hash collision at equal length.
        if len(clean) >= _CLEAN_MEMO_SIZE:
            with self._count_lock:
                for stale in list(clean)[: _CLEAN_MEMO_SIZE // 4]:
                    clean.pop(stale, None)
        clean[(hash(out), len(out))] = None
        return out

    def _scrub_text(self, text: str, context: ScrubContext) -> str:
        stripped = text.strip()
        if len(stripped) > 1 and stripped[0] in "{[" and stripped[-1] in "}]":
            parsed = _parse_json(stripped)
            if parsed is not None:
                return json.dumps(self.value(parsed, context), ensure_ascii=False,
                                  separators=(",", ":"))
        suffix = ""
        if len(text) > self.policy.max_text_length:
            text, suffix = self.safe_cut(text, self.policy.max_text_length), TRUNCATED
        if "<" in text:
            # Text holding our own markers (already scrubbed once): keep the markers intact
            # and scrub only what lies between them.
            pieces = split_markers(text)
            if len(pieces) > 1:
                return "".join(
                    piece if odd else self._redact(piece, context)
                    for piece, odd in zip(pieces, _alternate(len(pieces)), strict=True)
                ) + suffix
        return self._redact(text, context) + suffix

    def _redact(self, text: str, context: ScrubContext) -> str:
        if not text:
            return text
        preloaded = self._preloaded.get(text)
        if preloaded is not None:
            redacted, entity_types = preloaded
            if entity_types:
                context.redactions += len(entity_types)
                with self._count_lock:
                    self._entities.update(entity_types)
            return redacted
        detector = self.detector
        findings = detector.analyze(text)
        redacted = detector.redact_findings(text, findings)
        if findings:
            context.redactions += len(findings)
            with self._count_lock:
                self._entities.update(f.entity_type for f in findings)
        context.check()
        return redacted

    def value(self, value: Any, context: ScrubContext, depth: int = 0) -> Any:
        """A scrubbed copy of an attribute / body value (OTel AnyValue shapes).

        Every type is looked at: strings by detection, integers and integral floats long
        enough to be a phone, card or national id as digit strings, map keys as well as values
        (a key can make its value personal or secret, see ``_keys``), bytes as their length.
        """
        if isinstance(value, str):
            return self.text(value, context)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return self.number(value, context)
        if depth >= _MAX_DEPTH:
            return REDACTION_FAILED
        if isinstance(value, Mapping):
            return {self.key(str(k), context): self._field(str(k), v, context, depth + 1)
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v, context, depth + 1) for v in value]
        if isinstance(value, (bytes, bytearray, memoryview)):
            return f"<bytes:{len(value)}>"
        return f"<{type(value).__name__}>"

    def safe_cut(self, text: str, limit: int) -> str:
        """``text`` cut to at most ``limit`` characters without leaving part of a value.

        The text around the cut is scanned first: an entity the cut would split is dropped
        whole, and so is a partial token (the first 8 digits of a phone number are not
        detectable as a phone, yet still leak it).
        """
        if len(text) <= limit:
            return text
        cut = limit
        start = max(0, limit - _CUT_WINDOW)
        for finding in self.key_detector.analyze(text[start:limit + _CUT_WINDOW]):
            if start + finding.start < cut < start + finding.end:
                cut = start + finding.start
        if cut > 0 and not text[cut - 1].isspace() and not text[cut].isspace():
            cut = _TOKEN_TAIL.search(text, 0, cut).start()  # type: ignore[union-attr]
        tail = _NUMBER_TAIL.search(text, 0, cut)
        if tail is not None and sum(ch.isdigit() for ch in tail.group()) >= 3:
            cut = tail.start()
        return text[:cut]

    def number(self, value: int | float, context: ScrubContext) -> Any:
        """A number, or the marker of what its digits are (a card or phone held as an int)."""
        if not is_digit_run(value):
            return value
        digits = str(int(value))
        scrubbed = self.text(digits, context)
        return value if scrubbed == digits else scrubbed

    def key(self, key: str, context: ScrubContext) -> str:
        """An attribute or map key: pattern detection, and NER only for a key that reads as
        prose (a name used as a dict key), never for identifiers written in code
        (``ml.input.req.note``), which NER would read as people and rename.
        """
        if self.policy.detection == "patterns":
            return self.text(key, context)
        if key_may_be_name(key):  # a key that reads as prose ("Maria Gonzalez"): NER too
            return self.text(key, context)
        findings = self.key_detector.analyze(key)
        if not findings:
            return key
        context.redactions += len(findings)
        with self._count_lock:
            self._entities.update(f.entity_type for f in findings)
        return self.key_detector.redact_findings(key, findings)

    @property
    def key_detector(self) -> PiiDetector:
        """The pattern detector used for keys (the main one when the policy is patterns)."""
        if self.policy.detection == "patterns":
            return self.detector
        detector = self._key_detector
        if detector is None:
            with self._init_lock:
                if self._key_detector is None:
                    from infertel.privacy._detector import PiiDetector

                    policy = self.policy
                    entities = None if policy.entities is None else [
                        e for e in policy.entities if e not in ("PERSON", "LOCATION")]
                    self._key_detector = PiiDetector(
                        entities,
                        detection="patterns",
                        extra_recognizers=[r.model_dump() for r in policy.custom_recognizers],
                        pseudonymize=self._replacement,
                    )
                detector = self._key_detector
        return detector

    def _field(self, key: str, value: Any, context: ScrubContext, depth: int) -> Any:
        """A value under ``key``: replaced whole when the key names a secret or personal data
        (whatever the value's type), scrubbed by content otherwise."""
        if fits_shape(key, value):
            return value
        if key not in SDK_KEYS and value is not None and value != "" and (
                not isinstance(value, bool)):
            entity = key_entity(key)
            if entity is not None:
                return self._replace_whole(entity, value, context)
        return self.value(value, context, depth)

    def _replace_whole(self, entity: str, value: Any, context: ScrubContext) -> str:
        context.redactions += 1
        with self._count_lock:
            self._entities[entity] += 1
        if entity == "SECRET":
            return SECRET_MARKER
        if entity in self.policy.pseudonymize_entities:
            return self.pseudonymizer.token(entity, _canonical(value))
        return f"<{entity}>"

    def attributes(self, attributes: Mapping[str, Any] | None,
                   context: ScrubContext) -> dict[str, Any]:
        """Scrub values and keys. Nothing passes by its key's name alone: infertel's own keys
        skip scanning only when the value has the key's declared shape (``_keys.SHAPES``)."""
        if not attributes:
            return {}
        out: dict[str, Any] = {}
        for key, value in attributes.items():
            if fits_shape(key, value):
                out[key] = value
                continue
            scrubbed = self._field(key, value, context, 0)
            out[self.key(key, context)] = (
                tuple(scrubbed) if isinstance(value, tuple) and isinstance(scrubbed, list)
                else scrubbed
            )
        return out

    # ----------------------------------------------------------------- off-process batches
    def preload(self, values: Iterable[Any], budget_s: float) -> None:
        """Redact the long strings inside ``values`` in the child process, in one round trip.

        The answers serve the next scrubbing calls (see :meth:`release`). If the child fails,
        nothing is preloaded and those strings are scrubbed here instead: slower, still safe.
        """
        offload = self._offload
        if offload is None:
            return
        texts: dict[str, None] = {}
        for value in values:
            _long_strings(value, texts, 0)
        clean = self._clean
        pending = [t for t in texts if (hash(t), len(t)) not in clean]
        if not pending:
            return
        answers = offload.redact_many(pending, budget_s)
        if answers is not None:
            self._preloaded = dict(zip(pending, answers, strict=True))

    def release(self) -> None:
        """Forget the preloaded answers once the batch is built (they hold raw text)."""
        self._preloaded = {}

    def close(self) -> None:
        if self._offload is not None:
            self._offload.close()

    def child_health(self) -> dict[str, Any] | None:
        """The redaction child's health facts, or None when redaction runs in-process."""
        offload = self._offload
        return offload.health() if offload is not None else None

    def pseudonym(self, kind: str, value: Any) -> str:
        return self.pseudonymizer.token(kind, str(value))


def _use_process(policy: PrivacyPolicy) -> bool:
    if policy.redaction_process == "auto":
        return (os.cpu_count() or 1) >= 2
    return policy.redaction_process == "on"


def _long_strings(value: Any, out: dict[str, None], depth: int) -> None:
    if isinstance(value, str):
        if len(value) >= OFFLOAD_MIN_CHARS:
            out[value] = None
    elif depth < _MAX_DEPTH:
        if isinstance(value, dict):
            for item in value.values():
                _long_strings(item, out, depth + 1)
        elif isinstance(value, list):
            for item in value:
                _long_strings(item, out, depth + 1)


def _alternate(n: int) -> list[bool]:
    return [i % 2 == 1 for i in range(n)]


def _parse_json(text: str) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _canonical(value: Any) -> str:
    """One text form of a value for pseudonymising it (stable across types and key order)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        return f"<{type(value).__name__}>"

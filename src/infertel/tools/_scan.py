"""Leak scanning: look at everything a store exports and say where personal data sits.

Walks OTLP/JSON (the local store or a Collector's file output) with :mod:`._scan_walk`, which
yields every text, long number, key and personally-keyed value with a location that quotes no
value, and judges each by the runtime's rules: the detectors are the ones the runtime's scrubber
builds from the same :class:`~infertel.privacy._policy.PrivacyPolicy` (defaults unless a policy
is given), key names mean what they mean to the scrubber, and nothing is trusted by its key's
name. Findings are reported by signal, location and entity type, with a count and the first
file:line. Matched values are never kept, so a report can be shared. What could not be read is
listed (file, line, fixed reason): a scan that skipped something has not proven a store clean.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from infertel.privacy._markers import split_markers
from infertel.tools._documents import ReadStats, StoreDocument, iter_documents
from infertel.tools._scan_walk import Item, Walker

if TYPE_CHECKING:
    from infertel.privacy._detector import PiiDetector
    from infertel.privacy._policy import PrivacyPolicy

BY_CONTENT: Final = "content"
BY_KEY: Final = "key name"

# A key is named in a location only when it looks like an identifier written in code, holds no
# run of 4+ digits (a fragment of a phone or id) and no detector finds anything in it.
_LABEL: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")
_DIGITS: Final = re.compile(r"[0-9]{4}")
# NER runs only on text that can hold a name: a run of letters that is not a number's spelling.
_NUMBER_WORDS: Final = re.compile(r"\b(?:nan|inf(?:inity)?|true|false|null|none|e)\b", re.I)
_LETTERS: Final = re.compile(r"[^\W\d_]{2,}")
_MEMO_SIZE: Final = 65_536
# What the scrubber leaves under a personal or secret key: its markers' exact forms (<ENTITY>,
# keyed pseudonyms <ENTITY:key_id:12 hex digits>, <bytes:N>). Anything else there is a value.
_OUR_MARKERS: Final = re.compile(
    r"<(?:[A-Z][A-Z0-9_]{0,63}(?::[A-Za-z0-9_.\-]{1,16}:[0-9a-f]{12})?|bytes:[0-9]{1,15})>")


@dataclass(frozen=True)
class LeakKey:
    signal: str
    location: str
    entity_type: str
    found_by: str = BY_CONTENT


@dataclass
class ScanReport:
    detection: str = "patterns"
    counts: collections.Counter[LeakKey] = field(default_factory=collections.Counter)
    first_seen: dict[LeakKey, tuple[Path, int]] = field(default_factory=dict)
    checked: collections.Counter[str] = field(default_factory=collections.Counter)
    stats: ReadStats = field(default_factory=ReadStats)

    @property
    def clean(self) -> bool:
        return not self.counts

    @property
    def complete(self) -> bool:
        """Everything under the store was read (nothing skipped as unreadable)."""
        return self.stats.unreadable_count == 0

    @property
    def strings_scanned(self) -> int:
        return self.checked["text"] + self.checked["key"] + self.checked["keyed"]

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for key, count in sorted(self.counts.items(), key=lambda kv: (
                kv[0].signal, kv[0].location, kv[0].entity_type, kv[0].found_by)):
            path, line = self.first_seen[key]
            out.append({"signal": key.signal, "location": key.location,
                        "entity_type": key.entity_type, "found_by": key.found_by,
                        "count": count, "first_seen": f"{path}:{line}"})
        return out

    def unreadable_rows(self) -> list[dict[str, Any]]:
        return [{"file": str(u.path), "line": u.line, "reason": u.reason}
                for u in self.stats.unreadable]


class Scanner:
    """The runtime's detectors for one policy, and the judgement of one walked item."""

    def __init__(self, policy: PrivacyPolicy | None = None) -> None:
        from infertel.privacy._policy import PrivacyPolicy
        from infertel.privacy._scrubber import Scrubber

        policy = (policy or PrivacyPolicy()).model_copy(update={"redaction_process": "off"})
        # The scrubber's own factory: the same detectors, entities and custom recognizers the
        # runtime scrubs with. Keys and numbers get its pattern detector, as they do there.
        scrubber = Scrubber(policy)
        self.policy = policy
        self.detector: PiiDetector = scrubber.detector
        self.pattern_detector: PiiDetector = scrubber.key_detector
        self._ner = policy.detection == "ner"
        self._custom = frozenset(r.entity_type for r in policy.custom_recognizers)
        self._labels: dict[str, bool] = {}

    def warm_up(self) -> None:
        """Load what the detectors load lazily (phone metadata, the NER model) now."""
        self.detector.analyze("Jane Doe in Paris: jane@example.com, +44 20 7946 0958")

    def label(self, key: str) -> bool:
        """Whether ``key`` may be named in a location (else it is shown by position)."""
        known = self._labels.get(key)
        if known is None:
            known = (_LABEL.fullmatch(key) is not None and _DIGITS.search(key) is None
                     and not self.pattern_detector.analyze(key))
            if len(self._labels) < _MEMO_SIZE:
                self._labels[key] = known
        return known

    def judge(self, item: Item) -> list[str]:
        """Entity types found in ``item`` (one per finding)."""
        if item.kind == "keyed":
            assert item.entity is not None
            return [item.entity] if _OUR_MARKERS.sub("", item.text).strip() else []
        found: list[str] = []
        # As the scrubber does: infertel's own markers are split out, the text between them is
        # scanned (a pseudonym's digest is not a phone number, nor a name to NER).
        for index, piece in enumerate(split_markers(item.text)):
            if index % 2 or not piece.strip():
                continue
            if item.kind == "text" and (not self._ner or _can_hold_name(piece)):
                detector = self.detector
            else:  # keys, numbers, and text no name can be in
                detector = self.pattern_detector
            found.extend(finding.entity_type for finding in detector.analyze(piece))
        return found


def scan_store(path: str | os.PathLike[str], scanner: Scanner | None = None,
               on_document: Callable[[StoreDocument], None] | None = None) -> ScanReport:
    """Scan everything exported under ``path``; raises ``StoreError`` for a bad store."""
    scanner = scanner or Scanner()
    report = ScanReport(detection=scanner.policy.detection)
    walker = Walker(scanner.label)
    for document in iter_documents(path, report.stats):
        if on_document is not None:
            on_document(document)
        for item in walker.document(document.signal, document.data):
            report.checked[item.kind] += 1
            found_by = BY_KEY if item.kind == "keyed" else BY_CONTENT
            for entity_type in scanner.judge(item):
                key = LeakKey(document.signal, item.location, entity_type, found_by)
                report.counts[key] += 1
                report.first_seen.setdefault(key, (document.path, document.line))
    return report


def _can_hold_name(text: str) -> bool:
    return _LETTERS.search(_NUMBER_WORDS.sub(" ", text)) is not None

"""Which strings the pattern scanner sees, so what it cannot read in the original is caught.

* The text itself, with infertel's own markers blanked (their digests are opaque).
* A decoded view when the text holds an escape, an entity or a non-ASCII character
  (percent-encoding, JSON escapes, NFKC for full-width forms, no-break spaces, dashes),
  scanned around what decoding changed only: elsewhere it is the original, already scanned.
* A view without the marker-shaped tokens that sit between two value characters
  (``jane<X>@example.com``, ``4111<CREDIT_CARD>111111111111``), around the removed tokens.

Every finding is mapped back to original offsets, so the *original* characters (the whole
escape, the marker between the halves) are what gets replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from infertel.privacy import _markers as M
from infertel.privacy._detect_common import Cand
from infertel.privacy._detect_views import (
    View,
    apply_edits,
    decoded_view,
    needs_decoding,
    touches,
    windows,
)

#: Characters of a marker-free view scanned on each side of a removed marker, and of a
#: decoded view on each side of what decoding changed (longer than the entities an escape
#: can hide: e-mail addresses, numbers, tokens, addresses, a URL's user info).
_MARKER_WINDOW = 160
_DECODED_WINDOW = 48
#: A decoded-view finding is new when a change lies within this many characters of it: a
#: decoded character inside it, or an escape before or after it that hid its boundary
#: ("\\n4111...") or its context word.
_DECODED_REACH = 40


class Passes:
    """``passes(text)``: pattern candidates over ``text`` and its views."""

    __slots__ = ("_entities", "_marker", "_scan")

    def __init__(
        self,
        scan: Callable[[str], list[Cand]],
        marker: re.Pattern[str],
        entities: frozenset[str] | None,
    ) -> None:
        self._scan = scan
        self._marker = marker
        #: Report only these types (None: everything the scanner yields).
        self._entities = entities

    def __call__(self, text: str) -> list[Cand]:
        """Pattern candidates in ``text`` and in its decoded and marker-free views."""
        scan = self._scan
        out = scan(self._masked(text) if "<" in text else text)
        decoded = None
        if needs_decoding(text):
            covered = _covering(out)
            # Escapes inside findings already made (a credential URL's "%2F", a private
            # key's "\\n") are left alone, so decoding is needed only for what lies outside.
            if covered is None or needs_decoding(_outside(text, covered)):
                decoded = decoded_view(text, covered)
        view: View | None = None
        source = text
        if decoded is not None:
            view, changed = decoded
            source = view.text
            masked = self._masked(source) if "<" in source else source
            # Only around what decoding changed: elsewhere the view is the original text,
            # already scanned above.
            for lo, hi in windows(view, changed, _DECODED_WINDOW):
                for entity, start, end, score in scan(masked[lo:hi]):
                    a, b = view.span(lo + start, lo + end)
                    # Near a change: a decoded character inside it, or an escape right
                    # before or after it that hid its boundary or its context word.
                    if touches(changed, a - _DECODED_REACH, b + _DECODED_REACH):
                        out.append((entity, a, b, score))
        if "<" in source:
            self._across_markers(source, view, out)
        keep = self._entities
        if keep is not None:
            out = [c for c in out if c[0] in keep]
        return out

    def _masked(self, text: str) -> str:
        """``text`` with infertel's own markers blanked (same length, so offsets hold)."""
        marker = self._marker
        if marker.search(text) is None:
            return text
        return marker.sub(lambda m: " " * (m.end() - m.start()), text)

    def _across_markers(self, source: str, view: View | None, out: list[Cand]) -> None:
        """Values glued across marker-shaped tokens: scan around each removed token."""
        glued = [
            m.span() for m in M.MARKER_SHAPED.finditer(source) if M.glued_at(source, *m.span())
        ]
        if not glued:
            return  # no token sits between two value characters: nothing to join
        applied = apply_edits(source, ((start, end, "") for start, end in glued), view)
        if applied is None:
            return
        cut, points = applied
        windows: list[tuple[int, int]] = []
        for p in points:
            lo, hi = max(0, p - _MARKER_WINDOW), min(len(cut.text), p + _MARKER_WINDOW)
            if windows and lo <= windows[-1][1]:
                windows[-1] = (windows[-1][0], hi)
            else:
                windows.append((lo, hi))
        scan = self._scan
        for lo, hi in windows:
            inside = [p for p in points if lo < p < hi]
            for entity, start, end, score in scan(cut.text[lo:hi]):
                start += lo
                end += lo
                if not any(start < p < end for p in inside):
                    continue  # found without the removal too: the other passes report it
                a, b = cut.span(start, end)
                out.append((entity, a, b, score))


def _covering(cands: list[Cand]) -> list[tuple[int, int]] | None:
    """The spans of ``cands``, sorted and merged (None when there are none)."""
    if not cands:
        return None
    spans = sorted((c[1], c[2]) for c in cands)
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _outside(text: str, covered: list[tuple[int, int]]) -> str:
    """``text`` without the (sorted, disjoint) ``covered`` spans."""
    parts = []
    pos = 0
    for start, end in covered:
        parts.append(text[pos:start])
        pos = end
    parts.append(text[pos:])
    return "".join(parts)

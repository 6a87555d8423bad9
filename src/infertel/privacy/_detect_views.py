"""Decoded views of a text, with a map from every view character back to the original.

Personal data hides in encodings the patterns cannot read: percent-encoding
(``jane%40example.com``), JSON / Python escapes (``jane\\u0040example.com``, ``\\"password\\"``),
HTML character references (``&#64;``), full-width or other compatibility characters
(``４１１１``, ``＠``), no-break and thin spaces, Unicode dashes, invisible format characters
(zero-width space, soft hyphen) and non-ASCII decimal digits. A :class:`View` is the decoded
text plus, for each of its characters, the span of original characters it came from, so a
finding in the view replaces the *whole* encoded original (never a partial escape).

Each decoder has a C-level gate (``"%" in text``, ``"\\\\" in text``, ``text.isascii()``...),
so clean ASCII text pays for a few substring tests only. Decoders repeat (bounded) while
they change something: ``%EF%BC%A0`` decodes to ``＠`` and then to ``@``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from functools import lru_cache

#: (start, end, replacement) in the text being decoded; replacement may be "" (deleted).
_Edit = tuple[int, int, str]

_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_ESCAPE = re.compile(
    r"\\u([dD][89abAB][0-9A-Fa-f]{2})\\u([dD][c-fC-F][0-9A-Fa-f]{2})"
    r"|\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})|\\([\"\\/bfnrt'])"
)
_SIMPLE_ESCAPES = {
    '"': '"', "\\": "\\", "/": "/", "'": "'", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t",
}  # fmt: skip
_HTML = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([a-zA-Z]{2,8}));")
_HTML_NAMED = {
    "amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " ", "commat": "@",
    "period": ".", "plus": "+", "hyphen": "-", "dash": "-", "sol": "/", "lowbar": "_",
    "colon": ":", "num": "#",
}  # fmt: skip
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Characters NFKC leaves alone that the patterns still need folded: format characters
# (zero-width, soft hyphen, bidi marks, BOM), dashes and minus signs, space separators, and
# non-ASCII decimal digits (``\d`` minus ``[0-9]``).
_FOLDABLE = re.compile(
    r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    r"\u2010-\u2015\u2212\ufe58\ufe63\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
    r"|(?![0-9])\d"
)
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_MAX_ROUNDS = 3


class View:
    """``text`` decoded from its parent (the original text, or another view).

    Stored sparsely: one ``(view_start, view_end, parent_start, parent_end)`` tuple per
    edited piece, sorted; between edits, characters map one to one. A deletion is an edit
    with an empty view range. Positions are mapped with a binary search, so a view costs
    O(edits), not O(characters).
    """

    __slots__ = ("_edits", "_parent", "_parent_starts", "_view_starts", "text")

    def __init__(
        self, text: str, edits: list[tuple[int, int, int, int]], parent: View | None = None
    ) -> None:
        self.text = text
        self._edits = edits
        self._view_starts = [e[0] for e in edits]
        self._parent_starts = [e[2] for e in edits]
        self._parent = parent

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of view characters ``[start, end)`` (``end > start``)."""
        a, b = self._start(start), self._end(end - 1)
        parent = self._parent
        return (a, b) if parent is None else parent.span(a, b)

    def position(self, original: int) -> int:
        """The view position of original position ``original`` (for window bounds)."""
        parent = self._parent
        p = original if parent is None else parent.position(original)
        i = bisect_right(self._parent_starts, p) - 1
        if i < 0:
            return p
        view_start, view_end, _, parent_end = self._edits[i]
        return view_start if p < parent_end else view_end + (p - parent_end)

    def _start(self, v: int) -> int:
        i = bisect_right(self._view_starts, v) - 1
        if i < 0:
            return v
        _, view_end, parent_start, parent_end = self._edits[i]
        return parent_start if v < view_end else parent_end + (v - view_end)

    def _end(self, v: int) -> int:
        i = bisect_right(self._view_starts, v) - 1
        if i < 0:
            return v + 1
        _, view_end, _, parent_end = self._edits[i]
        return parent_end if v < view_end else parent_end + (v - view_end) + 1


def apply_edits(
    text: str, edits: Iterable[_Edit], parent: View | None = None
) -> tuple[View, list[int]] | None:
    """``text`` with ``edits`` (sorted, non-overlapping) applied, or None if there are none.

    Also returns the view positions where something was deleted (empty replacements).
    """
    parts: list[str] = []
    mapped: list[tuple[int, int, int, int]] = []
    deleted: list[int] = []
    pos = 0
    view_len = 0
    for start, end, replacement in edits:
        if start > pos:
            parts.append(text[pos:start])
            view_len += start - pos
        parts.append(replacement)
        k = len(replacement)
        mapped.append((view_len, view_len + k, start, end))
        if not k:
            deleted.append(view_len)
        view_len += k
        pos = end
    if not mapped:
        return None
    parts.append(text[pos:])
    return View("".join(parts), mapped, parent), deleted


# ---------------------------------------------------------------------------- decoders


def _percent_edits(text: str) -> Iterator[_Edit]:
    for m in _PERCENT.finditer(text):
        base = m.start()
        raw = bytes.fromhex(m.group().replace("%", ""))
        i = 0
        while i < len(raw):
            b = raw[i]
            width = 1 if b < 0x80 else 2 if 0xC0 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else 4
            try:
                ch = raw[i : i + width].decode("utf-8")
            except UnicodeDecodeError:
                width = 1  # not UTF-8: leave this escape as it is
            else:
                yield base + 3 * i, base + 3 * (i + width), ch
            i += width


def _escape_edits(text: str) -> Iterator[_Edit]:
    for m in _ESCAPE.finditer(text):
        high, low, code, byte, simple = m.groups()
        if high is not None:
            point = 0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00)
            yield m.start(), m.end(), chr(point)
        elif code is not None:
            yield m.start(), m.end(), chr(int(code, 16))
        elif byte is not None:
            yield m.start(), m.end(), chr(int(byte, 16))
        else:
            yield m.start(), m.end(), _SIMPLE_ESCAPES[simple]


def _html_edits(text: str) -> Iterator[_Edit]:
    for m in _HTML.finditer(text):
        decimal, hexa, name = m.groups()
        if name is not None:
            replacement = _HTML_NAMED.get(name.lower())
            if replacement is None:
                continue
        else:
            point = int(decimal) if decimal is not None else int(hexa, 16)
            if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
                continue
            replacement = chr(point)
        yield m.start(), m.end(), replacement


@lru_cache(maxsize=8192)
def _fold(ch: str) -> str | None:
    """The ASCII-friendly form of one non-ASCII character, or None to keep it."""
    if ch in _DASHES:
        return "-"
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    digit = unicodedata.decimal(ch, None)
    if digit is not None:
        return str(digit)
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch:
        return folded
    if category == "Zs":
        return " "
    return None


def _unicode_edits(text: str) -> Iterator[_Edit]:
    for m in _NON_ASCII.finditer(text):
        run = m.group()
        if len(run) > 2 and not _needs_unicode(run):
            continue  # ordinary non-Latin text ("ユーザー"): nothing to fold, checked in C
        base = m.start()
        for k, ch in enumerate(run):
            folded = _fold(ch)
            if folded is not None:
                yield base + k, base + k + 1, folded


def _needs_unicode(text: str) -> bool:
    return not unicodedata.is_normalized("NFKC", text) or _FOLDABLE.search(text) is not None


def needs_decoding(text: str) -> bool:
    """Cheap test: could any decoder change ``text``?"""
    return "%" in text or "\\" in text or "&" in text or not text.isascii()


def decoded_view(
    text: str, covered: list[tuple[int, int]] | None = None
) -> tuple[View, list[tuple[int, int]]] | None:
    """``text`` with every decoder applied (repeatedly), or None if nothing changed.

    Also returns the original spans that decoding changed, sorted and disjoint: a finding in
    the view that touches none of them was already visible in the original. Escapes inside
    ``covered`` (sorted, disjoint original spans: findings already made) are left alone.
    """
    view: View | None = None
    changed: list[tuple[int, int]] = []
    current = text
    skip = _Covered(covered) if covered else None
    # Round 1 runs every decoder whose trigger is in the text; later rounds only those
    # whose trigger a replacement produced ("%25" gave "%", "%EF%BC%A0" gave "＠").
    triggers = "\\%&\x80"
    for _ in range(_MAX_ROUNDS):
        produced: list[str] = []
        if "\\" in triggers and "\\" in current:
            current, view = _step(current, view, _escape_edits(current), changed, skip, produced)
        if "%" in triggers and "%" in current and _PERCENT.search(current):
            current, view = _step(current, view, _percent_edits(current), changed, skip, produced)
        if "&" in triggers and "&" in current and ";" in current:
            current, view = _step(current, view, _html_edits(current), changed, skip, produced)
        if "\x80" in triggers and not current.isascii() and _needs_unicode(current):
            current, view = _step(current, view, _unicode_edits(current), changed, skip, produced)
        new = "".join(produced)
        triggers = "".join(t for t in "\\%&" if t in new) + ("" if new.isascii() else "\x80")
        if not triggers:
            break
    if view is None:
        return None
    changed.sort()
    merged = [changed[0]]
    for start, end in changed[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return view, merged


class _Covered:
    """Membership test for original spans inside one of sorted, disjoint spans."""

    __slots__ = ("_spans", "_starts")

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self._spans = spans
        self._starts = [start for start, _ in spans]

    def __contains__(self, span: tuple[int, int]) -> bool:
        k = bisect_right(self._starts, span[0]) - 1
        return k >= 0 and span[1] <= self._spans[k][1]


def _step(
    current: str,
    view: View | None,
    edits: Iterator[_Edit],
    changed: list[tuple[int, int]],
    skip: _Covered | None,
    produced: list[str],
) -> tuple[str, View | None]:
    """Apply one decoder's edits; records the original spans changed and the replacements."""
    spans: list[tuple[int, int]] = []

    def kept() -> Iterator[_Edit]:
        for edit in edits:
            span = (edit[0], edit[1]) if view is None else view.span(edit[0], edit[1])
            if skip is not None and span in skip:
                continue
            spans.append(span)
            produced.append(edit[2])
            yield edit

    applied = apply_edits(current, kept(), view)
    if applied is None:
        return current, view
    changed.extend(spans)
    inner = applied[0]
    return inner.text, inner


def windows(view: View, changed: list[tuple[int, int]], margin: int) -> list[tuple[int, int]]:
    """View ranges covering ``margin`` original characters around each changed span."""
    out: list[tuple[int, int]] = []
    size = len(view.text)
    for start, end in changed:
        lo = max(0, view.position(max(0, start - margin)))
        hi = min(size, view.position(end + margin) + 1)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def touches(changed: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether original ``[start, end)`` overlaps one of the (sorted, disjoint) spans."""
    k = bisect_right(changed, (end, end)) - 1
    while k >= 0:
        c_start, c_end = changed[k]
        if c_end <= start:
            return False
        if c_start < end:
            return True
        k -= 1
    return False

"""Exception stack text, formatted and scrubbed once per code location (issue 12).

``traceback.format_exception`` re-reads source lines and (Python 3.11+) parses them to place the
``^^^`` markers for every failing call, and scrubbing then scans the whole text again: a
failing call used to cost ~10x a successful one. The text is made of pieces that depend only
on *where* the exception passed (the ``Traceback`` header and frame lines of each exception in
the chain, the chain separators) and pieces that depend on the exception *value* (each
exception's ``Type: message`` lines). The first kind is formatted once per location and kept;
the second is formatted per call.

Scrubbing gives the same text as scrubbing the whole traceback, without scanning it all:

* a cached piece is only reused when scrubbing it alone finds nothing (frames that hold
  something detectable are scrubbed whole on every call, as before);
* each per-call piece is scrubbed together with the whole lines within :data:`WINDOW`
  characters on either side of it, so every detector sees the context it looks at (the widest
  is 160 characters) and an entity across a piece boundary is found whole; the rest of the
  cached text is known clean.

So a finding in the window is counted once, as before, and nothing outside a window can hold
one unless a detector looked further than ``WINDOW`` characters. That holds for the pattern
detector; with NER (whose model reads whole sentences) or custom recognizers the full text is
scrubbed, as before (the formatting is still cached). Exception groups, tracebacks longer than
the policy's ``max_text_length`` and ``sys.tracebacklimit`` also take the full path.
"""

from __future__ import annotations

import builtins
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Final

WINDOW: Final = 256
_MAX_LOCATIONS: Final = 1024
_MAX_CHAIN: Final = 64
_HEADER: Final = "Traceback (most recent call last):\n"
# traceback's separators between chained exceptions (CPython 3.8-3.13).
_CAUSE: Final = ("\nThe above exception was the direct cause of the following "
                 "exception:\n\n")
_CONTEXT: Final = "\nDuring handling of the above exception, another exception occurred:\n\n"

Location = tuple[tuple[object, int, int], ...]
_GROUP: Final = getattr(builtins, "BaseExceptionGroup", None)
_NOTES: Final = sys.version_info >= (3, 11)


class _Frames:
    """One location's frame text; whether the whole text formats the same way here as
    ``format_exception`` does, and whether scrubbing the frame text alone changes nothing."""

    __slots__ = ("clean", "exact", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.exact: bool | None = None  # checked against format_exception on first use
        self.clean: bool | None = None  # checked on first scrubbed use


def _location(tb: TracebackType | None) -> Location:
    out = []
    while tb is not None:
        out.append((tb.tb_frame.f_code, tb.tb_lasti, tb.tb_lineno))
        tb = tb.tb_next
    return tuple(out)


def _chain(error: BaseException) -> list[tuple[str | None, BaseException]] | None:
    """The exceptions ``format_exception`` prints, in printing order, each with the separator
    printed before it; walked as ``TracebackException(compact=True)`` walks them (a cause
    first, else an unsuppressed context; an exception seen before ends the chain)."""
    links: list[tuple[str | None, BaseException]] = []  # (link to the next, exception)
    seen = {id(error)}
    current: BaseException | None = error
    while current is not None:
        if (_GROUP is not None and isinstance(current, _GROUP)) or len(links) >= _MAX_CHAIN:
            return None
        cause, context = current.__cause__, current.__context__
        if cause is not None and id(cause) not in seen:
            links.append((_CAUSE, current))
            current = cause
        elif (context is not None and not current.__suppress_context__
              and id(context) not in seen):
            links.append((_CONTEXT, current))
            current = context
        else:
            links.append((None, current))
            current = None
        if current is not None:
            seen.add(id(current))
    return list(reversed(links))


def _safe(value: object, what: str) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{what} str() failed>"


def _exception_only(exc: BaseException) -> str:
    """``format_exception_only(exc)`` without building a ``TracebackException`` (which would
    walk and read the source of the whole chain again)."""
    kind = type(exc)
    if issubclass(kind, SyntaxError):
        return "".join(traceback.format_exception_only(kind, exc))
    name = kind.__qualname__
    module = kind.__module__
    if module not in ("__main__", "builtins"):
        name = f"{module if isinstance(module, str) else '<unknown>'}.{name}"
    text = _safe(exc, "exception")
    lines = [f"{name}: {text}\n" if text else f"{name}\n"]
    notes = getattr(exc, "__notes__", None) if _NOTES else None
    if isinstance(notes, Sequence):
        for note in notes:
            lines.extend(line + "\n" for line in _safe(note, "note").split("\n"))
    elif notes is not None:
        try:
            lines.append(repr(notes))
        except Exception:
            lines.append("<__notes__ repr() failed>")
    return "".join(lines)


class StackTexts:
    """Formatted frames per code location, shared by all calls (thread-safe)."""

    def __init__(self) -> None:
        self._frames: dict[Location, _Frames] = {}
        self._lock = threading.Lock()

    def _frames_of(self, exc: BaseException) -> _Frames:
        tb = exc.__traceback__
        key = _location(tb)
        found = self._frames.get(key)
        if found is None:
            text = ""
            if tb is not None:
                # The stack as format_exception prints it (with 3.11's column markers).
                stack = traceback.TracebackException(type(exc), exc, tb, compact=True).stack
                text = _HEADER + "".join(stack.format()) if stack else ""
            found = _Frames(text)
            with self._lock:
                if len(self._frames) >= _MAX_LOCATIONS:
                    self._frames.clear()
                self._frames[key] = found
        return found

    def pieces(self, error: BaseException) -> list[tuple[_Frames | None, str]] | None:
        """``format_exception(error)`` as pieces: (frames, text) for text that depends on
        the location only, (None, text) for each exception's own lines. None: not
        reproduced here (exception groups, ``sys.tracebacklimit``, a location whose first
        text differed from ``format_exception``'s); the caller formats the whole text."""
        if hasattr(sys, "tracebacklimit"):
            return None
        chain = _chain(error)
        if chain is None:
            return None
        out: list[tuple[_Frames | None, str]] = []
        for link, exc in chain:
            if link is not None:
                out.append((_SEPARATOR, link))
            frames = self._frames_of(exc)
            if frames.exact is False:
                return None
            if frames.text:
                out.append((frames, frames.text))
            out.append((None, _exception_only(exc)))
        unchecked = [f for f, _ in out if f is not None and f.exact is None]
        if unchecked:
            # First use of a location: the pieces must add up to format_exception's text.
            exact = "".join(t for _, t in out) == "".join(traceback.format_exception(error))
            for frames in unchecked:
                frames.exact = exact
            if not exact:
                return None
        return out

    def text(self, error: BaseException, scrub: Callable[[str], str] | None,
             finds_nothing: Callable[[str], bool] | None = None, max_length: int = 0
             ) -> str | None:
        """The stack text of ``error``, scrubbed by ``scrub`` (None: as formatted); None when
        the caller must format and scrub the whole text itself. ``finds_nothing(text)`` says,
        without counting anything, that detection finds nothing in ``text``; without it (NER,
        custom recognizers) the whole text is scrubbed."""
        try:
            pieces = self.pieces(error)
        except Exception:  # e.g. a __notes__ that raises: the full path copes
            return None
        if pieces is None:
            return None
        raw = "".join(text for _, text in pieces)
        if scrub is None:
            return raw
        if finds_nothing is None or len(raw) > max_length:
            return scrub(raw)
        for frames, text in pieces:
            if frames is not None and frames.clean is None:
                frames.clean = finds_nothing(text)  # once per location
            if frames is not None and not frames.clean:
                return scrub(raw)
        return _scrub_windows(raw, _value_spans(pieces), scrub)


_SEPARATOR: Final = _Frames("")
_SEPARATOR.exact = _SEPARATOR.clean = True  # constant text with nothing to find


def _value_spans(pieces: list[tuple[_Frames | None, str]]) -> list[tuple[int, int]]:
    spans = []
    position = 0
    for frames, text in pieces:
        if frames is None:
            spans.append((position, position + len(text)))
        position += len(text)
    return spans


def _scrub_windows(raw: str, spans: list[tuple[int, int]], scrub: Callable[[str], str]) -> str:
    """``raw`` with each span scrubbed inside a window of whole lines reaching ``WINDOW``
    characters beyond it; overlapping windows are scrubbed as one."""
    windows: list[list[int]] = []
    for start, end in spans:
        low = raw.rfind("\n", 0, max(0, start - WINDOW)) + 1
        high = raw.find("\n", min(len(raw), end + WINDOW))
        high = len(raw) if high < 0 else high + 1
        if windows and low <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], high)
        else:
            windows.append([low, high])
    out = []
    position = 0
    for low, high in windows:
        out.append(raw[position:low])
        out.append(scrub(raw[low:high]))
        position = high
    out.append(raw[position:])
    return "".join(out)

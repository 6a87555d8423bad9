"""infertel's own replacement markers, the only marker-shaped text detection treats as opaque.

Exact forms: ``<ENTITY>`` for a known entity type, keyed pseudonyms
``<ENTITY:key_id:hexdigest12>`` (also ``<HASH:key_id:hexdigest12>`` from the ``hash`` field
action), ``<REDACTION_FAILED>``, ``<TRUNCATED>``, ``<SECRET>`` and ``<bytes:N>``. A
pseudonym's digest can be all digits, and re-scanning it (the exit scrubber sees values the
worker already redacted; ``infertel scan`` sees everything) must not read it as a phone
number. Anything else shaped like a marker (``<REF:...>``, ``<CARD>``, ``<X>``) is ordinary
text: the detector scans inside it, and also scans the text with every marker-shaped token
removed, so "jane<X>@example.com" or "4111<CREDIT_CARD>111111111111" are still caught.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from infertel.privacy._patterns import NER_ENTITIES, PATTERN_ENTITIES

#: Field-action and scrubber markers that are not entity types.
_SDK_KINDS: Final = ("HASH",)
_PLAIN_ONLY: Final = ("REDACTION_FAILED", "TRUNCATED")
_DIGEST: Final = r"[0-9a-f]{12}"
_KEY_ID: Final = r"[A-Za-z0-9_.\-]{1,16}"

#: Anything that looks like a marker or a tag; never trusted, removed in the detector's
#: marker-free view of a text.
MARKER_SHAPED: Final = re.compile(r"</?[A-Za-z_][\w.:\-]{0,63}/?>")

#: Characters that continue a value across a marker: a genuine marker next to one of these
#: is not a split point, so the detector sees the value on both sides together.
_GLUE: Final = frozenset("@.+-_%/\\:=#&~")


def marker_regex(entities: Iterable[str] = ()) -> re.Pattern[str]:
    """Regex of infertel's exact marker forms for the built-in types plus ``entities``."""
    kinds = set(PATTERN_ENTITIES) | set(NER_ENTITIES) | set(_SDK_KINDS) | set(entities)
    kinds = {k for k in kinds if re.fullmatch(r"[A-Z][A-Z0-9_]*", k)}
    names = "|".join(sorted(kinds, key=lambda k: (-len(k), k)))
    plain = "|".join(_PLAIN_ONLY)
    return re.compile(
        rf"<(?:(?:{names})(?::{_KEY_ID}:{_DIGEST})?|(?:{plain})|bytes:[0-9]{{1,15}})>"
    )


#: infertel's own markers for the built-in entity types.
MARKER: Final = marker_regex()


def split_markers(text: str, marker: re.Pattern[str] = MARKER) -> list[str]:
    """``text`` cut into alternating [plain, marker, plain, marker, ..., plain] pieces.

    Only genuine markers (see module docstring) are split out, and only those standing free:
    a marker glued to a letter, digit or value punctuation on either side stays inside its
    plain piece, where the detector scans across it.
    """
    pieces: list[str] = []
    position = 0
    n = len(text)
    for match in marker.finditer(text):
        start, end = match.span()
        if (start > 0 and _glued(text[start - 1])) or (end < n and _glued(text[end])):
            continue
        pieces.append(text[position:start])
        pieces.append(match.group())
        position = end
    pieces.append(text[position:])
    return pieces


def _glued(ch: str) -> bool:
    return ch.isalnum() or ch in _GLUE


def glued_at(text: str, start: int, end: int) -> bool:
    """Whether the token ``text[start:end]`` sits between two value characters (or another
    marker-shaped token), so that removing it may join one value."""
    before = start > 0 and (_glued(text[start - 1]) or text[start - 1] == ">")
    after = end < len(text) and (_glued(text[end]) or text[end] == "<")
    return before and after

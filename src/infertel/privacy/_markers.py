"""infertel's own replacement markers, which detection must treat as opaque.

``<EMAIL_ADDRESS>``, ``<SECRET>``, ``<REDACTION_FAILED>`` and keyed pseudonyms such as
``<EMAIL_ADDRESS:k1:3f9a0c2e41b7>``: a pseudonym's digest can be all digits, and re-scanning
it (the exit scrubber sees values the worker already redacted; ``infertel scan`` sees
everything) must not mistake it for a phone number.
"""

from __future__ import annotations

import re
from typing import Final

MARKER: Final = re.compile(r"<[A-Z][A-Z0-9_]*(?::[A-Za-z0-9_.-]{1,16}:[0-9a-f]{6,64})?>")


def split_markers(text: str) -> list[str]:
    """``text`` cut into alternating [plain, marker, plain, marker, ..., plain] pieces."""
    pieces: list[str] = []
    position = 0
    for match in MARKER.finditer(text):
        pieces.append(text[position:match.start()])
        pieces.append(match.group())
        position = match.end()
    pieces.append(text[position:])
    return pieces

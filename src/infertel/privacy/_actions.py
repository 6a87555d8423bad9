"""Field actions on the captured payload: keep, drop, hash, redact, bucket, truncate.

Applied by the background worker before the span and log are built, so the span's
``ml.redaction.count`` is known and nothing raw is ever handed to a span or log builder.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

from infertel.privacy._markers import MARKER
from infertel.privacy._scrubber import REDACTION_FAILED, TRUNCATED, Scrubber, ScrubContext

HASH_KIND = "HASH"


def apply_actions(values: Mapping[str, Any] | None, actions: Mapping[str, str],
                  scrubber: Scrubber, context: ScrubContext,
                  undeclared: str = "drop") -> dict[str, Any] | None:
    """Each captured path's value transformed by its declared action.

    Paths without a declared action were captured under the policy's ``default_action``.
    """
    if not values:
        return None
    out: dict[str, Any] = {}
    for path, value in values.items():
        action = actions.get(path, undeclared)
        if action == "drop":
            continue
        out[path] = _apply(path, action, value, scrubber, context)
    return out


def _apply(path: str, action: str, value: Any, scrubber: Scrubber,
           context: ScrubContext) -> Any:
    policy = scrubber.policy
    if action == "hash":
        return scrubber.pseudonym(HASH_KIND, value)
    if action == "bucket":
        return bucket(value, policy.buckets.get(path, policy.default_buckets))
    if action == "truncate":
        # Scan the whole value first, then cut what is left: a cut through an e-mail address
        # would leave its local part, undetectable and still personal.
        limit = policy.truncate_length
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if policy.redaction:
            text = scrubber.text(text, context)
        return text if len(text) <= limit else _cut_outside_markers(text, limit) + TRUNCATED
    if policy.redaction:
        # keep and redact both pass PII detection on every string inside (design rule 4:
        # captured free text is always scanned). Scrubbing the structure here, before any
        # JSON encoding, matters: escaped quotes and newlines would hide secrets from patterns.
        return scrubber.value(value, context)
    return value


def bucket(value: Any, boundaries: tuple[float, ...]) -> str:
    """``[10, 100)``-style label of the range holding ``value``; non-numbers are not bucketed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return REDACTION_FAILED
    index = bisect_right(boundaries, value)
    if index == 0:
        return f"(-inf, {_fmt(boundaries[0])})"
    if index == len(boundaries):
        return f"[{_fmt(boundaries[-1])}, inf)"
    return f"[{_fmt(boundaries[index - 1])}, {_fmt(boundaries[index])})"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _cut_outside_markers(text: str, limit: int) -> str:
    """The first ``limit`` characters, moved back to before a marker the cut would split and
    to before a partial word (the rest of a value the detector left alone)."""
    cut = limit
    for match in MARKER.finditer(text, 0, limit + 64):
        if match.start() < cut < match.end():
            cut = match.start()
    while cut > 0 and not text[cut - 1].isspace() and cut < len(text) and not text[cut].isspace():
        cut -= 1
    return text[:cut]

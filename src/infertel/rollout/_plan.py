"""The pre-registered plan: canonical JSON and its SHA-256.

Canonical means one byte string per plan: keys sorted, no whitespace, ASCII only, floats as
Python's shortest round-trip repr. Every decision carries the plan's hash, so a decision can be
matched to the exact criteria it was made under, and a plan changed after the fact shows.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PLAN_VERSION = 1


def canonical_json(value: Any) -> str:
    """The one JSON text of ``value`` (sorted keys, compact, ASCII, no NaN)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def plan_hash(plan: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical plan."""
    return "sha256:" + sha256_hex(canonical_json(plan))

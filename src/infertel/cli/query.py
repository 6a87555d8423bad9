"""infertel query (being written)."""

from __future__ import annotations


def query() -> None:
    """Query a store (placeholder until the store reader lands)."""

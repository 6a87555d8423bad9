"""The routing switch: which ring serving code should send traffic to (feature-flag style).

Reading it is one attribute load (no lock): serving threads call it per request. Writing it
(a rollback or a promotion) happens under a lock on the guard's side; a reader sees either the
old or the new variant, never anything else, because rebinding an attribute is atomic.
"""

from __future__ import annotations

import hashlib
import threading

# Sticky assignment resolution: units are hashed into this many buckets.
_BUCKETS = 10_000


class RoutingSwitch:
    """A two-variant flag: ``baseline`` or ``candidate``, with a percentage split while running.

    ``state`` is ``running`` (split by ``candidate_share``), ``rolled_back`` (everything to the
    baseline) or ``promoted`` (everything to the candidate).
    """

    __slots__ = ("_lock", "baseline", "candidate", "candidate_buckets", "key", "state",
                 "variant")

    def __init__(self, key: str, baseline: str, candidate: str, candidate_share: float) -> None:
        self.key = key
        self.baseline = baseline
        self.candidate = candidate
        self.candidate_buckets = round(candidate_share * _BUCKETS)
        self.state = "running"
        self.variant = candidate  # the flag's value: the candidate is live until rolled back
        self._lock = threading.Lock()

    def route(self, unit: str | None = None) -> str:
        """The ring for one request. With a ``unit`` (a user or session key) while running,
        a stable hash puts the unit in the candidate's share or not, the same way every time."""
        variant = self.variant
        if unit is None or self.state != "running":
            return variant
        digest = hashlib.blake2b(unit.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        bucket = int.from_bytes(digest, "big") % _BUCKETS
        return self.candidate if bucket < self.candidate_buckets else self.baseline

    def flip(self, state: str) -> bool:
        """Move to ``rolled_back`` or ``promoted`` once; False if it already left ``running``."""
        with self._lock:
            if self.state != "running":
                return False
            self.state = state
            self.variant = self.baseline if state == "rolled_back" else self.candidate
            return True


# The process's active switch (set when a guard is activated, e.g. by configure()).
_active: RoutingSwitch | None = None


def set_active(switch: RoutingSwitch | None) -> None:
    global _active
    _active = switch


def active_switch() -> RoutingSwitch | None:
    return _active


def active_version(unit: str | None = None, default: str = "stable") -> str:
    """The ring serving code should route to: the active guard's flag, or ``default``.

    Without a guard this is ``default`` (stable): routing falls back to the safe side.
    """
    switch = _active
    return switch.route(unit) if switch is not None else default

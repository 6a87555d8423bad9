"""The drift-alerts criterion: roll back when the candidate ring drifts and the baseline does not.

``DriftAlerts`` is pre-registered like the other criteria (its ``plan()`` entry is part of the
plan and so of the plan hash), but it is **not** a sequential test: it reads the hysteresis
state of the drift monitor (ok / warn / alert per ring and feature, fed to the guard through
``RolloutGuard.observe_drift``), so it has no p-value and is not counted in the Bonferroni
family. The monitor's hysteresis (a level sustained over several windows) is what keeps it from
reacting to one noisy window. Comparing with the baseline ring keeps a shift that hits both
rings (the traffic changed, not the model) from rolling back the candidate.

This module imports nothing from ``infertel.monitor`` (both are layer 2): levels, windows and
scores arrive as plain values, and only numbers and validated labels are kept.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from infertel.rollout._decision import ALL_SEGMENTS, ns_to_text

LEVELS: Final = ("ok", "warn", "alert")
_RANK: Final = {level: i for i, level in enumerate(LEVELS)}
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_MAX_FEATURES = 512  # (ring, feature) states kept; new ones beyond are dropped and counted
_MAX_SCORES = 8


@dataclass(frozen=True)
class DriftAlerts:
    """Roll back when a candidate feature's drift state is at or above ``level`` while the
    baseline ring's state for that feature is not (not an SPRT; outside the Bonferroni family).
    """

    level: str = "alert"
    name: ClassVar[str] = "drift_alerts"
    test: ClassVar[str] = "drift hysteresis state"

    def __post_init__(self) -> None:
        if self.level not in ("warn", "alert"):
            raise ValueError(f"level must be 'warn' or 'alert', got {self.level!r}")

    def plan(self) -> dict[str, Any]:
        return {"criterion": self.name, "test": self.test, "level": self.level,
                "multiplicity": "none (not a sequential test)"}


@dataclass(frozen=True, slots=True)
class DriftEvidence:
    """Why the drift criterion fired: labels the gate validated and numbers only."""

    ring: str
    feature: str
    level: str
    threshold: str
    baseline_level: str
    window_start_ns: int
    window_end_ns: int
    scores: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": DriftAlerts.name, "test": DriftAlerts.test, "segment": ALL_SEGMENTS,
            "ring": self.ring, "feature": self.feature, "level": self.level,
            "threshold": self.threshold, "baseline_level": self.baseline_level,
            "window_start": ns_to_text(self.window_start_ns) if self.window_start_ns else None,
            "window_end": ns_to_text(self.window_end_ns) if self.window_end_ns else None,
            "scores": {k: float(format(v, ".10g")) for k, v in self.scores},
            "harmful": True,
        }


class DriftGate:
    """The latest drift state per (ring, feature) of the two compared rings. Thread-safe."""

    def __init__(self, criterion: DriftAlerts, baseline: str, candidate: str) -> None:
        self.criterion = criterion
        self._rings = (baseline, candidate)
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], DriftEvidence] = {}
        self.dropped = 0

    def observe(self, ring: Any, feature: Any, level: Any,
                facts: Mapping[str, Any] | None = None) -> bool:
        """Record one state change; False (nothing kept) for other rings, labels that are not
        labels, unknown levels or a full table. Never raises."""
        try:
            if (ring not in self._rings or not isinstance(feature, str)
                    or not _LABEL.fullmatch(feature) or level not in _RANK):
                return False
            facts = facts or {}
            scores = tuple(sorted(
                (str(k), float(v)) for k, v in dict(facts.get("scores") or {}).items()
                if isinstance(k, str) and _LABEL.fullmatch(k) and isinstance(v, int | float)
                and not isinstance(v, bool) and math.isfinite(v)))[:_MAX_SCORES]
            start, end = facts.get("window_start_ns", 0), facts.get("window_end_ns", 0)
            evidence = DriftEvidence(
                ring, feature, level, self.criterion.level, "ok",
                start if isinstance(start, int) and start > 0 else 0,
                end if isinstance(end, int) and end > 0 else 0, scores)
            with self._lock:
                key = (ring, feature)
                if key not in self._states and len(self._states) >= _MAX_FEATURES:
                    self.dropped += 1
                    return False
                self._states[key] = evidence
            return True
        except Exception:
            self.dropped += 1
            return False

    def breaches(self) -> list[DriftEvidence]:
        """Candidate features at or above the level whose baseline state is below it."""
        floor = _RANK[self.criterion.level]
        baseline, candidate = self._rings
        with self._lock:
            states = dict(self._states)
        out = []
        for (ring, feature), found in sorted(states.items()):
            if ring != candidate or _RANK[found.level] < floor:
                continue
            base = states.get((baseline, feature))
            base_level = base.level if base is not None else "ok"
            if _RANK[base_level] < floor:
                out.append(DriftEvidence(
                    found.ring, found.feature, found.level, found.threshold, base_level,
                    found.window_start_ns, found.window_end_ns, found.scores))
        return out


def describe(e: DriftEvidence) -> str:
    return (f"drift_alerts: feature {e.feature} is {e.level} in ring {e.ring} "
            f"(baseline {e.baseline_level})")

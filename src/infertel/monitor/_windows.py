"""Levels per window and hysteresis across windows: a sustained shift, not one noisy window.

A window's level is the highest level any thresholded score reaches (effect sizes, not
p-values: a p-value on 100k calls flags shifts nobody cares about). The state of a feature
moves up to a level once ``alert_after`` of the last ``of_last`` windows reached it, and
steps down once ``clear_after`` windows in a row stayed below it (to the highest level those
windows reached). Each move is a :class:`StateChange`; everything else is silence.

Defaults, and why:

* PSI warn 0.1 / alert 0.25: the credit-scoring convention every drift tool repeats
  (0.25 is about the PSI of a 0.5 standard-deviation shift of a normal feature).
* JS distance (base 2) warn 0.1 / alert 0.2: 0.1 is Evidently's default drift threshold;
  0.2 is about the JS distance of a 0.5 sd shift on 20 quantile bins (0.207), so a shift of
  that size alerts on JS even where binning leaves its PSI just under 0.25 (0.245).
* ``min_count`` 1,000 calls per window: below it, sampling noise alone lifts PSI by about
  (bins - 1) / n (0.02 at n = 1,000, 0.2 at n = 100). A window with fewer calls is carried
  into the next one rather than judged.
* 3 of the last 5 windows to raise, 3 clean windows to clear: one bad window never pages.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from infertel.monitor._scores import METRIC_JS, METRIC_PSI

Level = Literal["ok", "warn", "alert"]
LEVELS: Final[tuple[Level, ...]] = ("ok", "warn", "alert")
_RANK: Final[Mapping[str, int]] = {level: i for i, level in enumerate(LEVELS)}

DEFAULT_THRESHOLDS: Final[Mapping[str, tuple[float, float]]] = {
    METRIC_PSI: (0.1, 0.25),
    METRIC_JS: (0.1, 0.2),
}


def rank(level: str) -> int:
    return _RANK[level]


class DriftRules(BaseModel):
    """Thresholds per score and the hysteresis; frozen, validated, with clear errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    thresholds: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    alert_after: int = Field(3, ge=1, description="windows at a level needed to raise it")
    of_last: int = Field(5, ge=1, description="... among this many latest windows")
    clear_after: int = Field(3, ge=1, description="windows below a level needed to leave it")
    min_count: int = Field(1000, ge=1, description="calls a window needs to be judged")

    @model_validator(mode="after")
    def _consistent(self) -> DriftRules:
        if self.alert_after > self.of_last:
            raise ValueError(f"alert_after ({self.alert_after}) cannot exceed of_last "
                             f"({self.of_last})")
        if not self.thresholds:
            raise ValueError("thresholds: give at least one score's (warn, alert) levels")
        for metric, (warn, alert) in self.thresholds.items():
            if not 0 <= warn <= alert:
                raise ValueError(f"thresholds[{metric!r}]: need 0 <= warn <= alert, got "
                                 f"({warn}, {alert})")
        return self

    def level(self, scores: Mapping[str, float]) -> Level:
        """The highest level any thresholded score reaches in one window."""
        best = 0
        for metric, (warn, alert) in self.thresholds.items():
            value = scores.get(metric)
            if value is None:
                continue
            if value >= alert:
                return "alert"
            if value >= warn:
                best = 1
        return LEVELS[best]


def iso_utc(nanos: int) -> str:
    """``2026-01-31T12:00:00.250Z`` (millisecond precision) from Unix nanoseconds."""
    moment = datetime.fromtimestamp(nanos // 1_000_000 / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class StateChange:
    """One move of a feature's drift state, with the evidence of the window that caused it."""

    feature: str
    previous: Level
    state: Level
    window_start_ns: int
    window_end_ns: int
    count: int
    scores: dict[str, float]
    top_bins: list[dict[str, Any]] = field(default_factory=list)
    exemplar_trace_ids: list[str] = field(default_factory=list)
    group: dict[str, str] = field(default_factory=dict)  # model, version, ring

    def body(self) -> dict[str, Any]:
        """The ``ml.drift.detected`` event body: bounds, shares, scores and ids only."""
        return {
            "feature": self.feature,
            "previous": self.previous,
            "state": self.state,
            # ISO-8601 rather than nanoseconds: a 19-digit integer can pass a card-number
            # check, and telemetry scanners would rightly stop at it.
            "window_start": iso_utc(self.window_start_ns),
            "window_end": iso_utc(self.window_end_ns),
            "count": self.count,
            "scores": dict(self.scores),
            "top_bins": [dict(b) for b in self.top_bins],
            "exemplar_trace_ids": list(self.exemplar_trace_ids),
            **self.group,
        }


class FeatureState:
    """The hysteresis of one feature in one (model, version, ring)."""

    __slots__ = ("_below", "_history", "_rules", "state")

    def __init__(self, rules: DriftRules) -> None:
        self._rules = rules
        self.state: Level = "ok"
        self._history: deque[int] = deque(maxlen=rules.of_last)
        self._below: deque[int] = deque(maxlen=rules.clear_after)

    def update(self, level: Level) -> Level | None:
        """Feed one judged window; return the new state when it changed, else None."""
        rules = self._rules
        current = _RANK[self.state]
        value = _RANK[level]
        self._history.append(value)
        raised = current
        for candidate in (2, 1):
            if candidate > current and sum(
                    1 for v in self._history if v >= candidate) >= rules.alert_after:
                raised = candidate
                break
        if raised > current:
            self._below.clear()
            return self._move(raised)
        if value < current:
            self._below.append(value)
            if len(self._below) >= rules.clear_after:
                lowered = max(self._below)
                self._below.clear()
                # Start the climb afresh: the windows that raised the old state are history.
                self._history.clear()
                return self._move(lowered)
        else:
            self._below.clear()
        return None

    def _move(self, target: int) -> Level:
        self.state = LEVELS[target]
        return self.state

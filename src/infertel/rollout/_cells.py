"""Sufficient statistics per (ring, segment): what the tests need, in O(1) memory.

Every criterion's test is a function of counts, means and sums of squares, so a cell is a
handful of numbers that merge across replicas, and the comparison can be recomputed from
exported calls by the same code (``infertel rollout status``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infertel.rollout._stats import Moments

# log() of a zero duration (a clock that did not tick) would be -inf: one microsecond floor.
_MIN_DURATION_S = 1e-6


@dataclass(frozen=True, slots=True)
class Observation:
    """One finished call as the guard sees it: no payload, only what the tests use.

    ``duration_s`` is ``(end_ns - start_ns) / 1e9`` exactly as the exported log record
    carries it, and ``prediction`` the first numeric output the policy let through, so the
    store reproduces the guard's numbers bit for bit.
    """

    ring: str
    segment: str
    error: bool
    duration_s: float
    end_ns: int
    prediction: float | None = None
    inference_id: str | None = None


def prediction_of(outputs: Mapping[str, Any] | None) -> float | None:
    """The guard's prediction value of a call: its first finite numeric output, as exported.

    The worker applies this to the scrubbed outputs and ``infertel rollout status`` to the
    exported log body, so both see the same number.
    """
    for value in (outputs or {}).values():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
                value):
            return float(value)
    return None


class Cell:
    """Calls, errors, log-latency, prediction and Brier-score moments of one ring x segment."""

    __slots__ = ("brier", "errors", "log_latency", "n", "prediction")

    def __init__(self) -> None:
        self.n = 0
        self.errors = 0
        # Latency of successful calls only: a failure's duration measures how fast it failed.
        self.log_latency = Moments()
        self.prediction = Moments()
        self.brier = Moments()

    def add(self, obs: Observation) -> None:
        self.n += 1
        if obs.error:
            self.errors += 1
            return
        self.log_latency.add(math.log(max(obs.duration_s, _MIN_DURATION_S)))
        if obs.prediction is not None:
            self.prediction.add(obs.prediction)

    def add_outcome(self, prediction: float, label: float) -> None:
        """A label that arrived after the call: one more squared error (Brier score)."""
        self.brier.add((prediction - label) ** 2)

    def merge(self, other: Cell) -> None:
        self.n += other.n
        self.errors += other.errors
        self.log_latency.merge(other.log_latency)
        self.prediction.merge(other.prediction)
        self.brier.merge(other.brier)

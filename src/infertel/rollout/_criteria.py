"""Pre-registered rollout criteria. Each names its test, its mixing scale and its margin.

A criterion turns the baseline and candidate cells of one segment into a difference estimate
and its variance; :func:`evaluate` runs the mixture SPRT on it (see ``_stats``). Positive
differences are harm for error rate, latency and calibration; a prediction shift is harm in
either direction.

* ``ErrorRate``: two-proportion mSPRT on the error proportion (pooled variance).
* ``Latency``: mSPRT on the difference in means of log-latency of successful calls. Chosen
  over a rank-based sequential test because its sufficient statistics (count, mean, sum of
  squares) are O(1) per cell, merge across replicas and can be recomputed from exported
  durations, and because a multiplicative slow-down (p50 and p95 both +20%) is a location
  shift on the log scale; the price is lower power for a regression confined to the tail.
* ``PredictionShift``: mSPRT on the difference in mean prediction value, with ``tau`` and
  the margin in units of the pooled standard deviation (a plug-in scale).
* ``Calibration``: mSPRT on the difference in mean Brier score of calls whose label arrived
  later through ``infertel.rollout.record_outcome``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from infertel.rollout._cells import Cell
from infertel.rollout._decision import Evidence
from infertel.rollout._drift_gate import DriftAlerts
from infertel.rollout._stats import half_width, mean_difference, mixture_log_lr, two_proportion

Harm = Literal["increase", "either"]


class Difference:
    """A difference estimate ready for the test: estimate, variance, scale, sizes (floats, or
    NumPy arrays in the vectorised simulations)."""

    __slots__ = ("delta", "margin", "n_a", "n_b", "tau2", "variance")

    def __init__(self, delta: Any, variance: Any, tau2: Any, margin: Any,
                 n_a: Any, n_b: Any) -> None:
        self.delta = delta
        self.variance = variance
        self.tau2 = tau2
        self.margin = margin
        self.n_a = n_a
        self.n_b = n_b


class Criterion(Protocol):
    """What the guard needs from a criterion (the four classes below implement it)."""

    name: ClassVar[str]
    test: ClassVar[str]
    harm: ClassVar[Harm]

    def plan(self) -> dict[str, Any]: ...

    def sizes(self, a: Cell, b: Cell) -> tuple[Any, Any]:
        """The sample sizes the minimum applies to (calls, successful calls or labels)."""
        ...

    def minimum(self, min_samples: int) -> int: ...

    def estimate(self, a: Cell, b: Cell) -> Difference:
        """Arithmetic only (no branches), so it also runs on cells of NumPy arrays."""
        ...


def difference(criterion: Criterion, a: Cell, b: Cell, min_samples: int) -> Difference | None:
    """The criterion's difference, or None while either ring is below its minimum."""
    n_a, n_b = criterion.sizes(a, b)
    floor = criterion.minimum(min_samples)
    if n_a < floor or n_b < floor:
        return None
    return criterion.estimate(a, b)


def _check_positive(**values: float) -> None:
    for key, value in values.items():
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{key} must be positive and finite, got {value!r}")


@dataclass(frozen=True)
class ErrorRate:
    """Error proportion of candidate vs baseline; ``tau`` and ``margin`` are proportions."""

    tau: float = 0.01
    margin: float = 0.005
    name: ClassVar[str] = "error_rate"
    test: ClassVar[str] = "msprt-two-proportion"
    harm: ClassVar[Harm] = "increase"

    def __post_init__(self) -> None:
        _check_positive(tau=self.tau, margin=self.margin)

    def plan(self) -> dict[str, Any]:
        return {"criterion": self.name, "test": self.test, "harm": self.harm,
                "tau": self.tau, "margin": self.margin, "unit": "proportion"}

    def sizes(self, a: Cell, b: Cell) -> tuple[Any, Any]:
        return a.n, b.n

    def minimum(self, min_samples: int) -> int:
        return min_samples

    def estimate(self, a: Cell, b: Cell) -> Difference:
        delta, variance = two_proportion(a.n, a.errors, b.n, b.errors)
        return Difference(delta, variance, self.tau ** 2, self.margin, a.n, b.n)


@dataclass(frozen=True)
class Latency:
    """Mean log-latency of successful calls; ``tau`` and ``margin`` in log units
    (0.1 is about +10%)."""

    tau: float = 0.1
    margin: float = 0.05
    name: ClassVar[str] = "latency"
    test: ClassVar[str] = "msprt-mean-log-latency"
    harm: ClassVar[Harm] = "increase"

    def __post_init__(self) -> None:
        _check_positive(tau=self.tau, margin=self.margin)

    def plan(self) -> dict[str, Any]:
        return {"criterion": self.name, "test": self.test, "harm": self.harm,
                "tau": self.tau, "margin": self.margin, "unit": "log-seconds"}

    def sizes(self, a: Cell, b: Cell) -> tuple[Any, Any]:
        return a.log_latency.n, b.log_latency.n

    def minimum(self, min_samples: int) -> int:
        return max(min_samples, 2)

    def estimate(self, a: Cell, b: Cell) -> Difference:
        la, lb = a.log_latency, b.log_latency
        delta, variance = mean_difference(la.n, la.mean, la.variance, lb.n, lb.mean, lb.variance)
        return Difference(delta, variance, self.tau ** 2, self.margin, la.n, lb.n)


@dataclass(frozen=True)
class PredictionShift:
    """Mean prediction value; ``tau_sd`` and ``margin_sd`` in pooled standard deviations."""

    tau_sd: float = 0.25
    margin_sd: float = 0.1
    name: ClassVar[str] = "prediction_shift"
    test: ClassVar[str] = "msprt-mean-difference"
    harm: ClassVar[Harm] = "either"

    def __post_init__(self) -> None:
        _check_positive(tau_sd=self.tau_sd, margin_sd=self.margin_sd)

    def plan(self) -> dict[str, Any]:
        return {"criterion": self.name, "test": self.test, "harm": self.harm,
                "tau_sd": self.tau_sd, "margin_sd": self.margin_sd, "unit": "prediction"}

    def sizes(self, a: Cell, b: Cell) -> tuple[Any, Any]:
        return a.prediction.n, b.prediction.n

    def minimum(self, min_samples: int) -> int:
        return max(min_samples, 2)

    def estimate(self, a: Cell, b: Cell) -> Difference:
        pa, pb = a.prediction, b.prediction
        pooled_var = (pa.m2 + pb.m2) / (pa.n + pb.n - 2)
        delta, variance = mean_difference(pa.n, pa.mean, pa.variance, pb.n, pb.mean, pb.variance)
        return Difference(delta, variance, self.tau_sd ** 2 * pooled_var,
                          self.margin_sd * pooled_var ** 0.5, pa.n, pb.n)


@dataclass(frozen=True)
class Calibration:
    """Mean Brier score of labelled calls (labels via ``record_outcome``)."""

    tau: float = 0.02
    margin: float = 0.01
    min_labels: int = 100
    name: ClassVar[str] = "calibration"
    test: ClassVar[str] = "msprt-mean-brier"
    harm: ClassVar[Harm] = "increase"

    def __post_init__(self) -> None:
        _check_positive(tau=self.tau, margin=self.margin, min_labels=self.min_labels)

    def plan(self) -> dict[str, Any]:
        return {"criterion": self.name, "test": self.test, "harm": self.harm,
                "tau": self.tau, "margin": self.margin, "min_labels": self.min_labels,
                "unit": "brier"}

    def sizes(self, a: Cell, b: Cell) -> tuple[Any, Any]:
        return a.brier.n, b.brier.n

    def minimum(self, min_samples: int) -> int:
        return max(self.min_labels, 2)  # labels arrive for some calls only: their own floor

    def estimate(self, a: Cell, b: Cell) -> Difference:
        ba, bb = a.brier, b.brier
        delta, variance = mean_difference(ba.n, ba.mean, ba.variance, bb.n, bb.mean, bb.variance)
        return Difference(delta, variance, self.tau ** 2, self.margin, ba.n, bb.n)


def evaluate(criterion: Criterion, segment: str, diff: Difference, alpha: float,
             previous_p: float) -> Evidence:
    """Run the mixture SPRT on one difference; ``previous_p`` is this test's running minimum."""
    if diff.variance > 0 and diff.tau2 > 0:
        log_lr = mixture_log_lr(diff.delta, diff.variance, diff.tau2)
        width = half_width(diff.variance, diff.tau2, alpha)
    else:  # no spread at all (no errors in either ring): no evidence either way
        log_lr, width = 0.0, (0.0 if diff.delta == 0 else math.inf)
    p_value = min(previous_p, 1.0, math.exp(-log_lr) if log_lr < 700 else 0.0)
    lower, upper = diff.delta - width, diff.delta + width
    rejected = log_lr >= math.log(1.0 / alpha)
    if criterion.harm == "increase":
        harmful = rejected and diff.delta > 0
        non_inferior = upper < diff.margin
    else:
        harmful = rejected
        non_inferior = -diff.margin < lower and upper < diff.margin
    return Evidence(
        criterion=criterion.name, test=criterion.test, segment=segment, estimate=diff.delta,
        statistic=log_lr, p_value=p_value, alpha=alpha, lower=lower, upper=upper,
        n_baseline=diff.n_a, n_candidate=diff.n_b, harmful=harmful, non_inferior=non_inferior,
    )


CRITERIA: dict[str, type[ErrorRate] | type[Latency] | type[PredictionShift] | type[Calibration]]
CRITERIA = {cls.name: cls for cls in (ErrorRate, Latency, PredictionShift, Calibration)}
_DESCRIPTIVE = frozenset({"criterion", "test", "harm", "unit"})


def criterion_from_plan(entry: dict[str, Any]) -> Criterion | DriftAlerts:
    """Rebuild a criterion from its ``plan()`` entry (to recompute decisions from a store)."""
    if entry.get("criterion") == DriftAlerts.name:
        return DriftAlerts(level=str(entry.get("level")))
    cls = CRITERIA.get(str(entry.get("criterion")))
    if cls is None:
        raise ValueError(f"unknown criterion in plan: {entry.get('criterion')!r}")
    criterion: Criterion = cls(**{k: v for k, v in entry.items() if k not in _DESCRIPTIVE})
    return criterion

"""Vectorised rollout simulations: thousands of rollouts x hundreds of looks in NumPy.

Used by the simulation tests and ``benchmarks/bench_rollout.py`` to measure the false-rollback
rate of A/A rollouts and the power and calls-to-decision of stated regressions. The rule is the
guard's own: the same criteria objects compute the differences (on cells of arrays), the same
``_stats`` formulas the test, with the plan's per-test alpha; a test checks that the guard fed
call by call and this module fed the same calls decide identically.

Per look and cell (ring x segment) the simulation draws sufficient statistics from their exact
distributions instead of single calls: errors ~ Binomial(n, p); for normal log-latency and
predictions, the sum ~ Normal(m mu, m sigma^2) and the centred sum of squares ~ sigma^2
chi^2(m - 1), independent. NumPy is imported on use (it is not an infertel dependency).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from infertel.rollout._cells import _MIN_DURATION_S, Observation
from infertel.rollout._criteria import Criterion
from infertel.rollout._stats import half_width, mixture_log_lr

_FIELDS = ("n", "errors", "lat_sum", "lat_sq", "pred_n", "pred_sum", "pred_sq")


@dataclass(frozen=True)
class Scenario:
    """Traffic of one simulated rollout; the canary's changes apply to ``bad_segments``
    (indices; None means every segment)."""

    name: str
    error_rate: float = 0.01
    canary_error_rate: float | None = None
    latency_mu: float = -4.0  # log-seconds: about 18 ms median
    latency_sigma: float = 0.5
    canary_latency_factor: float = 1.0  # multiplies every percentile (p95 +20% = 1.2)
    prediction_mean: float = 0.5
    prediction_sd: float = 0.15
    canary_prediction_shift_sd: float = 0.0
    bad_segments: tuple[int, ...] | None = None


class _Moments:
    """Moments of arrays from (count, sum, sum of squares)."""

    __slots__ = ("m2", "mean", "n", "variance")

    def __init__(self, n: Any, total: Any, squares: Any) -> None:
        import numpy as np

        safe = np.maximum(n, 1)
        self.n = n
        self.mean = total / safe
        self.m2 = np.maximum(squares - total * total / safe, 0.0)
        self.variance = self.m2 / np.maximum(n - 1, 1)


class _ArrayCell:
    __slots__ = ("brier", "errors", "log_latency", "n", "prediction")

    def __init__(self, sums: dict[str, Any], ring: int, slot: Any) -> None:
        def pick(name: str) -> Any:
            return slot(sums[name][..., ring, :])

        self.n = pick("n")
        self.errors = pick("errors")
        self.log_latency = _Moments(self.n - self.errors, pick("lat_sum"), pick("lat_sq"))
        self.prediction = _Moments(pick("pred_n"), pick("pred_sum"), pick("pred_sq"))
        self.brier = _Moments(self.n * 0, self.n * 0.0, self.n * 0.0)


def sample_increments(scenario: Scenario, *, rollouts: int, looks: int, calls_per_look: int,
                      segments: int, candidate_share: float, seed: int) -> dict[str, Any]:
    """Per-look sufficient statistics, arrays of shape (rollouts, looks, 2 rings, segments)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shares = np.array([1 - candidate_share, candidate_share])[:, None] / segments
    counts = rng.multinomial(calls_per_look, np.repeat(shares, segments, axis=1).ravel(),
                             size=(rollouts, looks)).reshape(rollouts, looks, 2, segments)
    bad = np.zeros((2, segments), dtype=bool)
    bad[1, list(scenario.bad_segments) if scenario.bad_segments is not None else slice(None)] = True
    p_error = np.where(bad & (scenario.canary_error_rate is not None),
                       scenario.canary_error_rate or 0.0, scenario.error_rate)
    errors = rng.binomial(counts, p_error)
    ok = counts - errors
    mu = scenario.latency_mu + np.where(bad, math.log(scenario.canary_latency_factor), 0.0)
    pred_mu = scenario.prediction_mean + np.where(
        bad, scenario.canary_prediction_shift_sd * scenario.prediction_sd, 0.0)
    lat_sum, lat_sq = _normal_sums(rng, ok, mu, scenario.latency_sigma)
    pred_sum, pred_sq = _normal_sums(rng, ok, pred_mu, scenario.prediction_sd)
    return {"n": counts, "errors": errors, "lat_sum": lat_sum, "lat_sq": lat_sq,
            "pred_n": ok, "pred_sum": pred_sum, "pred_sq": pred_sq}


def _normal_sums(rng: Any, m: Any, mu: Any, sigma: float) -> tuple[Any, Any]:
    """Sum and sum of squares of ``m`` iid Normal(mu, sigma^2) values, drawn exactly."""
    import numpy as np

    total = rng.normal(m * mu, np.sqrt(m) * sigma)
    centred = sigma ** 2 * rng.chisquare(np.maximum(m - 1, 1)) * (m > 1)
    squares = centred + np.where(m > 0, total * total / np.maximum(m, 1), 0.0)
    return total, squares


def increments_from_calls(batches: Sequence[Sequence[Observation]], baseline: str,
                          candidate: str, segments: Sequence[str]) -> dict[str, Any]:
    """The same arrays for one rollout from real calls, one look per batch (cross-checks)."""
    import numpy as np

    shape = (1, len(batches), 2, len(segments))
    out = {name: np.zeros(shape) for name in _FIELDS}
    rings = {baseline: 0, candidate: 1}
    index = {name: i for i, name in enumerate(segments)}
    for k, batch in enumerate(batches):
        for obs in batch:
            ring, seg = rings.get(obs.ring), index.get(obs.segment)
            if ring is None or seg is None:
                continue
            cell = (0, k, ring, seg)
            out["n"][cell] += 1
            if obs.error:
                out["errors"][cell] += 1
                continue
            value = math.log(max(obs.duration_s, _MIN_DURATION_S))
            out["lat_sum"][cell] += value
            out["lat_sq"][cell] += value * value
            if obs.prediction is not None:
                out["pred_n"][cell] += 1
                out["pred_sum"][cell] += obs.prediction
                out["pred_sq"][cell] += obs.prediction ** 2
    return out


@dataclass(frozen=True)
class Outcome:
    """Per rollout: ``action`` 0 none within the horizon, 1 promote, 2 rollback; the look at
    which it happened (-1 if none) and the calls seen by then."""

    action: Any
    look: Any
    calls: Any


def first_decisions(criteria: Sequence[Criterion], *, alpha_per_test: float, min_samples: int,
                    candidate_share: float | None, srm_threshold: float, auto_promote: bool,
                    increments: dict[str, Any], calls_per_look: int | None = None) -> Outcome:
    """Apply the guard's rule at every look of every rollout; the first decision counts."""
    import numpy as np

    sums = {name: np.cumsum(value, axis=1, dtype=float) for name, value in increments.items()}
    n_seg = sums["n"].shape[-1]
    slots = [lambda a: a.sum(axis=-1)] + [
        (lambda a, i=i: a[..., i]) for i in range(n_seg)]
    log_level = math.log(1.0 / alpha_per_test)
    rollback = np.zeros(sums["n"].shape[:2], dtype=bool)
    overall_ok = np.ones_like(rollback)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for criterion in criteria:
            for number, slot in enumerate(slots):
                a, b = _ArrayCell(sums, 0, slot), _ArrayCell(sums, 1, slot)
                n_a, n_b = criterion.sizes(a, b)  # type: ignore[arg-type]
                floor = criterion.minimum(min_samples)
                ready = (n_a >= floor) & (n_b >= floor)
                diff = criterion.estimate(a, b)  # type: ignore[arg-type]
                usable = ready & (diff.variance > 0) & (diff.tau2 > 0)
                log_lr = np.where(usable, mixture_log_lr(diff.delta, diff.variance, diff.tau2,
                                                         xp=np), 0.0)
                width = half_width(diff.variance, diff.tau2, alpha_per_test, xp=np)
                width = np.where(usable, width, np.where(diff.delta == 0, 0.0, np.inf))
                lower, upper = diff.delta - width, diff.delta + width
                rejected = ready & (log_lr >= log_level)
                if criterion.harm == "increase":
                    rollback |= rejected & (diff.delta > 0)
                    non_inferior = upper < diff.margin
                else:
                    rollback |= rejected
                    non_inferior = (-diff.margin < lower) & (upper < diff.margin)
                # The guard's promotion rule: non-inferior on all traffic, and on every
                # segment that has reached its minimum.
                overall_ok &= (ready & non_inferior) if number == 0 else (~ready | non_inferior)
    total_a = sums["n"][:, :, 0, :].sum(axis=-1)
    total_b = sums["n"][:, :, 1, :].sum(axis=-1)
    blocked = np.zeros_like(rollback)
    if candidate_share is not None:
        critical = NormalDist().inv_cdf(1 - srm_threshold / 2) ** 2  # chi^2(1) quantile
        total = total_a + total_b
        with np.errstate(divide="ignore", invalid="ignore"):
            expected_b = total * candidate_share
            statistic = ((total_b - expected_b) ** 2 / expected_b
                         + (total_a - (total - expected_b)) ** 2 / (total - expected_b))
        blocked = (total >= 2 * min_samples) & (statistic > critical)
    rollback &= ~blocked
    promote = ~blocked & ~rollback & overall_ok & auto_promote
    decided = rollback | promote
    any_decision = decided.any(axis=1)
    look = np.where(any_decision, decided.argmax(axis=1), -1)
    rows = np.arange(len(look))
    action = np.where(any_decision, np.where(rollback[rows, look], 2, 1), 0)
    per_look = calls_per_look if calls_per_look is not None else 0
    return Outcome(action=action, look=look, calls=np.where(look >= 0, (look + 1) * per_look, -1))

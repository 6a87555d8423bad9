"""Sequential tests that stay valid however often they are looked at.

**The test.** Every comparison is the normal-approximation mixture SPRT (mSPRT) of Johari,
Pekelis and Walsh ("Always valid inference", 2017/2022; Optimizely's Stats Engine): the
difference estimate ``delta = candidate - baseline`` is treated as ``N(theta, V)`` with ``V`` its
plug-in variance, and the likelihood ratio of ``theta ~ N(0, tau^2)`` against ``theta = 0`` is

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 delta^2 / (2 V (V + tau^2)))

which is a non-negative martingale with mean one under the null. By Ville's inequality
``P(sup_n Lambda_n >= 1/alpha) <= alpha``: rejecting the first time ``Lambda >= 1/alpha`` is a
level-alpha test under continuous monitoring, ``p_n = min(1, 1/max_k Lambda_k)`` is an
always-valid p-value, and inverting the test gives a confidence sequence (:func:`half_width`).
With ``V = sigma^2 / n`` this is exactly the one-sample normal mSPRT (sequential_analysis'
``NormalMixtureSPRT``), which ``benchmarks/bench_rollout_reference.py`` checks.

``tau^2`` (the mixing variance) sets which effect size the test is most sensitive to; it is
fixed in the pre-registered plan per criterion. The mixture is symmetric (two-sided); a
rollback additionally requires the estimate to point in the harmful direction, which keeps the
one-sided false-rollback rate at or below alpha (conservative by up to a factor of two).

Every function is written with operations that both :mod:`math` and NumPy provide, so the
vectorised simulations (``xp=numpy``) run the very formulas the guard runs (``xp=math``).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "Moments",
    "chi_square_srm",
    "half_width",
    "mean_difference",
    "mixture_log_lr",
    "two_proportion",
]


def mixture_log_lr(delta: Any, variance: Any, tau2: Any, xp: Any = math) -> Any:
    """``log Lambda`` of the normal-mixture SPRT for ``delta ~ N(theta, variance)``, H0 theta=0."""
    v_plus = variance + tau2
    return 0.5 * xp.log(variance / v_plus) + tau2 * delta * delta / (2.0 * variance * v_plus)


def half_width(variance: Any, tau2: Any, alpha: float, xp: Any = math) -> Any:
    """Half-width of the always-valid (1 - alpha) confidence interval around ``delta``.

    The set of ``theta0`` whose mixture likelihood ratio stays below ``1/alpha``; valid at every
    look simultaneously, so it may be used to stop (promote) at any time.
    """
    v_plus = variance + tau2
    return xp.sqrt(2.0 * variance * v_plus / tau2
                   * (math.log(1.0 / alpha) + 0.5 * xp.log(v_plus / variance)))


def two_proportion(n_a: Any, x_a: Any, n_b: Any, x_b: Any) -> tuple[Any, Any]:
    """Difference of proportions ``x_b/n_b - x_a/n_a`` and its variance under H0.

    The variance is pooled (both rings share one rate under the null): with sparse errors the
    unpooled variance of a ring with zero errors is zero, which overstates the evidence.
    """
    pooled = (x_a + x_b) / (n_a + n_b)
    variance = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    return x_b / n_b - x_a / n_a, variance


def mean_difference(n_a: Any, mean_a: Any, var_a: Any,
                    n_b: Any, mean_b: Any, var_b: Any) -> tuple[Any, Any]:
    """Difference of means ``mean_b - mean_a`` and its (Welch, unpooled) variance."""
    return mean_b - mean_a, var_a / n_a + var_b / n_b


def chi_square_srm(observed: tuple[int, int], expected_share: tuple[float, float]
                   ) -> tuple[float, float]:
    """Chi-square goodness of fit of a two-way traffic split: (statistic, p-value).

    One degree of freedom, so the survival function is ``erfc(sqrt(x / 2))``; this is
    ``scipy.stats.chisquare`` for two cells (the unit tests check it against scipy).
    """
    total = observed[0] + observed[1]
    if total <= 0:
        return 0.0, 1.0
    statistic = 0.0
    for count, share in zip(observed, expected_share, strict=True):
        expected = total * share
        statistic += (count - expected) ** 2 / expected
    return statistic, math.erfc(math.sqrt(statistic / 2.0))


class Moments:
    """Count, mean and sum of squared deviations (Welford), mergeable across replicas."""

    __slots__ = ("m2", "mean", "n")

    def __init__(self, n: int = 0, mean: float = 0.0, m2: float = 0.0) -> None:
        self.n = n
        self.mean = mean
        self.m2 = m2

    def add(self, value: float) -> None:
        self.n += 1
        step = value - self.mean
        self.mean += step / self.n
        self.m2 += step * (value - self.mean)

    def merge(self, other: Moments) -> None:
        """Chan et al.'s pairwise update: the moments of both samples together."""
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.m2 = other.n, other.mean, other.m2
            return
        n = self.n + other.n
        step = other.mean - self.mean
        self.mean += step * other.n / n
        self.m2 += other.m2 + step * step * self.n * other.n / n
        self.n = n

    @property
    def variance(self) -> float:
        """Sample variance (n - 1 denominator); 0.0 below two values."""
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    def copy(self) -> Moments:
        return Moments(self.n, self.mean, self.m2)

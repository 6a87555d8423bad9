"""The mixture SPRT, its confidence sequence, the SRM check and the moments, against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from infertel.rollout._stats import (
    Moments,
    chi_square_srm,
    half_width,
    mean_difference,
    mixture_log_lr,
    two_proportion,
)


def _mixture_lr_by_quadrature(delta: float, variance: float, tau2: float) -> float:
    """The definition: integral over theta ~ N(0, tau2) of N(delta; theta, V) / N(delta; 0, V)."""
    sd, tau = math.sqrt(variance), math.sqrt(tau2)
    numerator, _ = integrate.quad(
        lambda theta: stats.norm.pdf(delta, theta, sd) * stats.norm.pdf(theta, 0.0, tau),
        -12 * tau + delta, 12 * tau + delta, points=[delta, 0.0], limit=200,
    )
    return float(numerator / stats.norm.pdf(delta, 0.0, sd))


@pytest.mark.parametrize(("delta", "variance", "tau2"), [
    (0.0, 1e-4, 1e-4),
    (0.01, 2e-5, 1e-4),
    (-0.03, 1e-4, 4e-4),
    (0.2, 0.01, 0.01),
    (0.05, 0.004, 0.0025),
])
def test_mixture_likelihood_ratio_matches_its_integral(delta: float, variance: float,
                                                       tau2: float) -> None:
    closed = math.exp(mixture_log_lr(delta, variance, tau2))
    assert closed == pytest.approx(_mixture_lr_by_quadrature(delta, variance, tau2), rel=1e-7)


@pytest.mark.parametrize(("variance", "tau2", "alpha"), [
    (1e-4, 1e-4, 0.05), (3e-5, 1e-4, 0.01), (0.02, 0.005, 0.0015),
])
def test_half_width_is_where_the_shifted_test_crosses_one_over_alpha(
        variance: float, tau2: float, alpha: float) -> None:
    """Inverting the test: theta0 = delta + h is exactly on the rejection boundary."""
    width = half_width(variance, tau2, alpha)
    boundary = optimize.brentq(
        lambda h: mixture_log_lr(h, variance, tau2) - math.log(1 / alpha), 1e-12, 10.0,
        xtol=1e-14,
    )
    assert width == pytest.approx(boundary, rel=1e-9)


def test_functions_run_on_numpy_arrays_with_the_same_values() -> None:
    rng = np.random.default_rng(3)
    delta = rng.normal(0, 0.02, 50)
    variance = rng.uniform(1e-5, 1e-3, 50)
    vector = mixture_log_lr(delta, variance, 1e-4, xp=np)
    scalars = [mixture_log_lr(float(d), float(v), 1e-4)
               for d, v in zip(delta, variance, strict=True)]
    np.testing.assert_allclose(vector, scalars, rtol=1e-12)
    np.testing.assert_allclose(half_width(variance, 1e-4, 0.05, xp=np),
                               [half_width(float(v), 1e-4, 0.05) for v in variance], rtol=1e-12)


def test_two_proportion_uses_the_pooled_null_variance() -> None:
    delta, variance = two_proportion(1000, 10, 400, 9)
    pooled = 19 / 1400
    assert delta == pytest.approx(9 / 400 - 10 / 1000)
    assert variance == pytest.approx(pooled * (1 - pooled) * (1 / 1000 + 1 / 400))


def test_mean_difference_variance_is_welch() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 300), rng.normal(0.3, 2, 120)
    delta, variance = mean_difference(len(a), a.mean(), a.var(ddof=1),
                                      len(b), b.mean(), b.var(ddof=1))
    # scipy's Welch t statistic is delta / sqrt(variance).
    welch = stats.ttest_ind(b, a, equal_var=False)
    assert delta / math.sqrt(variance) == pytest.approx(welch.statistic, rel=1e-10)


@pytest.mark.parametrize(("observed", "share"), [
    ((5000, 5000), 0.5), ((5100, 4900), 0.5), ((9000, 1150), 0.1), ((7400, 2600), 0.25),
    ((3, 1), 0.5), ((10_000, 0), 0.5),
])
def test_srm_chi_square_matches_scipy(observed: tuple[int, int], share: float) -> None:
    statistic, p_value = chi_square_srm(observed, (1 - share, share))
    total = sum(observed)
    reference = stats.chisquare(observed, f_exp=[total * (1 - share), total * share])
    assert statistic == pytest.approx(reference.statistic, rel=1e-12, abs=1e-12)
    assert p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)


def test_srm_flags_a_lost_share_at_the_growthbook_threshold() -> None:
    # 10% of the canary's traffic lost: 50/50 planned, 5000 vs 4500 seen.
    _, p_value = chi_square_srm((5000, 4500), (0.5, 0.5))
    assert p_value < 0.001
    _, p_value = chi_square_srm((5000, 4950), (0.5, 0.5))
    assert p_value > 0.001


def test_moments_match_numpy_and_merge_like_one_sample() -> None:
    rng = np.random.default_rng(11)
    values = rng.lognormal(-4, 0.5, 1001)
    whole, left, right = Moments(), Moments(), Moments()
    for v in values:
        whole.add(float(v))
    for v in values[:377]:
        left.add(float(v))
    for v in values[377:]:
        right.add(float(v))
    left.merge(right)
    for moments in (whole, left):
        assert moments.n == 1001
        assert moments.mean == pytest.approx(values.mean(), rel=1e-12)
        assert moments.variance == pytest.approx(values.var(ddof=1), rel=1e-10)
    empty = Moments()
    empty.merge(whole)
    assert (empty.n, empty.mean) == (whole.n, whole.mean)
    assert Moments(1, 3.0, 0.0).variance == 0.0

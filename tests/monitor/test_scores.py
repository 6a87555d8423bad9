"""Every score against a reference (scipy, or a straightforward implementation written here)
on the same data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance
from scipy.stats.contingency import association

from infertel.monitor import (
    PSI_EPSILON,
    Baseline,
    NumericFeature,
    chi_square,
    feature_scores,
    js_distance,
    ks_exact,
    ks_from_bins,
    psi,
    wasserstein_from_bins,
)
from infertel.monitor._scores import bin_positions


def reference_psi(expected: np.ndarray, actual: np.ndarray, eps: float) -> float:
    """PSI as the textbook writes it: shares, empty shares raised to eps, sum (a-e) ln(a/e)."""
    e = np.clip(expected / expected.sum(), eps, None)
    a = np.clip(actual / actual.sum(), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def bin_counts(feature: NumericFeature, values: np.ndarray) -> list[int]:
    index = np.searchsorted(np.asarray(feature.bounds), values, side="left")
    return np.bincount(index, minlength=len(feature.bounds) + 1).tolist()


SHIFTS = [0.0, 0.1, 0.5, 1.0]


@pytest.fixture(scope="module")
def reference_sample() -> np.ndarray:
    return np.random.default_rng(0).normal(0.0, 1.0, 20_000)


@pytest.fixture(scope="module")
def feature(reference_sample) -> NumericFeature:
    built = Baseline.from_frame(pd.DataFrame({"x": reference_sample})).features["x"]
    assert isinstance(built, NumericFeature)
    return built


@pytest.mark.parametrize("shift", SHIFTS)
@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_ks_exact_and_binned_against_scipy(reference_sample, feature, shift, scale):
    current = np.random.default_rng(1).normal(shift, scale, 5_000)
    expected = ks_2samp(reference_sample, current).statistic
    assert ks_exact(reference_sample, current) == pytest.approx(expected, abs=1e-3)
    binned = ks_from_bins(bin_counts(feature, reference_sample), bin_counts(feature, current))
    assert abs(binned - expected) <= 1 / 20
    assert binned <= expected + 1e-12  # the binned gap is one of the gaps the exact KS sees


def test_ks_exact_with_ties_matches_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 5, 700), rng.integers(1, 6, 900)
    assert ks_exact(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-3)


@pytest.mark.parametrize("shift", SHIFTS)
def test_js_distance_against_scipy(reference_sample, feature, shift):
    current = np.random.default_rng(2).normal(shift, 1.0, 5_000)
    p, q = bin_counts(feature, reference_sample), bin_counts(feature, current)
    assert js_distance(p, q) == pytest.approx(
        float(jensenshannon(np.array(p, float), np.array(q, float), base=2)), abs=1e-12)


@pytest.mark.parametrize("shift", SHIFTS)
def test_wasserstein_against_scipy(reference_sample, feature, shift):
    current = np.random.default_rng(4).normal(shift, 1.0, 5_000)
    p, q = bin_counts(feature, reference_sample), bin_counts(feature, current)
    positions = bin_positions(feature)
    binned = wasserstein_from_bins(p, q, positions, feature.std)
    # The same binned distributions given to scipy, with the same positions as support.
    reference = wasserstein_distance(positions, positions, p, q) / feature.std
    assert binned == pytest.approx(reference, abs=1e-9)
    # And close to the distance between the raw samples (binning moves mass within a bin).
    raw = wasserstein_distance(reference_sample, current) / feature.std
    assert binned == pytest.approx(raw, abs=0.06)


def test_chi_square_and_cramers_v_against_scipy():
    rng = np.random.default_rng(5)
    base = np.bincount(rng.choice(5, 4000, p=[0.4, 0.3, 0.2, 0.1, 0.0]), minlength=6)
    current = np.bincount(rng.choice(5, 1500, p=[0.3, 0.3, 0.2, 0.15, 0.05]), minlength=6)
    table = np.array([base, current])
    table = table[:, table.sum(axis=0) > 0]  # scipy refuses empty columns
    result = chi_square(base.tolist(), current.tolist())
    expected = chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.dof == expected.dof
    assert result.cramers_v == pytest.approx(association(table, method="cramer"), rel=1e-9)


@pytest.mark.parametrize("shift", SHIFTS)
def test_psi_against_reference(reference_sample, feature, shift):
    current = np.random.default_rng(6).normal(shift, 1.0, 5_000)
    p = np.array(bin_counts(feature, reference_sample), float)
    q = np.array(bin_counts(feature, current), float)
    assert psi(p.tolist(), q.tolist()) == pytest.approx(reference_psi(p, q, PSI_EPSILON),
                                                        rel=1e-12)


def test_psi_of_a_half_sd_shift_is_near_the_textbook_value(feature):
    """For normal data PSI ~= shift^2 (symmetric KL); 20 quantile bins lose a little."""
    from scipy.stats import norm

    edges = np.array([-np.inf, *feature.bounds, np.inf])
    shifted = np.diff(norm.cdf(edges, loc=0.5))
    assert psi(feature.shares, shifted.tolist()) == pytest.approx(0.245, abs=0.02)


weights = st.lists(st.integers(0, 1000), min_size=2, max_size=30)


@settings(max_examples=200, deadline=None)
@given(weights, st.data())
def test_score_properties(p, data):
    q = data.draw(st.lists(st.integers(0, 1000), min_size=len(p), max_size=len(p)))
    if sum(p) == 0 or sum(q) == 0:
        return
    assert psi(p, p) == pytest.approx(0.0, abs=1e-12)
    assert js_distance(p, p) == pytest.approx(0.0, abs=1e-7)
    assert psi(p, q) >= -1e-12
    assert 0.0 <= js_distance(p, q) <= 1.0 + 1e-12
    assert js_distance(p, q) == pytest.approx(js_distance(q, p), abs=1e-12)
    assert 0.0 <= ks_from_bins(p, q) <= 1.0 + 1e-12
    expected = float(jensenshannon(np.array(p, float), np.array(q, float), base=2))
    assert js_distance(p, q) == pytest.approx(expected, abs=1e-9)


def test_feature_scores_check_bin_count(feature):
    with pytest.raises(ValueError, match="expected 22 bin counts"):
        feature_scores(feature, [1, 2, 3])
    scores = feature_scores(feature, feature.shares)
    assert all(math.isclose(v, 0.0, abs_tol=1e-12) for v in scores.values())

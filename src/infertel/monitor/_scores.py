"""Drift scores as pure functions of bin counts (plus one exact KS on raw samples).

Every function takes the baseline side and the current side as non-negative weights per bin
(counts or shares: each side is normalised here), so scores computed from one process's counts,
from a fleet's merged histograms or from a baseline file agree by construction. No numpy: a
window has a few dozen bins, and the worker should not pay for array set-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from infertel.monitor._schema import CategoricalFeature, NumericFeature

Weights = Sequence[float]

# PSI divides by each side's share and takes its log, so an empty bin on either side would make
# it infinite. Empty shares are raised to this floor (1e-4, the value Evidently and most PSI
# write-ups use: small enough that a bin seen 1 time in 1,000 still counts almost fully).
PSI_EPSILON: Final = 1e-4

METRIC_PSI: Final = "psi"
METRIC_JS: Final = "js_distance"
METRIC_WASSERSTEIN: Final = "wasserstein_norm"
METRIC_KS: Final = "ks"
METRIC_CHI2: Final = "chi2"
METRIC_CRAMERS_V: Final = "cramers_v"


def shares(weights: Weights) -> list[float]:
    """Weights normalised to sum to one (all zeros stays all zeros)."""
    total = float(sum(weights))
    if total <= 0:
        return [0.0] * len(weights)
    return [w / total for w in weights]


def _same_length(baseline: Weights, current: Weights) -> None:
    if len(baseline) != len(current):
        raise ValueError(f"bin counts differ in length: {len(baseline)} vs {len(current)}")


def psi(baseline: Weights, current: Weights, *, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index: sum over bins of (q - p) * ln(q / p)."""
    _same_length(baseline, current)
    p, q = shares(baseline), shares(current)
    total = 0.0
    for expected, actual in zip(p, q, strict=True):
        expected, actual = max(expected, epsilon), max(actual, epsilon)
        total += (actual - expected) * math.log(actual / expected)
    return total


def psi_contributions(baseline: Weights, current: Weights, *,
                      epsilon: float = PSI_EPSILON) -> list[float]:
    """Each bin's term of :func:`psi` (all non-negative): which bins moved the most."""
    _same_length(baseline, current)
    p, q = shares(baseline), shares(current)
    terms = []
    for expected, actual in zip(p, q, strict=True):
        expected, actual = max(expected, epsilon), max(actual, epsilon)
        terms.append((actual - expected) * math.log(actual / expected))
    return terms


def js_distance(baseline: Weights, current: Weights) -> float:
    """Jensen-Shannon distance, base 2 (in [0, 1]): the square root of the JS divergence."""
    _same_length(baseline, current)
    p, q = shares(baseline), shares(current)
    divergence = 0.0
    for a, b in zip(p, q, strict=True):
        m = (a + b) / 2
        if a > 0:
            divergence += 0.5 * a * math.log2(a / m)
        if b > 0:
            divergence += 0.5 * b * math.log2(b / m)
    return math.sqrt(max(divergence, 0.0))


def ks_from_bins(baseline: Weights, current: Weights) -> float:
    """Kolmogorov-Smirnov statistic on the binned CDFs (largest gap at a bin edge).

    The exact statistic can only be larger, by less than the mass of one bin.
    """
    _same_length(baseline, current)
    p, q = shares(baseline), shares(current)
    gap = cdf_p = cdf_q = 0.0
    for a, b in zip(p, q, strict=True):
        cdf_p += a
        cdf_q += b
        gap = max(gap, abs(cdf_p - cdf_q))
    return gap


def wasserstein_from_bins(baseline: Weights, current: Weights, positions: Sequence[float],
                          scale: float = 1.0) -> float:
    """Earth mover's distance between the binned distributions, each bin's mass placed at
    ``positions[i]``, divided by ``scale`` (the baseline's standard deviation: the result is
    then in standard deviations, comparable across features)."""
    _same_length(baseline, current)
    _same_length(baseline, positions)
    p, q = shares(baseline), shares(current)
    distance = cdf_p = cdf_q = 0.0
    for i in range(len(p) - 1):
        cdf_p += p[i]
        cdf_q += q[i]
        distance += abs(cdf_p - cdf_q) * (positions[i + 1] - positions[i])
    return distance / scale if scale > 0 else distance


class ChiSquare(NamedTuple):
    statistic: float
    dof: int
    cramers_v: float  # effect size in [0, 1]: chi-square alone grows with the sample


def chi_square(baseline_counts: Weights, current_counts: Weights) -> ChiSquare:
    """Pearson chi-square test of homogeneity on the 2 x k table (no continuity correction),
    bins empty on both sides left out, as ``scipy.stats.chi2_contingency`` needs."""
    _same_length(baseline_counts, current_counts)
    columns = [(a, b) for a, b in zip(baseline_counts, current_counts, strict=True)
               if a + b > 0]
    row_a = sum(a for a, _ in columns)
    row_b = sum(b for _, b in columns)
    total = row_a + row_b
    if len(columns) < 2 or row_a <= 0 or row_b <= 0:
        return ChiSquare(0.0, max(len(columns) - 1, 0), 0.0)
    statistic = 0.0
    for a, b in columns:
        column = a + b
        for observed, row in ((a, row_a), (b, row_b)):
            expected = row * column / total
            statistic += (observed - expected) ** 2 / expected
    dof = len(columns) - 1
    return ChiSquare(statistic, dof, math.sqrt(statistic / total))


def ks_exact(baseline_values: Sequence[float], current_values: Sequence[float]) -> float:
    """The two-sample KS statistic on raw samples (what ``scipy.stats.ks_2samp`` reports).

    For offline checks and benchmarks: run-time code never holds raw values.
    """
    import numpy as np

    a = np.sort(np.asarray(baseline_values, dtype=np.float64))
    b = np.sort(np.asarray(current_values, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        raise ValueError("both samples need at least one value")
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


# ------------------------------------------------------------------- per feature kind
def bin_positions(feature: NumericFeature) -> list[float]:
    """Where each bucket's mass sits for Wasserstein: the baseline's mean inside the bucket."""
    return list(feature.centers)


def numeric_scores(feature: NumericFeature, counts: Weights) -> dict[str, float]:
    base = feature.shares
    return {
        METRIC_PSI: psi(base, counts),
        METRIC_JS: js_distance(base, counts),
        METRIC_WASSERSTEIN: wasserstein_from_bins(base, counts, bin_positions(feature),
                                                  feature.std),
        METRIC_KS: ks_from_bins(base, counts),
    }


def categorical_scores(feature: CategoricalFeature, counts: Weights) -> dict[str, float]:
    base = feature.shares
    # The baseline side of the table as counts, so chi-square weighs both samples' sizes.
    expected_counts = [share * feature.count for share in base]
    test = chi_square(expected_counts, counts)
    return {
        METRIC_PSI: psi(base, counts),
        METRIC_JS: js_distance(base, counts),
        METRIC_CHI2: test.statistic,
        METRIC_CRAMERS_V: test.cramers_v,
    }


def feature_scores(feature: NumericFeature | CategoricalFeature,
                   counts: Weights) -> dict[str, float]:
    if len(counts) != feature.n_bins:
        raise ValueError(f"expected {feature.n_bins} bin counts, got {len(counts)}")
    if feature.kind == "numeric":
        return numeric_scores(feature, counts)
    return categorical_scores(feature, counts)

"""Monitoring inputs and predictions against a training baseline (extra: ``infertel[monitor]``).

Baselines are built offline (:meth:`Baseline.from_frame`, ``infertel baseline build``); at run
time only bin counts leave the process. Scores are pure functions of bin counts, so one process,
a fleet's merged histograms and the CLI compute them with the same code.
"""

from __future__ import annotations

from infertel.monitor._baseline import (
    OTHER,
    Baseline,
    BaselineError,
    CategoricalFeature,
    NumericFeature,
    PredictionBaseline,
    Provenance,
)
from infertel.monitor._scores import (
    PSI_EPSILON,
    ChiSquare,
    chi_square,
    feature_scores,
    js_distance,
    ks_exact,
    ks_from_bins,
    psi,
    psi_contributions,
    wasserstein_from_bins,
)

__all__ = [
    "OTHER",
    "PSI_EPSILON",
    "Baseline",
    "BaselineError",
    "CategoricalFeature",
    "ChiSquare",
    "NumericFeature",
    "PredictionBaseline",
    "Provenance",
    "chi_square",
    "feature_scores",
    "js_distance",
    "ks_exact",
    "ks_from_bins",
    "psi",
    "psi_contributions",
    "wasserstein_from_bins",
]

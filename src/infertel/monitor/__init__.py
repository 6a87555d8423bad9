"""Monitoring inputs and predictions against a training baseline (extra: ``infertel[monitor]``).

Baselines are built offline (:meth:`Baseline.from_frame`, ``infertel baseline build``); at run
time only bin counts leave the process. Scores are pure functions of bin counts, so one process,
a fleet's merged histograms and the CLI compute them with the same code.
"""

from __future__ import annotations

from infertel.monitor._baseline import Baseline
from infertel.monitor._binner import MISSING, VIOLATION_KINDS, FeatureBinner
from infertel.monitor._config import DriftConfig, parse_window
from infertel.monitor._monitor import DriftMonitor, ScoreRecord, TickResult, top_bins
from infertel.monitor._schema import (
    OTHER,
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
from infertel.monitor._windows import DEFAULT_THRESHOLDS, DriftRules, FeatureState, StateChange

__all__ = [
    "DEFAULT_THRESHOLDS",
    "MISSING",
    "OTHER",
    "PSI_EPSILON",
    "VIOLATION_KINDS",
    "Baseline",
    "BaselineError",
    "CategoricalFeature",
    "ChiSquare",
    "DriftConfig",
    "DriftMonitor",
    "DriftRules",
    "FeatureBinner",
    "FeatureState",
    "NumericFeature",
    "PredictionBaseline",
    "Provenance",
    "ScoreRecord",
    "StateChange",
    "TickResult",
    "chi_square",
    "feature_scores",
    "js_distance",
    "ks_exact",
    "ks_from_bins",
    "parse_window",
    "psi",
    "psi_contributions",
    "top_bins",
    "wasserstein_from_bins",
]

"""infertel's drift scores against Evidently's drift methods, on the same data.

Run in the benchmark venv (Evidently is not an infertel dependency)::

    .venv-bench/bin/python benchmarks/bench_drift_reference.py [--out FILE.json]

Two comparisons per scenario (a 20,000-row normal reference, 5,000-row current windows):

(a) *Same bins*: the current and reference samples are replaced by their infertel bin index
    and handed to Evidently as a categorical column, so Evidently bins exactly as infertel
    does. PSI and JS distance must then agree to rounding (Evidently raises empty shares to
    1e-4 for PSI as infertel does; JS needs no floor). This checks the arithmetic.
(b) *Raw data*: Evidently on the raw values with its own binning (Sturges bins over the
    combined sample for PSI and JS; exact Wasserstein over raw values, normalised by the
    reference std; KS p-value). infertel's scores come from its 22 baseline-quantile buckets,
    so the numbers differ by design; the table shows how much, and that both sides reach the
    same verdict where the shift is real (>= 0.5 sd), while Evidently's KS p-value (and its
    Wasserstein at its 0.1 default) already flag a 0.1 sd shift that infertel's effect-size
    levels leave at ``ok``.

Chi-square is not compared: Evidently runs a goodness-of-fit test (scipy.stats.chisquare) and
reports only its p-value; infertel's homogeneity statistic is checked against
scipy.stats.chi2_contingency in tests/monitor/test_scores.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

# Evidently ships usage telemetry; this benchmark sends nothing anywhere.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")

import numpy as np
import pandas as pd

from infertel.monitor import Baseline, NumericFeature, ks_exact
from infertel.monitor._scores import numeric_scores

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {  # name -> (mean shift in sd, scale factor)
    "no_drift": (0.0, 1.0),
    "shift_0.05sd": (0.05, 1.0),
    "shift_0.1sd": (0.1, 1.0),
    "shift_0.25sd": (0.25, 1.0),
    "shift_0.5sd": (0.5, 1.0),
    "shift_1sd": (1.0, 1.0),
    "scale_1.5x": (0.0, 1.5),
}
REFERENCE_ROWS, CURRENT_ROWS = 20_000, 5_000


def evidently_methods():  # type: ignore[no-untyped-def]
    from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
    from evidently.legacy.calculations.stattests.ks_stattest import _ks_stat_test
    from evidently.legacy.calculations.stattests.psi import _psi
    from evidently.legacy.calculations.stattests.wasserstein_distance_norm import (
        _wasserstein_distance_norm,
    )
    from evidently.legacy.core import ColumnType

    return _psi, _jensenshannon, _wasserstein_distance_norm, _ks_stat_test, ColumnType


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "drift_reference.json")
    args = parser.parse_args()
    psi_e, js_e, wd_e, ks_e, column_type = evidently_methods()
    import evidently

    rng = np.random.default_rng(2026)
    reference = rng.normal(0.0, 1.0, REFERENCE_ROWS)
    feature = Baseline.from_frame(pd.DataFrame({"x": reference})).features["x"]
    assert isinstance(feature, NumericFeature)
    bounds = np.asarray(feature.bounds)
    ref_bins = np.searchsorted(bounds, reference, side="left")
    rows = []
    worst_same_bins = 0.0
    for name, (shift, scale) in SCENARIOS.items():
        current = rng.normal(shift, scale, CURRENT_ROWS)
        cur_bins = np.searchsorted(bounds, current, side="left")
        counts = np.bincount(cur_bins, minlength=feature.n_bins).tolist()
        ours = numeric_scores(feature, counts)
        ours["ks_exact"] = ks_exact(reference, current)
        cat = column_type.Categorical
        same_psi = float(psi_e(pd.Series(ref_bins), pd.Series(cur_bins), cat, 0.1)[0])
        same_js = float(js_e(pd.Series(ref_bins), pd.Series(cur_bins), cat, 0.1, base=2)[0])
        num = column_type.Numerical
        raw_ref, raw_cur = pd.Series(reference), pd.Series(current)
        evid = {
            "psi_same_bins": same_psi,
            "js_distance_same_bins": same_js,
            "psi_raw_sturges": float(psi_e(raw_ref, raw_cur, num, 0.1)[0]),
            "js_distance_raw_sturges": float(js_e(raw_ref, raw_cur, num, 0.1, base=2)[0]),
            "wasserstein_norm_raw": float(wd_e(raw_ref, raw_cur, num, 0.1)[0]),
            "ks_p_value": float(ks_e(raw_ref, raw_cur, num, 0.05)[0]),
        }
        # Evidently's PSI is computed on shares of the *whole* sample of each side; infertel's
        # baseline shares come from the same reference, so (a) must match to rounding.
        diff = max(abs(ours["psi"] - same_psi), abs(ours["js_distance"] - same_js))
        worst_same_bins = max(worst_same_bins, diff)
        rows.append({
            "scenario": name, "shift_sd": shift, "scale": scale,
            "infertel": {k: round(v, 6) for k, v in ours.items()},
            "evidently": {k: round(v, 6) for k, v in evid.items()},
            "same_bins_abs_diff": diff,
            "wasserstein_binned_minus_raw": round(ours["wasserstein_norm"]
                                                  - evid["wasserstein_norm_raw"], 6),
            "verdicts": {
                "infertel_psi_level": _level(ours["psi"], 0.1, 0.25),
                "infertel_js_level": _level(ours["js_distance"], 0.1, 0.2),
                "evidently_psi_drift": evid["psi_raw_sturges"] >= 0.1,
                "evidently_js_drift": evid["js_distance_raw_sturges"] >= 0.1,
                "evidently_wasserstein_drift": evid["wasserstein_norm_raw"] >= 0.1,
                "evidently_ks_drift": evid["ks_p_value"] < 0.05,
            },
        })
    result = {
        "benchmark": "drift_reference",
        "evidently": evidently.__version__,
        "python": platform.python_version(),
        "reference_rows": REFERENCE_ROWS,
        "current_rows": CURRENT_ROWS,
        "bins": feature.n_bins,
        "max_same_bins_abs_diff": worst_same_bins,
        "scenarios": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for row in rows:
        o, e = row["infertel"], row["evidently"]
        print(f"{row['scenario']:>13}  psi {o['psi']:.4f} (evidently same bins "
              f"{e['psi_same_bins']:.4f}, sturges {e['psi_raw_sturges']:.4f})  js "
              f"{o['js_distance']:.4f} ({e['js_distance_same_bins']:.4f}, "
              f"{e['js_distance_raw_sturges']:.4f})  W {o['wasserstein_norm']:.4f} "
              f"(raw {e['wasserstein_norm_raw']:.4f})  KS p {e['ks_p_value']:.2g}")
    print(f"largest same-bins difference: {worst_same_bins:.2e} -> {args.out}")
    return 0 if worst_same_bins < 1e-9 else 1


def _level(value: float, warn: float, alert: float) -> str:
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


if __name__ == "__main__":
    sys.exit(main())

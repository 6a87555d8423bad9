"""infertel's mixture SPRT against an independent implementation, on the same data.

Runs in the benchmark venv, which holds the reference packages (pinned in
benchmarks/constraints-bench.txt):

    .venv-bench/bin/python benchmarks/bench_rollout_reference.py \
        --out benchmarks/results/rollout_reference.json

(a) ``sequential_analysis.procedures.mixture.NormalMixtureSPRT`` (sequential-analysis) is the
    one-sample normal mSPRT of Johari et al. Two-sample data in pairs (a_i, b_i) give
    d_i = b_i - a_i ~ N(theta, sigma_a^2 + sigma_b^2), and infertel's two-sample statistic with
    V = (sigma_a^2 + sigma_b^2) / n is then the same quantity: log Lambda, the always-valid
    p-value (running minimum), the confidence sequence and the first rejection are compared
    at every n.
(b) The guard's error-rate test plugs in the pooled variance; against the known-variance
    reference on Bernoulli pairs, how often the first rejection falls at the same n.
(c) Sample-ratio mismatch: infertel's chi-square (scipy.stats.chisquare as reference) and, for
    context, the always-valid Dirichlet-multinomial SRM tests of savvi (``Multinomial``) and
    sequential-analysis (``SampleRatioMismatch``) on the same arrival sequences; the two
    always-valid ones implement the same Bayes factor and are compared with each other.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from savvi.multinomial import Multinomial
from scipy import stats
from sequential_analysis.procedures.ab import SampleRatioMismatch
from sequential_analysis.procedures.mixture import NormalMixtureSPRT

from infertel.rollout._stats import chi_square_srm, half_width, mixture_log_lr, two_proportion

ALPHA = 0.05


def _reference_path(procedure: NormalMixtureSPRT, d: np.ndarray) -> dict[str, np.ndarray]:
    state = procedure.initial_state()
    fields: dict[str, list[float]] = {"log_lambda": [], "p_value": [], "lower": [], "upper": []}
    first = -1
    for i, value in enumerate(d):
        state, out = procedure.step(state, {"x": float(value)})
        for name in fields:
            fields[name].append(getattr(out, name))
        if first < 0 and out.decision is not None:
            first = i + 1
    result = {name: np.array(values) for name, values in fields.items()}
    result["first"] = np.array(first)
    return result


def _ours_path(a: np.ndarray, b: np.ndarray, var_a: float, var_b: float, tau: float
               ) -> dict[str, np.ndarray]:
    n = np.arange(1, len(a) + 1)
    delta = np.cumsum(b) / n - np.cumsum(a) / n
    variance = (var_a + var_b) / n
    log_lr = mixture_log_lr(delta, variance, tau * tau, xp=np)
    width = half_width(variance, tau * tau, ALPHA, xp=np)
    crossed = np.nonzero(log_lr >= math.log(1 / ALPHA))[0]
    return {"log_lambda": log_lr,
            "p_value": np.minimum(1.0, np.exp(-np.maximum.accumulate(np.maximum(log_lr, 0.0)))),
            "lower": delta - width, "upper": delta + width,
            "first": np.array(crossed[0] + 1 if len(crossed) else -1)}


def compare_normal(seeds: int, n: int) -> dict[str, object]:
    configs = [  # (sigma_a, sigma_b, tau, true effect)
        (1.0, 1.0, 0.1, 0.0), (1.0, 1.0, 0.1, 0.1), (0.5, 0.7, 0.05, 0.08), (2.0, 1.0, 0.5, 0.0),
        (0.4, 0.4, 0.1, 0.0729),  # p95 +20% under log-latency sd 0.4: log(1.2) * 0.4 / 1
    ]
    worst = {"log_lambda_abs": 0.0, "p_value_abs": 0.0, "ci_abs": 0.0}
    same_first, rejections, runs = 0, 0, 0
    for sigma_a, sigma_b, tau, effect in configs:
        sigma = math.sqrt(sigma_a ** 2 + sigma_b ** 2)
        for seed in range(seeds):
            rng = np.random.default_rng(1000 * seed + 7)
            a = rng.normal(0.0, sigma_a, n)
            b = rng.normal(effect, sigma_b, n)
            ref = _reference_path(NormalMixtureSPRT(sigma=sigma, tau=tau, alpha=ALPHA,
                                                    stop_on_reject=False), b - a)
            ours = _ours_path(a, b, sigma_a ** 2, sigma_b ** 2, tau)
            worst["log_lambda_abs"] = max(worst["log_lambda_abs"], float(
                np.max(np.abs(ref["log_lambda"] - ours["log_lambda"]))))
            worst["p_value_abs"] = max(worst["p_value_abs"], float(
                np.max(np.abs(ref["p_value"] - ours["p_value"]))))
            worst["ci_abs"] = max(worst["ci_abs"], float(max(
                np.max(np.abs(ref["lower"] - ours["lower"])),
                np.max(np.abs(ref["upper"] - ours["upper"])))))
            same_first += int(ref["first"]) == int(ours["first"])
            rejections += int(ref["first"]) > 0
            runs += 1
    return {"runs": runs, "observations_per_run": n, "configs": configs,
            "max_abs_difference": worst, "same_first_rejection": same_first,
            "runs_with_a_rejection": rejections}


def compare_error_rate(seeds: int, n: int) -> dict[str, object]:
    """Known-variance reference vs the guard's pooled plug-in variance on Bernoulli pairs:
    rejections and the n of the first rejection (both from n = 200, the guard's minimum)."""
    results = []
    for p_a, p_b in ((0.01, 0.01), (0.01, 0.02), (0.05, 0.065)):
        sigma = math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))
        agree, verdict, ref_rejects, our_rejects = 0, 0, 0, 0
        ref_n: list[int] = []
        our_n: list[int] = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed + 99)
            a = (rng.random(n) < p_a).astype(float)
            b = (rng.random(n) < p_b).astype(float)
            ref = _reference_path(NormalMixtureSPRT(sigma=sigma, tau=0.01, alpha=ALPHA,
                                                    stop_on_reject=False), b - a)
            k = np.arange(1, n + 1)
            delta, variance = two_proportion(k, np.cumsum(a), k, np.cumsum(b))
            with np.errstate(divide="ignore", invalid="ignore"):
                log_lr = np.where(variance > 0, mixture_log_lr(delta, variance, 1e-4, xp=np), 0)
            crossed = np.nonzero((log_lr >= math.log(1 / ALPHA)) & (k >= 200))[0]
            first = int(crossed[0] + 1) if len(crossed) else -1
            ref_crossed = np.nonzero((ref["log_lambda"] >= math.log(1 / ALPHA)) & (k >= 200))[0]
            ref_first = int(ref_crossed[0] + 1) if len(ref_crossed) else -1
            ref_rejects += ref_first > 0
            our_rejects += first > 0
            agree += first == ref_first
            verdict += (first > 0) == (ref_first > 0)
            if first > 0:
                our_n.append(first)
            if ref_first > 0:
                ref_n.append(ref_first)
        results.append({"p_baseline": p_a, "p_candidate": p_b, "runs": seeds,
                        "reference_rejects": ref_rejects, "plug_in_rejects": our_rejects,
                        "same_verdict": verdict, "same_first_rejection": agree,
                        "median_n_reference": float(np.median(ref_n)) if ref_n else None,
                        "median_n_plug_in": float(np.median(our_n)) if our_n else None})
    return {"observations_per_run": n, "tau": 0.01, "min_samples": 200, "cases": results}


def compare_srm(seeds: int, n: int) -> dict[str, object]:
    max_stat, max_p = 0.0, 0.0
    rng = np.random.default_rng(5)
    for _ in range(200):
        counts = (int(rng.integers(0, 10_000)), int(rng.integers(0, 10_000)))
        share = float(rng.uniform(0.05, 0.95))
        ours = chi_square_srm(counts, (1 - share, share))
        total = sum(counts)
        ref = stats.chisquare(counts, f_exp=[total * (1 - share), total * share])
        max_stat = max(max_stat, abs(ours[0] - float(ref.statistic)) / max(1.0, ours[0]))
        max_p = max(max_p, abs(ours[1] - float(ref.pvalue)))
    cases = []
    for label, share_seen in (("correct split 50/50", 0.5),
                              ("10% of canary lost", 0.5 * 0.9 / 0.95)):
        flagged = {"chi_square_each_look": 0, "savvi": 0, "sequential_analysis": 0}
        first_n: dict[str, list[int]] = {key: [] for key in flagged}
        agree_bf = 0.0
        for seed in range(seeds):
            arms = (np.random.default_rng(seed).random(n) < share_seen).astype(int)
            savvi_test = Multinomial(
                0.001, np.array([0.5, 0.5]), k=100)
            sa = SampleRatioMismatch((0.5, 0.5), alpha=0.001, concentration=100.0)
            state = sa.initial_state()
            counts = [0, 0]
            done = dict.fromkeys(flagged, False)
            for i, arm in enumerate(arms, start=1):
                counts[arm] += 1
                x = np.zeros(2, dtype=np.int64)
                x[arm] = 1
                savvi_test.update(x)
                state, out = sa.step(state, {"arm": int(arm)})
                if i % 100 == 0:  # a look every 100 units
                    agree_bf = max(agree_bf, abs(math.log(savvi_test.odds) - out.log_e_value))
                    p_chi = chi_square_srm((counts[0], counts[1]), (0.5, 0.5))[1]
                    verdicts = {"chi_square_each_look": i >= 400 and p_chi < 0.001,
                                "savvi": savvi_test.calculate_p_value() < 0.001,
                                "sequential_analysis": out.p_value < 0.001}
                    for key, hit in verdicts.items():
                        if hit and not done[key]:
                            done[key] = True
                            flagged[key] += 1
                            first_n[key].append(i)
        cases.append({"case": label, "runs": seeds, "units": n, "flagged": flagged,
                      "median_units_to_flag": {k: (float(np.median(v)) if v else None)
                                               for k, v in first_n.items()},
                      "max_abs_log_bayes_factor_savvi_vs_sequential_analysis": agree_bf})
    return {"chi_square_vs_scipy": {"max_rel_statistic": max_stat, "max_abs_p": max_p,
                                    "cases": 200},
            "sequential": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/rollout_reference.json"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds, n = (3, 2000) if args.quick else (20, 5000)
    started = time.perf_counter()
    result = {
        "what": "infertel.rollout mSPRT vs sequential-analysis NormalMixtureSPRT; SRM vs scipy, "
                "savvi, sequential-analysis",
        "versions": {pkg: version(pkg) for pkg in ("sequential-analysis", "savvi", "scipy",
                                                    "numpy")},
        "python": platform.python_version(),
        "normal_mixture": compare_normal(seeds, n),
        "error_rate_plug_in": compare_error_rate(seeds * 10, n * 4),
        "srm": compare_srm(max(3, seeds // 2), 20_000 if not args.quick else 4000),
        "seconds": None,
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

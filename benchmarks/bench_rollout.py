"""Simulated rollouts: false-rollback rate of A/A canaries, power and calls-to-decision.

    .venv/bin/python benchmarks/bench_rollout.py --out benchmarks/results/rollout.json

The rule is the guard's own (infertel.rollout._simulate, checked against RolloutGuard call by
call in tests/rollout/test_rollout_simulation.py). Setting: criteria ErrorRate, Latency and
PredictionShift with their default tau, alpha = 0.05 Bonferroni-split over 3 criteria x
(all traffic + 4 segments) = 15 tests, min_samples 200, canary share 25%, a look every 500
calls (one worker batch), 200 looks (100,000 calls) per rollout. Traffic: 1% errors,
log-normal latency (median 18 ms, log-sd 0.5), predictions N(0.5, 0.15).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from infertel.rollout import ErrorRate, Latency, PredictionShift, RolloutGuard
from infertel.rollout._simulate import Scenario, first_decisions, sample_increments

SEGMENTS = ("s0", "s1", "s2", "s3")
SHARE, LOOKS, PER_LOOK, MIN_SAMPLES = 0.25, 200, 500, 200

SCENARIOS = (
    Scenario("A/A"),
    Scenario("error rate 1% -> 2%", canary_error_rate=0.02),
    Scenario("error rate 1% -> 2% in one segment", canary_error_rate=0.02, bad_segments=(1,)),
    Scenario("p95 latency +20% (x1.2 at every percentile)", canary_latency_factor=1.2),
    Scenario("p95 latency +20% in one segment", canary_latency_factor=1.2, bad_segments=(3,)),
    Scenario("prediction shift 0.5 sd in one segment", canary_prediction_shift_sd=0.5,
             bad_segments=(2,)),
)


def _summary(outcome_action: np.ndarray, outcome_calls: np.ndarray) -> dict[str, object]:
    rollback, promote = outcome_action == 2, outcome_action == 1

    def quantiles(mask: np.ndarray) -> dict[str, float | None]:
        if not mask.any():
            return {"median": None, "p90": None}
        calls = outcome_calls[mask]
        return {"median": float(np.median(calls)), "p90": float(np.quantile(calls, 0.9))}

    return {
        "rollback_rate": float(rollback.mean()),
        "promote_rate": float(promote.mean()),
        "undecided_rate": float((outcome_action == 0).mean()),
        "calls_to_rollback": quantiles(rollback),
        "canary_calls_to_rollback_median": (float(np.median(outcome_calls[rollback])) * SHARE
                                            if rollback.any() else None),
        "calls_to_promote": quantiles(promote),
    }


def run(rollouts: int, seed: int) -> dict[str, object]:
    guard = RolloutGuard(criteria=[ErrorRate(), Latency(), PredictionShift()],
                         segments=SEGMENTS, candidate_share=SHARE, min_samples=MIN_SAMPLES)
    rule = {"alpha_per_test": guard.alpha_per_test, "min_samples": MIN_SAMPLES,
            "candidate_share": SHARE, "srm_threshold": 0.001}
    results: dict[str, object] = {}
    for number, scenario in enumerate(SCENARIOS):
        increments = sample_increments(scenario, rollouts=rollouts, looks=LOOKS,
                                       calls_per_look=PER_LOOK, segments=len(SEGMENTS),
                                       candidate_share=SHARE, seed=seed + number)
        entry: dict[str, object] = {}
        for promote in (True, False):
            outcome = first_decisions(guard.criteria, auto_promote=promote,
                                      increments=increments, calls_per_look=PER_LOOK, **rule)
            key = "with_promotion" if promote else "watched_all_200_looks"
            entry[key] = _summary(outcome.action, outcome.calls)
        results[scenario.name] = entry
    # Peeking without correction, for contrast: one two-sided z-test on the error rate at 0.05
    # after every look, on the A/A data.
    increments = sample_increments(SCENARIOS[0], rollouts=rollouts, looks=LOOKS,
                                   calls_per_look=PER_LOOK, segments=1, candidate_share=SHARE,
                                   seed=seed + 100)
    n = np.cumsum(increments["n"], axis=1)[:, :, :, 0]
    x = np.cumsum(increments["errors"], axis=1)[:, :, :, 0]
    pooled = x.sum(axis=2) / n.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x[:, :, 1] / n[:, :, 1] - x[:, :, 0] / n[:, :, 0]) / np.sqrt(
            pooled * (1 - pooled) * (1 / n[:, :, 0] + 1 / n[:, :, 1]))
    ready = (n >= MIN_SAMPLES).all(axis=2)
    naive = float(np.mean((ready & (np.abs(z) > 1.959964)).any(axis=1)))
    single = first_decisions([ErrorRate()], alpha_per_test=0.05, min_samples=MIN_SAMPLES,
                             candidate_share=None, srm_threshold=0.001, auto_promote=False,
                             increments=increments, calls_per_look=PER_LOOK)
    results["A/A, one error-rate test, no correction"] = {
        "msprt_rejects_either_direction_rate": float(np.mean(single.action == 2)),
        "naive_z_test_each_look_rate": naive,
    }
    return {"plan": guard.plan, "plan_hash": guard.plan_hash, "results": results}


def worker_cost(batches: int = 200, batch_size: int = 512, repeats: int = 5
                ) -> dict[str, float]:
    """CPU the guard adds to the worker per call: scrubbed calls -> observations -> guard ->
    look, with 3 criteria and 4 segments, as pipeline/_rollout.py runs it per batch."""
    import random
    import statistics
    from types import SimpleNamespace

    from infertel import conventions as c
    from infertel.pipeline._rollout import _observations

    rng = random.Random(1)
    start = 1_700_000_000_000_000_000
    calls = [SimpleNamespace(
        attributes={c.DEPLOYMENT_RING: rng.choice(("stable", "canary")),
                    c.SEGMENT: rng.choice(SEGMENTS), c.INFERENCE_OUTCOME: "success",
                    c.INFERENCE_ID: f"{i:016x}"},
        duration_s=rng.lognormvariate(-4, 0.5), end_ns=start + i * 100_000,
        outputs={"label": "ok", "score": rng.random()}, exception=None)
        for i in range(batches * batch_size)]
    per_call = []
    for _ in range(repeats):
        guard = RolloutGuard(criteria=[ErrorRate(), Latency(), PredictionShift()],
                             segments=SEGMENTS, min_samples=MIN_SAMPLES, auto_promote=False,
                             look_lag_s=0.05)
        began = time.process_time()
        for b in range(batches):
            guard.observe_many(_observations(calls[b * batch_size:(b + 1) * batch_size]))
            guard.look()
        per_call.append((time.process_time() - began) / len(calls) * 1e6)
    return {"us_per_call_median": round(statistics.median(per_call), 2),
            "us_per_call_all": [round(v, 2) for v in per_call], "batch": batch_size,
            "calls_per_repeat": len(calls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/rollout.json"))
    parser.add_argument("--rollouts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()
    body = run(args.rollouts, args.seed)
    body["worker_cost"] = worker_cost()
    result = {
        "what": __doc__.strip().splitlines()[0],
        "rollouts_per_scenario": args.rollouts,
        "looks": LOOKS, "calls_per_look": PER_LOOK, "segments": len(SEGMENTS),
        "candidate_share": SHARE, "seed": args.seed, "python": platform.python_version(),
        "numpy": np.__version__, **body,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({**result["results"], "worker_cost": body["worker_cost"]}, indent=2))


if __name__ == "__main__":
    main()

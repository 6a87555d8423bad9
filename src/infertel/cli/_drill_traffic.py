"""The drill's traffic: a guarded stable/canary pair in simulated time.

Requests carry synthetic personal data (e-mail, phone, card number, free text) the way real
ones do; the simulated models read them, and a failing call raises an exception that quotes
some of it. Only what the SDK would let out reaches the guard: ring, segment label, outcome,
duration, prediction value. Time is simulated (one call every ``60 / calls_per_minute``
seconds), so two hours of traffic run in seconds and the same seed gives the same drill.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from infertel.rollout import (
    Decision,
    ErrorRate,
    Latency,
    Observation,
    PredictionShift,
    RolloutGuard,
    RoutingSwitch,
)

Regression = Literal["error", "latency", "shift"]
SEGMENTS = {"free": 0.6, "pro": 0.3, "enterprise": 0.1}
START_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z: a fixed origin, reproducible output
_FIRST = ("jane", "omar", "li", "maria", "kwame")
_LAST = ("doe", "haddad", "wei", "garcia", "mensah")


@dataclass(frozen=True)
class DrillPlan:
    regression: Regression | None  # None: a clean canary
    segment: str = "pro"
    minutes: int = 120
    inject_at_minute: int = 10
    calls_per_minute: int = 600
    canary_share: float = 0.25
    base_error: float = 0.005
    error_rate: float = 0.05  # the canary's error rate in the segment, for `error`
    latency_factor: float = 1.5  # for `latency`: every percentile times this
    shift_sd: float = 0.5  # for `shift`: the mean prediction moves this many sd
    seed: int = 11


@dataclass
class MinuteCounts:
    """Per minute and ring: calls, errors, successful-call durations (for the alert series)."""

    calls: dict[str, int] = field(default_factory=lambda: {"stable": 0, "canary": 0})
    errors: dict[str, int] = field(default_factory=lambda: {"stable": 0, "canary": 0})
    durations: dict[str, list[float]] = field(
        default_factory=lambda: {"stable": [], "canary": []})
    state: int = 0


@dataclass
class DrillRun:
    plan: DrillPlan
    guard: RolloutGuard
    minutes: list[MinuteCounts]
    decisions: list[tuple[float, Decision]]  # (minute, decision) as reported
    terminal: tuple[float, Decision] | None
    callbacks: list[str]  # actions whose callback ran (a rollback's must run exactly once)
    canary_calls_after: int  # canary calls routed after the terminal decision
    calls: int


def _request(rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "user": f"{first}.{last}{rng.randrange(100_000)}@example.com",
        "phone": f"+44 20 7946 {rng.randrange(10_000):04d}",
        "card": "4111 1111 1111 1111",
        "note": f"call {first.title()} {last.title()} back about the claim",
        "tier": rng.choices(list(SEGMENTS), weights=list(SEGMENTS.values()))[0],
        "amount": rng.lognormvariate(3.0, 1.0),
    }


def _serve(plan: DrillPlan, rng: random.Random, request: dict[str, Any], ring: str,
           injected: bool) -> tuple[float, float]:
    """(duration in seconds, prediction); raises like a real model does."""
    bad = injected and ring == "canary" and request["tier"] == plan.segment
    error = plan.error_rate if (bad and plan.regression == "error") else plan.base_error
    duration = rng.lognormvariate(math.log(0.02), 0.4)
    if bad and plan.regression == "latency":
        duration *= plan.latency_factor
    if rng.random() < error:
        raise ValueError(f"scoring failed for {request['user']} ({request['phone']})")
    score = 1 / (1 + math.exp(-(math.log(request["amount"]) - 3.0))) + rng.gauss(0, 0.1)
    if bad and plan.regression == "shift":
        score += plan.shift_sd * 0.22  # ~0.22 is the prediction's sd in this traffic
    return duration, score


def run_drill(plan: DrillPlan, audit_path: str | None, honor_switch: bool = True) -> DrillRun:
    """Run the drill. ``honor_switch=False`` is the counterfactual: the guard still judges,
    but routing ignores its switch, so the canary keeps serving (what alerts alone would see).
    """
    if plan.segment not in SEGMENTS:
        raise ValueError(f"--segment must be one of {', '.join(SEGMENTS)}")
    rng = random.Random(plan.seed)
    fired: list[str] = []

    def on_decision(decision: Decision) -> None:  # runs on the guard's callback thread
        fired.append(decision.action)

    guard = RolloutGuard(
        criteria=[ErrorRate(), Latency(), PredictionShift()], candidate_share=plan.canary_share,
        segments=list(SEGMENTS), min_samples=200, look_lag_s=0.0, report_every_s=300.0,
        on_rollback=on_decision, on_promote=on_decision, audit_path=audit_path,
        flag_key="infertel.drill")
    router = guard.switch if honor_switch else RoutingSwitch(
        "counterfactual", "stable", "canary", plan.canary_share)
    step_ns = 60 * 10**9 // plan.calls_per_minute
    minutes = [MinuteCounts() for _ in range(plan.minutes)]
    decisions: list[tuple[float, Decision]] = []
    terminal: tuple[float, Decision] | None = None
    batch: list[Observation] = []
    canary_after = 0
    for i in range(plan.minutes * plan.calls_per_minute):
        now_ns = START_NS + i * step_ns
        minute = i // plan.calls_per_minute
        request = _request(rng)
        # The routing switch decides, per user, as serving code would.
        ring = router.route(request["user"])
        if terminal is not None and ring == "canary":
            canary_after += 1
        counts = minutes[minute]
        counts.calls[ring] += 1
        try:
            duration, score = _serve(plan, rng, request, ring, minute >= plan.inject_at_minute)
            error = False
            counts.durations[ring].append(duration)
        except ValueError:
            duration, score, error = 0.001, math.nan, True
            counts.errors[ring] += 1
        batch.append(Observation(ring, request["tier"], error, duration, now_ns + 1,
                                 None if error else score))
        if len(batch) >= 500:
            guard.observe_many(batch)
            batch = []
            decision = guard.look(now_ns + 1)
            if decision is not None:
                decisions.append((minute + (i % plan.calls_per_minute) / plan.calls_per_minute,
                                  decision))
                if decision.action != "continue":
                    terminal = decisions[-1]
        counts.state = guard.state_value()
    guard.wait_for_callbacks(5.0)
    return DrillRun(plan, guard, minutes, decisions, terminal, list(fired), canary_after,
                    plan.minutes * plan.calls_per_minute)

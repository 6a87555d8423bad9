"""``promtool test rules`` unit tests for every generated rule, fired and silent.

Each case is a synthetic history at one-minute resolution (scaled with the rules): a clean
stretch, then the regression or the blip, and evaluations at chosen moments with the alerts
expected to be firing. Error counts are whole numbers per minute, so the expected ratios are
exact. Annotations are rendered here the way Prometheus renders their ``$labels`` templates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from infertel.cli._alert_rules import (
    DRIFT_METRIC,
    DURATION,
    ERRORS,
    FEATURE,
    MODEL,
    OUTCOME,
    REQUESTS,
    RING,
    ROLLOUT_STATE,
    AlertSettings,
    rule_groups,
)

MODEL_VALUE = "fraud-detector"
HOUR = 60  # minutes


def counter(increments: Sequence[tuple[float, int]]) -> str:
    """promtool series notation for a counter growing by ``inc`` per step for ``n`` steps."""
    parts, value, first = [], 0.0, True
    for inc, steps in increments:
        if first:
            parts.append(f"{_n(value)}+{_n(inc)}x{steps}")
            value += inc * steps
            first = False
        elif steps > 0:
            start = value + inc
            parts.append(f"{_n(start)}+{_n(inc)}x{steps - 1}" if steps > 1 else _n(start))
            value += inc * steps
    return " ".join(parts)


def gauge(levels: Sequence[tuple[float, int]]) -> str:
    return " ".join(f"{_n(v)}x{steps}" for v, steps in levels)


def _n(value: float) -> str:
    return format(value, ".10g")


def _annotations(settings: AlertSettings, alert: str, labels: dict[str, str]) -> dict[str, str]:
    for group in rule_groups(settings)["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                return {key: re.sub(r"\{\{ \$labels\.(\w+) \}\}",
                                    lambda m: labels.get(m.group(1), ""), text)
                        for key, text in rule["annotations"].items()}
    raise KeyError(alert)


def _expect(settings: AlertSettings, alert: str, minute: float, labels: dict[str, str] | None
            ) -> dict[str, Any]:
    """An alert_rule_test entry: at ``minute`` (unscaled), ``alert`` fires with ``labels`` or
    (None) does not fire."""
    entry: dict[str, Any] = {"eval_time": settings.duration(minute * 60), "alertname": alert,
                             "exp_alerts": []}
    if labels is not None:
        entry["exp_alerts"] = [{"exp_labels": labels,
                                "exp_annotations": _annotations(settings, alert, labels)}]
    return entry


def _burn_series(settings: AlertSettings, phases: Sequence[tuple[float, int]],
                 ) -> list[dict[str, str]]:
    """Requests and errors of one model; phases are (error ratio in budgets, minutes)."""
    per_minute = round(60 / settings.budget)
    errors = [(min(per_minute, round(per_minute * m * settings.budget)), minutes)
              for m, minutes in phases]
    total = sum(minutes for _, minutes in phases)
    sel = f'{{{MODEL}="{MODEL_VALUE}"}}'
    return [{"series": REQUESTS + sel, "values": counter([(per_minute, total)])},
            {"series": ERRORS + sel, "values": counter(errors)}]


def _case(settings: AlertSettings, name: str, series: list[dict[str, str]],
          tests: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "interval": settings.duration(60), "input_series": series,
            "alert_rule_test": tests}


def _burn_cases(settings: AlertSettings) -> list[dict[str, Any]]:
    full = 1 / settings.budget  # 100% errors, in budgets
    page, ticket = "InfertelErrorBudgetBurnFast", "InfertelErrorBudgetBurnSlow"
    model = {MODEL: MODEL_VALUE}
    paged = {**model, "severity": "page"}
    ticketed = {**model, "severity": "ticket"}

    def at(alert: str, minute: float, fires: bool) -> dict[str, Any]:
        return _expect(settings, alert, minute, (paged if alert == page else ticketed)
                       if fires else None)

    # A burst at 100x the budget (100% errors at SLO 99%), or at 100% errors when that is
    # less; its length is what the 1h window needs to pass 14.4x, plus ten minutes.
    burst = min(100.0, full)
    needed = math.ceil(864 / burst)  # minutes until the 1h ratio passes 14.4x
    t0 = 3 * HOUR
    return [
        _case(settings, "fast burn: 100x budget after 3h clean (1h/5m pair)",
              _burn_series(settings, [(0, t0), (burst, needed + 10), (0, 40)]),
              [at(page, t0 + 5, False),  # 5 min in: the long windows are still below
               # One minute past the 1h window's threshold the 6h/30m pair is still below
               # 6x: the page comes from the 1h/5m pair alone.
               at(page, t0 + needed + 1, True),
               # Recovered: 35 min after the burst both short windows (5m, 30m) are clean, so
               # the page has stopped although the 1h and 6h ratios are still high.
               at(page, t0 + needed + 45, False)]),
        _case(settings, "60 s blip at 100x budget after 3h clean",
              _burn_series(settings, [(0, t0), (burst, 1), (0, 60)]),
              [at(page, t0 + 1, False), at(page, t0 + 3, False), at(page, t0 + 10, False),
               at(ticket, t0 + 3, False), at(ticket, t0 + 30, False)]),
        _case(settings, "slow page: 8x budget sustained (6h/30m pair, not 1h/5m)",
              _burn_series(settings, [(8, 2 * HOUR)]),
              [at(page, HOUR, True)]),
        _case(settings, "no page at 5x budget", _burn_series(settings, [(5, 2 * HOUR)]),
              [at(page, HOUR, False), at(ticket, HOUR, True)]),
        _case(settings, "ticket: 4x budget sustained (1d/2h pair)",
              _burn_series(settings, [(4, 4 * HOUR)]),
              [at(ticket, 3 * HOUR, True), at(page, 3 * HOUR, False)]),
        _case(settings, "ticket: 1.5x budget sustained (3d/6h pair)",
              _burn_series(settings, [(1.5, 8 * HOUR)]),
              [at(ticket, 7 * HOUR, True), at(page, 7 * HOUR, False)]),
        _case(settings, "silent at 0.5x budget", _burn_series(settings, [(0.5, 8 * HOUR)]),
              [at(ticket, 7 * HOUR, False), at(page, 7 * HOUR, False)]),
    ]


def _ring_series(settings: AlertSettings, ring: str, per_minute: int,
                 error_phases: Sequence[tuple[float, int]]) -> list[dict[str, str]]:
    sel = f'{{{MODEL}="{MODEL_VALUE}", {RING}="{ring}"}}'
    total = sum(minutes for _, minutes in error_phases)
    return [{"series": REQUESTS + sel, "values": counter([(per_minute, total)])},
            {"series": ERRORS + sel, "values": counter(
                [(round(per_minute * ratio), minutes) for ratio, minutes in error_phases])}]


def _latency_series(settings: AlertSettings, ring: str, phases: Sequence[tuple[bool, int]]
                    ) -> list[dict[str, str]]:
    """Duration buckets per minute; ``slow`` moves mass up (p95 from ~78 ms to the 100 ms
    bound: +29%)."""
    fast = (("0.01", 100), ("0.025", 600), ("0.05", 900), ("0.1", 990), ("+Inf", 1000))
    slow = (("0.01", 20), ("0.025", 300), ("0.05", 700), ("0.1", 900), ("+Inf", 1000))
    out = []
    for index, (le, _) in enumerate(fast):
        sel = (f'{{{MODEL}="{MODEL_VALUE}", {RING}="{ring}", '
               f'{OUTCOME}="success", le="{le}"}}')
        out.append({"series": f"{DURATION}_bucket{sel}", "values": counter(
            [((slow if is_slow else fast)[index][1], minutes) for is_slow, minutes in phases])})
    return out


def _canary_cases(settings: AlertSettings) -> list[dict[str, Any]]:
    alert = "InfertelCanaryErrorRatio"
    fired = {MODEL: MODEL_VALUE, "severity": "page", RING: settings.canary_ring}
    t0 = 30
    regression = (_ring_series(settings, settings.stable_ring, 6000, [(0.005, 90)])
                  + _ring_series(settings, settings.canary_ring, 2000,
                                 [(0.005, t0), (0.06, 60)]))
    blip = (_ring_series(settings, settings.stable_ring, 6000, [(0.005, 90)])
            + _ring_series(settings, settings.canary_ring, 2000,
                           [(0.005, t0), (1.0, 1), (0.005, 59)]))
    latency_alert = "InfertelCanaryLatencyRatio"
    traffic = (_ring_series(settings, settings.stable_ring, 6000, [(0.0, 90)])
               + _ring_series(settings, settings.canary_ring, 2000, [(0.0, 90)]))
    slow = (traffic + _latency_series(settings, settings.stable_ring, [(False, 90)])
            + _latency_series(settings, settings.canary_ring, [(False, t0), (True, 60)]))
    slow_blip = (traffic + _latency_series(settings, settings.stable_ring, [(False, 90)])
                 + _latency_series(settings, settings.canary_ring,
                                   [(False, t0), (True, 1), (False, 59)]))
    return [
        _case(settings, "canary errors 0.5% -> 6% (stable 0.5%), held 10m", regression,
              [_expect(settings, alert, t0 + 5, None),  # breached, but not yet for 10m
               _expect(settings, alert, t0 + 20, fired)]),
        _case(settings, "canary 60 s blip of errors", blip,
              [_expect(settings, alert, t0 + m, None) for m in (1, 4, 8, 12, 20)]),
        _case(settings, "canary p95 +29%, held 10m", slow,
              [_expect(settings, latency_alert, t0 + 5, None),
               _expect(settings, latency_alert, t0 + 20,
                       {**fired, "severity": "page"})]),
        _case(settings, "canary 60 s latency blip", slow_blip,
              [_expect(settings, latency_alert, t0 + m, None) for m in (1, 4, 8, 12, 20)]),
    ]


def _state_and_drift_cases(settings: AlertSettings) -> list[dict[str, Any]]:
    model = {MODEL: MODEL_VALUE}
    state = f'{ROLLOUT_STATE}{{{MODEL}="{MODEL_VALUE}", {RING}="{settings.canary_ring}"}}'
    drift_labels = {MODEL: MODEL_VALUE, FEATURE: "amount", DRIFT_METRIC: settings.drift_score}
    drift = (f'{settings.drift_metric_name}{{{MODEL}="{MODEL_VALUE}", {FEATURE}="amount", '
             f'{DRIFT_METRIC}="{settings.drift_score}"}}')
    high, low = settings.drift_threshold * 1.5, settings.drift_threshold / 2
    return [
        _case(settings, "rollout rolled back", [{"series": state,
                                                 "values": gauge([(0, 10), (2, 20)])}],
              [_expect(settings, "InfertelRolloutRolledBack", 5, None),
               _expect(settings, "InfertelRolloutRolledBack", 15,
                       {**model, "severity": "ticket"})]),
        _case(settings, "rollout held by a sample-ratio mismatch",
              [{"series": state, "values": gauge([(0, 10), (3, 30)])}],
              [_expect(settings, "InfertelRolloutSampleRatioMismatch", 15, None),
               _expect(settings, "InfertelRolloutSampleRatioMismatch", 25,
                       {**model, "severity": "ticket"})]),
        _case(settings, "drift sustained 30m", [{"series": drift,
                                                 "values": gauge([(low, 10), (high, 60)])}],
              [_expect(settings, "InfertelDriftSustained", 30, None),
               _expect(settings, "InfertelDriftSustained", 50,
                       {**drift_labels, "severity": "ticket"})]),
        _case(settings, "drift in a few noisy windows",
              [{"series": drift, "values": gauge([(low, 10), (high, 5), (low, 5), (high, 10),
                                                  (low, 40)])}],
              [_expect(settings, "InfertelDriftSustained", m, None) for m in (20, 30, 45, 60)]),
    ]


def rule_tests(settings: AlertSettings, rule_file: str) -> dict[str, Any]:
    """The promtool test file for ``rule_file`` (a path relative to the test file)."""
    return {
        "rule_files": [rule_file],
        "evaluation_interval": settings.duration(60),
        "tests": _burn_cases(settings) + _canary_cases(settings)
        + _state_and_drift_cases(settings),
    }

"""Prometheus alerting rules over infertel's metrics, as Prometheus names them.

**Names.** OpenTelemetry -> Prometheus translation (what opentelemetry-exporter-prometheus and
the Collector's Prometheus exporters do): dots become underscores, a unit becomes a suffix
(``s`` -> ``_seconds``; ``{request}`` annotations are dropped), counters end in ``_total`` and
histograms expose ``_bucket`` / ``_sum`` / ``_count``; attribute keys become labels the same way.
:func:`prom_name` implements it and ``tests/cli/test_alerts.py`` checks it against a real
scrape. The Python exporter maps unit ``1`` to no suffix; the Collector's adds ``_ratio`` to
gauges, so the drift gauge's name is a setting (``ml_drift_score`` by default).

**Rules** (SRE workbook, chapter 5, "multiwindow, multi-burn-rate"): the error budget is
``1 - slo``; a page when the error ratio over 1h and over 5m both exceed 14.4x the budget, or
over 6h and 30m both exceed 6x; a ticket at 3x over 1d and 2h, or 1x over 3d and 6h. The long
window says the burn is significant, the short one that it is still happening (a blip ages out
of the short window at once, a recovery stops the page within minutes). Canary versus stable:
the canary's error ratio above the stable's by ``canary_error_delta`` (absolute) and by
``canary_error_factor`` (relative), and the canary's p95 latency above ``latency_ratio`` times
the stable's, both over 5m and held ``for`` 10m (longer than the window, so a blip never fires).
Drift: the drift score above its alert level for 30m.

``time_scale`` multiplies every window, ``for`` and evaluation interval (tests run the rules at
1/60 of real time); names and expressions keep their shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from infertel import conventions as c

# Rule-name windows are the nominal (unscaled) ones, so names never change with time_scale.
BURN_WINDOWS: Final = {"5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600,
                       "1d": 86400, "3d": 259200}
# (long window, short window, burn-rate factor) per severity, from the SRE workbook.
PAGE_PAIRS: Final = (("1h", "5m", 14.4), ("6h", "30m", 6.0))
TICKET_PAIRS: Final = (("1d", "2h", 3.0), ("3d", "6h", 1.0))

_UNIT_SUFFIX: Final = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}


def prom_name(otel_name: str, unit: str = "", kind: str = "gauge") -> str:
    """The Prometheus name of an OpenTelemetry metric (without _bucket/_sum/_count)."""
    name = re.sub(r"[^a-zA-Z0-9_:]", "_", otel_name)
    suffix = _UNIT_SUFFIX.get(unit, re.sub(r"\{[^}]*\}", "", unit))
    suffix = re.sub(r"[^a-zA-Z0-9_]", "_", suffix).strip("_")
    if suffix and not name.endswith("_" + suffix):
        name += "_" + suffix
    if kind == "counter" and not name.endswith("_total"):
        name += "_total"
    return name


def label(otel_key: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", otel_key)


# Metric and label names as Prometheus sees them (instrument units in signals/metrics.py).
REQUESTS: Final = prom_name(c.METRIC_REQUESTS, "{request}", "counter")
ERRORS: Final = prom_name(c.METRIC_ERRORS, "{error}", "counter")
DURATION: Final = prom_name(c.METRIC_DURATION, "s", "histogram")
ROLLOUT_STATE: Final = prom_name(c.METRIC_ROLLOUT_STATE, "{state}", "gauge")
MODEL: Final = label(c.MODEL_NAME)
RING: Final = label(c.DEPLOYMENT_RING)
OUTCOME: Final = label(c.INFERENCE_OUTCOME)
FEATURE: Final = label(c.FEATURE_NAME)
DRIFT_METRIC: Final = label(c.DRIFT_METRIC)


@dataclass(frozen=True)
class AlertSettings:
    slo: float = 0.99  # objective: share of calls that succeed
    canary_ring: str = "canary"
    stable_ring: str = "stable"
    canary_error_delta: float = 0.01  # canary error ratio minus stable's, absolute
    canary_error_factor: float = 2.0  # and canary / stable
    latency_ratio: float = 1.2  # canary p95 / stable p95
    latency_quantile: float = 0.95
    min_canary_rate: float = 0.05  # calls/s the canary needs before it is judged
    drift_metric_name: str = prom_name(c.METRIC_DRIFT_SCORE, "1", "gauge")
    drift_score: str = "psi"
    drift_threshold: float = 0.2
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0.95 <= self.slo < 1:
            # Below ~93% the fast page (14.4x the budget) would need more than 100% errors.
            raise ValueError("slo must lie in [0.95, 1), e.g. 0.99")
        if not 0 < self.time_scale <= 1:
            raise ValueError("time_scale must lie in (0, 1]")
        if BURN_WINDOWS["5m"] * self.time_scale < 1:
            raise ValueError("time_scale too small: the 5m window would be under 1 s")

    @property
    def budget(self) -> float:
        return 1.0 - self.slo

    def duration(self, seconds: float) -> str:
        """A Prometheus duration for ``seconds`` of real time, scaled (millisecond grain)."""
        millis = round(seconds * self.time_scale * 1000)
        out = ""
        for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000),
                           ("ms", 1)):
            if millis >= size:
                out += f"{millis // size}{unit}"
                millis %= size
        return out or "0s"


def _num(value: float) -> str:
    return format(value, ".6g")


def error_ratio_rule(window: str, settings: AlertSettings) -> dict[str, Any]:
    rng = settings.duration(BURN_WINDOWS[window])
    return {
        "record": f"infertel:ml_inference_error_ratio:rate{window}",
        "expr": (f"sum by ({MODEL}) (rate({ERRORS}[{rng}]))\n"
                 f"/\nsum by ({MODEL}) (rate({REQUESTS}[{rng}]))"),
    }


def _burn(pairs: tuple[tuple[str, str, float], ...], settings: AlertSettings) -> str:
    parts = []
    for long, short, factor in pairs:
        level = _num(factor * settings.budget)
        parts.append(f"(\n  infertel:ml_inference_error_ratio:rate{long} > {level}\nand\n"
                     f"  infertel:ml_inference_error_ratio:rate{short} > {level}\n)")
    return "\nor\n".join(parts)


def _ring(ring: str, extra: str) -> str:
    return f'{RING}="{ring}"' + (f", {extra}" if extra else "")


def canary_error_queries(settings: AlertSettings, selector: str = "") -> tuple[str, str, str]:
    """(excess, canary ratio, stable ratio) PromQL over 5m."""
    rng = settings.duration(300)

    def ratio(ring: str) -> str:
        sel = _ring(ring, selector)
        return (f"((sum by ({MODEL}) (rate({ERRORS}{{{sel}}}[{rng}]))"
                f" or 0 * sum by ({MODEL}) (rate({REQUESTS}{{{sel}}}[{rng}])))"
                f" / sum by ({MODEL}) (rate({REQUESTS}{{{sel}}}[{rng}])))")

    canary, stable = ratio(settings.canary_ring), ratio(settings.stable_ring)
    return f"{canary}\n- {stable}", canary, stable


def canary_rate(settings: AlertSettings, selector: str = "") -> str:
    sel = _ring(settings.canary_ring, selector)
    return f"sum by ({MODEL}) (rate({REQUESTS}{{{sel}}}[{settings.duration(300)}]))"


def latency_ratio_query(settings: AlertSettings, selector: str = "") -> str:
    """Canary p95 over stable p95 (successful calls) over 5m."""
    rng = settings.duration(300)

    def p95(ring: str) -> str:
        sel = _ring(ring, f'{OUTCOME}="{c.OUTCOME_SUCCESS}"' + (f", {selector}" if selector
                                                                 else ""))
        return (f"histogram_quantile({_num(settings.latency_quantile)}, sum by ({MODEL}, le) "
                f"(rate({DURATION}_bucket{{{sel}}}[{rng}])))")

    return f"{p95(settings.canary_ring)}\n/\n{p95(settings.stable_ring)}"


def rule_groups(settings: AlertSettings) -> dict[str, Any]:
    """The rule file's content (a dict for YAML)."""
    budget = settings.budget
    interval = settings.duration(30)
    excess, canary, stable = canary_error_queries(settings)
    slo_text = f"{settings.slo:.4g}"
    groups = [
        {
            "name": "infertel-error-budget",
            "interval": interval,
            "rules": [error_ratio_rule(w, settings) for w in BURN_WINDOWS] + [
                {"alert": "InfertelErrorBudgetBurnFast", "expr": _burn(PAGE_PAIRS, settings),
                 "labels": {"severity": "page"},
                 "annotations": {
                     "summary": "{{ $labels.ml_model_name }} is burning its error budget fast",
                     "description": f"Error ratio above 14.4x the budget ({_num(budget)}, SLO "
                                    f"{slo_text}) over 1h and 5m, or 6x over 6h and 30m.",
                     "runbook": "infertel rollout status; infertel query --status error"}},
                {"alert": "InfertelErrorBudgetBurnSlow", "expr": _burn(TICKET_PAIRS, settings),
                 "labels": {"severity": "ticket"},
                 "annotations": {
                     "summary": "{{ $labels.ml_model_name }} is burning its error budget",
                     "description": f"Error ratio above 3x the budget ({_num(budget)}, SLO "
                                    f"{slo_text}) over 1d and 2h, or 1x over 3d and 6h.",
                     "runbook": "infertel report; infertel query --status error"}},
            ],
        },
        {
            "name": "infertel-canary",
            "interval": interval,
            "rules": [
                {"alert": "InfertelCanaryErrorRatio",
                 "expr": (f"(\n{excess}\n) > {_num(settings.canary_error_delta)}\n"
                          f"and\n{canary}\n> {_num(settings.canary_error_factor)} * {stable}\n"
                          f"and\n{canary_rate(settings)} > {_num(settings.min_canary_rate)}"),
                 "for": settings.duration(600),
                 "labels": {"severity": "page", RING: settings.canary_ring},
                 "annotations": {
                     "summary": "Canary of {{ $labels.ml_model_name }} fails more than stable",
                     "description": "Canary error ratio above stable's by more than "
                                    f"{_num(settings.canary_error_delta)} and "
                                    f"{_num(settings.canary_error_factor)}x, for 10m.",
                     "runbook": "infertel.rollout.active_version() -> stable; infertel "
                                "rollout status"}},
                {"alert": "InfertelCanaryLatencyRatio",
                 "expr": (f"(\n{latency_ratio_query(settings)}\n) > "
                          f"{_num(settings.latency_ratio)}\nand\n{canary_rate(settings)} > "
                          f"{_num(settings.min_canary_rate)}"),
                 "for": settings.duration(600),
                 "labels": {"severity": "page", RING: settings.canary_ring},
                 "annotations": {
                     "summary": "Canary of {{ $labels.ml_model_name }} is slower than stable",
                     "description": f"Canary p{round(settings.latency_quantile * 100)} latency "
                                    f"above {_num(settings.latency_ratio)}x stable's, for 10m.",
                     "runbook": "infertel query --ring canary --min-duration 100"}},
                {"alert": "InfertelRolloutRolledBack",
                 "expr": f"max by ({MODEL}) ({ROLLOUT_STATE}) == "
                         f"{c.ROLLOUT_STATE_VALUES['rollback']}",
                 "labels": {"severity": "ticket"},
                 "annotations": {
                     "summary": "The rollout guard rolled {{ $labels.ml_model_name }} back",
                     "description": "A pre-registered criterion found the candidate worse.",
                     "runbook": "infertel rollout status; infertel rollout verify AUDIT"}},
                {"alert": "InfertelRolloutSampleRatioMismatch",
                 "expr": f"max by ({MODEL}) ({ROLLOUT_STATE}) == "
                         f"{c.ROLLOUT_STATE_VALUES['blocked']}",
                 "for": settings.duration(600),
                 "labels": {"severity": "ticket"},
                 "annotations": {
                     "summary": "Rollout of {{ $labels.ml_model_name }} held: traffic split "
                                "does not match the plan",
                     "description": "Sample-ratio mismatch (chi-square p < 0.001): decisions "
                                    "are held until the split is fixed.",
                     "runbook": "check the router's split; infertel rollout status"}},
            ],
        },
        {
            "name": "infertel-drift",
            "interval": interval,
            "rules": [
                {"alert": "InfertelDriftSustained",
                 "expr": (f"{settings.drift_metric_name}{{{DRIFT_METRIC}="
                          f"\"{settings.drift_score}\"}} > {_num(settings.drift_threshold)}"),
                 "for": settings.duration(1800),
                 "labels": {"severity": "ticket"},
                 "annotations": {
                     "summary": "Feature {{ $labels." + FEATURE + " }} of {{ $labels."
                                + MODEL + " }} drifted",
                     "description": f"{settings.drift_score} above "
                                    f"{_num(settings.drift_threshold)} for 30m (a sustained "
                                    "shift, not one noisy window).",
                     "runbook": "infertel drift; infertel report"}},
            ],
        },
    ]
    return {"groups": groups}

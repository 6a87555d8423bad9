"""An Argo Rollouts ``AnalysisTemplate`` running the canary alerts' own queries.

The queries are the alert rules' expressions with a model selector added (Argo analyses one
rollout at a time); a measurement fails when the canary's error ratio exceeds the stable's by
the rules' margin, or its p95 latency ratio exceeds the rules' threshold. ``or vector(0)`` /
``or vector(1)`` keep a measurement defined while a ring has no traffic yet.
"""

from __future__ import annotations

from typing import Any

from infertel.cli._alert_rules import (
    MODEL,
    AlertSettings,
    canary_error_queries,
    latency_ratio_query,
)

MODEL_ARG = "{{args.model}}"


def analysis_template(settings: AlertSettings, name: str = "infertel-canary") -> dict[str, Any]:
    selector = f'{MODEL}="{MODEL_ARG}"'
    excess, _, _ = canary_error_queries(settings, selector)
    latency = latency_ratio_query(settings, selector)
    interval = settings.duration(60)

    def metric(metric_name: str, query: str, threshold: float, fallback: int) -> dict[str, Any]:
        return {
            "name": metric_name,
            "interval": interval,
            # No count: measured every interval until the rollout's steps end the analysis.
            "failureLimit": 2,  # the third failed measurement aborts the rollout
            "successCondition": f"result[0] <= {threshold}",
            "failureCondition": f"result[0] > {threshold}",
            "provider": {"prometheus": {
                "address": "{{args.prometheus-address}}",
                "query": f"sum(\n{query}\n) or vector({fallback})",
            }},
        }

    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "infertel"}},
        "spec": {
            "args": [{"name": "model"},
                     {"name": "prometheus-address", "value": "http://prometheus:9090"}],
            "metrics": [
                metric("canary-error-ratio-excess", excess, settings.canary_error_delta, 0),
                metric("canary-latency-p95-ratio", latency, settings.latency_ratio, 1),
            ],
        },
    }

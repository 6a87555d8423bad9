"""Would the alert rules have fired on the drill's traffic? promtool evaluates them.

The drill's per-minute counts become the series Prometheus would have scraped (requests,
errors, duration buckets at the SDK's bounds, the rollout state gauge), under the names the
rules use. The generated rules run at real time scale (the drill's simulated minutes are real
minutes to them) in a ``promtool test rules`` file that expects every alert silent at every
minute; each failure promtool reports is an alert that fired, and when.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from infertel.cli._alert_rules import (
    DURATION,
    ERRORS,
    MODEL,
    OUTCOME,
    REQUESTS,
    RING,
    ROLLOUT_STATE,
    AlertSettings,
    rule_groups,
)
from infertel.cli._drill_traffic import DrillRun
from infertel.signals.metrics import _DURATION_BUCKETS

MODEL_VALUE = "drill-model"
_FAILURE = re.compile(r"alertname: (\w+), time: ([0-9hms.]+),\s*\n\s*exp:\[\],\s*\n\s*got:\[\s*\n")


def _cumulative(values: list[float]) -> str:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(format(total, ".10g"))
    return " ".join(out)


def _series(run: DrillRun) -> list[dict[str, str]]:
    out = []
    for ring in ("stable", "canary"):
        sel = f'{MODEL}="{MODEL_VALUE}", {RING}="{ring}"'
        out.append({"series": f"{REQUESTS}{{{sel}}}",
                    "values": _cumulative([m.calls[ring] for m in run.minutes])})
        out.append({"series": f"{ERRORS}{{{sel}}}",
                    "values": _cumulative([m.errors[ring] for m in run.minutes])})
        for bound in (*map(str, _DURATION_BUCKETS), "+Inf"):
            limit = float(bound)
            out.append({"series": f'{DURATION}_bucket{{{sel}, {OUTCOME}="success", '
                                  f'le="{bound}"}}',
                        "values": _cumulative([sum(1 for d in m.durations[ring] if d <= limit)
                                               for m in run.minutes])})
    out.append({"series": f'{ROLLOUT_STATE}{{{MODEL}="{MODEL_VALUE}"}}',
                "values": " ".join(str(m.state) for m in run.minutes)})
    return out


def _minutes(text: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"([0-9.]+)(h|ms|m|s)", text):
        total += float(amount) * {"h": 60, "m": 1, "s": 1 / 60, "ms": 1 / 60000}[unit]
    return total


def evaluate_alerts(run: DrillRun, settings: AlertSettings | None = None
                    ) -> dict[str, float | None] | None:
    """First minute each alert fired (None: never), or None when promtool is missing."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return None
    settings = settings or AlertSettings()
    from infertel.cli.alerts import dump_yaml

    alerts = [rule["alert"] for group in rule_groups(settings)["groups"]
              for rule in group["rules"] if "alert" in rule]
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _series(run), "alert_rule_test": [
            {"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": []}
            for minute in range(1, len(run.minutes)) for alert in alerts]}],
    }
    with tempfile.TemporaryDirectory(prefix="infertel-drill-") as folder:
        Path(folder, "rules.yml").write_text(dump_yaml(rule_groups(settings)), encoding="utf-8")
        Path(folder, "tests.yml").write_text(dump_yaml(tests), encoding="utf-8")
        done = subprocess.run([promtool, "test", "rules", "tests.yml"], cwd=folder,
                              capture_output=True, text=True, timeout=300, check=False)
    first: dict[str, float | None] = dict.fromkeys(alerts)
    for name, when in _FAILURE.findall(done.stdout + done.stderr):
        minute = _minutes(when)
        current = first.get(name)
        if current is None or minute < current:
            first[name] = minute
    return first

"""``infertel alerts``: names as Prometheus scrapes them, promtool check + test, Argo template."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infertel.cli import app
from infertel.cli._alert_argo import analysis_template
from infertel.cli._alert_rules import AlertSettings, canary_error_queries, latency_ratio_query
from infertel.cli.alerts import RULES_FILE, TESTS_FILE, dump_yaml, run_promtool, write_alerts

SERVICE = Path(__file__).with_name("alert_service.py")
pytestmark = pytest.mark.skipif(not Path("/usr/bin/promtool").exists(),
                                reason="promtool (Debian package prometheus) not installed")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _exprs(settings: AlertSettings) -> list[str]:
    from infertel.cli._alert_rules import rule_groups

    return [rule["expr"] for group in rule_groups(settings)["groups"] for rule in group["rules"]]


def _metric_names(expr: str) -> set[str]:
    """Metric names in PromQL: an identifier before a selector or range, or alone in parens."""
    names = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)(?=\{|\[)", expr))
    names |= set(re.findall(r"\) \((ml_[a-z0-9_]+|infertel_[a-z0-9_]+)\)", expr))
    return {n for n in names if n not in {"rate", "sum", "max", "vector", "histogram_quantile"}}


def _label_names(expr: str) -> set[str]:
    labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*=~?\s*\"", expr))
    for group in re.findall(r"by \(([^)]*)\)", expr):
        labels |= {part.strip() for part in group.split(",")}
    return labels - {"le"}


def test_every_name_in_the_rules_is_what_prometheus_scrapes(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SERVICE), str(_free_port()),
                           str(tmp_path / "mode"), "--names"],
                          capture_output=True, text=True, timeout=90, check=True)
    exposition = done.stdout
    series = re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", exposition, re.MULTILINE)
    scraped = {name for name, _ in series}
    labels = {key for _, body in series for key in re.findall(r"(\w+)=\"", body)}
    assert {"ml_inference_requests_total", "ml_inference_errors_total",
            "ml_inference_duration_seconds_bucket", "ml_drift_score"} <= scraped
    settings = AlertSettings()
    used = set().union(*(_metric_names(e) for e in _exprs(settings)))
    used = {n for n in used if not n.startswith("infertel:")}  # recording rules
    assert "ml_rollout_state" in used
    assert used <= scraped
    used_labels = set().union(*(_label_names(e) for e in _exprs(settings)))
    assert used_labels <= labels


@pytest.mark.parametrize("scale", [1.0, 1 / 60])
def test_promtool_checks_and_unit_tests_pass(tmp_path: Path, scale: float) -> None:
    result = CliRunner().invoke(app, ["alerts", "--out", str(tmp_path), "--check",
                                      "--time-scale", str(scale)])
    assert result.exit_code == 0, result.output
    assert "SUCCESS: 14 rules found" in result.output
    tests = yaml.safe_load((tmp_path / TESTS_FILE).read_text())
    alerts = {rule["alert"] for group in yaml.safe_load((tmp_path / RULES_FILE).read_text())
              ["groups"] for rule in group["rules"] if "alert" in rule}
    fired = {e["alertname"] for case in tests["tests"] for e in case["alert_rule_test"]
             if e["exp_alerts"]}
    silent = {e["alertname"] for case in tests["tests"] for e in case["alert_rule_test"]
              if not e["exp_alerts"]}
    assert fired == alerts  # every rule is seen firing ...
    assert silent == alerts  # ... and seen staying silent


@pytest.mark.parametrize(("old", "new"), [
    ("rate1h > 0.144", "rate1h > 0.5"),  # a page that would come too late
    ("rate5m > 0.144", "rate1h > 0.144"),  # the short window dropped: blips and recoveries
    ("for: 10m", "for: 1m"),  # a canary alert a blip would fire
])
def test_the_unit_tests_catch_a_broken_rule(tmp_path: Path, old: str, new: str) -> None:
    write_alerts(tmp_path, AlertSettings())
    rules = tmp_path / RULES_FILE
    text = rules.read_text()
    assert old in text
    rules.write_text(text.replace(old, new))
    passed, output = run_promtool(tmp_path)
    assert not passed
    assert "FAILED" in output


def test_argo_template_uses_the_alert_queries(tmp_path: Path) -> None:
    settings = AlertSettings()
    template = analysis_template(settings)
    assert template["kind"] == "AnalysisTemplate"
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    error_query = metrics["canary-error-ratio-excess"]["provider"]["prometheus"]["query"]
    latency_query = metrics["canary-latency-p95-ratio"]["provider"]["prometheus"]["query"]
    selector = ', ml_model_name="{{args.model}}"'
    assert error_query.replace(selector, "") == (
        f"sum(\n{canary_error_queries(settings)[0]}\n) or vector(0)")
    assert latency_query.replace(selector, "") == (
        f"sum(\n{latency_ratio_query(settings)}\n) or vector(1)")
    assert any(canary_error_queries(settings)[0] in expr for expr in _exprs(settings))
    assert any(latency_ratio_query(settings) in expr for expr in _exprs(settings))
    # The queries are valid PromQL: promtool parses them as recording rules.
    rules = {"groups": [{"name": "argo", "rules": [
        {"record": f"argo:{name.replace('-', '_')}",
         "expr": m["provider"]["prometheus"]["query"].replace("{{args.model}}", "m")}
        for name, m in metrics.items()]}]}
    (tmp_path / "argo.rules.yml").write_text(dump_yaml(rules))
    done = subprocess.run(["promtool", "check", "rules", "argo.rules.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert metrics["canary-error-ratio-excess"]["failureCondition"] == "result[0] > 0.01"


def test_bad_options_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["alerts", "--out", str(tmp_path), "--slo", "0.5"])
    assert result.exit_code == 2
    assert "slo must lie" in result.output

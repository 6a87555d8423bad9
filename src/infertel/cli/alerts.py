"""``infertel alerts --out DIR``: Prometheus alerting rules, their promtool tests, an Argo
Rollouts AnalysisTemplate.

Writes ``infertel-alerts.rules.yml`` (multi-window multi-burn-rate error-budget alerts,
canary-versus-stable error and latency, rollout state, sustained drift), its unit tests
``infertel-alerts.test.yml`` and ``argo-analysis-template.yaml``. ``--check`` runs
``promtool check rules`` and ``promtool test rules`` on what was written. ``--time-scale``
shrinks every window and ``for`` duration by the same factor (for tests and rehearsals; the
rules keep their names and shape). Exit 1: promtool rejected the rules; exit 2: bad options or
promtool missing with ``--check``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Annotated, Any, Final

import typer

RULES_FILE: Final = "infertel-alerts.rules.yml"
TESTS_FILE: Final = "infertel-alerts.test.yml"
ARGO_FILE: Final = "argo-analysis-template.yaml"


def dump_yaml(data: Any) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        # Multi-line PromQL as literal blocks: readable in review, identical when parsed.
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, text)
    return str(yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=1000))


def write_alerts(out: Path, settings: Any) -> list[Path]:
    """Write the three files into ``out``; returns their paths."""
    from infertel.cli._alert_argo import analysis_template
    from infertel.cli._alert_rules import rule_groups
    from infertel.cli._alert_tests import rule_tests

    out.mkdir(parents=True, exist_ok=True)
    files = {RULES_FILE: rule_groups(settings), TESTS_FILE: rule_tests(settings, RULES_FILE),
             ARGO_FILE: analysis_template(settings)}
    written = []
    for name, content in files.items():
        path = out / name
        path.write_text(dump_yaml(content), encoding="utf-8")
        written.append(path)
    return written


def run_promtool(out: Path, timeout: float = 300.0) -> tuple[bool, str]:
    """``promtool check rules`` then ``promtool test rules`` in ``out``: (passed, output)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise FileNotFoundError("promtool not found (Debian/Ubuntu: apt install prometheus)")
    output = []
    for args in (["check", "rules", RULES_FILE], ["test", "rules", TESTS_FILE]):
        done = subprocess.run([promtool, *args], cwd=out, capture_output=True, text=True,
                              timeout=timeout, check=False)
        output.append(done.stdout + done.stderr)
        if done.returncode != 0:
            return False, "\n".join(output)
    return True, "\n".join(output)


def alerts(
    out: Annotated[Path, typer.Option(help="Folder to write the rules, tests and template.")],
    slo: Annotated[float, typer.Option(help="Availability objective (error budget = 1 - slo)."
                                       )] = 0.99,
    canary_error_delta: Annotated[float, typer.Option(
        help="Canary error ratio above stable's that pages (absolute).")] = 0.01,
    latency_ratio: Annotated[float, typer.Option(
        help="Canary p95 / stable p95 that pages.")] = 1.2,
    drift_metric_name: Annotated[str, typer.Option(
        help="The drift gauge as Prometheus names it (ml_drift_score from the Python "
             "exporter; the Collector's adds _ratio).")] = "ml_drift_score",
    drift_threshold: Annotated[float, typer.Option(help="Drift score level, held 30m.")] = 0.2,
    time_scale: Annotated[float, typer.Option(
        help="Multiply every window and duration (e.g. 0.0166667 runs 1h as 1m).")] = 1.0,
    check: Annotated[bool, typer.Option(help="Run promtool check + test on the output.")
                     ] = False,
) -> None:
    """Write Prometheus alerting rules over infertel's metrics, promtool tests for each rule,
    and an Argo Rollouts AnalysisTemplate with the same queries."""
    from infertel.cli._alert_rules import AlertSettings

    try:
        settings = AlertSettings(slo=slo, canary_error_delta=canary_error_delta,
                                 latency_ratio=latency_ratio,
                                 drift_metric_name=drift_metric_name,
                                 drift_threshold=drift_threshold, time_scale=time_scale)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    for path in write_alerts(out, settings):
        typer.echo(f"wrote {path}")
    if not check:
        return
    try:
        passed, output = run_promtool(out)
    except FileNotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(output.strip())
    if not passed:
        raise typer.Exit(1)

"""The ``infertel`` typer app. One module per command; this file only wires them (register new
commands here)."""

from __future__ import annotations

from typing import Annotated

import typer

from infertel.cli import collector, demo, doctor, query, scan

app = typer.Typer(
    name="infertel",
    help="Privacy-aware telemetry for ML inference: demo, query and scan telemetry stores.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a traceback must never print payload values
)


def _print_version(value: bool) -> None:
    if value:
        from infertel._version import VERSION

        typer.echo(f"infertel {VERSION}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print infertel's version and exit."),
    ] = False,
) -> None:
    """Privacy-aware telemetry for ML inference: demo, query and scan telemetry stores."""


app.command("demo")(demo.demo)
app.command("query")(query.query)
app.command("scan")(scan.scan)
app.command("doctor")(doctor.doctor)
app.add_typer(collector.app, name="collector")

# --- monitoring commands (issue 10) ---
from infertel.cli import baseline, drift, report  # noqa: E402  (one block, apart from the others)

app.add_typer(baseline.app, name="baseline")
app.command("drift")(drift.drift)
app.command("report")(report.report)

# --- rollout commands (issue 11) ---
from infertel.cli import alerts, drill, rollout  # noqa: E402  (one block, apart from the others)

app.add_typer(rollout.app, name="rollout")
app.command("alerts")(alerts.alerts)
app.command("drill")(drill.drill)

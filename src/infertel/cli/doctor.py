"""``infertel doctor``: check the telemetry setup a service would use, and prove it end to end.

Checks the configuration (exporter, endpoint, protocol) resolved from the same arguments and
environment as ``infertel.configure()``; that the endpoint answers an empty OTLP export over
gRPC or HTTP; TLS and header variables (names only, never values); that the default privacy
policy loads and redacts, and the HMAC key situation; the NER model with ``--ner``. Then it
sends one health span and log record through the real export path, and with
``--collector-out`` waits until both arrive in the collector's output folder. Prints a
checklist; exits 1 when any check fails (warnings do not fail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

import typer
from rich.console import Console
from rich.table import Table

from infertel.tools._doctor import DoctorOptions, run

EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
_MARKS: Final = {"ok": "[green]✓ ok[/]", "warn": "[yellow]! warn[/]", "fail": "[red]✗ fail[/]",
                 "skip": "[dim]- skip[/]"}


def doctor(
    endpoint: Annotated[
        str | None,
        typer.Option(help="OTLP endpoint to check instead of $OTEL_EXPORTER_OTLP_ENDPOINT "
                          "(e.g. http://127.0.0.1:4318).", show_default=False),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(metavar="[grpc|http/protobuf]",
                     help="OTLP protocol instead of $OTEL_EXPORTER_OTLP_PROTOCOL.",
                     show_default=False),
    ] = None,
    ner: Annotated[bool, typer.Option("--ner", help="Also check the spaCy NER model.")] = False,
    collector_out: Annotated[
        Path | None,
        typer.Option(help="Collector output folder: confirm the health span arrived there "
                          "(e.g. infertel-collector/).", show_default=False),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds allowed for each network step and the export.",
                            min=0.1)
    ] = 5.0,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the health span in --collector-out.",
                            min=0.0)
    ] = 15.0,
) -> None:
    """Check exporter, endpoint, TLS/headers, privacy policy and HMAC key; send a health span."""
    if protocol is not None and protocol not in ("grpc", "http/protobuf"):
        Console(stderr=True).print(f"infertel doctor: --protocol must be grpc or "
                                   f"http/protobuf, not {protocol!r}")
        raise typer.Exit(EXIT_USAGE)
    chosen: Literal["grpc", "http/protobuf"] | None = (
        "grpc" if protocol == "grpc" else "http/protobuf" if protocol else None)
    console = Console(highlight=False)
    with console.status("checking..."):
        report = run(DoctorOptions(endpoint=endpoint, protocol=chosen, ner=ner,
                                   collector_out=collector_out, timeout_s=timeout, wait_s=wait))
    table = Table(title="infertel doctor", show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        table.add_row(check.name, _MARKS[check.status], check.detail)
    console.print(table)
    failed = [check.name for check in report.checks if check.status == "fail"]
    if failed:
        console.print(f"[red]{len(failed)} check(s) failed:[/] {', '.join(failed)}")
        raise typer.Exit(EXIT_FAILED)
    console.print("[green]all checks passed[/]")

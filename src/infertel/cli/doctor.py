"""``infertel doctor``: check the telemetry setup a service would use, and prove it end to end.

Checks the configuration (exporter, endpoint, protocol) resolved from the same arguments and
environment as ``infertel.configure()``, and that the endpoint is a URL at all; that it answers
an empty OTLP export over gRPC or HTTP; TLS and header variables (names only, never values);
that the default privacy policy loads and redacts, and the HMAC key situation; the NER model
with ``--ner``. With ``--send-to`` it sends one health span and log record through the real
export path to where you say, and reports ``infertel.health()``; by default it sends nothing, so
it never writes into your store or collector unasked. ``--collector-out`` waits until the span
arrives in a collector's output folder (and implies ``--send-to otlp``). Every URL printed has
its password and query values masked. Exits 1 when any check fails (warnings do not fail), 2 on
a usage error; never with a traceback.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import typer
from rich.table import Table
from rich.text import Text

from infertel.cli._output import console, error, plain
from infertel.tools._doctor import DoctorOptions, Report, run
from infertel.tools._urls import mask_urls

EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
_MARKS: Final = {"ok": ("✓ ok", "green"), "warn": ("! warn", "yellow"),
                 "fail": ("✗ fail", "red"), "skip": ("- skip", "dim")}


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
    send_to: Annotated[
        str | None,
        typer.Option(metavar="otlp|URL|DIR",
                     help="Send one health span and log record: 'otlp' to the endpoint checked "
                          "above, a URL to that OTLP endpoint, or a folder to write a local "
                          "store there. Default: send nothing.", show_default=False),
    ] = None,
    collector_out: Annotated[
        Path | None,
        typer.Option(help="Collector output folder: confirm the health span arrived there "
                          "(e.g. infertel-collector/); implies --send-to otlp.",
                     show_default=False),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds allowed for each network step and the export.",
                            min=0.1)
    ] = 5.0,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the health span in --collector-out.",
                            min=0.0)
    ] = 15.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
) -> None:
    """Check exporter, endpoint, TLS, privacy policy, HMAC key; --send-to sends a health span."""
    if protocol is not None and protocol not in ("grpc", "http/protobuf"):
        error("doctor", f"--protocol must be grpc or http/protobuf, not {mask_urls(protocol)!r}")
        raise typer.Exit(EXIT_USAGE)
    chosen: Literal["grpc", "http/protobuf"] | None = (
        "grpc" if protocol == "grpc" else "http/protobuf" if protocol else None)
    options = DoctorOptions(endpoint=endpoint, protocol=chosen, ner=ner, send_to=send_to,
                            collector_out=collector_out, timeout_s=timeout, wait_s=wait)
    _mask_library_logs()
    try:
        with console(stderr=True).status(Text("checking...")):
            report = run(options)
    except Exception as problem:  # run() guards every check; this is the last line of defence
        error("doctor", f"internal error ({type(problem).__name__}); no check result")
        raise typer.Exit(EXIT_FAILED) from None
    if as_json:
        plain(json.dumps(_json_report(report), indent=2, ensure_ascii=False))
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_urls(super().format(record))


def _mask_library_logs() -> None:
    """OpenTelemetry's exporters log the URLs they fail to reach (query tokens included) while
    the health span is sent: route every log record through the same mask as the report."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, _MaskingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()  # stderr
    handler.setFormatter(_MaskingFormatter("%(name)s: %(levelname)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)


def _print_report(report: Report) -> None:
    out = console()
    table = Table(title=Text("infertel doctor"), show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        mark, style = _MARKS[check.status]
        # Text cells: details quote URLs and pip hints, which rich markup would mangle.
        table.add_row(Text(check.name), Text(mark, style=style), Text(check.detail))
    out.print(table)
    failed = [check.name for check in report.checks if check.status == "fail"]
    if failed:
        plain(f"{len(failed)} check(s) failed: {', '.join(failed)}")
    else:
        plain("all checks passed")


def _json_report(report: Report) -> dict[str, Any]:
    return {
        "checked_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace(
            "+00:00", "Z"),
        "ok": not report.failed,
        "checks": [{"name": c.name, "status": c.status, "detail": c.detail}
                   for c in report.checks],
        "trace_id": report.trace_id,
        "health": _iso_times(report.health),
    }


def _iso_times(value: Any, key: str = "") -> Any:
    """Health facts for --json: ``*_unix_nano`` times as ISO-8601 UTC (``..._time``)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, inner in value.items():
            if str(name).endswith("_unix_nano"):
                out[str(name)[: -len("_unix_nano")] + "_time"] = _nanos_iso(inner)
            else:
                out[str(name)] = _iso_times(inner, str(name))
        return out
    if isinstance(value, list):
        return [_iso_times(inner) for inner in value]
    if isinstance(value, str):
        return mask_urls(value)
    return value


def _nanos_iso(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    moment = datetime.fromtimestamp(value / 1e9, tz=timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")

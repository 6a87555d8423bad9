"""``infertel scan``: prove a store holds no personal data, or say exactly where it does.

Exit codes: 0 nothing found, 1 findings, 2 the store could not be read. Findings are reported
by signal, location and entity type with a count and the first file:line; values are never
printed, so the output can go into a CI log or a ticket.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, Literal

import typer
from rich.console import Console
from rich.table import Table

from infertel.config import DEFAULT_LOCAL_DIR
from infertel.tools._store import StoreError, describe_skipped

if TYPE_CHECKING:
    from infertel.privacy._detector import PiiDetector

EXIT_FOUND: Final = 1
EXIT_USAGE: Final = 2

DetectionChoice = Literal["auto", "patterns", "ner"]


def scan(
    store: Annotated[
        Path | None,
        typer.Argument(help="Store or collector output folder (default: the local store)."),
    ] = None,
    detection: Annotated[
        str,
        typer.Option(help="auto (NER when installed, else patterns), patterns or ner."),
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
) -> None:
    """Scan every exported string for personal data and secrets; exit 1 if any is found."""
    err = Console(stderr=True)
    out = Console()
    path = store or Path(os.environ.get("INFERTEL_LOCAL_DIR", DEFAULT_LOCAL_DIR))
    if detection not in ("auto", "patterns", "ner"):
        err.print(f"infertel scan: --detection must be auto, patterns or ner, not {detection!r}")
        raise typer.Exit(EXIT_USAGE)
    try:
        detector, used = _detector(detection)
    except (ImportError, RuntimeError) as error:
        err.print(f"infertel scan: {error}")
        raise typer.Exit(EXIT_USAGE) from error

    from infertel.tools._scan import scan_store

    try:
        with err.status(f"scanning {path} ({used} detection)..."):
            keys = detector if used == "patterns" else _detector("patterns")[0]
            report = scan_store(path, detector, key_detector=keys)
    except StoreError as error:
        err.print(f"infertel scan: {error}")
        raise typer.Exit(EXIT_USAGE) from error
    if report.stats.total_documents == 0:
        err.print(f"infertel scan: no telemetry records found in {path}")
        raise typer.Exit(EXIT_USAGE)
    skipped = describe_skipped(report.stats)
    if skipped:
        err.print(f"[yellow]{skipped}[/]")

    rows = report.rows()
    if as_json:
        out.print_json(json.dumps({"store": str(path), "detection": used,
                                   "strings_scanned": report.strings_scanned,
                                   "documents": report.stats.total_documents,
                                   "findings": rows}))
    elif rows:
        table = Table(title=f"Personal data found in {path}")
        for column in ("signal", "location", "entity", "count", "first seen"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(row["signal"], row["location"], row["entity_type"], str(row["count"]),
                          row["first_seen"])
        out.print(table)
    else:
        out.print(f"[green]clean:[/] {report.strings_scanned} strings in "
                  f"{report.stats.total_documents} records scanned with {used} detection, "
                  "no personal data found")
    if rows:
        if not as_json:
            total = sum(r["count"] for r in rows)
            out.print(f"[red]{total} finding(s) in {len(rows)} location(s)[/]")
        raise typer.Exit(EXIT_FOUND)


def _detector(choice: str) -> tuple[PiiDetector, str]:
    """The strongest detector available: NER (patterns + PERSON/LOCATION) when spaCy and its
    model are installed, else patterns."""
    from infertel.privacy._detector import PiiDetector

    if choice in ("auto", "ner"):
        try:
            detector = PiiDetector(detection="ner")
            detector.analyze("Jane Doe lives in Paris.")  # load the model now, not mid-scan
            return detector, "ner"
        except (ImportError, RuntimeError, OSError):
            if choice == "ner":
                raise
    return PiiDetector(detection="patterns"), "patterns"

"""``infertel scan``: prove a store holds no personal data, or say exactly where it does.

Exit codes: 0 everything was read and nothing found; 1 findings; 2 the store (or part of it)
could not be read, or the scan could not run. A scan that skipped an unreadable line has proven
nothing about it, so skipped data is exit 2 even when the rest is clean. Findings are reported
by signal, location (a path such as ``log body.inputs.notes[3]``) and entity type with a count
and the first file:line; values are never printed, so the output can go into a CI log or a
ticket. Unreadable items are listed by file and line, never by content.

The detectors are the runtime's: the defaults of ``PrivacyPolicy`` (pattern detection), or the
service's own policy file with ``--policy``; ``--detection`` overrides the policy's mode.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.table import Table
from rich.text import Text

from infertel.cli._output import console, error, plain
from infertel.config import DEFAULT_LOCAL_DIR
from infertel.tools._documents import StoreError

if TYPE_CHECKING:
    from infertel.privacy._policy import PrivacyPolicy
    from infertel.tools._scan import Scanner, ScanReport

EXIT_FOUND: Final = 1
EXIT_USAGE: Final = 2
DETECTIONS: Final = ("patterns", "ner")
# Unreadable items named in the human report; --json lists them all (up to the reader's cap).
_SHOWN_UNREADABLE: Final = 5


def scan(
    store: Annotated[
        Path | None,
        typer.Argument(help="Store or collector output folder (default: $INFERTEL_LOCAL_DIR "
                            "or ./infertel-data).", show_default=False),
    ] = None,
    detection: Annotated[
        str | None,
        typer.Option(metavar="[patterns|ner]",
                     help="Detector: patterns, or ner (patterns plus spaCy PERSON/LOCATION). "
                          "Default: the policy's (--policy), else the runtime default, "
                          "patterns.", show_default=False),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", metavar="FILE",
                     help="The service's privacy policy (JSON, as PrivacyPolicy.model_dump() "
                          "without secrets): scan with its detection mode, entities and "
                          "custom recognizers.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
) -> None:
    """Scan a store for personal data and secrets (exit 1: found, 2: unreadable data)."""
    path = store or Path(os.environ.get("INFERTEL_LOCAL_DIR") or DEFAULT_LOCAL_DIR)
    scanner = _scanner(policy_file, detection)
    from infertel.tools._scan import scan_store

    err = console(stderr=True)
    try:
        with err.status(Text(f"scanning {path} ({scanner.policy.detection} detection)...")):
            report = scan_store(path, scanner)
    except StoreError as problem:
        error("scan", str(problem))
        raise typer.Exit(EXIT_USAGE) from None

    if as_json:
        plain(json.dumps(_json_report(report, path, policy_file), indent=2, ensure_ascii=False))
    else:
        _print_report(report, path)
    if report.stats.total_documents == 0 or not report.complete:
        if report.stats.total_documents == 0:
            error("scan", f"no telemetry records found in {path}")
        raise typer.Exit(EXIT_USAGE)
    if not report.clean:
        raise typer.Exit(EXIT_FOUND)


def _scanner(policy_file: Path | None, detection: str | None) -> Scanner:
    from infertel.tools._policy_file import PolicyFileError, load_policy
    from infertel.tools._scan import Scanner

    if detection is not None and detection not in DETECTIONS:
        error("scan", f"--detection must be patterns or ner, not {detection!r}")
        raise typer.Exit(EXIT_USAGE)
    policy: PrivacyPolicy | None = None
    if policy_file is not None:
        try:
            policy = load_policy(policy_file)
        except PolicyFileError as problem:
            error("scan", str(problem))
            raise typer.Exit(EXIT_USAGE) from None
    if detection is not None:
        from infertel.privacy._policy import PrivacyPolicy

        policy = (policy or PrivacyPolicy()).model_copy(update={"detection": detection})
    try:
        scanner = Scanner(policy)
        scanner.warm_up()  # load the NER model now, not mid-scan (and fail here if absent)
    except (ImportError, OSError, RuntimeError) as problem:
        # Printed literally: the message holds pip install 'infertel[ner]'.
        error("scan", f"cannot load the {_mode(policy)} detector: {problem}")
        raise typer.Exit(EXIT_USAGE) from None
    return scanner


def _mode(policy: PrivacyPolicy | None) -> str:
    return policy.detection if policy is not None else "patterns"


def _json_report(report: ScanReport, path: Path, policy_file: Path | None) -> dict[str, object]:
    stats = report.stats
    return {
        "store": str(path),
        "policy": str(policy_file) if policy_file is not None else None,
        "detection": report.detection,
        "scanned_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace(
            "+00:00", "Z"),
        "files": stats.files,
        "documents": stats.total_documents,
        "checked": dict(sorted(report.checked.items())),
        "strings_scanned": report.strings_scanned,
        "clean": report.clean,
        "complete": report.complete,
        "findings": report.rows(),
        "unreadable_count": stats.unreadable_count,
        "unreadable": report.unreadable_rows(),
    }


def _print_report(report: ScanReport, path: Path) -> None:
    out = console()
    rows = report.rows()
    if rows:
        table = Table(title=Text(f"Personal data found in {path}"))
        for column in ("signal", "location", "entity", "found by", "count", "first seen"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(Text(str(row[name])) for name in (
                "signal", "location", "entity_type", "found_by", "count", "first_seen")))
        out.print(table)
        total = sum(r["count"] for r in rows)
        plain(f"{total} finding(s) in {len(rows)} location(s) ({report.detection} detection)")
    elif report.stats.total_documents:
        verdict = "clean" if report.complete else "nothing found in what could be read"
        plain(f"{verdict}: {report.strings_scanned} strings in {report.stats.total_documents} "
              f"records scanned with {report.detection} detection, no personal data found")
    stats = report.stats
    if stats.unreadable_count:
        shown = stats.unreadable[:_SHOWN_UNREADABLE]
        where = ", ".join(f"{u.path}:{u.line} ({u.reason})" if u.line is not None
                          else f"{u.path} ({u.reason})" for u in shown)
        more = ", ..." if stats.unreadable_count > len(shown) else ""
        error("scan", f"could not read {stats.unreadable_count} item(s), so this store is not "
                      f"proven clean: {where}{more} (--json lists them)")

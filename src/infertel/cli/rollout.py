"""``infertel rollout``: the canary comparison recomputed from a store, and audit-log checks.

``status`` reads every process's ``inference`` records and ``ml.rollout.*`` events, recomputes
each criterion per segment over the whole fleet with the pre-registered plan, and replays every
stored ``ml.rollout.decision`` from the calls of the process that made it. Output holds counts,
estimates, intervals and segment labels only. Exit 1: a stored decision does not reproduce
(or ``verify`` found a broken chain); exit 2: the store or plan cannot be used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infertel.config import DEFAULT_LOCAL_DIR

EXIT_DIFFERS: Final = 1
EXIT_USAGE: Final = 2

app = typer.Typer(help="Canary versus stable: recompute decisions from a store, verify audit "
                       "logs.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/] {message}")
    raise typer.Exit(EXIT_USAGE)


@app.command("status")
def status(
    store: Annotated[Path | None, typer.Argument(
        help="Store or collector output folder (default: $INFERTEL_LOCAL_DIR or "
             "./infertel-data).", show_default=False)] = None,
    plan: Annotated[Path | None, typer.Option(
        help="Plan JSON (default: the ml.rollout.plan event in the store).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Recompute the rollout per criterion and segment over every process, and check that each
    stored decision reproduces from the stored calls."""
    from infertel.cli._rollout_store import read_rollout, recompute, reproduce
    from infertel.rollout._decision import ns_to_text, text_to_ns
    from infertel.tools._store import StoreError, describe_skipped

    path = store or Path(os.environ.get("INFERTEL_LOCAL_DIR", DEFAULT_LOCAL_DIR))
    try:
        found = read_rollout(path)
    except StoreError as error:
        _fail(str(error))
    chosen = _choose_plan(found, plan)
    # After a terminal decision the routing changed on purpose (a rollback sends everything to
    # the baseline): the fleet comparison stops at the earliest one.
    terminal = [d.decision for d in found.decisions if d.decision.get("action") != "continue"]
    cutoff = min((text_to_ns(str(d["through"])) for d in terminal), default=None)
    try:
        fleet = recompute(chosen, found.all_calls(), cutoff)
        checks = []
        for instance in sorted({d.instance for d in found.decisions}):
            mine = [d for d in found.decisions if d.instance == instance]
            instance_plan = _instance_plan(found, instance, mine, chosen)
            checks += reproduce(instance_plan, found.calls.get(instance, []), mine,
                                found.drift.get(instance, []))
    except (KeyError, TypeError, ValueError) as error:
        _fail(f"the plan cannot be used: {error}")
    report: dict[str, Any] = {
        "store": str(path),
        "processes": len(found.calls),
        "calls": sum(len(v) for v in found.calls.values()),
        "plan_hash": _plan_hash(chosen),
        "plans": [{"instance": p.instance, "plan_hash": p.plan_hash, "hash_ok": p.hash_ok}
                  for p in found.plans],
        "fleet": fleet.to_dict() if fleet is not None else None,
        "fleet_through": ns_to_text(cutoff) if cutoff is not None else None,
        "stored_decisions": [vars(check) for check in checks],
    }
    skipped = describe_skipped(found.stats)
    if skipped:
        Console(stderr=True).print(f"[yellow]{skipped}[/]")
    if as_json:
        typer.echo(json.dumps(report, indent=1, default=str))
    else:
        _print(Console(), report)
    if any(not check.reproduced for check in checks):
        raise typer.Exit(EXIT_DIFFERS)


def _plan_hash(plan: dict[str, Any]) -> str:
    from infertel.rollout._plan import plan_hash

    return plan_hash(plan)


def _choose_plan(found: Any, plan_file: Path | None) -> dict[str, Any]:
    if plan_file is not None:
        try:
            loaded = json.loads(plan_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            _fail(f"cannot read the plan {plan_file}: {error}")
        return dict(loaded.get("plan", loaded))
    valid = [p for p in found.plans if p.hash_ok]
    if not valid:
        broken = " (a plan event's hash does not match its plan)" if found.plans else ""
        _fail("no ml.rollout.plan event in the store; pass --plan" + broken)
    hashes = {p.plan_hash for p in valid}
    if len(hashes) > 1:
        Console(stderr=True).print(f"[yellow]{len(hashes)} different plans in the store; the "
                                   f"fleet view uses the last one read[/]")
    return dict(valid[-1].plan)


def _instance_plan(found: Any, instance: str, decisions: list[Any],
                   default: dict[str, Any]) -> dict[str, Any]:
    wanted = decisions[-1].decision.get("plan_hash")
    for stored in found.plans:
        if stored.instance == instance and stored.hash_ok and stored.plan_hash == wanted:
            return dict(stored.plan)
    return default


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def _print(console: Console, report: dict[str, Any]) -> None:
    fleet = report["fleet"]
    console.print(f"[bold]Rollout[/] in {escape(report['store'])}: {report['calls']} calls from "
                  f"{report['processes']} process(es), plan {report['plan_hash'][:19]}...")
    if fleet is None:
        console.print("No calls in the baseline or candidate ring yet.")
        return
    style = {"rollback": "red", "promote": "green"}.get(fleet["action"], "yellow")
    console.print(f"Fleet decision: [{style}][bold]{fleet['action']}[/][/] — "
                  f"{escape(fleet['reason'])}")
    console.print(f"  baseline {fleet['n_baseline']} calls, candidate {fleet['n_candidate']}"
                  + (" (up to the first rollback/promotion: routing changed after it)"
                     if report["fleet_through"] is not None else ""))
    srm = fleet["srm"]
    if srm is not None:
        console.print(f"  traffic split: chi-square p = {_fmt(srm['p_value'], '.3g')} "
                      f"({'MISMATCH: decisions held' if srm['mismatch'] else 'as planned'})")
    table = Table(title="Criteria per segment (always-valid intervals, this look)")
    for column in ("criterion", "segment", "n base", "n cand", "difference", "interval",
                   "p", "alpha", "verdict"):
        table.add_column(column, justify="left" if column in ("criterion", "segment",
                                                             "verdict") else "right")
    for e in fleet["evidence"]:
        verdict = ("[red]harmful[/]" if e["harmful"] else
                   "[green]non-inferior[/]" if e["non_inferior"] else "undecided")
        lower, upper = e["ci"]
        table.add_row(e["criterion"], escape(e["segment"]), str(e["n_baseline"]),
                      str(e["n_candidate"]), _fmt(e["estimate"], "+.4g"),
                      escape(f"[{_fmt(lower)}, {_fmt(upper)}]"),
                      _fmt(e["p_value"], ".2g"), _fmt(e["alpha"], ".2g"), verdict)
    console.print(table)
    checks = report["stored_decisions"]
    if not checks:
        console.print("No ml.rollout.decision events in the store.")
        return
    table = Table(title="Stored decisions, replayed from each process's own calls")
    for column in ("process", "look", "stored", "recomputed", "reproduced", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(check["instance"][:8], str(check["look"]), check["stored_action"],
                      str(check["recomputed_action"]),
                      "[green]yes[/]" if check["reproduced"] else "[red]NO[/]",
                      escape(check["detail"]))
    console.print(table)


@app.command("verify")
def verify(
    audit_file: Annotated[Path, typer.Argument(help="Audit log (JSON lines) to check.")],
) -> None:
    """Check the hash chain of a rollout audit log; exit 1 naming the first bad entry."""
    from infertel.rollout import verify_file

    try:
        report = verify_file(audit_file)
    except OSError as error:
        _fail(f"cannot read {audit_file}: {type(error).__name__}")
    if report.ok:
        typer.echo(f"ok: {report.entries} entries, hash chain intact")
        return
    typer.echo(f"BROKEN at entry {report.entries} (line {report.first_bad}): {report.reason}")
    raise typer.Exit(EXIT_DIFFERS)

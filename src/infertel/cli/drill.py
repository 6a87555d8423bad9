"""``infertel drill``: rehearse a bad canary end to end, and print the runbook.

Synthetic traffic (with synthetic personal data in every request) runs through a guarded
stable/canary pair in simulated time; a stated regression is injected into one segment of the
canary at minute 10. The drill reports when the guard decided and what, with its evidence;
whether the routing switch flipped (canary traffic after the decision); whether ``on_rollback``
ran once; whether the alert rules of ``infertel alerts`` would have fired on the same traffic
(promtool evaluates them); the audit log and its hash chain; then a runbook. ``--clean`` runs a
canary with no regression, which must not be rolled back. Exit 0 when the drill went as it
should (rollback for a regression, none for a clean canary), 1 otherwise, 2 on bad options.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from infertel.rollout import ALL_SEGMENTS


def drill(
    regression: Annotated[str, typer.Option(
        help="What to inject into the canary: error, latency or shift.")] = "error",
    segment: Annotated[str, typer.Option(help="Segment of the canary that regresses: free, "
                                              "pro or enterprise.")] = "pro",
    clean: Annotated[bool, typer.Option(help="Inject nothing: the canary must not be rolled "
                                             "back.")] = False,
    minutes: Annotated[int, typer.Option(min=20, max=24 * 60,
                                         help="Simulated minutes of traffic.")] = 120,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic traffic.")] = 11,
    audit: Annotated[Path | None, typer.Option(
        help="Audit log to write (default: a new file in the temp folder).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Rehearse a canary rollback: inject a regression, watch the guard, the switch, the alerts
    and the audit log, and print the runbook."""
    from infertel.cli._drill_alerts import evaluate_alerts
    from infertel.cli._drill_traffic import DrillPlan, run_drill
    from infertel.rollout import verify_file

    if regression not in ("error", "latency", "shift"):
        typer.echo("error: --regression must be error, latency or shift", err=True)
        raise typer.Exit(2)
    if audit is None:
        audit = Path(tempfile.mkdtemp(prefix="infertel-drill-")) / "audit.jsonl"
    elif audit.exists():
        typer.echo(f"error: {audit} exists; a drill starts a new audit log", err=True)
        raise typer.Exit(2)
    plan = DrillPlan(regression=None if clean else regression,  # type: ignore[arg-type]
                     segment=segment, minutes=minutes, seed=seed)
    try:
        run = run_drill(plan, str(audit))
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    chain = verify_file(audit)
    # The same traffic with the canary left serving: would the alerts alone have caught it?
    counterfactual = run_drill(plan, None, honor_switch=False)
    report = _report(run, evaluate_alerts(run), audit, chain.ok, chain.entries)
    report["alerts_without_rollback"] = evaluate_alerts(counterfactual)
    if as_json:
        typer.echo(json.dumps(report, indent=1))
    else:
        _print(Console(), report)
    if not report["passed"]:
        raise typer.Exit(1)


def _report(run: Any, alerts: dict[str, float | None] | None, audit: Path, chain_ok: bool,
            entries: int) -> dict[str, Any]:
    plan, guard = run.plan, run.guard
    terminal = run.terminal
    decision = terminal[1] if terminal else (run.decisions[-1][1] if run.decisions else None)
    minute = terminal[0] if terminal else None
    action = decision.action if decision is not None else "continue"
    injected = plan.regression is not None
    passed = (action == "rollback" and run.callbacks == ["rollback"]
              and run.canary_calls_after == 0 and chain_ok) if injected else (
        action != "rollback" and "rollback" not in run.callbacks and chain_ok)
    kinds = [entry["kind"] for entry in guard.audit_entries()]
    return {
        "scenario": {"regression": plan.regression, "segment": plan.segment,
                     "inject_at_minute": plan.inject_at_minute, "minutes": plan.minutes,
                     "calls_per_minute": plan.calls_per_minute,
                     "canary_share": plan.canary_share, "seed": plan.seed},
        "plan_hash": guard.plan_hash,
        "alpha_per_test": guard.alpha_per_test,
        "criteria": [c.plan() for c in guard.criteria],
        "decision": decision.to_dict() if decision is not None else None,
        "decided_at_minute": minute,
        "minutes_after_injection": (minute - plan.inject_at_minute
                                    if minute is not None and injected else None),
        "switch": {"flag": guard.switch.key, "state": guard.state,
                   "variant": guard.switch.variant,
                   "canary_calls_after_decision": run.canary_calls_after},
        "callbacks": run.callbacks,
        "alerts": alerts,
        "audit": {"path": str(audit), "entries": entries, "chain_ok": chain_ok,
                  "kinds": {k: kinds.count(k) for k in dict.fromkeys(kinds)}},
        "calls": run.calls,
        "passed": passed,
        "runbook": _runbook(action, str(audit)),
    }


def _runbook(action: str, audit: str) -> list[str]:
    if action == "rollback":
        return [
            "1. Traffic: infertel.rollout.active_version() now returns 'stable' in every "
            "process running the guard; confirm the canary's call rate is zero "
            "(infertel query --ring canary, or ml_inference_requests_total in Prometheus).",
            "2. Evidence: infertel rollout status STORE shows each criterion per segment and "
            "replays the stored decision from the stored calls (exit 1 if it does not "
            "reproduce).",
            f"3. Audit: infertel rollout verify {audit} (exit 1 names the first altered "
            "entry); attach it to the incident.",
            "4. Cause: infertel query STORE --ring canary --status error, and --min-duration "
            "for latency; infertel drift STORE for a shifted input.",
            "5. Next canary: fix, then start a new rollout with a new plan (a new plan hash); "
            "never change a running plan's criteria.",
        ]
    return [
        "1. No criterion found the canary worse; a 'promote' means every criterion, on all "
        "traffic and every segment tested, is within its margin (always-valid intervals).",
        "2. Before widening the split, check infertel rollout status STORE and the "
        "InfertelCanary* alerts.",
        f"3. Keep the audit log: infertel rollout verify {audit}.",
    ]


def _print(console: Console, report: dict[str, Any]) -> None:
    scenario = report["scenario"]
    what = (f"an injected {scenario['regression']} regression in segment "
            f"'{scenario['segment']}' from minute {scenario['inject_at_minute']}"
            if scenario["regression"] else "a clean canary (nothing injected)")
    console.print(f"[bold]Drill[/]: {what}; {scenario['minutes']} simulated minutes, "
                  f"{scenario['calls_per_minute']} calls/min, canary share "
                  f"{scenario['canary_share']:.0%}")
    console.print(f"Plan {report['plan_hash'][:23]}...: "
                  + ", ".join(f"{c['criterion']} ({c['test']})" for c in report["criteria"])
                  + f"; each test at alpha {report['alpha_per_test']:.2g}")
    decision = report["decision"]
    action = decision["action"] if decision else "continue"
    style = {"rollback": "red", "promote": "green"}.get(action, "yellow")
    when = report["decided_at_minute"]
    timing = (f" at minute {when:.1f}" if when is not None else " (no final decision)")
    if report["minutes_after_injection"] is not None:
        timing += f", {report['minutes_after_injection']:.1f} min after the injection"
    console.print(f"Guard: [{style}][bold]{action.upper()}[/][/]{timing}")
    if decision:
        console.print(f"  {escape(decision['reason'])}")
        for e in decision["evidence"]:
            if e["harmful"]:
                where = "all traffic" if e["segment"] == ALL_SEGMENTS else e["segment"]
                console.print(f"  evidence: {e['criterion']} in {escape(where)}: difference "
                              f"{e['estimate']:+.4g}, CI [{e['ci'][0]:.3g}, {e['ci'][1]:.3g}],"
                              f" p {e['p_value']:.2g} <= {e['alpha']:.2g}, n "
                              f"{e['n_baseline']}/{e['n_candidate']}")
    switch = report["switch"]
    console.print(f"Switch {switch['flag']}: {switch['state']}, routes to "
                  f"'{switch['variant']}'; canary calls after the decision: "
                  f"{switch['canary_calls_after_decision']}")
    console.print(f"Callbacks run: {', '.join(report['callbacks']) or 'none'}")
    alerts, without = report["alerts"], report["alerts_without_rollback"]
    if alerts is None or without is None:
        console.print("Alerts: not evaluated (promtool not found)")
    else:
        console.print("Alert rules of `infertel alerts` (promtool) on this traffic / with the "
                      "canary left serving:")
        for name, minute in alerts.items():
            other = without.get(name)
            console.print(f"  {name}: "
                          + (f"[red]fired at minute {minute:.0f}[/]" if minute is not None
                             else "silent")
                          + " / " + (f"fired at minute {other:.0f}" if other is not None
                                     else "silent"))
    audit = report["audit"]
    console.print(f"Audit {escape(audit['path'])}: {audit['entries']} entries "
                  f"({', '.join(f'{k} x{n}' for k, n in audit['kinds'].items())}), hash chain "
                  + ("intact" if audit["chain_ok"] else "[red]BROKEN[/]"))
    console.print("\n[bold]Runbook[/]")
    for line in report["runbook"]:
        console.print("  " + escape(line))
    verdict = "[green]PASS[/]" if report["passed"] else "[red]FAIL[/]"
    console.print(f"\nDrill {verdict}")

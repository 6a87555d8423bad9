"""``infertel demo``: train, serve under synthetic traffic, store, summarise from the store."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

import infertel
from infertel import conventions as c
from infertel import rollout
from infertel.cli._output import console as make_console
from infertel.cli._output import error, plain, program
from infertel.config import DEFAULT_LOCAL_DIR

_BATCH_EVERY = 100
_BATCH_ROWS = 32


def demo(
    local_dir: Annotated[
        Path | None,
        typer.Option(help="Store to write (default: $INFERTEL_LOCAL_DIR or ./infertel-data)."),
    ] = None,
    seconds: Annotated[
        float, typer.Option(min=0.5, max=600, help="How long to send traffic.")
    ] = 4.0,
    canary_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of traffic sent to the canary.")
    ] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic traffic.")] = 7,
    redaction: Annotated[
        bool,
        typer.Option(help="Scrub personal data on every exit. --no-redaction writes a store "
                          "that leaks, to see `infertel scan` catch it."),
    ] = True,
) -> None:
    """Serve a scikit-learn model (stable + canary) under synthetic traffic into the local store."""
    from infertel.cli._demo_service import DemoService

    console = make_console()
    store = local_dir or Path(os.environ.get("INFERTEL_LOCAL_DIR") or DEFAULT_LOCAL_DIR)
    try:
        with console.status("Training two model versions on scikit-learn's breast-cancer "
                            "data..."):
            service = DemoService(seed=seed)
    except RuntimeError as problem:  # scikit-learn missing: the message names the extra
        error("demo", str(problem))
        raise typer.Exit(2) from None
    telemetry = infertel.configure(
        service_name="tumor-api-demo",
        environment="demo",
        exporter="local",
        local_dir=store,
        model=service.stable_info,
        privacy=infertel.PrivacyPolicy(
            redaction=redaction, pseudonymize_entities=("EMAIL_ADDRESS",), hmac_key=_demo_key()
        ),
        **service.drift_settings(seconds),  # drift monitoring, and a drift partway (issue 10)
        rollout=(guard := service.rollout_guard(canary_share)),  # rollout guard (issue 11)
    )
    run_id = str(telemetry.resource.attributes[c.SERVICE_INSTANCE_ID])
    calls, failures = _send_traffic(console, service, seconds, canary_share, telemetry)
    if not infertel.shutdown(timeout=10.0):
        error("demo", "warning: telemetry did not finish exporting within 10 s")
    console.print(Text.assemble("Sent ", (str(calls), "bold"), f" calls ({failures} raised, "
                                "as the demo intends) -> ", (str(store), "bold")))
    _print_rollout(guard, store)  # rollout guard (issue 11)
    _print_summary(console, store, run_id, redaction)


def _print_rollout(guard: Any, store: Path) -> None:
    """What the rollout guard decided (issue 11), and where to see why."""
    decision = guard.last_decision
    if decision is None:
        return
    plain(f"Rollout guard: {decision.action.upper()} (canary {guard.state.replace('_', ' ')};"
          f" {decision.n_baseline} stable and {decision.n_candidate} canary calls compared)")
    plain(f"  {decision.reason}")
    store_arg = "" if str(store) == DEFAULT_LOCAL_DIR and not os.environ.get(
        "INFERTEL_LOCAL_DIR") else f" {shlex.quote(str(store))}"
    plain(f"  {program()} rollout status{store_arg}   # each criterion per segment; the stored "
          "decision replayed from the stored calls")


def _demo_key() -> str | None:
    """The demo's pseudonym key: INFERTEL_HMAC_KEY when set, else a fixed demo-only key so
    pseudonyms correlate across demo runs. Never use a key from source code in production."""
    return None if os.environ.get("INFERTEL_HMAC_KEY") else "infertel-demo-key-not-secret"


# The demo's traffic generator waits while the telemetry queue holds more than this: a serving
# loop with no model latency outruns the background worker, which would then drop records and
# judge the canary only after the traffic ended. A real service is paced by its requests.
_PACE_HIGH, _PACE_LOW, _PACE_MAX_WAIT_S = 500, 100, 2.0


def _keep_pace(telemetry: Any) -> None:
    if telemetry.worker.pending() <= _PACE_HIGH:
        return
    until = time.monotonic() + _PACE_MAX_WAIT_S
    while telemetry.worker.pending() > _PACE_LOW and time.monotonic() < until:
        time.sleep(0.005)


def _send_traffic(console: Console, service: Any, seconds: float,
                  canary_share: float, telemetry: Any) -> tuple[int, int]:
    rng = service._random
    calls = failures = 0
    progress = Progress(
        TextColumn("[bold]serving[/]"),
        BarColumn(),
        TextColumn("{task.fields[calls]} calls, {task.fields[failures]} errors"),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("traffic", total=seconds, calls=0, failures=0)
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds:
            request = service.request()
            # The rollout guard's switch (issue 11): after a rollback, all traffic to stable.
            canary = rollout.active_version() == "canary" and rng.random() < canary_share
            predict = service.predict_canary if canary else service.predict_stable
            try:
                predict(request)
            except Exception:
                failures += 1
            calls += 1
            if calls % _BATCH_EVERY == 0:
                service.score_batch(rng.sample(service.rows, _BATCH_ROWS))
                calls += 1
            if calls % 20 == 0:
                progress.update(task, completed=elapsed, calls=calls, failures=failures)
                _keep_pace(telemetry)
        progress.update(task, completed=seconds, calls=calls, failures=failures)
    return calls, failures


_SUMMARY_SQL = """
SELECT version, ring, count(*) AS calls,
       count(*) FILTER (WHERE status = 'error') AS errors,
       quantile_cont(duration_ms, 0.5) AS p50_ms,
       quantile_cont(duration_ms, 0.95) AS p95_ms
FROM spans
WHERE json_extract_string(attributes, '$."service.instance.id"') = ?
GROUP BY version, ring ORDER BY ring DESC, version
"""

_FAILED_CANARY_SQL = """
SELECT trace_id FROM spans
WHERE json_extract_string(attributes, '$."service.instance.id"') = ?
  AND status = 'error' AND ring = 'canary'
ORDER BY start DESC LIMIT 1
"""


def _print_summary(console: Console, store: Path, run_id: str, redaction: bool) -> None:
    """Summarise this run from the store itself, which proves the round trip."""
    from infertel.tools._store import open_store

    with open_store(store) as db:
        rows = db.execute(_SUMMARY_SQL, [run_id]).fetchall()
        failed = db.execute(_FAILED_CANARY_SQL, [run_id]).fetchone()
    table = Table(title="This run, read back from the store")
    for column in ("version", "ring", "calls", "errors", "error rate", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column in ("version", "ring") else "right")
    for version, ring, calls, errors, p50, p95 in rows:
        table.add_row(version, ring, str(calls), str(errors), f"{errors / calls:.1%}",
                      f"{p50:.2f}", f"{p95:.2f}")
    console.print(table)
    if not redaction:
        plain("\nRedaction was OFF for this run (--no-redaction): the store now holds the "
              "demo's personal data on purpose. Do not share it.")
    _print_next_steps(store, failed[0] if failed else None, redaction)


def _print_next_steps(store: Path, failed_trace: str | None, redaction: bool) -> None:
    """Commands to run next, printed so that they run as shown: invoked the way this demo was
    (``.venv/bin/infertel`` from the README's venv), with the store as given, and never wrapped
    (plain lines: a wrapped trace id cannot be pasted)."""
    from infertel.cli._demo_service import CANARY_VERSION

    infertel_cmd = program()
    store_arg = "" if str(store) == DEFAULT_LOCAL_DIR and not os.environ.get(
        "INFERTEL_LOCAL_DIR") else f" {shlex.quote(str(store))}"
    plain("\nNext, try:")
    plain(f"  {infertel_cmd} query{store_arg} --version {CANARY_VERSION} --status error")
    if failed_trace:
        plain(f"  {infertel_cmd} query{store_arg} --trace {failed_trace}")
    plain(f"  {infertel_cmd} query{store_arg} --ring canary --min-duration 1 --json")
    if redaction:
        plain(f"  {infertel_cmd} scan{store_arg}        # proves the store holds no personal "
              "data")
    else:
        plain(f"  {infertel_cmd} scan{store_arg}        # lists where this run's personal data "
              "sits (exit 1), never the values")
